/// The two base64 operations the opening handshake needs (RFC 4648 §4, standard alphabet, padded),
/// kept here so HubWire needs no Foundation.
enum WebSocketBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count - index
            let b0 = UInt32(bytes[index])
            let b1 = remaining > 1 ? UInt32(bytes[index + 1]) : 0
            let b2 = remaining > 2 ? UInt32(bytes[index + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            output.append(alphabet[Int(group >> 18 & 0x3F)])
            output.append(alphabet[Int(group >> 12 & 0x3F)])
            output.append(remaining > 1 ? alphabet[Int(group >> 6 & 0x3F)] : UInt8(ascii: "="))
            output.append(remaining > 2 ? alphabet[Int(group & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// How many bytes `text` decodes to, or nil when it is not canonical padded base64: a length
    /// that is a multiple of 4, alphabet characters only, and `=` only as the last one or two.
    /// Unused low bits of the last character are not checked; they do not change the length.
    static func decodedByteCount(_ text: String) -> Int? {
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty, utf8.count % 4 == 0 else { return nil }
        var padding = 0
        if utf8[utf8.count - 1] == UInt8(ascii: "=") { padding += 1 }
        if utf8[utf8.count - 2] == UInt8(ascii: "=") { padding += 1 }
        guard padding == 0 || utf8[utf8.count - 1] == UInt8(ascii: "=") else { return nil }  // "x=x" is not padding
        for byte in utf8[..<(utf8.count - padding)] where !isAlphabet(byte) { return nil }
        return utf8.count / 4 * 3 - padding
    }

    private static func isAlphabet(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            true
        default: false
        }
    }
}
