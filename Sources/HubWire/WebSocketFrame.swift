/// One WebSocket frame as the application sees it: the payload is already unmasked.
///
/// The decoder produces frames with `rsv == 0` only, because no extension is negotiated
/// (RFC 6455 §5.2: a nonzero RSV bit without an extension "MUST _Fail the WebSocket Connection_").
/// The field is kept so the type can describe any frame on the wire.
public struct WebSocketFrame: Equatable, Sendable {
    /// Last fragment of its message (always true for control frames).
    public var fin: Bool
    /// RSV1–RSV3 as the low three bits (RSV1 = 0b100).
    public var rsv: UInt8
    public var opcode: WebSocketOpcode
    public var payload: [UInt8]

    public init(fin: Bool = true, rsv: UInt8 = 0, opcode: WebSocketOpcode, payload: [UInt8]) {
        precondition(rsv & ~0b111 == 0, "RSV has three bits")
        self.fin = fin
        self.rsv = rsv
        self.opcode = opcode
        self.payload = payload
    }
}
