import HubCrypto
import HubLoop
import HubWire

/// The opening handshake (RFC 6455 §4.2): validates the upgrade request, checks the Origin
/// allow-list, and hands the TCP connection to a `WebSocketConnection`.
public enum WebSocketUpgrade {
    public struct Accepted {
        public let socket: WebSocketConnection
        public let leftover: [UInt8]
    }

    /// Whether a request asks to become a WebSocket (RFC 6455 §4.1: `Upgrade: websocket`); whether
    /// it is a valid handshake is `accept`'s question.
    public static func isRequested(_ request: Request) -> Bool {
        request.head.headers.values("upgrade").contains { value in
            value.split(separator: ",").contains { $0.trimmingSpaces().lowercased() == "websocket" }
        }
    }

    /// Validates and answers 101, or throws the HTTP error to answer instead. `chooseProtocol`
    /// picks one of the offered subprotocols (nil for none).
    public static func accept(_ request: Request, _ responder: Responder, registry: WebSocketRegistry,
                       settings: WebSocketConnection.Settings, origins: [String],
                       chooseProtocol: ([String]) -> String? = { _ in nil }) throws(APIError) -> Accepted {
        let handshake: WebSocketHandshake.Request
        do {
            handshake = try WebSocketHandshake.validate(
                method: request.method, httpVersion: (1, request.head.versionMinor), headers: request.head.headers.fields)
        } catch {
            var headers = error.responseHeaders.map { ($0.name, $0.value) }
            if error.httpStatus == 426 { headers.append(("Upgrade", "websocket")) }
            throw APIError(error.httpStatus, "bad_websocket_handshake", error.message, headers: headers)
        }
        if !origins.isEmpty {
            // RFC 6455 §4.2.2 / §10.2: a browser always sends Origin; refuse pages we do not serve.
            guard let origin = request.header("origin"), origins.contains(origin) else {
                throw APIError.forbidden("origin_not_allowed", "this Origin may not open a WebSocket here")
            }
        }
        let subprotocol = chooseProtocol(handshake.protocols)
        guard let (connection, leftover) = responder.takeOver() else {
            throw APIError.internalError("connection closed during the upgrade")
        }
        let accept = WebSocketHandshake.acceptValue(key: handshake.key) { SHA1.hash($0) }
        connection.write(WebSocketHandshake.response(accept: accept, protocol: subprotocol))
        let socket = WebSocketConnection(connection: connection, registry: registry, settings: settings, peer: request.peer)
        return Accepted(socket: socket, leftover: leftover)
    }
}

/// Echoes every message back: for conformance runs (Autobahn|Testsuite) only.
public final class EchoHandler: WebSocketHandler {
    public init() {}
    public func webSocketDidOpen(_ socket: WebSocketConnection) {}
    public func webSocket(_ socket: WebSocketConnection, didReceiveText text: [UInt8]) { socket.send(text: text) }
    public func webSocket(_ socket: WebSocketConnection, didReceiveBinary bytes: [UInt8]) { socket.send(binary: bytes) }
    public func webSocketDidClose(_ socket: WebSocketConnection) {}
    public func webSocketTick(_ socket: WebSocketConnection, nowMs: UInt64) {}
}

@available(*, unavailable) extension EchoHandler: Sendable {}
