import Foundation
import HubTestSupport
import HubWire
import Testing

/// JSON serialisation, round trips and the ordered JSONObject.
extension JSONTests {
    // MARK: Serialising

    @Test func valuesSerialiseCompactly() {
        let value: JSON = ["id": 7, "name": "Desk 4", "tags": ["quiet", nil, true], "price": .number("50000.50"), "o": [:]]
        #expect(value.text == #"{"id":7,"name":"Desk 4","tags":["quiet",null,true],"price":50000.50,"o":{}}"#)
    }

    @Test func quotesBackslashesAndControlCharactersAreEscaped() {
        let value = JSON.string("q\"b\\s/\n\r\t\u{8}\u{C}\u{0}\u{1F}\u{7F}")
        #expect(value.text == #""q\"b\\s/\n\r\t\u0008\u000c\u0000\u001f"# + "\u{7F}\"")
    }

    /// `<` is escaped so a string can never close a `<script>` element it is embedded in.
    @Test func lessThanIsEscaped() {
        #expect(JSON.string("</script><b>").text == #""\u003c/script>\u003cb>""#)
    }

    /// U+2028 and U+2029 are line terminators in older JavaScript; other E2-led characters pass.
    @Test func lineAndParagraphSeparatorsAreEscaped() {
        #expect(JSON.string("a\u{2028}b\u{2029}c").text == #""a\u2028b\u2029c""#)
        #expect(JSON.string("\u{2027}\u{202A}\u{2026}\u{20AC}").text == "\"\u{2027}\u{202A}\u{2026}\u{20AC}\"")
        #expect(JSON.string("\u{2028}").text == #""\u2028""#)
        #expect(JSON.string("x\u{20AC}").text == "\"x\u{20AC}\"")
    }

    @Test func keysAreEscapedLikeValues() {
        let value: JSON = ["a\"<\u{2028}": 1]
        #expect(value.text == #"{"a\"\u003c\u2028":1}"#)
    }

