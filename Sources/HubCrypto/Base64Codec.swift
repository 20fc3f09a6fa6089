/// Unpadded base64 (RFC 4648 §4/§5) over a chosen alphabet, strict on decode.
///
/// Shared by `Base64URL` (JWT, tokens) and the PHC password strings, which use the standard
/// alphabet without padding. Decoding accepts exactly the strings this encoder produces: no `=`,
/// no whitespace, no characters outside the alphabet, no length ≡ 1 (mod 4), and zero unused bits
/// in the last character (RFC 4648 §3.5). The last rule keeps encodings canonical, so a JWT's
/// signature cannot be altered without changing its bytes (no token malleability).
struct Base64Codec: Sendable {
    /// Standard alphabet, RFC 4648 §4 Table 1.
    static let standard = Base64Codec(alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    /// URL- and filename-safe alphabet, RFC 4648 §5 Table 2.
    static let url = Base64Codec(alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    private let symbols: [UInt8]   // 6-bit value → ASCII
    private let values: [UInt8]    // ASCII → 6-bit value, or `invalid`
    private static let invalid: UInt8 = 0xff

    private init(alphabet: String) {
        symbols = Array(alphabet.utf8)
        precondition(symbols.count == 64, "a base64 alphabet has 64 symbols")
        var values = [UInt8](repeating: Self.invalid, count: 256)
        for (value, symbol) in symbols.enumerated() { values[Int(symbol)] = UInt8(value) }
        self.values = values
    }

    func encode(_ bytes: some Collection<UInt8>) -> String {
        var text = [UInt8]()
        text.reserveCapacity((bytes.count * 4 + 2) / 3)
        var group: UInt32 = 0
        var groupBytes = 0
        for byte in bytes {
            group = group << 8 | UInt32(byte)
            groupBytes += 1
            if groupBytes == 3 {
                appendSymbols(of: group, count: 4, to: &text)
                group = 0
                groupBytes = 0
            }
        }
        // RFC 4648 §4: a final 1 or 2 bytes become 2 or 3 symbols, zero-filled on the right.
        if groupBytes == 1 { appendSymbols(of: group << 4, count: 2, to: &text) }
        if groupBytes == 2 { appendSymbols(of: group << 2, count: 3, to: &text) }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes of canonical unpadded `text`, or nil if it is anything else (see type comment).
    func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = text.utf8
        let remainder = utf8.count % 4
        guard remainder != 1 else { return nil }  // one symbol carries only 6 bits: never a byte
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count / 4 * 3 + 2)
        var group: UInt32 = 0
        var groupSymbols = 0
        for symbol in utf8 {
            let value = values[Int(symbol)]
            guard value != Self.invalid else { return nil }
            group = group << 6 | UInt32(value)
            groupSymbols += 1
            if groupSymbols == 4 {
                bytes.append(UInt8(truncatingIfNeeded: group >> 16))
                bytes.append(UInt8(truncatingIfNeeded: group >> 8))
                bytes.append(UInt8(truncatingIfNeeded: group))
                group = 0
                groupSymbols = 0
            }
        }
        switch groupSymbols {
        case 2:  // 12 bits: one byte + 4 unused bits, which must be zero
            guard group & 0x0f == 0 else { return nil }
            bytes.append(UInt8(truncatingIfNeeded: group >> 4))
        case 3:  // 18 bits: two bytes + 2 unused bits, which must be zero
            guard group & 0x03 == 0 else { return nil }
            bytes.append(UInt8(truncatingIfNeeded: group >> 10))
            bytes.append(UInt8(truncatingIfNeeded: group >> 2))
        default:
            break
        }
        return bytes
    }

    private func appendSymbols(of group: UInt32, count: Int, to text: inout [UInt8]) {
        for index in stride(from: count - 1, through: 0, by: -1) {
            text.append(symbols[Int(group >> (6 * UInt32(index)) & 0x3f)])
        }
    }
}
