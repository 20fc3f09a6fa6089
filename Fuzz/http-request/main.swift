// libFuzzer target: HTTPRequestParser, fed as HTTPSession feeds it (docs/FUZZING.md).
import HubWire

/// What reading one stream produced: the requests in a comparable form and the error code.
private struct Outcome: Equatable {
    var requests: [String] = []
    var failure: String?
    var unconsumed = 0
}

/// Small enough for a few hundred bytes to reach every limit; kept in step with the `small`
/// limits of the unit-test corpus replay (`# limits: small`).
private let small: HTTPLimits = {
    var limits = HTTPLimits(requestLineBytesMax: 64, headerBytesMax: 256, headerCountMax: 8, bodyBytesMax: 64)
    limits.chunkLineBytesMax = 16
    return limits
}()

/// Feeds `stream` as a connection does: the buffer grows to each cut, the parser runs until it
/// needs more, and `consumed` bytes are dropped after each request. Checks what every request
/// promises on the way.
private func read(_ stream: [UInt8], cuts: [Int], limits: HTTPLimits) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = Outcome()
    var buffer: [UInt8] = []
    var fed = 0
    do throws(HTTPParseError) {
        for cut in cuts {
            buffer.append(contentsOf: stream[fed..<cut])
            fed = cut
            while true {
                let result = try buffer.withUnsafeBytes { bytes in
                    Result { () throws(HTTPParseError) in try parser.parse(bytes) }
                }.get()
                guard case .request(let request, let consumed) = result else {
                    if case .continueExpected = result { continue }
                    break
                }
                require(consumed > 0 && consumed <= buffer.count, "consumed \(consumed) of \(buffer.count)")
                require(request.body.count <= limits.bodyBytesMax, "body of \(request.body.count) bytes")
                require(request.head.headers.count <= limits.headerCountMax, "\(request.head.headers.count) headers")
                for field in request.head.headers {
                    require(isCleanField(name: field.name, value: field.value), "field \(field)")
                }
                require(request.head.path.hasPrefix("/") || request.head.target == "*", "path \(request.head.path)")
                outcome.requests.append(
                    "\(request.head.method) \(request.head.target) \(request.head.versionMinor) "
                        + "\(request.head.headers.map { "\($0.name): \($0.value)" }) \(request.body) \(consumed)")
                buffer.removeFirst(consumed)
            }
        }
    } catch {
        require(error.status >= 400 && error.status <= 599, "status \(error.status)")
        outcome.failure = error.code
        buffer = []
    }
    outcome.unconsumed = buffer.count
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let limits = input.usesSmallLimits ? small : HTTPLimits()
    let whole = read(input.stream, cuts: [input.stream.count], limits: limits)
    let inReads = read(input.stream, cuts: input.cuts, limits: limits)
    require(whole == inReads, "whole: \(whole)\nin reads \(input.cuts): \(inReads)")
    return 0
}
