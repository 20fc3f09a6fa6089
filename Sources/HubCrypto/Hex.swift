/// Base16 (RFC 4648 §8) for MACs and digests that travel as text, e.g. Paystack's signature header.
///
///     Hex.encode([0xde, 0xad])   // "dead"
///     Hex.decode("DEAD")         // [0xde, 0xad]
///     Hex.decode("xyz")          // nil
public enum Hex {
    /// Lowercase hex, two characters per byte.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes spelled by `text`, accepting either case; nil on odd length or a non-hex character.
    /// Not constant-time in the content: decode public values, then compare with `constantTimeEquals`.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = text.utf8
        guard utf8.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count / 2)
        var high: UInt8?
        for character in utf8 {
            guard let nibble = digitValue(character) else { return nil }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }

    private static let digits = Array("0123456789abcdef".utf8)

    /// The value of one hex digit (`0`–`9`, `a`–`f`, `A`–`F`), nil for any other byte: for
    /// decoders of `%XX` escapes and the like.
    public static func digitValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
