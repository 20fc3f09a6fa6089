/// Why a peer's WebSocket bytes were refused. Each case fails the connection; `closeCode` is the
/// status to send, and it is decided here and nowhere else (STYLE §7: peer errors map in one place).
public enum WebSocketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes break a rule of RFC 6455 framing or fragmentation.
    case protocolViolation(WebSocketProtocolViolation)
    /// A text message or close reason is not UTF-8 (RFC 6455 §8.1).
    case invalidUTF8
    /// A frame header announced more payload than `frameBytesMax`; no payload was buffered.
    case frameTooBig(length: UInt64, frameBytesMax: Int)
    /// The fragments of one message add up to more than `messageBytesMax`.
    case messageTooBig(messageBytesMax: Int)
    /// One message arrived in more than `fragmentsMax` frames. A policy close (1008), not 1009:
    /// the message may be small; it is the per-frame overhead we refuse, and 1009 would tell the
    /// peer to send less data, which would not help.
    case tooManyFragments(fragmentsMax: Int)

    /// The status code for the close frame we send (RFC 6455 §7.4.1).
    public var closeCode: UInt16 {
        switch self {
        case .protocolViolation: WebSocketCloseCode.protocolError
        case .invalidUTF8: WebSocketCloseCode.invalidPayload
        case .frameTooBig, .messageTooBig: WebSocketCloseCode.messageTooBig
        case .tooManyFragments: WebSocketCloseCode.policyViolation
        }
    }

    /// A short reason for the close frame and for counters; fits the 123 bytes a close reason may use.
    public var description: String {
        switch self {
        case .protocolViolation(let violation): "protocol error: \(violation)"
        case .invalidUTF8: "invalid UTF-8"
        case .frameTooBig(let length, let frameBytesMax): "frame of \(length) bytes over \(frameBytesMax)"
        case .messageTooBig(let messageBytesMax): "message over \(messageBytesMax) bytes"
        case .tooManyFragments(let fragmentsMax): "message in more than \(fragmentsMax) fragments"
        }
    }
}

/// The RFC 6455 rule a peer broke. All of them close with 1002.
public enum WebSocketProtocolViolation: Equatable, Sendable {
    /// §5.2: RSV1–3 "MUST be 0 unless an extension is negotiated"; we negotiate none.
    case reservedBitsSet(UInt8)
    /// §5.2: opcodes 3–7 and 11–15 are reserved; "If an unknown opcode is received, the receiving
    /// endpoint MUST _Fail the WebSocket Connection_".
    case reservedOpcode(UInt8)
    /// §5.1: "The server MUST close the connection upon receiving a frame that is not masked."
    case unmaskedFrame
    /// §5.1: "A client MUST close a connection if it detects a masked frame."
    case maskedFrame
    /// §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    case controlFrameTooLong
    /// §5.5: "All control frames … MUST NOT be fragmented."
    case fragmentedControlFrame
    /// §5.2: with a 64-bit length, "the most significant bit MUST be 0".
    case lengthHighBitSet
    /// §5.4: a continuation frame with no text or binary frame before it.
    case continuationWithoutStart
    /// §5.4: a text or binary frame while a fragmented message is still open.
    case messageStartInsideMessage
    /// §5.5.1: a close body, when present, starts with a two-byte status code.
    case closePayloadTooShort
    /// §7.4: a status code not allowed in a close frame (`WebSocketCloseCode.isValidOnWire`).
    case invalidCloseCode(UInt16)
}
