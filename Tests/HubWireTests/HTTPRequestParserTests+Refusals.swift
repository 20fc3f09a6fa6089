import HubWire
import Testing

/// Inputs that enable request smuggling or exceed a limit, all refused with the status the
/// server answers before closing.
extension HTTPRequestParserTests {
    // MARK: Smuggling

    /// RFC 9112 §5.2: obs-fold is rejected rather than unfolded, since proxies disagree on it.
    @Test(arguments: [
        "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n",
        "GET / HTTP/1.1\r\n Host: h\r\n\r\n",
    ])
    func foldedHeaderLinesAreRejected(input: String) {
        expectFailure(input, status: 400, code: "obs_fold")
    }

    /// RFC 9112 §5.1: no whitespace is allowed between a field name and its colon.
    @Test(arguments: ["Host : h", "Host\t: h", "Content-Length : 5"])
    func whitespaceBeforeTheColonIsRejected(field: String) {
        expectFailure("POST / HTTP/1.1\r\n\(field)\r\nHost: h\r\n\r\nhello", status: 400, code: "bad_header")
    }

    @Test(arguments: [": empty-name", "No-Colon", "X(y): z", "X\u{7F}: z", "Caf\u{E9}: z"])
    func malformedFieldNamesAreRejected(field: String) {
        expectFailure("GET / HTTP/1.1\r\nHost: h\r\n\(field)\r\n\r\n", status: 400, code: "bad_header")
    }

    @Test(arguments: [
        "GET / HTTP/1.1\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\nX-A: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\n\n",
        "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\n\r\n",
    ])
    func bareLineFeedsAreRejected(input: String) {
        expectFailure(input, status: 400, code: "bare_lf")
    }

    /// RFC 9110 §5.5: field values may hold HTAB but no other control character; a bare CR
    /// inside a value is also how some parsers are made to see two lines.
    @Test(arguments: ["\u{0}", "\u{1}", "\u{1B}", "\u{7F}", "\r", "a\rX-B: b"])
    func controlCharactersInFieldValuesAreRejected(control: String) {
        expectFailure("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\(control)b\r\n\r\n", status: 400, code: "bad_header")
    }

    @Test func missingHostOnHTTP11IsRejected() {
        expectFailure("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", status: 400, code: "bad_host")
    }

    /// RFC 9112 §3.2: more than one Host line is a 400 in any request message, HTTP/1.0 too.
    @Test(arguments: ["1.1", "1.0"])
    func twoHostHeadersAreRejected(version: String) {
        expectFailure("GET / HTTP/\(version)\r\nHost: a\r\nHost: b\r\n\r\n", status: 400, code: "bad_host")
        expectFailure("GET / HTTP/\(version)\r\nHost: a\r\nhost: a\r\n\r\n", status: 400, code: "bad_host")
    }

    // MARK: Limits (each at max and max + 1)

    static let small = HTTPLimits(requestLineBytesMax: 64, headerBytesMax: 64, headerCountMax: 4, bodyBytesMax: 16)

    /// "GET /aaa… HTTP/1.1" of exactly `bytes` bytes, CRLF not included (RFC 9112 §3).
    static func requestLine(bytes: Int) -> String {
        "GET /" + String(repeating: "a", count: bytes - 14) + " HTTP/1.1"
    }

    /// Field lines taking exactly `bytes` bytes with their CRLFs, Host first.
    static func fieldLines(bytes: Int) -> String {
        "Host: h\r\nX-Pad: " + String(repeating: "p", count: bytes - 18) + "\r\n"
    }

    static func fieldLines(count: Int) -> String {
        "Host: h\r\n" + (1..<count).map { "X-\($0): v\r\n" }.joined()
    }

    @Test func requestLineAtTheLimitIsAccepted() throws {
        let line = Self.requestLine(bytes: 64)
        #expect(try parseOne(line + "\r\nHost: h\r\n\r\n", limits: Self.small).target.utf8.count == 64 - 13)
    }

    @Test func requestLineOverTheLimitIsRefused() {
        let line = Self.requestLine(bytes: 65)
        expectFailure(line + "\r\nHost: h\r\n\r\n", status: 414, code: "uri_too_long", limits: Self.small)
    }

    /// The line is refused as soon as it is known to be too long, before its CRLF arrives.
    @Test func requestLineOverTheLimitIsRefusedBeforeItEnds() {
        expectFailure(Self.requestLine(bytes: 65), status: 414, code: "uri_too_long", limits: Self.small)
        let atLimit = feedEveryWay(Self.requestLine(bytes: 64) + "\r", limits: Self.small)
        #expect(atLimit.failure == nil)
    }

