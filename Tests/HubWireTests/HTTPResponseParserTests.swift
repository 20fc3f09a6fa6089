import HubTestSupport
import HubWire
import Testing

/// HTTPResponseParser tests. Every input goes through `feedEveryWay`, which parses it whole, one
/// byte at a time, split in two at every byte boundary and in seeded random chunks, then closes
/// the connection, and expects the same responses (or the same error) each way. Refusals and
/// limits live in `HTTPResponseParserTests+Refusals.swift`.
@Suite struct HTTPResponseParserTests {
    // MARK: Framing

    @Test func contentLengthBodyIsRead() throws {
        let input = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":true}"
        let response = try parseOne(input)
        #expect(response.status == 200)
        #expect(response.headers == ["content-type: application/json", "content-length: 15"])
        #expect(response.bodyText == "{\"status\":true}")
        #expect(response.consumed == input.utf8.count)
    }

    @Test func zeroContentLengthGivesAnEmptyBody() throws {
        #expect(try parseOne("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n").body.isEmpty)
    }

    /// RFC 9110 §8.6: a list of identical values, or the same field repeated, is that one length.
    @Test(arguments: ["Content-Length: 5, 5", "Content-Length: 5\r\nContent-Length: 5", "Content-Length: 5 ,5"])
    func identicalContentLengthsAreOneLength(fields: String) throws {
        #expect(try parseOne("HTTP/1.1 200 OK\r\n\(fields)\r\n\r\nhello").bodyText == "hello")
    }

    /// Bytes after a Content-Length body belong to the next response on a kept-alive connection.
    @Test func bytesAfterTheBodyAreLeftForTheNextResponse() {
        let first = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let second = "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope"
        let outcome = feedEveryWay(first + second)
        #expect(outcome.failure == nil)
        #expect(outcome.responses.map(\.status) == [200, 404])
        #expect(outcome.responses.map(\.bodyText) == ["ok", "nope"])
        #expect(outcome.responses.map(\.consumed) == [first.utf8.count, second.utf8.count])
    }

    @Test func chunkedBodyIsJoined() throws {
        let input =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n1\r\n!\r\n0\r\n\r\n"
        let response = try parseOne(input)
        #expect(response.bodyText == "hello, world!")
        #expect(response.consumed == input.utf8.count)
    }

    @Test func chunkExtensionsAndTrailersAreReadAndDropped() throws {
        let input =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
            + "5;name=value\r\nhello\r\n6 ; x=\"a;b\"\r\n world\r\n0;last\r\n"
            + "X-Checksum: 5eb63bbbe01eeed0\r\nX-More: 1\r\n\r\n"
        let response = try parseOne(input)
        #expect(response.bodyText == "hello world")
        #expect(response.headers == ["transfer-encoding: chunked", "trailer: X-Checksum"])
        #expect(response.consumed == input.utf8.count)
    }

    @Test func chunkSizesAreHexInEitherCaseWithLeadingZeros() throws {
        let input =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
            + "A\r\n0123456789\r\n00f\r\nabcdefghijklmno\r\n000\r\n\r\n"
        #expect(try parseOne(input).bodyText == "0123456789abcdefghijklmno")
    }

    @Test func zeroLengthChunkedBodyIsEmpty() throws {
        #expect(try parseOne("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").body.isEmpty)
    }

    /// RFC 9112 §6.3 rule 8: with neither length nor chunking, the body is what arrives before the close.
    @Test(arguments: ["1.1", "1.0"])
    func bodyWithoutALengthRunsToTheClose(version: String) throws {
        let input = "HTTP/\(version) 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\r\nworld"
        let response = try parseOne(input)
        #expect(response.bodyText == "hello\r\nworld")
        #expect(response.consumed == nil, "completed by the close")
        let open = feedEveryWay(input, closes: false)
        #expect(open.responses.isEmpty && open.failure == nil, "complete only once the peer closes")
    }

    @Test func emptyBodyRunningToTheCloseIsEmpty() throws {
        #expect(try parseOne("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n").body.isEmpty)
    }

