extension SecureRandom {
    /// A random (version 4) UUID as 36 lowercase characters, e.g.
    /// `"1b4e28ba-2fa1-4d2e-883f-0016d3cca427"`. RFC 9562 §5.4: 122 random bits.
    public static func uuid() -> String {
        var bytes = bytes(count: 16)
        setVersion(4, of: &bytes)
        return format(bytes)
    }

    /// A time-ordered (version 7) UUID as 36 lowercase characters. RFC 9562 §5.7: 48-bit big-endian
    /// Unix time in milliseconds, then 74 random bits.
    ///
    /// IDs sort by creation time, so SQLite appends new rows at the right edge of a primary-key
    /// B-tree instead of splitting random pages. Within one millisecond the order is random
    /// (RFC 9562 §6.2 monotonic counters are not implemented); callers must not rely on it.
    /// The creation time is readable from the ID; do not use v7 where that leaks something.
    ///
    /// - Parameter nowMs: Unix time in milliseconds, 0 ..< 2^48 (until the year 10889).
    public static func uuidV7(nowMs: Int64) -> String {
        precondition(nowMs >= 0 && nowMs < 1 << 48, "uuidV7(nowMs: \(nowMs)) outside 48 bits")
        var bytes = bytes(count: 16)
        for index in 0..<6 {
            bytes[index] = UInt8(truncatingIfNeeded: nowMs >> (8 * (5 - index)))
        }
        setVersion(7, of: &bytes)
        return format(bytes)
    }

    /// RFC 9562 §4.1–4.2: the high nibble of octet 6 is the version; the top two bits of octet 8
    /// are `10`, the variant of this RFC.
    private static func setVersion(_ version: UInt8, of bytes: inout [UInt8]) {
        bytes[6] = bytes[6] & 0x0f | version << 4
        bytes[8] = bytes[8] & 0x3f | 0x80
    }

    /// RFC 9562 §4: 8-4-4-4-12 hex digits; §4 recommends lowercase output.
    private static func format(_ bytes: [UInt8]) -> String {
        let hex = Array(Hex.encode(bytes).utf8)
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (index, character) in hex.enumerated() {
            if index == 8 || index == 12 || index == 16 || index == 20 { text.append(UInt8(ascii: "-")) }
            text.append(character)
        }
        return String(decoding: text, as: UTF8.self)
    }
}
