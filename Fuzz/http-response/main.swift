// libFuzzer target: HTTPResponseParser, fed as OutboundHTTP feeds it (docs/FUZZING.md).
import HubWire

/// What reading one connection produced: the responses in a comparable form and the error code.
private struct Outcome: Equatable {
    var responses: [String] = []
    var failure: String?
}

/// Small enough for a few hundred bytes to reach every limit; kept in step with the `small`
/// limits of the unit-test corpus replay (`# limits: small`).
private let small: HTTPResponseLimits = {
    var limits = HTTPResponseLimits(
        statusLineBytesMax: 32, headerBytesMax: 256, headerCountMax: 8, bodyBytesMax: 64)
    limits.chunkLineBytesMax = 16
    return limits
}()

/// Checks what a response promises, then writes it back out with HubWire's writer and parses
/// that: the writer's framing and the parser's must agree on status, fields and body.
private func check(_ response: HTTPResponse, limits: HTTPResponseLimits) {
    require((200...599).contains(response.status), "final status \(response.status)")
    require(response.body.count <= limits.bodyBytesMax, "body of \(response.body.count) bytes")
    require(response.headers.count <= limits.headerCountMax, "\(response.headers.count) headers")
    for field in response.headers {
        require(isCleanField(name: field.name, value: field.value), "field \(field)")
    }
    var copy = response
    copy.headers.remove("content-length")  // the writer sends its own
    copy.headers.remove("transfer-encoding")  // the body is already de-chunked
    let written = copy.serialized()
    // The writer adds a field and a space after each colon, and writes a value that was not UTF-8
    // as U+FFFD (three bytes per bad byte): room for that, and nothing else.
    var rereadLimits = limits
    rereadLimits.statusLineBytesMax = HTTPResponseLimits().statusLineBytesMax  // reason phrases are ours
    rereadLimits.headerCountMax += 1
    rereadLimits.headerBytesMax = 4 * limits.headerBytesMax + 1024
    var parser = HTTPResponseParser(limits: rereadLimits)
    do throws(HTTPResponseParseError) {
        let reread = try parser.finish(written)
        var expected = copy.headers.map { "\($0.name): \($0.value)" }
        if response.status != 204 && response.status != 304 { expected.append("content-length: \(copy.body.count)") }
        require(reread.status == response.status, "status \(response.status) reread as \(reread.status)")
        require(reread.headers.map { "\($0.name): \($0.value)" } == expected, "fields reread as \(reread.headers)")
        let body = response.status == 204 || response.status == 304 ? [] : response.body
        require(reread.body == body, "body reread as \(reread.body)")
    } catch {
        fatalError("written response \(written) does not parse: \(error.code) \(error)")
    }
}

/// Feeds `stream` as the outbound client reads a connection, then closes it; drops `consumed`
/// bytes after each response (a kept-alive connection).
private func read(_ stream: [UInt8], cuts: [Int], limits: HTTPResponseLimits) -> Outcome {
    var parser = HTTPResponseParser(limits: limits)
    var outcome = Outcome()
    var buffer: [UInt8] = []
    var fed = 0
    do throws(HTTPResponseParseError) {
        for cut in cuts {
            buffer.append(contentsOf: stream[fed..<cut])
            fed = cut
            while case .response(let response, let consumed) = try parser.parse(buffer) {
                require(consumed > 0 && consumed <= buffer.count, "consumed \(consumed) of \(buffer.count)")
                check(response, limits: limits)
                outcome.responses.append("\(response.status) \(Array(response.headers)) \(response.body) \(consumed)")
                buffer.removeFirst(consumed)
            }
        }
        if !(parser.isIdle && buffer.isEmpty) {
            let response = try parser.finish(buffer)
            check(response, limits: limits)
            outcome.responses.append("\(response.status) \(Array(response.headers)) \(response.body) at close")
        }
    } catch {
        outcome.failure = error.code
    }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPResponse(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let limits = input.usesSmallLimits ? small : HTTPResponseLimits()
    let whole = read(input.stream, cuts: [input.stream.count], limits: limits)
    let inReads = read(input.stream, cuts: input.cuts, limits: limits)
    require(whole == inReads, "whole: \(whole)\nin reads \(input.cuts): \(inReads)")
    return 0
}