    @Test func serialisingAppendsToTheBuffer() {
        var out = Array("data: ".utf8)
        JSON.array([1, "x"]).serialize(into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"data: [1,"x"]"#)
    }

    // MARK: Round trips

    @Test(arguments: [
        #"{"b":1,"a":[true,false,null],"c":{"d":"e","f":-0.5e-3}}"#,
        #"["\u003c","\u2028\u2029","\\\"\/","\u0000\u001f","😀é"]"#,
        #"[50000.50,-0,1E+2,0.10]"#,
    ])
    func serialisedOutputParsesToTheSameValue(text: String) throws {
        let value = try JSONParser.parse(text)
        let reparsed = try JSONParser.parse(value.bytes)
        #expect(reparsed == value)
        #expect(reparsed.bytes == value.bytes)
    }

    @Test func compactCanonicalTextIsReproducedExactly() throws {
        let text = #"{"space":"Desk 4","seats":[1,2,3],"price":{"amount":50000.50,"currency":"NGN"},"ok":true,"note":null}"#
        #expect(try JSONParser.parse(text).text == text)
    }

    /// Random strings of awkward scalars (controls, quotes, `<`, U+2028/9, astral, combining)
    /// come back byte for byte. Seeded: set HUB_SEED to replay.
    @Test func randomStringsRoundTripByteForByte() throws {
        var random = SeededRandom.fromEnvironment("JSONTests.randomStringsRoundTripByteForByte")
        let seed = random.seed
        let awkward: [Unicode.Scalar] = ["\"", "\\", "/", "<", ">", "&", "\u{7F}", "\u{80}", "\u{E9}", "\u{301}", "\u{2028}",
                                         "\u{2029}", "\u{20AC}", "\u{FEFF}", "\u{FFFF}", "\u{1F600}", "\u{10FFFF}"]
        for _ in 0..<300 {
            var string = ""
            for _ in 0..<Int.random(in: 0...12, using: &random) {
                let scalar: Unicode.Scalar = Bool.random(using: &random)
                    ? Unicode.Scalar(UInt8.random(in: 0...0x7F, using: &random))
                    : awkward.randomElement(using: &random)!  // non-empty literal
                string.unicodeScalars.append(scalar)
            }
            let value: JSON = [string: [.string(string)]]
            let reparsed = try JSONParser.parse(value.bytes)
            let back = try #require(reparsed[string]?.arrayValue?.first?.stringValue, "HUB_SEED=\(seed): \(value.text)")
            #expect(Array(back.utf8) == Array(string.utf8), "HUB_SEED=\(seed)")
            #expect(reparsed.objectValue?.keys.first.map { Array($0.utf8) } == Array(string.utf8), "HUB_SEED=\(seed)")
        }
    }

    // MARK: JSONObject

    @Test func memberOrderIsPreserved() throws {
        let value = try JSONParser.parse(#"{"zeta":1,"alpha":2,"mid":3}"#)
        #expect(value.objectValue?.keys == ["zeta", "alpha", "mid"])
        #expect(value.text == #"{"zeta":1,"alpha":2,"mid":3}"#)
    }

    @Test func settingAMemberReplacesItInPlaceOrAppends() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["a"] = "one"
        object["c"] = 3
        #expect(object.keys == ["a", "b", "c"])
        #expect(object["a"] == "one")
        #expect(JSON.object(object).text == #"{"a":"one","b":2,"c":3}"#)
    }

    @Test func settingNilRemovesTheMember() {
        var object: JSONObject = ["a": 1, "b": 2, "c": 3]
        object["b"] = nil
        object["absent"] = nil
        #expect(object.keys == ["a", "c"])
        #expect(object.count == 2)
        #expect(object["b"] == nil)
    }

    /// Setting `.null` stores a JSON null; only Swift nil removes.
    @Test func settingJSONNullKeepsTheMember() {
        var object: JSONObject = ["a": 1]
        object["a"] = .null
        #expect(object.keys == ["a"])
        #expect(object["a"]?.isNull == true)
    }

    @Test func objectsWithTheSameMembersInAnotherOrderDiffer() {
        let ab: JSONObject = ["a": 1, "b": 2]
        let ba: JSONObject = ["b": 2, "a": 1]
        #expect(ab != ba)
        #expect(ab == JSONObject([(key: "a", value: 1), (key: "b", value: 2)]))
    }

    // MARK: Accessors

    @Test func accessorsReadTheMatchingCaseOnly() {
        #expect(JSON.number("42").intValue == 42)
        #expect(JSON.number("-0").intValue == 0)
        #expect(JSON.number("50000.50").intValue == nil)
        #expect(JSON.number("1e2").intValue == nil)
        #expect(JSON.number("99999999999999999999").intValue == nil)
        #expect(JSON.number("50000.50").numberLiteral == "50000.50")
        #expect(JSON.string("42").intValue == nil)
        #expect(JSON.bool(true).boolValue == true && JSON.null.boolValue == nil)
        #expect(JSON.null.isNull && !JSON.string("").isNull)
        #expect(JSON.string("x")["x"] == nil)
        #expect(JSON.array([1]).arrayValue == [1] && JSON.array([1]).objectValue == nil)
        #expect(JSON.optional(nil) == .null && JSON.optional("a") == "a")
        #expect(JSON.int64(.min).numberLiteral == "-9223372036854775808")
        #expect([JSON.null, true, 1, "s", [], [:]].map(\.typeName) == ["null", "boolean", "number", "string", "array", "object"])
    }
}

/// `JSONWriter`: text written straight as bytes is what the same value serializes to.
extension JSONTests {
    @Test func writerWritesWhatTheValueSerializesTo() throws {
        var out = JSONWriter()
        out.beginObject()
        out.key("id")
        out.int(7)
        out.key("big")
        out.int(-1_234_567)
        out.key("name")
        out.string("Desk \"4\"</")
        out.key("empty")
        out.beginArray()
        out.endArray()
        out.key("ranges")
        out.beginArray()
        for start in ["09:00", "11:30"] {
            out.beginObject()
            out.key("start")
            out.string(unescaped: { $0.append(contentsOf: start.utf8) })
            out.endObject()
        }
        out.endArray()
        out.members(["extra key\n": true, "nested": ["a": [1, nil]]])
        out.endObject()
        let expected: JSON = ["id": 7, "big": -1_234_567, "name": "Desk \"4\"</", "empty": [], "ranges": [["start": "09:00"], ["start": "11:30"]],
                              "extra key\n": true, "nested": ["a": [1, nil]]]
        #expect(out.bytes == expected.bytes)
        #expect(try JSONParser.parse(out.bytes) == expected)
    }

    /// Text already written sits verbatim inside a value built the usual way.
    @Test func rawTextIsSerializedVerbatim() {
        let value: JSON = ["days": [.raw(Array(#"{"a":1}"#.utf8)), .raw(Array("[]".utf8))], "n": 2]
        #expect(value.text == #"{"days":[{"a":1},[]],"n":2}"#)
    }
}