    /// RFC 9112 §6.3 rule 1: 204 and 304 end at the empty line whatever the fields say (a 304
    /// may carry the Content-Length of the 200 it stands for, RFC 9110 §8.6).
    @Test(arguments: [
        "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 1000\r\nETag: \"v1\"\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 204 No Content\r\n\r\n",
    ])
    func noContentAndNotModifiedHaveNoBody(head: String) throws {
        let outcome = feedEveryWay(head + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        #expect(outcome.failure == nil)
        #expect(outcome.responses.map(\.bodyText) == ["", "ok"])
        #expect(outcome.responses.first?.consumed == head.utf8.count)
    }

    @Test func responseToHeadHasNoBody() throws {
        let input = Array("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/html\r\n\r\n".utf8)
        var parser = HTTPResponseParser(answersHead: true)
        let result = try parser.parse(input)
        guard case .response(let response, let consumed) = result else {
            Issue.record("expected a response, got \(result)")
            return
        }
        #expect(response.status == 200 && response.body.isEmpty)
        #expect(consumed == input.count)
        #expect(parser.isIdle)
    }

    // MARK: Interim responses

    /// RFC 9110 §15.2: "A client MUST be able to parse one or more 1xx responses received prior to
    /// a final response, even if the client does not expect one."
    @Test func interimResponsesAreSkipped() throws {
        let input =
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let response = try parseOne(input)
        #expect(response.status == 200)
        #expect(response.headers == ["content-length: 2"])
        #expect(response.bodyText == "ok")
        #expect(response.consumed == input.utf8.count)
    }

    // MARK: Status line and fields

    @Test(
        arguments: [
            ("HTTP/1.1 200 OK", 200), ("HTTP/1.1 200", 200), ("HTTP/1.1 200 ", 200), ("HTTP/1.0 404 Not Found", 404),
            ("HTTP/1.1 599 Whatever\tit says", 599), ("HTTP/1.1 100 Continue", nil),
            ("HTTP/1.1 302 Gef\u{FC}nden", 302),
            ("HTTP/1.2 503 Service Unavailable", 503),
        ] as [(String, Int?)])
    func statusLinesAreRead(line: String, status: Int?) throws {
        let input =
            line + "\r\nContent-Length: 0\r\n\r\n"
            + (status == nil ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" : "")
        #expect(try parseOne(input).status == status ?? 200)
    }

    @Test func fieldNamesAreLowerCasedAndValuesTrimmed() throws {
        let input =
            "HTTP/1.1 200 OK\r\nX-RateLimit-Remaining:\t 99 \r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Empty:\r\n"
            + "Content-Length: 0\r\n\r\n"
        let response = try parseOne(input)
        #expect(
            response.headers == [
                "x-ratelimit-remaining: 99", "set-cookie: a=1", "set-cookie: b=2", "x-empty: ", "content-length: 0",
            ])
    }

    /// The shape of a Paystack answer behind Cloudflare: many fields, chunked JSON.
    @Test func providerAnswerIsRead() throws {
        let json = #"{"status":true,"message":"Verification successful","data":{"amount":4000000,"currency":"NGN"}}"#
        let head =
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Dec 2026 10:00:00 GMT\r\n"
            + "Content-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
            + "Vary: Accept-Encoding\r\nX-Powered-By: Express\r\nAccess-Control-Allow-Origin: *\r\n"
            + "CF-Cache-Status: DYNAMIC\r\nServer: cloudflare\r\nCF-RAY: 8f0c-LOS\r\n\r\n"
        let split = json.utf8.count / 3
        let first = String(json.prefix(split))
        let rest = String(json.dropFirst(split))
        let body =
            String(first.utf8.count, radix: 16) + "\r\n" + first + "\r\n"
            + String(rest.utf8.count, radix: 16) + "\r\n" + rest + "\r\n0\r\n\r\n"
        let response = try parseOne(head + body)
        #expect(response.bodyText == json)
        #expect(response.headers.count == 10)
    }

    // MARK: Chunk sizes from a hostile peer

    /// The defect of issue 16 item 6: the outbound client computed `index + size + 2` with a size
    /// the peer sent, so `7fffffffffffffff` (Int.max) trapped on overflow and killed the hub.
    /// Sizes are now at most 15 hex digits and checked against the body limit before any sum.
    @Test(arguments: [
        "7fffffffffffffff", "7FFFFFFFFFFFFFFE", "ffffffffffffffff", "10000000000000000", "0000000000000001",
    ])
    func chunkSizeNearIntMaxIsRefusedWithoutOverflow(size: String) {
        let input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nhello\r\n0\r\n\r\n"
        #expect(feedEveryWay(input).failure == "bad_chunk")
    }

    /// The largest size we parse (15 hex digits, about 2^60) is refused by the body limit before
    /// it is added to anything.
    @Test(arguments: ["fffffffffffffff", "800000000000000", "400001"])
    func hugeChunkSizeIsTooLarge(size: String) {
        let input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nhello\r\n0\r\n\r\n"
        #expect(feedEveryWay(input).failure == "payload_too_large")
    }

    /// A Content-Length too long for an Int is a refusal, not a trap.
    @Test(arguments: ["9223372036854775807", "9223372036854775808", "99999999999999999999999"])
    func contentLengthNearIntMaxIsTooLarge(length: String) {
        #expect(
            feedEveryWay("HTTP/1.1 200 OK\r\nContent-Length: \(length)\r\n\r\nhello").failure == "payload_too_large")
    }

