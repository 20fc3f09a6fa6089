/// The 4-bit frame type (RFC 6455 §5.2, §11.8). Opcodes 3–7 and 11–15 are reserved and have no case:
/// the decoder rejects them with a protocol error, so every value of this type is one we handle.
public enum WebSocketOpcode: UInt8, Sendable, CaseIterable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    /// Control frames (close, ping, pong) have the high opcode bit set (RFC 6455 §5.5). They may
    /// arrive between the fragments of a message, must not be fragmented themselves, and carry at
    /// most 125 payload bytes.
    @inlinable
    public var isControl: Bool { rawValue & 0x8 != 0 }
}
