import Glibc

/// One `String` for every row that holds the same text in a column read many times over (a
/// booking's member, space and space name): a million-row read makes each distinct value once,
/// not once per row, and the rows share its storage.
///
/// Text of up to 15 bytes is returned as made: Swift keeps it inline, with nothing to allocate
/// or share. Past `distinctMax` values the interner stops adding and makes strings as usual, so
/// a column of unique values costs a hash per row and no more memory than without it. One
/// thread only: each reader makes its own.
public final class StringInterner {
    private var slots: [String?]
    private var count = 0
    private let distinctMax: Int

    public init(distinctMax: Int = 16_384) {
        self.distinctMax = distinctMax
        // A power of two at most half full once `distinctMax` values are in.
        var capacity = 64
        while capacity < distinctMax * 2 { capacity *= 2 }
        slots = Array(repeating: nil, count: capacity)
    }

    /// The string whose UTF-8 is `bytes` (invalid UTF-8 repaired, as `String(decoding:as:)`).
    public func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard bytes.count > 15 else { return String(decoding: bytes, as: UTF8.self) }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: Self.hash(bytes)) & mask
        while let existing = slots[slot] {
            if Self.equal(existing, bytes) { return existing }
            slot = (slot + 1) & mask
        }
        let made = String(decoding: bytes, as: UTF8.self)
        // Only text that is already valid UTF-8 is kept: repaired text differs from its bytes.
        guard count < distinctMax, Self.equal(made, bytes) else { return made }
        slots[slot] = made
        count += 1
        return made
    }

    /// A fast multiplicative hash, eight bytes at a time. Not seeded: the table is bounded, so
    /// text made to collide can only slow the read it is part of.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let raw = UnsafeRawBufferPointer(bytes)
        var hash = UInt64(truncatingIfNeeded: bytes.count) &* 0x9E37_79B9_7F4A_7C15
        var offset = 0
        while offset + 8 <= raw.count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 32
            offset += 8
        }
        while offset < raw.count {
            hash = (hash ^ UInt64(raw[offset])) &* 0xC4CE_B9FE_1A85_EC53
            offset += 1
        }
        return hash ^ (hash >> 29)
    }

    private static func equal(_ string: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var string = string
        return string.withUTF8 { $0.count == bytes.count && memcmp($0.baseAddress!, bytes.baseAddress!, $0.count) == 0 }
    }
}
