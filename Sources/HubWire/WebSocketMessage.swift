/// A complete message from a WebSocket peer: a data message reassembled from its fragments, or a
/// control frame, which is always a message of its own (RFC 6455 §5.4, §5.5).
public enum WebSocketMessage: Equatable, Sendable {
    /// UTF-8 text, already validated. Kept as bytes: the JSON decoder reads bytes, and a `String`
    /// would cost a second pass. `String(decoding: bytes, as: UTF8.self)` never repairs anything here.
    case text([UInt8])
    case binary([UInt8])
    case ping([UInt8])
    case pong([UInt8])
    /// `code` is nil for an empty close body; otherwise it passed `WebSocketCloseCode.isValidOnWire`
    /// and `reason` was valid UTF-8.
    case close(code: UInt16?, reason: String)

    /// The text of a `.text` message, else nil.
    public var text: String? {
        guard case .text(let bytes) = self else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses a close frame's body (RFC 6455 §5.5.1): empty, or a 2-byte big-endian status code
    /// followed by a UTF-8 reason.
    static func close(payload: [UInt8]) throws(WebSocketError) -> WebSocketMessage {
        if payload.isEmpty { return .close(code: nil, reason: "") }
        guard payload.count >= 2 else { throw .protocolViolation(.closePayloadTooShort) }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        guard WebSocketCloseCode.isValidOnWire(code) else { throw .protocolViolation(.invalidCloseCode(code)) }
        let reason = payload[2...]
        // §5.5.1: the reason is UTF-8; Autobahn 7.5.1 expects 1007 when it is not.
        guard reason.withUnsafeBytes({ UTF8Validator.isValid($0) }) else { throw .invalidUTF8 }
        return .close(code: code, reason: String(decoding: reason, as: UTF8.self))
    }
}