    @Test func headerSectionAtTheLimitIsAccepted() throws {
        let request = try parseOne("GET / HTTP/1.1\r\n" + Self.fieldLines(bytes: 64) + "\r\n", limits: Self.small)
        #expect(request.headers.count == 2)
    }

    @Test func headerSectionOverTheLimitIsRefused() {
        expectFailure("GET / HTTP/1.1\r\n" + Self.fieldLines(bytes: 65) + "\r\n",
                      status: 431, code: "headers_too_large", limits: Self.small)
        // Known before the empty line that ends the head.
        expectFailure("GET / HTTP/1.1\r\n" + Self.fieldLines(bytes: 65),
                      status: 431, code: "headers_too_large", limits: Self.small)
    }

    @Test func headerCountAtTheLimitIsAccepted() throws {
        #expect(try parseOne("GET / HTTP/1.1\r\n" + Self.fieldLines(count: 4) + "\r\n", limits: Self.small).headers.count == 4)
    }

    @Test func headerCountOverTheLimitIsRefused() {
        expectFailure("GET / HTTP/1.1\r\n" + Self.fieldLines(count: 5) + "\r\n",
                      status: 431, code: "too_many_headers", limits: Self.small)
    }

    @Test func contentLengthAtTheLimitIsAccepted() throws {
        let input = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 16\r\n\r\n" + String(repeating: "b", count: 16)
        #expect(try parseOne(input, limits: Self.small).body.count == 16)
    }

    /// Refused from the header alone: the body is never buffered.
    @Test func contentLengthOverTheLimitIsRefusedBeforeTheBody() {
        expectFailure("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n",
                      status: 413, code: "payload_too_large", limits: Self.small)
    }

    @Test func chunkLineAtTheLimitIsAcceptedAndOverItRefused() throws {
        var limits = Self.small
        limits.chunkLineBytesMax = 16
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        func sizeLine(bytes: Int) -> String { "3;" + String(repeating: "e", count: bytes - 2) + "\r\n" }
        #expect(try parseOne(head + sizeLine(bytes: 16) + "abc\r\n0\r\n\r\n", limits: limits).bodyText == "abc")
        expectFailure(head + sizeLine(bytes: 17) + "abc\r\n0\r\n\r\n", status: 400, code: "bad_chunk", limits: limits)
    }

    /// Trailer fields count against the header section limit.
    @Test func trailerSectionAtTheLimitIsAcceptedAndOverItRefused() throws {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        #expect(try parseOne(head + Self.fieldLines(bytes: 64) + "\r\n", limits: Self.small).body.isEmpty)
        expectFailure(head + Self.fieldLines(bytes: 65) + "\r\n", status: 431, code: "headers_too_large", limits: Self.small)
    }

    /// Every limit at its default size, fed whole, byte by byte (up to 64 KiB) and in random chunks.
    @Test func defaultLimitsHoldAtTheirBoundaries() throws {
        let limits = HTTPLimits()
        #expect(limits.requestLineBytesMax == 8 * 1024 && limits.headerBytesMax == 16 * 1024)
        #expect(limits.headerCountMax == 100 && limits.bodyBytesMax == 1 << 20)

        _ = try parseOne(Self.requestLine(bytes: 8192) + "\r\nHost: h\r\n\r\n")
        expectFailure(Self.requestLine(bytes: 8193) + "\r\nHost: h\r\n\r\n", status: 414, code: "uri_too_long")

        _ = try parseOne("GET / HTTP/1.1\r\n" + Self.fieldLines(bytes: 16 * 1024) + "\r\n")
        expectFailure("GET / HTTP/1.1\r\n" + Self.fieldLines(bytes: 16 * 1024 + 1) + "\r\n",
                      status: 431, code: "headers_too_large")

        _ = try parseOne("GET / HTTP/1.1\r\n" + Self.fieldLines(count: 100) + "\r\n")
        expectFailure("GET / HTTP/1.1\r\n" + Self.fieldLines(count: 101) + "\r\n", status: 431, code: "too_many_headers")

        let body = String(repeating: "b", count: 1 << 20)
        let request = try parseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(1 << 20)\r\n\r\n" + body)
        #expect(request.body.count == 1 << 20)
        expectFailure("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \((1 << 20) + 1)\r\n\r\n",
                      status: 413, code: "payload_too_large")
    }
}
