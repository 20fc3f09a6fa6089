import HubTestSupport
import HubWire
import Testing

/// A stress case: its bytes, the index of the first byte that must fail (nil when none does), and
/// whether the bytes end on a character boundary.
struct UTF8Case: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let failIndex: Int?
    let complete: Bool

    init(_ name: String, _ bytes: String, failAt failIndex: Int? = nil, complete: Bool = true) {
        self.name = name
        self.bytes = hex(bytes)
        self.failIndex = failIndex
        self.complete = complete && failIndex == nil
    }

    var testDescription: String { name }
}

/// After Markus Kuhn's UTF-8 decoder capability and stress test (sections 2–5), with the failing
/// byte Unicode's Table 3-7 implies: the first byte no valid sequence can continue with.
let utf8StressCases: [UTF8Case] = [
    UTF8Case("empty", ""),
    UTF8Case("ASCII", "48 65 6c 6c 6f"),
    UTF8Case("Greek kosme", "ce ba e1 bd b9 cf 83 ce bc ce b5"),
    UTF8Case("first 1-byte U+0000", "00"),
    UTF8Case("first 2-byte U+0080", "c2 80"),
    UTF8Case("first 3-byte U+0800", "e0 a0 80"),
    UTF8Case("first 4-byte U+10000", "f0 90 80 80"),
    UTF8Case("last 1-byte U+007F", "7f"),
    UTF8Case("last 2-byte U+07FF", "df bf"),
    UTF8Case("last 3-byte U+FFFF", "ef bf bf"),
    UTF8Case("max code point U+10FFFF", "f4 8f bf bf"),
    UTF8Case("last before surrogates U+D7FF", "ed 9f bf"),
    UTF8Case("first after surrogates U+E000", "ee 80 80"),
    UTF8Case("noncharacter U+FFFE is well-formed", "ef bf be"),
    UTF8Case("past max U+110000", "f4 90 80 80", failAt: 1),
    UTF8Case("lead F5", "f5 80 80 80", failAt: 0),
    UTF8Case("lead FF", "ff", failAt: 0),
    UTF8Case("lead FE", "fe", failAt: 0),
    UTF8Case("5-byte form", "f8 88 80 80 80", failAt: 0),
    UTF8Case("6-byte form", "fc 84 80 80 80 80", failAt: 0),
    UTF8Case("lone continuation 80", "80", failAt: 0),
    UTF8Case("lone continuation BF after ASCII", "61 bf", failAt: 1),
    UTF8Case("continuation after a complete sequence", "c2 80 80", failAt: 2),
    UTF8Case("overlong slash, 2 bytes", "c0 af", failAt: 0),
    UTF8Case("overlong slash, 3 bytes", "e0 80 af", failAt: 1),
    UTF8Case("overlong slash, 4 bytes", "f0 80 80 af", failAt: 1),
    UTF8Case("overlong max 2-byte C1 BF", "c1 bf", failAt: 0),
    UTF8Case("overlong max 3-byte E0 9F BF", "e0 9f bf", failAt: 1),
    UTF8Case("overlong max 4-byte F0 8F BF BF", "f0 8f bf bf", failAt: 1),
    UTF8Case("surrogate U+D800", "ed a0 80", failAt: 1),
    UTF8Case("surrogate U+DFFF", "ed bf bf", failAt: 1),
    UTF8Case("paired surrogates", "ed a0 80 ed b0 80", failAt: 1),
    UTF8Case("lead then ASCII", "e2 82 41", failAt: 2),
    UTF8Case("4-byte lead then ASCII", "f0 90 80 41", failAt: 3),
    UTF8Case("truncated 2-byte", "c2", complete: false),
    UTF8Case("truncated 3-byte", "e2 82", complete: false),
    UTF8Case("truncated 4-byte", "f0 9f 98", complete: false),
    UTF8Case("invalid after 8 ASCII bytes", "61 62 63 64 65 66 67 68 ff", failAt: 8),
]

@Suite struct UTF8ValidatorTests {
    @Test(arguments: utf8StressCases)
    func stressCaseFailsAtTheExpectedByte(_ testCase: UTF8Case) {
        var validator = UTF8Validator()
        var failedAt: Int?
        for (index, byte) in testCase.bytes.enumerated() where failedAt == nil {
            if !validator.validate([byte]) { failedAt = index }
        }
        #expect(failedAt == testCase.failIndex)
        #expect(validator.isAtBoundary == testCase.complete)
    }

    @Test(arguments: utf8StressCases)
    func stressCaseAgreesWithSwiftWhenFedWhole(_ testCase: UTF8Case) {
        var validator = UTF8Validator()
        let ok = validator.validate(testCase.bytes) && validator.isAtBoundary
        #expect(ok == testCase.complete)
        #expect(ok == (String(validating: testCase.bytes, as: UTF8.self) != nil))
    }

    /// Random byte strings biased towards UTF-8 structure (leads, continuations, edge bytes) so
    /// both valid and invalid inputs are common; checked against Swift's own decoder.
    @Test func randomBytesAgreeWithSwiftDecoding() {
        var random = SeededRandom.fromEnvironment()
        var validCount = 0
        for _ in 0..<20_000 {
            let bytes = structuredBytes(count: Int.random(in: 0...40, using: &random), using: &random)
            var validator = UTF8Validator()
            let ok = validator.validate(bytes) && validator.isAtBoundary
            let swiftOK = String(validating: bytes, as: UTF8.self) != nil
            #expect(ok == swiftOK, "\(random.replay): \(bytes)")
            if ok { validCount += 1 }
        }
        #expect(validCount > 4_000, "the generator should produce valid strings too; \(random.replay)")
    }