    // MARK: Idle state and the close

    @Test func parserIsIdleOnlyBetweenResponses() throws {
        var parser = HTTPResponseParser()
        #expect(parser.isIdle)
        let input = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        _ = try parser.parse(Array(input.prefix(4)))
        #expect(!parser.isIdle, "part of a status line was seen")
        _ = try parser.parse(Array(input.dropLast()))
        #expect(!parser.isIdle, "the head is complete but the body is not")
        _ = try parser.parse(input)
        #expect(parser.isIdle, "a response was just completed")
    }

    @Test func closeBeforeAnyByteIsAnIncompleteResponse() {
        var parser = HTTPResponseParser()
        #expect(
            throws: HTTPResponseParseError(code: "incomplete_response", message: "connection closed before a response")
        ) {
            try parser.finish([])
        }
    }
}

// MARK: - Feeding inputs every way

extension HTTPResponseParserTests {
    /// A completed response in a comparable form.
    struct ParsedResponse: Equatable {
        var status: Int
        /// "name: value" in arrival order, names as stored (lower-case).
        var headers: [String]
        var body: [UInt8]
        /// Bytes the response took; nil when the close completed it (`finish`).
        var consumed: Int?

        var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    /// Everything one way of feeding an input produced.
    struct FeedOutcome: Equatable {
        var responses: [ParsedResponse] = []
        /// The error code, if parsing failed.
        var failure: String?
        /// Bytes still buffered after the last call; 0 after an error.
        var unconsumed = 0
    }

    /// Feeds `input` to a fresh parser as the outbound client reads a connection: the buffer grows
    /// to each of `cuts` in turn, the parser is called until it needs more, and `consumed` bytes
    /// are dropped after every response. Then, if `closes`, the peer closes: `finish` runs unless
    /// the parser is idle with nothing buffered. Stops at the first error.
    static func feed(_ input: [UInt8], cuts: some Sequence<Int>, limits: HTTPResponseLimits, closes: Bool)
        -> FeedOutcome
    {
        var parser = HTTPResponseParser(limits: limits)
        var outcome = FeedOutcome()
        var buffer: [UInt8] = []
        var fed = 0
        do throws(HTTPResponseParseError) {
            for cut in cuts {
                buffer.append(contentsOf: input[fed..<cut])
                fed = cut
                while case .response(let response, let consumed) = try parser.parse(buffer) {
                    outcome.responses.append(ParsedResponse(response, consumed: consumed))
                    buffer.removeFirst(consumed)
                }
            }
            if closes && !(parser.isIdle && buffer.isEmpty) {
                outcome.responses.append(ParsedResponse(try parser.finish(buffer), consumed: nil))
                buffer = []
            }
        } catch {
            outcome.failure = error.code
            buffer = []
        }
        outcome.unconsumed = buffer.count
        return outcome
    }

