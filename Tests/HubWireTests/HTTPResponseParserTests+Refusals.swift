import HubWire
import Testing

/// Responses that could be read two ways (response splitting), that break RFC 9112's grammar, that
/// end too early, or that exceed a limit: each refused with its code, one test per rule.
extension HTTPResponseParserTests {
    // MARK: Splitting and smuggling

    @Test(arguments: [
        "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\nX-A: b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n",
        "\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\n\r\n",
    ])
    func bareLineFeedsAreRefused(input: String) {
        expectFailure(input, code: "bare_lf")
    }

    /// RFC 9112 §5.2: obs-fold is refused rather than unfolded, since readers disagree on it.
    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\r\n\tb\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\n Content-Length: 0\r\n\r\n",
    ])
    func foldedHeaderLinesAreRefused(input: String) {
        expectFailure(input, code: "obs_fold")
    }

    /// RFC 9112 §5.1: no whitespace between a field name and its colon.
    @Test(arguments: ["Content-Length : 5", "Transfer-Encoding\t: chunked"])
    func whitespaceBeforeTheColonIsRefused(field: String) {
        expectFailure("HTTP/1.1 200 OK\r\n\(field)\r\n\r\nhello", code: "bad_header")
    }

    @Test(arguments: [
        ": empty-name", "No-Colon", "X(y): z", "Caf\u{E9}: z", "X-A: a\u{0}b", "X-A: a\rb", "X-A: \u{7F}",
    ])
    func malformedFieldLinesAreRefused(field: String) {
        expectFailure("HTTP/1.1 200 OK\r\n\(field)\r\nContent-Length: 0\r\n\r\n", code: "bad_header")
    }

    /// RFC 9112 §6.3 rule 3: both framings at once "ought to be handled as an error".
    @Test(arguments: [
        "Content-Length: 5\r\nTransfer-Encoding: chunked", "Transfer-Encoding: chunked\r\nContent-Length: 5",
    ])
    func contentLengthWithTransferEncodingIsRefused(fields: String) {
        expectFailure("HTTP/1.1 200 OK\r\n\(fields)\r\n\r\n5\r\nhello\r\n0\r\n\r\n", code: "ambiguous_length")
    }

    @Test(arguments: [
        "Content-Length: 5\r\nContent-Length: 6", "Content-Length: 5, 6", "Content-Length: 6\r\nContent-Length: 5, 5",
    ])
    func differingContentLengthsAreRefused(fields: String) {
        expectFailure("HTTP/1.1 200 OK\r\n\(fields)\r\n\r\nhello!", code: "ambiguous_length")
    }

    @Test(arguments: ["abc", "-5", "+5", "", "0x5", "5 5", "5,", ",5", "5.0", "\u{0665}"])
    func malformedContentLengthIsRefused(value: String) {
        expectFailure("HTTP/1.1 200 OK\r\nContent-Length: \(value)\r\n\r\nhello", code: "bad_content_length")
    }

    @Test(arguments: ["gzip", "gzip, chunked", "chunked, gzip", "chunked, chunked", "identity"])
    func transferCodingsOtherThanChunkedAreRefused(coding: String) {
        expectFailure(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: \(coding)\r\n\r\n0\r\n\r\n", code: "unsupported_transfer_encoding")
    }

    /// RFC 9112 §6.1: Transfer-Encoding did not exist in HTTP/1.0.
    @Test func transferEncodingInHTTP10IsRefused() {
        expectFailure("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", code: "bad_transfer_encoding")
    }

    // MARK: Status line

    @Test(arguments: [
        "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 20x OK", "HTTP/1.1  200 OK", "HTTP/1.1 200\tOK",
        "http/1.1 200 OK",
        "HTTP/1.1 099 Low", "HTTP/1.1 600 High", "HTTP/1.1 000 Zero", "HTTP/1.1 200 O\u{1}K", "HTTP/1.1 200 OK\rX",
        "HTTP/1.1 200 \u{7F}", "HTTP/1 200 OK", "HTTP/1.10 200 OK", "HTTPS/1.1 200 OK", "", "ICY 200 OK",
    ])
    func malformedStatusLinesAreRefused(line: String) {
        expectFailure(line + "\r\nContent-Length: 0\r\n\r\n", code: "bad_status_line")
    }

    @Test(arguments: ["HTTP/2.0 200 OK", "HTTP/0.9 200 OK", "HTTP/3.0 200 OK"])
    func versionsOtherThan1xAreRefused(line: String) {
        expectFailure(line + "\r\nContent-Length: 0\r\n\r\n", code: "bad_version")
    }

    /// We never send `Upgrade`, so a 101 cannot be ours (RFC 9110 §15.2.2).
    @Test func switchingProtocolsIsRefused() {
        expectFailure("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", code: "unexpected_status")
    }

    // MARK: Chunks

    /// Sizes that are not 1*HEXDIG, and more hex digits than any size we could hold.
    @Test(arguments: ["g", "", " 5", "-1", "+5", "0x5", "5x", "5 x", "1" + String(repeating: "0", count: 16)])
    func malformedChunkSizesAreRefused(size: String) {
        expectFailure(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nhello\r\n0\r\n\r\n", code: "bad_chunk")
    }

    @Test(arguments: ["XY", "\n0", "\r0", "\r\r"])
    func chunkDataMustBeFollowedByCRLF(after: String) {
        expectFailure(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\(after)\r\n0\r\n\r\n", code: "bad_chunk")
    }

    // MARK: Cut short

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Len",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
        "HTTP/1.1 100 Continue\r\n\r\n",
        "H",
    ])
    func closeInsideAResponseIsAnIncompleteResponse(input: String) {
        expectFailure(input, code: "incomplete_response")
        let open = feedEveryWay(input, closes: false)
        #expect(open.failure == nil && open.responses.isEmpty, "still waiting while the connection is open")
    }

    // MARK: Limits (each at max and max + 1)

    static let small = HTTPResponseLimits(
        statusLineBytesMax: 32, headerBytesMax: 64, headerCountMax: 4, bodyBytesMax: 16)

    /// "HTTP/1.1 200 OK…" of exactly `bytes` bytes, CRLF not included.
    static func statusLine(bytes: Int) -> String {
        "HTTP/1.1 200 " + String(repeating: "k", count: bytes - 13)
    }

    /// Field lines taking exactly `bytes` bytes with their CRLFs, Content-Length: 0 first.
    static func fieldLines(bytes: Int) -> String {
        "Content-Length: 0\r\nX-Pad: " + String(repeating: "p", count: bytes - 28) + "\r\n"
    }

    static func fieldLines(count: Int) -> String {
        "Content-Length: 0\r\n" + (1..<count).map { "X-\($0): v\r\n" }.joined()
    }

    @Test func statusLineAtTheLimitIsAcceptedAndOverItRefused() throws {
        #expect(
            try parseOne(Self.statusLine(bytes: 32) + "\r\nContent-Length: 0\r\n\r\n", limits: Self.small).status == 200
        )
        expectFailure(
            Self.statusLine(bytes: 33) + "\r\nContent-Length: 0\r\n\r\n", code: "status_line_too_long",
            limits: Self.small)
        // Known before the line ends.
        expectFailure(Self.statusLine(bytes: 33), code: "status_line_too_long", limits: Self.small)
    }

    @Test func headerSectionAtTheLimitIsAcceptedAndOverItRefused() throws {
        #expect(
            try parseOne("HTTP/1.1 200 OK\r\n" + Self.fieldLines(bytes: 64) + "\r\n", limits: Self.small).headers.count
                == 2)
        expectFailure(
            "HTTP/1.1 200 OK\r\n" + Self.fieldLines(bytes: 65) + "\r\n", code: "headers_too_large", limits: Self.small)
        expectFailure("HTTP/1.1 200 OK\r\n" + Self.fieldLines(bytes: 65), code: "headers_too_large", limits: Self.small)
    }

    @Test func headerCountAtTheLimitIsAcceptedAndOverItRefused() throws {
        #expect(
            try parseOne("HTTP/1.1 200 OK\r\n" + Self.fieldLines(count: 4) + "\r\n", limits: Self.small).headers.count
                == 4)
        expectFailure(
            "HTTP/1.1 200 OK\r\n" + Self.fieldLines(count: 5) + "\r\n", code: "too_many_headers", limits: Self.small)
    }

    /// Refused from the header alone: the body is never buffered.
    @Test func contentLengthAtTheLimitIsAcceptedAndOverItRefused() throws {
        let body = String(repeating: "b", count: 16)
        #expect(
            try parseOne("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n" + body, limits: Self.small).body.count == 16)
        expectFailure("HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n", code: "payload_too_large", limits: Self.small)
    }

    /// The size line that takes the total past the limit is refused before its data arrives.
    @Test func chunkedBodyAtTheLimitIsAcceptedAndOverItRefused() throws {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(try parseOne(head + "8\r\n12345678\r\n8\r\nabcdefgh\r\n0\r\n\r\n", limits: Self.small).body.count == 16)
        expectFailure(head + "8\r\n12345678\r\n9\r\n", code: "payload_too_large", limits: Self.small)
        expectFailure(head + "11\r\n", code: "payload_too_large", limits: Self.small)
    }

    /// A body that runs to the close is refused as soon as it passes the limit, before the close.
    @Test func bodyRunningToTheCloseAtTheLimitIsAcceptedAndOverItRefused() throws {
        let head = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"
        #expect(try parseOne(head + String(repeating: "b", count: 16), limits: Self.small).body.count == 16)
        expectFailure(head + String(repeating: "b", count: 17), code: "payload_too_large", limits: Self.small)
        let open = feedEveryWay(head + String(repeating: "b", count: 17), limits: Self.small, closes: false)
        #expect(open.failure == "payload_too_large")
    }

    @Test func chunkLineAtTheLimitIsAcceptedAndOverItRefused() throws {
        var limits = Self.small
        limits.chunkLineBytesMax = 16
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        func sizeLine(bytes: Int) -> String { "3;" + String(repeating: "e", count: bytes - 2) + "\r\n" }
        #expect(try parseOne(head + sizeLine(bytes: 16) + "abc\r\n0\r\n\r\n", limits: limits).bodyText == "abc")
        expectFailure(head + sizeLine(bytes: 17) + "abc\r\n0\r\n\r\n", code: "bad_chunk", limits: limits)
    }

    /// Trailer fields count against the header section limit.
    @Test func trailerSectionAtTheLimitIsAcceptedAndOverItRefused() throws {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        #expect(try parseOne(head + Self.fieldLines(bytes: 64) + "\r\n", limits: Self.small).body.isEmpty)
        expectFailure(head + Self.fieldLines(bytes: 65) + "\r\n", code: "headers_too_large", limits: Self.small)
    }

    @Test func interimResponsesUpToTheLimitAreSkippedAndMoreRefused() throws {
        let interim = "HTTP/1.1 100 Continue\r\n\r\n"
        let final = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        let limit = HTTPResponseLimits().interimResponsesMax
        #expect(try parseOne(String(repeating: interim, count: limit) + final).status == 200)
        expectFailure(String(repeating: interim, count: limit + 1) + final, code: "too_many_interim_responses")
    }

    /// Every limit at its default size, fed whole, byte by byte (up to 64 KiB) and in random chunks.
    @Test func defaultLimitsHoldAtTheirBoundaries() throws {
        let limits = HTTPResponseLimits()
        #expect(limits.statusLineBytesMax == 1024 && limits.headerBytesMax == 32 * 1024 && limits.headerCountMax == 100)
        #expect(limits.bodyBytesMax == 4 << 20 && limits.chunkLineBytesMax == 1024 && limits.interimResponsesMax == 4)

        _ = try parseOne(Self.statusLine(bytes: 1024) + "\r\nContent-Length: 0\r\n\r\n")
        expectFailure(Self.statusLine(bytes: 1025) + "\r\nContent-Length: 0\r\n\r\n", code: "status_line_too_long")

        _ = try parseOne("HTTP/1.1 200 OK\r\n" + Self.fieldLines(bytes: 32 * 1024) + "\r\n")
        expectFailure("HTTP/1.1 200 OK\r\n" + Self.fieldLines(bytes: 32 * 1024 + 1) + "\r\n", code: "headers_too_large")

        _ = try parseOne("HTTP/1.1 200 OK\r\n" + Self.fieldLines(count: 100) + "\r\n")
        expectFailure("HTTP/1.1 200 OK\r\n" + Self.fieldLines(count: 101) + "\r\n", code: "too_many_headers")

        let body = String(repeating: "b", count: 4 << 20)
        #expect(try parseOne("HTTP/1.1 200 OK\r\nContent-Length: \(4 << 20)\r\n\r\n" + body).body.count == 4 << 20)
        expectFailure("HTTP/1.1 200 OK\r\nContent-Length: \((4 << 20) + 1)\r\n\r\n", code: "payload_too_large")
    }
}
