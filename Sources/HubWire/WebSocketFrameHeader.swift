/// The fixed part of a frame (RFC 6455 §5.2): 2 to 14 bytes before the payload.
public struct WebSocketFrameHeader: Equatable, Sendable {
    public var fin: Bool
    /// RSV1–RSV3 as the low three bits; always 0 once parsed, since we negotiate no extension.
    public var rsv: UInt8
    public var opcode: WebSocketOpcode
    /// The masking key in wire order (`37 fa 21 3d` is `0x37fa_213d`), or nil for an unmasked frame.
    public var maskKey: UInt32?
    /// Payload bytes that follow the header, already checked against `frameBytesMax`.
    public var payloadLength: Int
    /// Bytes the header itself took on the wire: 2, plus 2 or 8 for an extended length, plus 4 for a key.
    public var headerLength: Int

    /// The longest header: 2 bytes, an 8-byte length, a 4-byte key.
    public static let bytesMax = 14

    /// Parses a header from the start of `bytes`, checking each rule as soon as the byte that
    /// carries it is present, so a bad frame fails on its first bad byte. Returns nil when
    /// `bytes` ends before the header does.
    ///
    /// - Parameters:
    ///   - expectMasked: true when the peer is a client, whose frames must be masked; false when it
    ///     is a server, whose frames must not be (RFC 6455 §5.1).
    ///   - frameBytesMax: a longer payload fails here, before any of it is read.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, expectMasked: Bool, frameBytesMax: Int
    ) throws(WebSocketError) -> WebSocketFrameHeader? {
        guard bytes.count >= 1 else { return nil }
        let first = bytes[0]
        let fin = first & 0x80 != 0
        let rsv = (first >> 4) & 0b111
        guard rsv == 0 else { throw .protocolViolation(.reservedBitsSet(rsv)) }
        guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else {
            throw .protocolViolation(.reservedOpcode(first & 0x0F))
        }
        guard fin || !opcode.isControl else { throw .protocolViolation(.fragmentedControlFrame) }

        guard bytes.count >= 2 else { return nil }
        let second = bytes[1]
        let masked = second & 0x80 != 0
        guard masked == expectMasked else {
            throw .protocolViolation(masked ? .maskedFrame : .unmaskedFrame)
        }
        let shortLength = second & 0x7F
        // 126 and 127 announce extended lengths, which are all above 125.
        guard shortLength <= 125 || !opcode.isControl else { throw .protocolViolation(.controlFrameTooLong) }

        // §5.2: 126 → 16-bit length follows, 127 → 64-bit. A length that would fit a shorter
        // form is accepted: the RFC's "minimal number of bytes" rule binds the sender only, and
        // refusing it buys nothing.
        let lengthBytes = shortLength == 126 ? 2 : shortLength == 127 ? 8 : 0
        guard bytes.count >= 2 + lengthBytes else { return nil }
        let length: UInt64
        switch lengthBytes {
        case 0: length = UInt64(shortLength)
        case 2: length = UInt64(UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        default:
            length = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
            guard length >> 63 == 0 else { throw .protocolViolation(.lengthHighBitSet) }
        }
        guard length <= UInt64(frameBytesMax) else {
            throw .frameTooBig(length: length, frameBytesMax: frameBytesMax)
        }

        let headerLength = 2 + lengthBytes + (masked ? 4 : 0)
        guard bytes.count >= headerLength else { return nil }
        let maskKey =
            masked ? UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 2 + lengthBytes, as: UInt32.self)) : nil
        return WebSocketFrameHeader(
            fin: fin, rsv: rsv, opcode: opcode, maskKey: maskKey,
            payloadLength: Int(length),  // ≤ frameBytesMax, an Int
            headerLength: headerLength)
    }
}
