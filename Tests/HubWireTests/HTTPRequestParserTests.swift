import Foundation
import HubTestSupport
import HubWire
import Testing

/// HTTPRequestParser tests. Every input goes through `feedEveryWay`, which parses it whole,
/// one byte at a time, split in two at every byte boundary and in seeded random chunks, and
/// expects the same requests (or the same error) each way. Bodies, refusals and limits live in
/// the `HTTPRequestParserTests+*.swift` files.
@Suite struct HTTPRequestParserTests {
    // MARK: Request line and target

    @Test func simpleGetIsParsed() throws {
        let input = "GET /spaces HTTP/1.1\r\nHost: hub.example\r\nAccept: */*\r\n\r\n"
        let request = try parseOne(input)
        #expect(request.method == "GET")
        #expect(request.target == "/spaces")
        #expect(request.path == "/spaces")
        #expect(request.query == "")
        #expect(request.versionMinor == 1)
        #expect(request.headers == ["host: hub.example", "accept: */*"])
        #expect(request.keepAlive)
        #expect(!request.expectsContinue)
        #expect(request.body.isEmpty)
        #expect(request.consumed == input.utf8.count)
    }

    @Test func queryIsSplitAtTheFirstQuestionMark() throws {
        let request = try parseOne("GET /spaces/7?from=2026-01-01&next=/a?b HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(request.path == "/spaces/7")
        #expect(request.query == "from=2026-01-01&next=/a?b")
        let empty = try parseOne("GET /spaces? HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(empty.path == "/spaces")
        #expect(empty.query == "")
    }

    @Test func absoluteFormTargetIsRoutedOnItsPath() throws {
        let request = try parseOne("GET http://hub.example:8080/spaces/7?x=1 HTTP/1.1\r\nHost: hub.example\r\n\r\n")
        #expect(request.target == "http://hub.example:8080/spaces/7?x=1")
        #expect(request.path == "/spaces/7")
        #expect(request.query == "x=1")
        let bare = try parseOne("GET https://hub.example HTTP/1.1\r\nHost: hub.example\r\n\r\n")
        #expect(bare.path == "/")
        #expect(bare.query == "")
    }

    /// RFC 3986 §3.2: the authority ends at the first "/" or "?", so a "/" inside a query that
    /// directly follows the authority must not become the path.
    @Test func absoluteFormQueryWithoutPathKeepsTheRootPath() throws {
        let request = try parseOne("GET http://hub.example?next=/admin HTTP/1.1\r\nHost: hub.example\r\n\r\n")
        #expect(request.path == "/")
        #expect(request.query == "next=/admin")
    }

    @Test func asteriskFormIsAcceptedForOptions() throws {
        let request = try parseOne("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(request.method == "OPTIONS")
        #expect(request.target == "*")
    }

    @Test func asteriskFormIsRefusedForOtherMethods() {
        expectFailure("GET * HTTP/1.1\r\nHost: h\r\n\r\n", status: 400, code: "bad_target")
    }

    @Test func targetMustBeOriginForm() {
        expectFailure("GET spaces HTTP/1.1\r\nHost: h\r\n\r\n", status: 400, code: "bad_target")
    }

    /// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
    @Test func leadingEmptyLinesBeforeTheRequestLineAreSkipped() throws {
        let input = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"
        let request = try parseOne(input)
        #expect(request.path == "/")
        #expect(request.consumed == input.utf8.count)
    }

    /// Only four empty lines are skipped, so a stream of CRLFs cannot keep the parser busy.
    @Test func fifthLeadingEmptyLineIsAnEmptyRequestLine() {
        expectFailure(String(repeating: "\r\n", count: 5) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
                      status: 400, code: "bad_request_line")
    }

    @Test(arguments: [
        "GET /\r\nHost: h\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
        " / HTTP/1.1\r\nHost: h\r\n\r\n",
        "G@T / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a\u{7F}b HTTP/1.1\r\nHost: h\r\n\r\n",
    ])
    func malformedRequestLinesAreRejected(input: String) {
        expectStatus(input, 400)
    }

    // MARK: Headers

    @Test func headerLookupIsCaseInsensitive() throws {
        let request = try parseOne("GET / HTTP/1.1\r\nHOST: h\r\nContent-Type: text/plain\r\nX-Trace-ID: 7\r\n\r\n")
        #expect(request.headers == ["host: h", "content-type: text/plain", "x-trace-id: 7"])
        let headers = try parseRequest("GET / HTTP/1.1\r\nHOST: h\r\nContent-Type: text/plain\r\n\r\n").headers
        #expect(headers["content-type"] == "text/plain")
        #expect(headers["CONTENT-TYPE"] == "text/plain")
        #expect(headers["Host"] == "h")
        #expect(headers["x-absent"] == nil)
    }

    @Test func optionalWhitespaceAroundValuesIsTrimmed() throws {
        let input = "GET / HTTP/1.1\r\nHost:h\r\nX-A: \t value with  inner\tspace \t \r\nX-Empty:   \r\n\r\n"
        let request = try parseOne(input)
        #expect(request.headers == ["host: h", "x-a: value with  inner\tspace", "x-empty: "])
    }

    @Test func repeatedFieldsKeepArrivalOrder() throws {
        let headers = try parseRequest("GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nX: 1\r\naccept: b\r\n\r\n").headers
        #expect(headers.values("accept") == ["a", "b"])
        #expect(headers["accept"] == "a")
    }

    // MARK: Versions and persistence

    @Test func http11KeepsTheConnectionOpenByDefault() throws {
        #expect(try parseOne("GET / HTTP/1.1\r\nHost: h\r\n\r\n").keepAlive)
    }

    @Test(arguments: ["close", "Close", "upgrade, close", "keep-alive , CLOSE"])
    func http11ConnectionCloseEndsTheConnection(value: String) throws {
        #expect(try !parseOne("GET / HTTP/1.1\r\nHost: h\r\nConnection: \(value)\r\n\r\n").keepAlive)
    }

    @Test func http10ClosesByDefaultAndNeedsNoHost() throws {
        let request = try parseOne("GET / HTTP/1.0\r\n\r\n")
        #expect(request.versionMinor == 0)
        #expect(!request.keepAlive)
    }

    @Test func http10KeepAliveKeepsTheConnectionOpen() throws {
        #expect(try parseOne("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
    }

    @Test func http20IsNotSupported() {
        expectFailure("GET / HTTP/2.0\r\nHost: h\r\n\r\n", status: 505, code: "http_version_not_supported")
        expectFailure("GET / HTTP/0.9\r\nHost: h\r\n\r\n", status: 505, code: "http_version_not_supported")
    }

    /// RFC 9110 §2.5: a later 1.x minor version is handled as the highest we support.
    @Test func http12IsTreatedAsHTTP11() throws {
        let request = try parseOne("GET / HTTP/1.2\r\nHost: h\r\n\r\n")
        #expect(request.versionMinor == 1)
        #expect(request.keepAlive)
    }

    @Test(arguments: ["HTTP/1.1x", "http/1.1", "HTTP/1", "HTTP/1.10", "HTTP/a.1", "HTTP/1,1", "HTTPS/1.1"])
    func malformedVersionsAreRejected(version: String) {
        expectFailure("GET / \(version)\r\nHost: h\r\n\r\n", status: 400, code: "bad_version")
    }

    // MARK: Idle state

    @Test func parserIsIdleOnlyBetweenRequests() throws {
        var parser = HTTPRequestParser()
        #expect(parser.isIdle)
        var buffer = Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nokGET".utf8)

        let empty = try parse(&parser, [])
        #expect(empty.isNeedMore && parser.isIdle)
        _ = try parse(&parser, Array(buffer.prefix(3)))
        #expect(!parser.isIdle, "part of a request line was seen")
        let headOnly = buffer.count - 5
        _ = try parse(&parser, Array(buffer.prefix(headOnly)))
        #expect(!parser.isIdle, "the head is complete but the body is not")

        let result = try parse(&parser, buffer)
        let consumed = try #require(result.consumed)
        #expect(parser.isIdle, "a request was just completed")
        buffer.removeFirst(consumed)
        _ = try parse(&parser, buffer)
        #expect(!parser.isIdle, "the next pipelined request has started")
    }
}

// MARK: - Feeding inputs every way

extension HTTPRequestParserTests {
    /// A completed request in a comparable form (HTTPRequest itself is not Equatable).
    struct ParsedRequest: Equatable {
        var method: String
        var target: String
        var path: String
        var query: String
        var versionMinor: Int
        /// "name: value" in arrival order, names as stored (lower-case).
        var headers: [String]
        var keepAlive: Bool
        var expectsContinue: Bool
        var body: [UInt8]
        var consumed: Int

        init(_ request: HTTPRequest, consumed: Int) {
            method = request.head.method
            target = request.head.target
            path = request.head.path
            query = request.head.query
            versionMinor = request.head.versionMinor
            headers = request.head.headers.map { "\($0.name): \($0.value)" }
            keepAlive = request.head.keepAlive
            expectsContinue = request.head.expectsContinue
            body = request.body
            self.consumed = consumed
        }

        var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    /// Everything one way of feeding an input produced. `.continueExpected` results are counted
    /// separately, because whether one appears depends on how the body arrives.
    struct FeedOutcome: Equatable {
        var requests: [ParsedRequest] = []
        var failure: Failure?
        /// Bytes still in the caller's buffer after the last call; 0 after an error, since how much
        /// had arrived when the parser gave up depends on the chunking.
        var unconsumed = 0

        struct Failure: Equatable {
            var status: Int
            var code: String
        }
    }

    /// Feeds `input` to a fresh parser the way a connection would: the buffer grows to each of
    /// `cuts` in turn (end offsets into `input`), the parser is called until it needs more, and
    /// `consumed` bytes are dropped after every request. Stops at the first error.
    func feed(_ input: [UInt8], cuts: some Sequence<Int>, limits: HTTPLimits) -> (outcome: FeedOutcome, continues: Int) {
        var parser = HTTPRequestParser(limits: limits)
        var outcome = FeedOutcome()
        var continues = 0
        var buffer: [UInt8] = []
        var fed = 0
        chunks: for cut in cuts {
            buffer.append(contentsOf: input[fed..<cut])
            fed = cut
            while true {
                do throws(HTTPParseError) {
                    switch try parse(&parser, buffer) {
                    case .needMore:
                        continue chunks
                    case .continueExpected:
                        continues += 1
                    case .request(let request, let consumed):
                        outcome.requests.append(ParsedRequest(request, consumed: consumed))
                        buffer.removeFirst(consumed)
                    }
                } catch {
                    outcome.failure = FeedOutcome.Failure(status: error.status, code: error.code)
                    break chunks
                }
            }
        }
        outcome.unconsumed = outcome.failure == nil ? buffer.count : 0
        return (outcome, continues)
    }

    /// Parses `input` whole, one byte at a time, in two pieces split at every byte boundary (inputs
    /// up to 4 KiB) and in seeded random chunks, expects the same outcome from each, and returns it.
    @discardableResult
    func feedEveryWay(
        _ input: [UInt8], limits: HTTPLimits = HTTPLimits(), sourceLocation: SourceLocation = #_sourceLocation
    ) -> FeedOutcome {
        let count = input.count
        let whole = feed(input, cuts: [count], limits: limits).outcome

        func expectSame(_ outcome: FeedOutcome, _ mode: @autoclosure () -> String) -> Bool {
            guard outcome != whole else { return true }
            Issue.record("fed \(mode()) gave \(outcome), whole gave \(whole)", sourceLocation: sourceLocation)
            return false
        }

        if count <= 64 * 1024 {
            // Starts with an empty buffer, then grows it one byte per call.
            _ = expectSame(feed(input, cuts: 0...count, limits: limits).outcome, "one byte at a time")
        }
        if count <= 4 * 1024 {
            for split in 1..<max(count, 1) {
                guard expectSame(feed(input, cuts: [split, count], limits: limits).outcome, "split at byte \(split)") else { break }
            }
        }
        var random = SeededRandom(seed: Self.seed ^ UInt64(count))
        let chunkMax = max(2, count / 16)
        for round in 0..<8 {
            var cuts: [Int] = []
            var end = 0
            while end < count {
                end = min(count, end + Int.random(in: 1...chunkMax, using: &random))
                cuts.append(end)
            }
            guard expectSame(feed(input, cuts: cuts, limits: limits).outcome,
                             "in random chunks \(cuts) (round \(round), HUB_SEED=\(Self.seed))") else { break }
        }
        return whole
    }

    @discardableResult
    func feedEveryWay(
        _ input: String, limits: HTTPLimits = HTTPLimits(), sourceLocation: SourceLocation = #_sourceLocation
    ) -> FeedOutcome {
        feedEveryWay(Array(input.utf8), limits: limits, sourceLocation: sourceLocation)
    }

    /// The single complete request `input` holds, fed every way.
    func parseOne(
        _ input: String, limits: HTTPLimits = HTTPLimits(), sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ParsedRequest {
        let outcome = feedEveryWay(input, limits: limits, sourceLocation: sourceLocation)
        #expect(outcome.failure == nil, sourceLocation: sourceLocation)
        #expect(outcome.requests.count == 1, sourceLocation: sourceLocation)
        #expect(outcome.unconsumed == 0, sourceLocation: sourceLocation)
        return try #require(outcome.requests.first, sourceLocation: sourceLocation)
    }

    /// The request itself, for tests that need HTTPHeaders lookups; fed whole.
    func parseRequest(_ input: String) throws -> HTTPRequest {
        var parser = HTTPRequestParser()
        let result = try parse(&parser, Array(input.utf8))
        guard case .request(let request, _) = result else { throw ParserTestError.incomplete }
        return request
    }

    enum ParserTestError: Error { case incomplete }

    func expectFailure(
        _ input: String, status: Int, code: String, limits: HTTPLimits = HTTPLimits(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let outcome = feedEveryWay(input, limits: limits, sourceLocation: sourceLocation)
        #expect(outcome.failure == FeedOutcome.Failure(status: status, code: code), sourceLocation: sourceLocation)
    }

    func expectStatus(_ input: String, _ status: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let outcome = feedEveryWay(input, sourceLocation: sourceLocation)
        #expect(outcome.failure?.status == status, "got \(outcome)", sourceLocation: sourceLocation)
    }

    /// One call on a caller-held parser.
    func parse(_ parser: inout HTTPRequestParser, _ buffer: [UInt8]) throws(HTTPParseError) -> HTTPRequestParser.Result {
        // withUnsafeBytes rethrows untyped errors; Swift.Result carries the typed one through.
        try buffer.withUnsafeBytes { bytes in
            Swift.Result { () throws(HTTPParseError) in try parser.parse(bytes) }
        }.get()
    }

    /// Seed for the random chunking: `HUB_SEED` when set, else fresh, printed either way.
    static let seed = SeededRandom.seedFromEnvironment("HTTPRequestParserTests (random chunking)")
}

extension HTTPRequestParser.Result {
    var isNeedMore: Bool {
        if case .needMore = self { return true }
        return false
    }

    var isContinueExpected: Bool {
        if case .continueExpected = self { return true }
        return false
    }

    var consumed: Int? {
        if case .request(_, let consumed) = self { return consumed }
        return nil
    }
}
