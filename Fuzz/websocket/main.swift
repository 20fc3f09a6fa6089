// libFuzzer target: WebSocketMessageDecoder (frame decoder, message assembly, UTF-8 validation),
// fed as WebSocketConnection feeds it on the server (docs/FUZZING.md).
import HubWire

/// Small enough for a few hundred bytes to reach every limit; kept in step with `# limits: small`
/// of the unit-test corpus replay.
private let small = WebSocketLimits(frameBytesMax: 125, messageBytesMax: 256, fragmentsMax: 4)

private struct Outcome: Equatable {
    var messages: [WebSocketMessage] = []
    var error: WebSocketError?
}

/// Payload arrays handed back to the decoder, as `WebSocketRegistry` keeps them: small ones only,
/// a bounded number, each still shared with the message the handler was given.
private struct PayloadPool {
    var buffers: [[UInt8]] = []

    mutating func recycle(_ buffer: [UInt8]) {
        guard buffer.capacity > 0, buffer.capacity <= 4096, buffers.count < 8 else { return }
        buffers.append(buffer)
    }

    mutating func recycle(payloadOf message: WebSocketMessage) {
        switch message {
        case .text(let bytes), .binary(let bytes), .ping(let bytes), .pong(let bytes): recycle(bytes)
        case .close: break
        }
    }
}

/// What the decoder promises of every message it returns.
private func check(_ message: WebSocketMessage, limits: WebSocketLimits) {
    switch message {
    case .text(let bytes):
        // The standard library's validator, independent of HubWire's UTF8Validator.
        require(String(validating: bytes, as: UTF8.self) != nil, "text message is not UTF-8: \(bytes)")
        require(bytes.count <= limits.messageBytesMax, "text of \(bytes.count) bytes")
    case .binary(let bytes):
        require(bytes.count <= limits.messageBytesMax, "binary of \(bytes.count) bytes")
    case .ping(let bytes), .pong(let bytes):
        require(bytes.count <= WebSocketLimits.controlPayloadBytesMax, "control payload of \(bytes.count) bytes")
    case .close(let code, let reason):
        require(code.map(WebSocketCloseCode.isValidOnWire) ?? reason.isEmpty, "close \(String(describing: code))")
        require(reason.utf8.count <= WebSocketLimits.controlPayloadBytesMax - 2, "close reason too long")
    }
}

/// Feeds `stream` in reads ending at `cuts`, each read in its own allocation that is freed as
/// soon as the decoder returns (AddressSanitizer then catches a decoder that kept a pointer into
/// it). With `asConnection`, recycled payload arrays are lent before every decode, and after each
/// read a decoder at rest is dropped for a new one, as `WebSocketConnection` does (an idle
/// connection keeps no decoder): the messages must be the same as one decoder's.
private func read(_ stream: [UInt8], cuts: [Int], limits: WebSocketLimits, asConnection: Bool) -> Outcome {
    var decoder = WebSocketMessageDecoder(limits: limits)
    var pool = PayloadPool()
    var outcome = Outcome()
    var fed = 0
    for cut in cuts {
        let read = UnsafeMutableRawBufferPointer.allocate(byteCount: cut - fed, alignment: 1)
        defer { read.deallocate() }
        read.copyBytes(from: stream[fed..<cut])
        fed = cut
        var consumed = 0
        do throws(WebSocketError) {
            while true {
                if asConnection, !decoder.holdsLent, let spare = pool.buffers.popLast() { decoder.lend(spare) }
                guard let message = try decoder.decode(UnsafeRawBufferPointer(read), consumed: &consumed) else { break }
                check(message, limits: limits)
                outcome.messages.append(message)
                if asConnection { pool.recycle(payloadOf: message) }
            }
        } catch {
            outcome.error = error
            return outcome
        }
        require(consumed == read.count, "consumed \(consumed) of a \(read.count)-byte read")
        if let unused = decoder.reclaimLent() { pool.recycle(unused) }
        if asConnection, decoder.isAtRest { decoder = WebSocketMessageDecoder(limits: limits) }
    }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let limits = input.usesSmallLimits ? small : .hub
    let whole = read(input.stream, cuts: [input.stream.count], limits: limits, asConnection: false)
    let inReads = read(input.stream, cuts: input.cuts, limits: limits, asConnection: true)
    require(whole == inReads, "whole: \(whole)\nin reads \(input.cuts) as a connection reads: \(inReads)")
    return 0
}
