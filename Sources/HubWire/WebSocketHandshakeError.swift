/// Why an upgrade request was refused, with the HTTP response it gets. The status is decided here
/// and nowhere else; the HTTP writer sends `httpStatus`, `responseHeaders` and `message` as the body.
public enum WebSocketHandshakeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// RFC 6455 §4.1: "The method of the request MUST be GET".
    case methodNotAllowed(String)
    /// §4.1: "the HTTP version MUST be at least 1.1".
    case httpVersionTooOld(major: Int, minor: Int)
    /// No `Upgrade` header with the token `websocket` (§4.2.1 item 3).
    case upgradeNotWebSocket
    /// No `Connection` header with the token `upgrade` (§4.2.1 item 4).
    case connectionNotUpgrade
    /// `Sec-WebSocket-Version` missing or not exactly `13` (§4.2.2: answer 426 and list what we speak);
    /// the payload is the versions offered, comma-joined.
    case versionUnsupported(String)
    /// No `Sec-WebSocket-Key` (§4.2.1 item 5).
    case keyMissing
    /// `Sec-WebSocket-Key` more than once (§11.3.1: it "MUST NOT appear more than once").
    case keyRepeated
    /// A key that is not base64 of exactly 16 bytes (§4.1).
    case keyInvalid
    /// A `Sec-WebSocket-Protocol` element that is not a token (§4.1: characters U+0021–U+007E,
    /// no separators). Refused rather than dropped, because we may echo one back in a header.
    case protocolInvalid(String)

    public var httpStatus: Int {
        switch self {
        case .methodNotAllowed: 405
        case .versionUnsupported: 426
        case .httpVersionTooOld, .upgradeNotWebSocket, .connectionNotUpgrade, .keyMissing, .keyRepeated,
            .keyInvalid, .protocolInvalid:
            400
        }
    }

    /// Headers the response must carry besides the usual ones.
    public var responseHeaders: [(name: String, value: String)] {
        switch self {
        case .methodNotAllowed: [("Allow", "GET")]  // RFC 9110 §15.5.6: a 405 MUST list the allowed methods
        case .versionUnsupported: [("Sec-WebSocket-Version", WebSocketHandshake.version)]
        default: []
        }
    }

    /// A one-line explanation for the response body; echoes no client bytes.
    public var message: String {
        switch self {
        case .methodNotAllowed: "WebSocket upgrade requires GET"
        case .httpVersionTooOld: "WebSocket upgrade requires HTTP/1.1 or later"
        case .upgradeNotWebSocket: "missing Upgrade: websocket"
        case .connectionNotUpgrade: "missing Connection: Upgrade"
        case .versionUnsupported: "unsupported Sec-WebSocket-Version; this server speaks 13"
        case .keyMissing: "missing Sec-WebSocket-Key"
        case .keyRepeated: "Sec-WebSocket-Key sent more than once"
        case .keyInvalid: "Sec-WebSocket-Key must be base64 of 16 bytes"
        case .protocolInvalid: "Sec-WebSocket-Protocol elements must be tokens"
        }
    }

    public var description: String { "\(httpStatus) \(message)" }
}
