import HubWire
import Testing

@Suite struct HTTPResponseTests {
    private func text(_ response: HTTPResponse, bodyOmitted: Bool = false) -> String {
        String(decoding: response.serialized(bodyOmitted: bodyOmitted), as: UTF8.self)
    }

    @Test func responseIsSerialisedExactly() {
        var headers = HTTPHeaders()
        headers.add("content-type", "application/json")
        let response = HTTPResponse(status: 201, headers: headers, body: Array("{\"id\":7}".utf8))
        #expect(text(response) == "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"id\":7}")
    }

    @Test(arguments: [
        (200, "OK"), (204, "No Content"), (400, "Bad Request"), (404, "Not Found"), (413, "Content Too Large"),
        (414, "URI Too Long"), (417, "Expectation Failed"), (431, "Request Header Fields Too Large"),
        (501, "Not Implemented"), (505, "HTTP Version Not Supported"),
    ])
    func statusLineCarriesTheReasonPhrase(status: Int, reason: String) {
        #expect(text(HTTPResponse(status: status)).hasPrefix("HTTP/1.1 \(status) \(reason)\r\n"))
    }

    @Test func unknownStatusStillHasAReasonPhrase() {
        #expect(text(HTTPResponse(status: 299)).hasPrefix("HTTP/1.1 299 Status 299\r\n"))
    }

    @Test func headerNamesAreCanonicallyCapitalised() {
        let headers = HTTPHeaders([
            ("content-type", "text/plain"), ("X-REQUEST-ID", "abc"), ("www-authenticate", "Bearer"),
            ("etag", "\"1\""), ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ])
        let lines = text(HTTPResponse(status: 200, headers: headers)).split(separator: "\r\n")
        #expect(Array(lines.dropFirst()) == [
            "Content-Type: text/plain", "X-Request-Id: abc", "Www-Authenticate: Bearer", "Etag: \"1\"",
            "Sec-Websocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "Content-Length: 0",
        ])
    }

    @Test func headerValuesAreSentAsGiven() {
        let headers = HTTPHeaders([("location", "/Spaces/7?Q=A b")])
        #expect(text(HTTPResponse(status: 302, headers: headers)).contains("\r\nLocation: /Spaces/7?Q=A b\r\n"))
    }

    @Test func contentLengthIsSentOtherwise() {
        #expect(text(HTTPResponse(status: 200, body: Array("hello".utf8))).hasSuffix("\r\nContent-Length: 5\r\n\r\nhello"))
        #expect(text(HTTPResponse(status: 404)).hasSuffix("\r\nContent-Length: 0\r\n\r\n"))
    }

    /// RFC 9110 §8.6: a server MUST NOT send Content-Length in a 1xx or 204 response, nor in a 304
    /// unless it equals the length of the 200 it stands for.
    @Test(arguments: [100, 101, 204, 304])
    func contentLengthIsNotSentFor1xx204And304(status: Int) {
        let serialised = text(HTTPResponse(status: status))
        #expect(!serialised.lowercased().contains("content-length"))
        #expect(serialised.hasSuffix("\r\n\r\n"))
    }

    @Test func continueIsTheBareInterimResponse() {
        #expect(text(HTTPResponse(status: 100)) == "HTTP/1.1 100 Continue\r\n\r\n")
    }

    /// A response to HEAD carries the length of the body it would have sent, but no body.
    @Test func omittedBodyKeepsItsLength() {
        let response = HTTPResponse(status: 200, body: Array("hello".utf8))
        #expect(text(response, bodyOmitted: true) == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    }

    /// What the server adds to every answer goes after the response's own headers and before the
    /// length, each name as `HTTPHeaders` would have kept and capitalised it.
    @Test func addedHeadersFollowTheResponsesOwn() {
        let response = HTTPResponse(status: 200, headers: HTTPHeaders([("content-type", "text/plain")]),
                                    body: Array("hi".utf8))
        var out: [UInt8] = []
        response.serialize(into: &out) { out in
            HTTPResponse.appendHeader("x-request-id", "r-1", into: &out)
            HTTPResponse.appendHeader("X-EVENT-SEQ", "7", into: &out)
        }
        #expect(String(decoding: out, as: UTF8.self) == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Request-Id: r-1\r\n"
            + "X-Event-Seq: 7\r\nContent-Length: 2\r\n\r\nhi")
    }

    @Test func serialisingAppendsToTheBuffer() {
        var out = Array("earlier".utf8)
        HTTPResponse(status: 204).serialize(into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "earlierHTTP/1.1 204 No Content\r\n\r\n")
    }

    @Test(arguments: [
        (0, "0"), (9, "9"), (10, "10"), (99, "99"), (100, "100"), (1_048_576, "1048576"),
        (Int.max, "9223372036854775807"),
    ])
    func decimalsAreWrittenWithoutAllocatingAString(value: Int, digits: String) {
        var out: [UInt8] = [0x3E]
        appendDecimal(value, into: &out)
        #expect(out == [0x3E] + Array(digits.utf8))
    }
}
