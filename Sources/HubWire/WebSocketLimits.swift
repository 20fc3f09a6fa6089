/// The bounds on what one WebSocket peer can make us buffer. Every bound is checked as soon as the
/// length it limits is known (from a frame header), before any payload is kept.
///
/// Two presets: `hub` for the application endpoint `/ws`, `conformance` for the Autobahn echo
/// endpoint. Configuration may choose other values under `bytesCeiling` and `fragmentsCeiling`.
public struct WebSocketLimits: Hashable, Sendable {
    /// Largest frame payload accepted, in bytes. Applies to every frame, so it must be at least 125
    /// (RFC 6455 §5.5: control frames may carry 125 bytes).
    /// On breach: `WebSocketError.frameTooBig`, close 1009, decided from the header before the
    /// payload is read.
    public var frameBytesMax: Int
    /// Largest message accepted, in bytes, summed over its fragments (control frames not counted).
    /// On breach: `WebSocketError.messageTooBig`, close 1009, decided from the header of the frame
    /// that would cross it.
    public var messageBytesMax: Int
    /// Most frames one message may arrive in, counting its first frame; 1 forbids fragmentation.
    /// Bounds the per-frame work a peer can make us do for a small message (a 64 KiB message in
    /// 1-byte fragments costs 6 header bytes and one append per byte).
    /// On breach: `WebSocketError.tooManyFragments`, close 1008, from the header of the extra frame.
    public var fragmentsMax: Int

    /// Hard ceiling on `frameBytesMax` and `messageBytesMax`, in bytes: 1 GiB. Buffers are `[UInt8]`
    /// held per connection; nothing in the hub needs more, and Autobahn's largest case is 16 MiB.
    public static let bytesCeiling = 1 << 30
    /// Hard ceiling on `fragmentsMax`. Autobahn 9.* needs 65,537; about 16 times that leaves room.
    public static let fragmentsCeiling = 1 << 20
    /// RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    public static let controlPayloadBytesMax = 125

    public init(frameBytesMax: Int, messageBytesMax: Int, fragmentsMax: Int) {
        precondition(
            (Self.controlPayloadBytesMax...Self.bytesCeiling).contains(frameBytesMax),
            "frameBytesMax \(frameBytesMax) outside 125...\(Self.bytesCeiling)")
        precondition(
            (1...Self.bytesCeiling).contains(messageBytesMax),
            "messageBytesMax \(messageBytesMax) outside 1...\(Self.bytesCeiling)")
        precondition(
            (1...Self.fragmentsCeiling).contains(fragmentsMax),
            "fragmentsMax \(fragmentsMax) outside 1...\(Self.fragmentsCeiling)")
        self.frameBytesMax = frameBytesMax
        self.messageBytesMax = messageBytesMax
        self.fragmentsMax = fragmentsMax
    }

    /// The `/ws` endpoint: 64 KiB frames and messages, 128 fragments. Client messages are small JSON
    /// commands (subscribe, resume, auth token), well under 4 KiB; 64 KiB leaves room for a batch
    /// while capping the buffer per connection. 128 fragments is far more than any browser sends
    /// (they do not fragment at all).
    public static let hub = WebSocketLimits(frameBytesMax: 64 * 1024, messageBytesMax: 64 * 1024, fragmentsMax: 128)

    /// The Autobahn echo endpoint: 16 MiB frames and messages, 65,537 frames per message. Cases
    /// 9.1.6 and 9.2.6 send 16 MiB in one frame; 9.3.1 and 9.4.1 send 4 MiB in 64-byte fragments,
    /// which autobahn 0.10.9 (`sendMessage(fragmentSize:)`) writes as 65,536 full frames followed
    /// by an empty final continuation: 65,537 frames, the most any case sends.
    /// Never use this for the application endpoint.
    public static let conformance = WebSocketLimits(
        frameBytesMax: 16 * 1024 * 1024, messageBytesMax: 16 * 1024 * 1024, fragmentsMax: 65_537)
}
