import HubTestSupport
import HubWire

/// Bytes from a hex string such as `"81 05 48 65 6c 6c 6f"`; whitespace is ignored.
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0, "odd hex digit count in \(text)")
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)  // test fixtures are well-formed hex
        index = next
    }
    return bytes
}

/// The RFC 6455 §5.7 masking key, `37 fa 21 3d`.
let rfcMaskKey: UInt32 = 0x37fa_213d

/// What feeding some reads to a decoder produced: everything before the first error, and the error.
struct Outcome<Output: Equatable>: Equatable {
    var outputs: [Output] = []
    var error: WebSocketError?
}

/// Feeds `chunks` to a fresh frame decoder, one read each.
func decodeFrames(
    _ chunks: [[UInt8]], frameBytesMax: Int = WebSocketLimits.hub.frameBytesMax, expectMasked: Bool = true
) -> Outcome<WebSocketFrame> {
    var decoder = WebSocketFrameDecoder(frameBytesMax: frameBytesMax, expectMasked: expectMasked)
    var outcome = Outcome<WebSocketFrame>()
    for chunk in chunks {
        var consumed = 0
        do throws(WebSocketError) {
            while let frame = try decoder.decode(chunk, consumed: &consumed) { outcome.outputs.append(frame) }
            precondition(consumed == chunk.count, "decode returned nil before using its whole input")
        } catch {
            outcome.error = error
            return outcome
        }
    }
    return outcome
}

/// Feeds `chunks` to a fresh message decoder, one read each.
func decodeMessages(
    _ chunks: [[UInt8]], limits: WebSocketLimits = .hub, expectMasked: Bool = true
) -> Outcome<WebSocketMessage> {
    var decoder = WebSocketMessageDecoder(limits: limits, expectMasked: expectMasked)
    var outcome = Outcome<WebSocketMessage>()
    for chunk in chunks {
        var consumed = 0
        do throws(WebSocketError) {
            // Message by message, so messages before an error in the same read are kept.
            while let message = try decoder.decode(chunk, consumed: &consumed) { outcome.outputs.append(message) }
        } catch {
            outcome.error = error
            return outcome
        }
    }
    return outcome
}

/// Index of the byte of `bytes` whose read fails, feeding one byte per read; nil when none fails.
func failingByteIndex(_ bytes: [UInt8], limits: WebSocketLimits = .hub, expectMasked: Bool = true) -> Int? {
    var decoder = WebSocketMessageDecoder(limits: limits, expectMasked: expectMasked)
    for (index, byte) in bytes.enumerated() {
        do throws(WebSocketError) {
            _ = try decoder.decodeAll([byte])
        } catch {
            return index
        }
    }
    return nil
}

/// One encoded frame.
func frame(
    _ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true, maskKey: UInt32? = rfcMaskKey
) -> [UInt8] {
    var bytes: [UInt8] = []
    WebSocketFrameEncoder.encodeFrame(opcode: opcode, payload: payload, fin: fin, maskKey: maskKey, into: &bytes)
    return bytes
}

/// A masked close frame with a raw body (which may be invalid).
func closeFrame(body: [UInt8]) -> [UInt8] {
    frame(.close, body)
}

/// The big-endian bytes of a close code.
func codeBytes(_ code: UInt16) -> [UInt8] {
    [UInt8(code >> 8), UInt8(truncatingIfNeeded: code)]
}
