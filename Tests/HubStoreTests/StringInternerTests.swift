import Testing

@testable import HubStore

@Suite struct StringInternerTests {
    private func string(_ interner: StringInterner, _ text: String) -> String {
        Array(text.utf8).withUnsafeBufferPointer { interner.string($0) }
    }

    private func storage(_ string: String) -> UnsafeRawPointer? {
        var string = string
        return string.withUTF8 { UnsafeRawPointer($0.baseAddress) }
    }

    /// Equal text read twice is one string (one storage); other text is another string.
    @Test func equalTextSharesOneStringAndOtherTextDoesNot() {
        let interner = StringInterner()
        let member = "0193a7c2-5d1e-7f00-8000-1234567890ab"
        let first = string(interner, member)
        let again = string(interner, member)
        let other = string(interner, "0193a7c2-5d1e-7f00-8000-1234567890ac")
        #expect(first == member && again == member)
        #expect(storage(first) == storage(again))
        #expect(other == "0193a7c2-5d1e-7f00-8000-1234567890ac")
        #expect(storage(other) != storage(first))
        #expect(string(interner, "") == "")
        #expect(string(interner, "Room A") == "Room A")
    }

    /// Many distinct values (colliding slots included) each come back as themselves, and past
    /// the bound strings are still right, only no longer shared.
    @Test func manyValuesAndValuesPastTheBoundComeBackAsThemselves() {
        let interner = StringInterner(distinctMax: 100)
        let texts = (0..<300).map { "space-name-that-is-long-\($0)" }
        for text in texts { #expect(string(interner, text) == text) }
        for text in texts { #expect(string(interner, text) == text) }
        #expect(storage(string(interner, texts[5])) == storage(string(interner, texts[5])))
        #expect(storage(string(interner, texts[250])) != storage(string(interner, texts[250])))
    }

    /// Invalid UTF-8 is repaired as `String(decoding:as:)` does, every time it is read (the
    /// repaired string differs from its bytes, so it is not kept for them).
    @Test func invalidUTF8IsRepairedEveryTime() {
        let interner = StringInterner()
        let invalid: [UInt8] = Array("a-long-enough-prefix-".utf8) + [0xFF, 0xFE]
        let expected = String(decoding: invalid, as: UTF8.self)
        for _ in 0..<2 { #expect(invalid.withUnsafeBufferPointer { interner.string($0) } == expected) }
        #expect(string(interner, expected) == expected)
    }
}
