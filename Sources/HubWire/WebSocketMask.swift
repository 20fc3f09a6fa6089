/// Applies a WebSocket masking key (RFC 6455 §5.3), 8 bytes per step.
///
/// Masking is an XOR with the 4-byte key repeated from the first payload byte, so masking and
/// unmasking are the same operation. Byte `i` of the payload uses key byte `i % 4`; a payload that
/// arrives in pieces continues at `phase = bytesSoFar % 4`.
enum WebSocketMask {
    /// XORs `count` bytes of `source` with the key into `destination`; the two may be the same
    /// memory. `key` holds the four key bytes in wire order (`37 fa 21 3d` is `0x37fa_213d`).
    ///
    /// `loadUnaligned` and unaligned `storeBytes` (SE-0349) let the word loop run on any offset of
    /// a read buffer or array.
    static func apply(
        key: UInt32, phase: Int, from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int
    ) {
        // The key rotated so its first big-endian byte is the one payload byte 0 uses.
        let rotated = rotateLeft(key, bytes: phase & 3)
        // `rotated.bigEndian` stored natively lays the bytes out in wire order; both halves of the
        // word are equal, so the layout is the same on either byte order.
        let half = UInt64(rotated.bigEndian)
        let pattern = half | half << 32
        var index = 0
        while index + 8 <= count {
            let word = source.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            destination.storeBytes(of: word ^ pattern, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        // `index` is a multiple of 8, so the key byte for the tail depends only on the offset from here.
        while index < count {
            let keyByte = UInt8(truncatingIfNeeded: rotated &>> (24 - 8 * (index & 3)))
            destination.storeBytes(
                of: source.load(fromByteOffset: index, as: UInt8.self) ^ keyByte, toByteOffset: index, as: UInt8.self)
            index += 1
        }
    }

    private static func rotateLeft(_ value: UInt32, bytes: Int) -> UInt32 {
        let bits = UInt32(truncatingIfNeeded: bytes * 8)
        return bits == 0 ? value : (value &<< bits) | (value &>> (32 - bits))
    }
}