    /// Parses `input` whole, one byte at a time (up to 64 KiB), in two pieces split at every byte
    /// boundary (up to 4 KiB) and in seeded random chunks, expects the same outcome from each, and
    /// returns it.
    @discardableResult
    func feedEveryWay(
        _ input: [UInt8], limits: HTTPResponseLimits = HTTPResponseLimits(), closes: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> FeedOutcome {
        Self.feedEveryWay(input, limits: limits, closes: closes, sourceLocation: sourceLocation)
    }

    @discardableResult
    func feedEveryWay(
        _ input: String, limits: HTTPResponseLimits = HTTPResponseLimits(), closes: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> FeedOutcome {
        Self.feedEveryWay(Array(input.utf8), limits: limits, closes: closes, sourceLocation: sourceLocation)
    }

    static func feedEveryWay(
        _ input: [UInt8], limits: HTTPResponseLimits, closes: Bool, sourceLocation: SourceLocation
    ) -> FeedOutcome {
        let count = input.count
        let whole = feed(input, cuts: [count], limits: limits, closes: closes)

        func expectSame(_ outcome: FeedOutcome, _ mode: @autoclosure () -> String) -> Bool {
            guard outcome != whole else { return true }
            Issue.record("fed \(mode()) gave \(outcome), whole gave \(whole)", sourceLocation: sourceLocation)
            return false
        }

        if count <= 64 * 1024 {
            // Starts with an empty buffer, then grows it one byte per call.
            _ = expectSame(feed(input, cuts: 0...count, limits: limits, closes: closes), "one byte at a time")
        }
        if count <= 4 * 1024 {
            for split in 1..<max(count, 1) {
                let outcome = feed(input, cuts: [split, count], limits: limits, closes: closes)
                guard expectSame(outcome, "split at byte \(split)") else { break }
            }
        }
        var random = SeededRandom(seed: seed ^ UInt64(count))
        let chunkMax = max(2, count / 16)
        for round in 0..<8 {
            let chunks = ByteChunks.random(input, chunkBytesMax: chunkMax, using: &random)
            let cuts = chunks.reduce(into: [Int]()) { $0.append(($0.last ?? 0) + $1.count) }
            let outcome = feed(input, cuts: cuts, limits: limits, closes: closes)
            guard expectSame(outcome, "in random chunks \(cuts) (round \(round), HUB_SEED=\(seed))") else { break }
        }
        return whole
    }

    /// The single response `input` holds, fed every way and closed.
    func parseOne(
        _ input: String, limits: HTTPResponseLimits = HTTPResponseLimits(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ParsedResponse {
        let outcome = feedEveryWay(input, limits: limits, sourceLocation: sourceLocation)
        #expect(outcome.failure == nil, sourceLocation: sourceLocation)
        #expect(outcome.responses.count == 1, sourceLocation: sourceLocation)
        #expect(outcome.unconsumed == 0, sourceLocation: sourceLocation)
        return try #require(outcome.responses.first, sourceLocation: sourceLocation)
    }

    func expectFailure(
        _ input: String, code: String, limits: HTTPResponseLimits = HTTPResponseLimits(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let outcome = feedEveryWay(input, limits: limits, sourceLocation: sourceLocation)
        #expect(outcome.failure == code, "got \(outcome)", sourceLocation: sourceLocation)
    }

    /// Seed for the random chunking: `HUB_SEED` when set, else fresh, printed either way.
    static let seed = SeededRandom.fromEnvironment("HTTPResponseParserTests").seed
}

extension HTTPResponseParserTests.ParsedResponse {
    init(_ response: HTTPResponse, consumed: Int?) {
        status = response.status
        headers = response.headers.map { "\($0.name): \($0.value)" }
        body = response.body
        self.consumed = consumed
    }
}
