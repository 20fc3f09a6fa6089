import HubWire
import Testing

/// JSONParser: strict RFC 8259. Serialisation, round trips and JSONObject live in
/// `JSONTests+Serializer.swift`.
@Suite struct JSONTests {
    // MARK: Accepted documents

    @Test func everyKindOfValueIsParsed() throws {
        let value = try JSONParser.parse(#"{"n":null,"t":true,"f":false,"num":-12.5e3,"s":"x","a":[1,[2,{}]],"o":{"k":[]}}"#)
        let expected: JSON = [
            "n": nil, "t": true, "f": false, "num": .number("-12.5e3"), "s": "x",
            "a": [1, [2, .object(JSONObject())]], "o": ["k": []],
        ]
        #expect(value == expected)
    }

    @Test(arguments: ["null", "true", "false", "0", "\"\"", "[]", "{}"])
    func scalarsAndEmptyContainersAreDocuments(text: String) throws {
        #expect(try JSONParser.parse(text).text == text)
    }

    @Test func whitespaceAroundTokensIsSkipped() throws {
        let value = try JSONParser.parse(" \t\r\n{ \"a\" :\n[ 1 ,\t2 ] } \r\n")
        #expect(value == ["a": [1, 2]])
    }

    /// Money arrives as major units; the literal must survive untouched (no Double round trip).
    @Test(arguments: ["50000.50", "-0", "0", "1e10", "1E+2", "1e-7", "-12.500", "0.1", "123456789012345678901234567890"])
    func numbersKeepTheirLiteralText(literal: String) throws {
        #expect(try JSONParser.parse(literal) == .number(literal))
        #expect(try JSONParser.parse("[\(literal)]") == [.number(literal)])
    }

    @Test(arguments: ["01", "-01", "00", "1.", ".5", "+1", "-", "1e", "1e+", "1.e2", "--1", "0x10", "Infinity", "NaN", "1_000"])
    func malformedNumbersAreRejected(text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    @Test func escapesAreDecoded() throws {
        let value = try JSONParser.parse(#""q\"b\\s\/\b\f\n\r\t\u0041\u00e9\u20AC\u0000""#)
        #expect(value.stringValue == "q\"b\\s/\u{8}\u{C}\n\r\tA\u{E9}\u{20AC}\u{0}")
    }

    @Test func surrogatePairsDecodeToOneScalar() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#).stringValue == "😀")
        #expect(try JSONParser.parse(#""\uD83D\uDE00!""#).stringValue == "😀!")
        #expect(try JSONParser.parse(#""\udbff\udfff""#).stringValue == "\u{10FFFF}")
    }

    @Test func multiByteUTF8IsAccepted() throws {
        #expect(try JSONParser.parse("\"h\u{E9}llo \u{20AC} 😀\"").stringValue == "h\u{E9}llo \u{20AC} 😀")
        #expect(try JSONParser.parse("\"\u{E9}\\n\u{20AC}\"").stringValue == "\u{E9}\n\u{20AC}")
    }

    // MARK: Rejected documents

    @Test(arguments: ["[1,]", "{\"a\":1,}", "[,]", "[1,,2]", "[,1]", "{,}"])
    func trailingAndStrayCommasAreRejected(text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    @Test(arguments: ["// c\n1", "/* c */ 1", "[1 /* c */]", "1 # c", "{\"a\":1 // c\n}"])
    func commentsAreRejected(text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    @Test(arguments: ["'a'", "{'a':1}", "{a:1}", "{\"a\" 1}", "[1 2]", "[1", "{\"a\":1", "{", "]", "True", "nul", "nulls"])
    func nonJSONSyntaxIsRejected(text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    @Test(arguments: ["\"abc", "\"abc\\", "\"abc\\\"", "\"\\u12", "\"\\u00e9"])
    func unterminatedStringsAreRejected(text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    @Test(arguments: ["\"a\u{0}b\"", "\"a\u{1F}b\"", "\"a\nb\"", "\"a\tb\"", "\"\\n\u{1}\""])
    func controlCharactersInStringsAreRejected(text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    @Test(arguments: [#""\x41""#, #""\U0041""#, #""\u12G4""#, #""\'""#, #""\a""#, #""\0""#, #""\u 041""#])
    func invalidEscapesAreRejected(text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    /// RFC 8259 §8.2: a lone surrogate cannot be turned into a Unicode string.
    @Test(arguments: [#""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud800x""#, #""\ud800\n""#, #""\ud800\ud800""#,
                      #""\ude00\ud83d""#, #"{"\udfff":1}"#])
    func loneSurrogatesAreRejected(text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    /// RFC 8259 §8.1: text is UTF-8; overlong forms, encoded surrogates and truncated sequences
    /// are not, inside or outside escapes and in keys alike.
    @Test(arguments: [
        [0xFF], [0x80], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
    ] as [[UInt8]])
    func invalidUTF8IsRejected(sequence: [UInt8]) {
        let quote: [UInt8] = [0x22]
        #expect(throws: JSONError.self) { try JSONParser.parse(quote + sequence + quote) }
        #expect(throws: JSONError.self) { try JSONParser.parse(quote + Array(#"\n"#.utf8) + sequence + quote) }
        #expect(throws: JSONError.self) { try JSONParser.parse([0x7B] + quote + sequence + quote + Array(":1}".utf8)) }
    }

    @Test func byteOrderMarkIsRejected() {
        #expect(throws: JSONError.self) { try JSONParser.parse([0xEF, 0xBB, 0xBF] + Array("1".utf8)) }
    }

    /// Two parsers picking different values for one key is how smuggling starts.
    @Test(arguments: [#"{"a":1,"a":2}"#, #"{"a":1,"b":2,"a":1}"#, #"{"a":1,"\u0061":2}"#, #"[{"x":{"y":1,"y":1}}]"#])
    func duplicateKeysAreRejected(text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    @Test func sameKeyInDifferentObjectsIsAllowed() throws {
        #expect(try JSONParser.parse(#"{"a":{"a":1},"b":[{"a":2},{"a":3}]}"#)["a"]?["a"] == 1)
    }

    /// RFC 8259 §8.3: names are compared code unit by code unit, not by canonical equivalence,
    /// so "é" and "e" + U+0301 are two keys, and U+212A KELVIN SIGN is not "K".
    @Test func keysAreComparedByCodeUnits() throws {
        #expect("\u{212A}ey" == "Key", "Swift's String == is canonical equivalence, which is why this matters")
        let object = try #require(try JSONParser.parse(#"{"\u00e9":1,"e\u0301":2,"\u212Aey":3}"#).objectValue)
        #expect(object.count == 3)
        #expect(object["\u{E9}"] == 1)
        #expect(object["e\u{301}"] == 2)
        #expect(object["Key"] == nil)
        #expect(object["\u{212A}ey"] == 3)
        let kelvin: JSONObject = ["\u{212A}ey": 3], key: JSONObject = ["Key": 3]
        #expect(kelvin != key)
    }

    /// Past `linearKeysMax` members the duplicate check is a hash set; it must find what the
    /// linear check finds, at any position, and compare by code units as before.
    @Test(arguments: [JSONParser.linearKeysMax - 1, JSONParser.linearKeysMax, JSONParser.linearKeysMax + 1, 500])
    func duplicateKeysAreFoundInLargeObjects(count: Int) throws {
        let keys = (0..<count).map { "\"k\($0)\":\($0)" }
        _ = try JSONParser.parse("{" + keys.joined(separator: ",") + "}")
        for position in [0, count / 2, count - 1] {
            let text = "{" + keys.joined(separator: ",") + ",\"k\(position)\":0}"
            #expect(throws: JSONError.self) { try JSONParser.parse(text) }
        }
        let kelvin = "{" + keys.joined(separator: ",") + #","Key":1,"\u212Aey":2}"#
        #expect(try JSONParser.parse(kelvin).objectValue?.count == count + 2)
    }

    /// A hostile body of thousands of keys is refused at the cap instead of being parsed
    /// (32,768 keys once stalled the loop for 9.4 s).
    @Test func objectsHoldAtMostMembersMax() throws {
        func object(_ count: Int) -> String { "{" + (0..<count).map { "\"\($0)\":0" }.joined(separator: ",") + "}" }
        #expect(JSONParser.membersMax == 1024)
        #expect(try JSONParser.parse(object(JSONParser.membersMax)).objectValue?.count == JSONParser.membersMax)
        let error = #expect(throws: JSONError.self) { try JSONParser.parse(object(JSONParser.membersMax + 1)) }
        #expect(error?.reason == "more than 1024 members in one object")
        #expect(throws: JSONError.self) { try JSONParser.parse(object(32_768)) }
    }

    @Test func documentsHoldAtMostValuesMax() throws {
        // The array is a value too: valuesMax - 1 elements fill the document exactly.
        func array(_ count: Int) -> String { "[" + Array(repeating: "1", count: count).joined(separator: ",") + "]" }
        #expect(try JSONParser.parse(array(JSONParser.valuesMax - 1)).arrayValue?.count == JSONParser.valuesMax - 1)
        let error = #expect(throws: JSONError.self) { try JSONParser.parse(array(JSONParser.valuesMax)) }
        #expect(error?.reason == "more than 16384 values in one document")
        // Nested containers count wherever they are.
        let nested = "[" + Array(repeating: "[1,1,1]", count: JSONParser.valuesMax / 4 + 1).joined(separator: ",") + "]"
        #expect(throws: JSONError.self) { try JSONParser.parse(nested) }
    }

    @Test func nestingUpToTheDepthLimitIsAccepted() throws {
        let depth = JSONParser.depthMax
        #expect(depth == 64)
        _ = try JSONParser.parse(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
        _ = try JSONParser.parse(String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth))
        // Siblings do not add up: two arrays 63 deep inside one array are 64 deep.
        let deep63 = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
        _ = try JSONParser.parse("[\(deep63),\(deep63)]")
    }

    @Test func nestingBeyondTheDepthLimitIsRejected() {
        let depth = JSONParser.depthMax + 1
        #expect(throws: JSONError.self) {
            try JSONParser.parse(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
        }
        #expect(throws: JSONError.self) {
            try JSONParser.parse(String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth))
        }
        // Far deeper input fails the same way rather than exhausting the stack.
        #expect(throws: JSONError.self) { try JSONParser.parse(String(repeating: "[", count: 100_000)) }
    }

    @Test(arguments: ["1 2", "{}}", "[]x", "null null", "\"a\"\"b\"", "true,", "0 0", "{}\u{0}"])
    func trailingDataIsRejected(text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    @Test(arguments: ["", " ", "\n\t\r "])
    func emptyInputIsRejected(text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    @Test func errorsReportTheByteOffset() {
        let stray = #expect(throws: JSONError.self) { try JSONParser.parse("[1,]") }
        #expect(stray?.offset == 3)
        #expect(stray?.description == "unexpected character at byte 3")
        let duplicate = #expect(throws: JSONError.self) { try JSONParser.parse(#"{"a":1, "a":2}"#) }
        #expect(duplicate?.offset == 8, "the offset of the second key")
    }
}
