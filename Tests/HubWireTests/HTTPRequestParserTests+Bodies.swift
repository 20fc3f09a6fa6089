import HubWire
import Testing

/// Content-Length and chunked bodies, pipelining and `Expect: 100-continue`.
extension HTTPRequestParserTests {
    // MARK: Content-Length

    @Test func contentLengthBodyIsRead() throws {
        let input = "POST /bookings HTTP/1.1\r\nHost: h\r\nContent-Length: 13\r\n\r\n{\"seats\": 12}"
        let request = try parseOne(input)
        #expect(request.method == "POST")
        #expect(request.bodyText == "{\"seats\": 12}")
        #expect(request.consumed == input.utf8.count)
    }

    @Test func zeroContentLengthGivesAnEmptyBody() throws {
        #expect(try parseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").body.isEmpty)
    }

    @Test func bodyWaitsForEveryByte() {
        let outcome = feedEveryWay("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhell")
        #expect(outcome.requests.isEmpty && outcome.failure == nil)
    }

    @Test func identicalDuplicateContentLengthsAreAccepted() throws {
        let request = try parseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello")
        #expect(request.bodyText == "hello")
    }

    @Test func differingContentLengthsAreRejected() {
        expectFailure("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
                      status: 400, code: "ambiguous_length")
    }

    /// RFC 9110 §8.6: a list of identical values may be read as that one value.
    @Test(arguments: ["5, 5", "5,5", "5 ,5, 5"])
    func contentLengthListOfEqualValuesIsAccepted(value: String) throws {
        #expect(try parseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(value)\r\n\r\nhello").bodyText == "hello")
    }

    @Test func contentLengthListOfDifferentValuesIsRejected() {
        expectFailure("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\nhello!", status: 400, code: "ambiguous_length")
    }

    @Test(arguments: ["abc", "-5", "+5", "", "0x5", "5 5", "5,", ",5", "5.0", "\u{0665}"])
    func malformedContentLengthIsRejected(value: String) {
        expectFailure("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(value)\r\n\r\nhello",
                      status: 400, code: "bad_content_length")
    }

    @Test func contentLengthTooLongToParseIsTooLarge() {
        expectFailure("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n",
                      status: 413, code: "payload_too_large")
    }

    // MARK: Chunked

    @Test func chunkedBodyIsJoined() throws {
        let input = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n7\r\n, world\r\n1\r\n!\r\n0\r\n\r\n"
        let request = try parseOne(input)
        #expect(request.bodyText == "hello, world!")
        #expect(request.consumed == input.utf8.count)
    }

    @Test func chunkExtensionsAreIgnored() throws {
        let input = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n6 ; x=\"a;b\"\r\n world\r\n0;last\r\n\r\n"
        #expect(try parseOne(input).bodyText == "hello world")
    }

    @Test func trailersAreReadAndDropped() throws {
        let input = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "3\r\nabc\r\n0\r\nX-Checksum: 900150983cd24fb0\r\nX-More: 1\r\n\r\n"
        let request = try parseOne(input)
        #expect(request.bodyText == "abc")
        #expect(request.headers == ["host: h", "transfer-encoding: chunked"])
        #expect(request.consumed == input.utf8.count)
    }

    @Test func chunkSizesAreHexInEitherCase() throws {
        let input = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
            + "A\r\n0123456789\r\nf\r\nabcdefghijklmno\r\n00\r\n\r\n"
        #expect(try parseOne(input).bodyText == "0123456789abcdefghijklmno")
    }

    @Test func zeroLengthChunkedBodyIsEmpty() throws {
        #expect(try parseOne("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").body.isEmpty)
    }

    /// Sizes that are not 1*HEXDIG, and more hex digits than any size we could hold.
    @Test(arguments: ["g", "", " 5", "-1", "0x5", "5x", "1" + String(repeating: "0", count: 16), String(repeating: "f", count: 16)])
    func malformedChunkSizesAreRejected(size: String) {
        expectFailure("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nhello\r\n0\r\n\r\n",
                      status: 400, code: "bad_chunk")
    }

    @Test(arguments: ["XY", "\n0", "\r0", "\r\r"])
    func chunkDataMustBeFollowedByCRLF(after: String) {
        expectFailure("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\(after)\r\n0\r\n\r\n",
                      status: 400, code: "bad_chunk")
    }

    @Test func chunkedBodyUpToTheLimitIsAccepted() throws {
        let limits = HTTPLimits(requestLineBytesMax: 64, headerBytesMax: 256, headerCountMax: 8, bodyBytesMax: 16)
        let input = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\nabcdefgh\r\n0\r\n\r\n"
        #expect(try parseOne(input, limits: limits).body.count == 16)
    }

    /// The size line that takes the total past the limit is refused before its data arrives.
    @Test func chunkedBodyOverTheLimitIsTooLarge() {
        let limits = HTTPLimits(requestLineBytesMax: 64, headerBytesMax: 256, headerCountMax: 8, bodyBytesMax: 16)
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        expectFailure(head + "8\r\n12345678\r\n9\r\n", status: 413, code: "payload_too_large", limits: limits)
        expectFailure(head + "11\r\n", status: 413, code: "payload_too_large", limits: limits)
    }