    /// The validator fails at the first byte after which no completion is valid UTF-8 (checked by
    /// brute force with Swift's decoder), never earlier and never later.
    @Test func randomBytesFailAtTheEarliestPossibleByte() {
        var random = SeededRandom.fromEnvironment()
        for _ in 0..<5_000 {
            let bytes = structuredBytes(count: Int.random(in: 1...24, using: &random), using: &random)
            var validator = UTF8Validator()
            let failIndex = bytes.indices.first { !validator.validate([bytes[$0]]) }
            if let failIndex {
                #expect(isCompletable(Array(bytes[..<failIndex])), "\(random.replay): \(bytes)")
                #expect(!isCompletable(Array(bytes[...failIndex])), "\(random.replay): \(bytes)")
            } else {
                #expect(isCompletable(bytes), "\(random.replay): \(bytes)")
            }
        }
    }

    /// Valid text cut anywhere, in random pieces, stays valid.
    @Test func validTextSplitAnywhereStaysValid() {
        var random = SeededRandom.fromEnvironment()
        for _ in 0..<2_000 {
            let text = randomText(scalars: Int.random(in: 0...30, using: &random), using: &random)
            var validator = UTF8Validator()
            for chunk in ByteChunks.random(Array(text.utf8), chunkBytesMax: 9, using: &random) {
                let accepted = validator.validate(chunk)
                #expect(accepted, "\(random.replay): \(text.debugDescription)")
            }
            #expect(validator.isAtBoundary, "\(random.replay): \(text.debugDescription)")
        }
    }

    /// The 8-byte ASCII path hands over to the byte path wherever the first non-ASCII byte sits.
    @Test func invalidByteAfterAnyASCIIRunFailsThere() {
        for position in 0..<40 {
            var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 48)
            bytes[position] = 0xFF
            var validator = UTF8Validator()
            let accepted = validator.validate(bytes)
            #expect(!accepted)
            var bytewise = UTF8Validator()
            #expect(bytes.indices.first { !bytewise.validate([bytes[$0]]) } == position)
        }
    }

    @Test func failureIsStickyUntilReset() {
        var validator = UTF8Validator()
        let overlong = validator.validate([0xC0])
        let asciiAfterFailure = validator.validate([0x41])
        #expect(!overlong && !asciiAfterFailure && !validator.isAtBoundary)
        validator.reset()
        let asciiAfterReset = validator.validate([0x41])
        #expect(asciiAfterReset && validator.isAtBoundary)
    }

    @Test func emptyInputChangesNothing() {
        var validator = UTF8Validator()
        let lead = validator.validate([0xE2])
        let empty = validator.validate([])
        #expect(lead && empty && !validator.isAtBoundary)
        let rest = validator.validate([0x82, 0xAC])
        #expect(rest && validator.isAtBoundary)
    }
}

/// A third each: bytes drawn from UTF-8's structural classes (mostly invalid), valid text, and
/// valid text with one byte replaced (often invalid by one byte, the interesting case).
private func structuredBytes(count: Int, using random: inout SeededRandom) -> [UInt8] {
    switch Int.random(in: 0..<3, using: &random) {
    case 0:
        let classes: [ClosedRange<UInt8>] = [
            0x00...0x7F, 0x80...0x8F, 0x90...0x9F, 0xA0...0xBF, 0xC0...0xC1, 0xC2...0xDF, 0xE0...0xE0,
            0xE1...0xEC, 0xED...0xED, 0xEE...0xEF, 0xF0...0xF0, 0xF1...0xF3, 0xF4...0xF4, 0xF5...0xFF,
        ]
        return (0..<count).map { _ in
            UInt8.random(in: classes.randomElement(using: &random)!, using: &random)  // classes is not empty
        }
    case 1:
        return Array(randomText(scalars: count / 2, using: &random).utf8)
    default:
        var bytes = Array(randomText(scalars: max(1, count / 2), using: &random).utf8)
        bytes[Int.random(in: bytes.indices, using: &random)] = UInt8.random(in: 0x80...0xFF, using: &random)
        return bytes
    }
}

/// Text of random scalars across all encoded lengths.
private func randomText(scalars: Int, using random: inout SeededRandom) -> String {
    let ranges: [ClosedRange<UInt32>] = [
        0x00...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF,
    ]
    var text = ""
    for _ in 0..<scalars {
        let value = UInt32.random(in: ranges.randomElement(using: &random)!, using: &random)  // ranges is not empty
        text.unicodeScalars.append(Unicode.Scalar(value)!)  // the ranges exclude surrogates
    }
    return text
}

/// Whether some continuation makes `prefix` valid UTF-8. At most 3 more bytes are ever needed, and
/// each allowed range (80–BF, A0–BF, 80–9F, 90–BF, 80–8F) contains 0x80, 0x90 or 0xA0.
private func isCompletable(_ prefix: [UInt8]) -> Bool {
    let candidates: [UInt8] = [0x80, 0x90, 0xA0]
    var suffixes: [[UInt8]] = [[]]
    var layer: [[UInt8]] = [[]]
    for _ in 0..<3 {
        layer = layer.flatMap { suffix in candidates.map { suffix + [$0] } }
        suffixes += layer
    }
    return suffixes.contains { String(validating: prefix + $0, as: UTF8.self) != nil }
}
