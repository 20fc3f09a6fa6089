import HubWire
import Testing

@testable import HubHTTP

/// `Request.jsonObject`: what is refused before parsing (the media type, an empty body, a body
/// over the JSON cap) and in which order, and the cap's edge.
@Suite struct RequestBodyTests {
    private func request(_ body: [UInt8], contentType: String? = "application/json", jsonBytesMax: Int) -> Request {
        var fields: [(String, String)] = [("host", "test")]
        if let contentType { fields.append(("content-type", contentType)) }
        return Request(head: HTTPRequestHead(method: "POST", target: "/x", headers: HTTPHeaders(fields)), body: body, id: "t",
                       client: ClientAddress(address: "127.0.0.1", scheme: nil, host: nil), startedNs: 0, jsonBytesMax: jsonBytesMax)
    }

    /// `{"a":"xxx…"}` of exactly `size` bytes.
    private func object(size: Int) -> [UInt8] {
        Array(#"{"a":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: size - 8) + Array(#""}"#.utf8)
    }

    private func refusal(_ request: Request) -> APIError? {
        do throws(APIError) {
            _ = try request.jsonObject()
            return nil
        } catch {
            return error
        }
    }

    @Test func aBodyAtTheCapIsParsedAndOneByteMoreIsRefusedUnparsed() throws {
        let cap = 1024
        #expect(object(size: cap).count == cap)
        let parsed = try request(object(size: cap), jsonBytesMax: cap).jsonObject()
        #expect(parsed["a"]?.stringValue?.utf8.count == cap - 8)

        let over = try #require(refusal(request(object(size: cap + 1), jsonBytesMax: cap)))
        #expect(over.status == 413)
        #expect(over.code == "payload_too_large")
        #expect(over.message.contains("1024"))
        // Refused by size, not by content: the same bytes, broken, are still 413 and not 400.
        var broken = object(size: cap + 1)
        broken[0] = UInt8(ascii: "[")
        #expect(refusal(request(broken, jsonBytesMax: cap))?.status == 413)
    }

    @Test func theMediaTypeAndAnEmptyBodyAreJudgedBeforeTheSize() {
        let big = object(size: 2048)
        #expect(refusal(request(big, contentType: "text/plain", jsonBytesMax: 1024))?.code == "unsupported_media_type")
        #expect(refusal(request([], jsonBytesMax: 1024))?.code == "invalid_json")
        // No Content-Type is read as JSON (the seed's clients always send one; curl users may not).
        #expect(refusal(request(big, contentType: nil, jsonBytesMax: 1024))?.code == "payload_too_large")
    }

    @Test func withoutACapAnyBodyTheParserAcceptsIsParsed() throws {
        let parsed = try request(object(size: 200_000), jsonBytesMax: .max).jsonObject()
        #expect(parsed["a"]?.stringValue?.utf8.count == 200_000 - 8)
    }
}