    @Test func contentLengthWithTransferEncodingIsRejected() {
        expectFailure("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                      status: 400, code: "ambiguous_length")
        expectFailure("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                      status: 400, code: "ambiguous_length")
    }

    @Test(arguments: ["gzip", "gzip, chunked", "identity"])
    func transferCodingsOtherThanChunkedAreNotImplemented(coding: String) {
        expectFailure("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \(coding)\r\n\r\n0\r\n\r\n",
                      status: 501, code: "unsupported_transfer_encoding")
    }

    /// RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is a sign of a smuggling attempt.
    @Test func transferEncodingInHTTP10IsRejected() {
        expectFailure("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                      status: 400, code: "bad_transfer_encoding")
    }

    // MARK: Pipelining

    static let pipelined = [
        "GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST /b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
    ]

    @Test func pipelinedRequestsAreParsedInOrder() {
        let outcome = feedEveryWay(Self.pipelined.joined())
        #expect(outcome.failure == nil && outcome.unconsumed == 0)
        #expect(outcome.requests.map(\.method) == ["GET", "POST", "POST"])
        #expect(outcome.requests.map(\.path) == ["/a", "/b", "/c"])
        #expect(outcome.requests.map(\.bodyText) == ["", "hello", "abcdefg"])
        #expect(outcome.requests.map(\.consumed) == Self.pipelined.map(\.utf8.count))
    }

    @Test func partialPipelinedRequestStaysUnconsumed() {
        let outcome = feedEveryWay(Self.pipelined[0] + Self.pipelined[1] + "GET /d HT")
        #expect(outcome.requests.map(\.path) == ["/a", "/b"])
        #expect(outcome.failure == nil)
        #expect(outcome.unconsumed == 9)
    }

    /// Some clients send a stray CRLF after a body; RFC 9112 §2.2 lets the next request skip it.
    @Test func crlfBetweenPipelinedRequestsIsSkipped() {
        let outcome = feedEveryWay(Self.pipelined[1] + "\r\n" + Self.pipelined[0])
        #expect(outcome.requests.map(\.path) == ["/b", "/a"])
        #expect(outcome.requests.map(\.consumed) == [Self.pipelined[1].utf8.count, Self.pipelined[0].utf8.count + 2])
    }

    @Test func errorInALaterPipelinedRequestKeepsTheEarlierOnes() {
        let outcome = feedEveryWay(Self.pipelined[0] + "GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n")
        #expect(outcome.requests.map(\.path) == ["/a"])
        #expect(outcome.failure == FeedOutcome.Failure(status: 400, code: "bad_header"))
    }

    // MARK: Expect: 100-continue

    static let expectHead = "POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"

    @Test func continueIsExpectedOnceBeforeTheBodyArrives() throws {
        var parser = HTTPRequestParser()
        let head = Array(Self.expectHead.utf8)
        #expect(try parse(&parser, Array(head.dropLast())).isNeedMore)
        #expect(try parse(&parser, head).isContinueExpected)
        #expect(try parse(&parser, head).isNeedMore, "returned once")
        #expect(try parse(&parser, head + Array("hell".utf8)).isNeedMore)
        let result = try parse(&parser, head + Array("hello".utf8))
        guard case .request(let request, let consumed) = result else {
            Issue.record("expected a request, got \(result)")
            return
        }
        #expect(request.head.expectsContinue)
        #expect(request.body == Array("hello".utf8))
        #expect(consumed == head.count + 5)

        // The next request on the connection gets its own 100 Continue.
        #expect(try parse(&parser, head).isContinueExpected)
    }

    /// RFC 9110 §10.1.1: a server MAY omit 100 Continue when the content has already arrived.
    @Test func continueIsNotExpectedWhenTheBodyIsAlreadyBuffered() {
        let input = Array((Self.expectHead + "hello").utf8)
        let whole = feed(input, cuts: [input.count], limits: HTTPLimits())
        #expect(whole.continues == 0)
        #expect(whole.outcome.requests.first?.expectsContinue == true)
        let byByte = feed(input, cuts: 0...input.count, limits: HTTPLimits())
        #expect(byByte.continues == 1)
        #expect(byByte.outcome == whole.outcome)
        feedEveryWay(input)
    }

    @Test func continueIsNotExpectedWithoutABody() throws {
        let input = Array("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\r\n".utf8)
        let byByte = feed(input, cuts: 0...input.count, limits: HTTPLimits())
        #expect(byByte.continues == 0)
        #expect(byByte.outcome.requests.count == 1)
    }

    @Test func continueIsExpectedBeforeAChunkedBody() throws {
        var parser = HTTPRequestParser()
        let head = Array("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        #expect(try parse(&parser, head).isContinueExpected)
        #expect(try parse(&parser, head + Array("3\r\nab".utf8)).isNeedMore)
        #expect(try parse(&parser, head + Array("3\r\nabc\r\n0\r\n\r\n".utf8)).consumed == head.count + 13)
    }

    @Test(arguments: ["200-ok", "100-continue, foo", ""])
    func otherExpectationsFail(value: String) {
        expectFailure("POST / HTTP/1.1\r\nHost: h\r\nExpect: \(value)\r\nContent-Length: 0\r\n\r\n",
                      status: 417, code: "expectation_failed")
    }

    /// RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request MUST be ignored.
    @Test func expectationInHTTP10IsIgnored() throws {
        let request = try parseOne("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok")
        #expect(!request.expectsContinue)
        #expect(request.bodyText == "ok")
    }
}
