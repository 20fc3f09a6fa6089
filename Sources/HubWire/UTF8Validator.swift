/// Checks bytes for well-formed UTF-8 as they arrive, across arbitrary splits.
///
/// Fails at the first byte that no continuation could make valid (Unicode 15, §3.9, Table 3-7
/// "Well-Formed UTF-8 Byte Sequences"): `F4 90` fails at `90` (above U+10FFFF), `C0` at `C0`
/// (overlong), `E0 9F` at `9F` (overlong), `ED A0` at `A0` (surrogate), `F8` at `F8` (5-byte form).
/// WebSocket text needs both properties: messages arrive in fragments split at any byte, and
/// RFC 6455 §8.1 requires failing on invalid text "as soon as" it is seen (Autobahn 6.4 checks this).
///
/// State is three bytes. After `validate` returns false, every call returns false until `reset()`.
/// Complexity: O(n); ASCII runs are checked 8 bytes per step.
///
///     var validator = UTF8Validator()
///     let ok = validator.validate(firstFragment) && validator.validate(lastFragment) && validator.isAtBoundary
public struct UTF8Validator: Equatable, Sendable {
    /// Continuation bytes still expected (0...3), or `failed`.
    private var pending: UInt8 = 0
    /// Inclusive range allowed for the next continuation byte. Only the byte right after a lead
    /// byte has a range narrower than 80...BF (E0, ED, F0, F4 in Table 3-7).
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    private static let failed: UInt8 = 0xFF

    public init() {}

    /// True when no multi-byte sequence is open and nothing has failed: a text message may end here.
    public var isAtBoundary: Bool { pending == 0 }

    /// Forgets everything seen so far, including a failure.
    public mutating func reset() {
        self = UTF8Validator()
    }

    /// Validates the next bytes of the stream. Returns false as soon as the bytes seen so far
    /// cannot be the start of valid UTF-8; a sequence left open at the end is not an error here
    /// (check `isAtBoundary` where the text must end).
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard pending != Self.failed else { return false }
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        // Locals, so the loop keeps the state in registers instead of writing through `self`.
        var pending = self.pending
        var lower = self.lower
        var upper = self.upper
        var index = 0
        while index < count {
            if pending == 0 {
                while index + 8 <= count,
                    base.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
                {
                    index += 8
                }
                if index == count { break }
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index += 1
                switch byte {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: (pending, lower, upper) = (1, 0x80, 0xBF)
                case 0xE0: (pending, lower, upper) = (2, 0xA0, 0xBF)  // A0: below is overlong
                case 0xE1...0xEC, 0xEE...0xEF: (pending, lower, upper) = (2, 0x80, 0xBF)
                case 0xED: (pending, lower, upper) = (2, 0x80, 0x9F)  // 9F: above is a surrogate
                case 0xF0: (pending, lower, upper) = (3, 0x90, 0xBF)  // 90: below is overlong
                case 0xF1...0xF3: (pending, lower, upper) = (3, 0x80, 0xBF)
                case 0xF4: (pending, lower, upper) = (3, 0x80, 0x8F)  // 8F: above is past U+10FFFF
                default:  // 80...BF lone continuation, C0/C1 overlong, F5...FF past U+10FFFF
                    self.pending = Self.failed
                    return false
                }
            } else {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                guard byte >= lower && byte <= upper else {
                    self.pending = Self.failed
                    return false
                }
                index += 1
                pending -= 1
                (lower, upper) = (0x80, 0xBF)
            }
        }
        self.pending = pending
        self.lower = lower
        self.upper = upper
        return true
    }

    /// Validates `bytes`; see `validate(_: UnsafeRawBufferPointer)`.
    public mutating func validate(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { validate($0) }
    }

    /// Whether `bytes` is complete, well-formed UTF-8 on its own.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.validate(bytes) && validator.isAtBoundary
    }
}
