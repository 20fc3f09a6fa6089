import HubLoop
import HubWire
import Logging

/// Every open WebSocket connection: for the sweeper, shutdown, and counters.
public final class WebSocketRegistry {
    private let server: HTTPServer
    public private(set) var slowConsumersClosed = 0
    public private(set) var protocolErrors = 0
    /// Data messages and their payload bytes, both ways, and what event streams were sent
    /// (WebSocketTraffic.swift). `@exclusivity(unchecked)`: loop thread only, plain additions
    /// that call nothing.
    @exclusivity(unchecked) public internal(set) var traffic = WebSocketTraffic()
    private let logger: Logger
    /// Open connections. The sweeper holds them (each has a slot there while open), so the
    /// registry keeps no table of its own: one entry less per idle connection.
    public private(set) var count = 0

    /// Payload arrays of handled messages, lent to the next decode (`WebSocketFrameDecoder.lend`)
    /// so that a message arriving in one read allocates nothing. Shared by every connection on
    /// the loop, so an idle connection holds none. `@exclusivity(unchecked)`: loop thread only,
    /// and popLast/append call nothing out.
    @exclusivity(unchecked) private var payloadBuffers: [[UInt8]] = []
    /// Arrays kept at most; with `payloadBufferBytesMax` bounds the pool to 1 MiB.
    static let payloadBuffersMax = 256
    /// Larger payloads (rare where clients send small JSON messages) are freed, not kept.
    static let payloadBufferBytesMax = 4096

    /// `logger` tells of slow consumers closed.
    public init(server: HTTPServer, logger: Logger) {
        self.server = server
        self.logger = logger
    }

    /// Each endpoint's settings, held once (an endpoint has one value; a reload may add another).
    private var settings: [WebSocketConnection.Settings: SharedSettings] = [:]

    func shared(_ value: WebSocketConnection.Settings) -> SharedSettings {
        if let held = settings[value] { return held }
        let held = SharedSettings(value)
        settings[value] = held
        return held
    }

    func add(_ socket: WebSocketConnection) {
        server.sweeper.add(socket)
        count += 1
        server.openConnections += 1
    }

    func remove(_ socket: WebSocketConnection) {
        guard socket.sweepSlot >= 0 else { return }  // removed already
        server.sweeper.remove(socket)
        count -= 1
        server.openConnections -= 1
    }

    /// The open connections, from the sweeper's members (a copy: closing removes them).
    private var members: [WebSocketConnection] {
        server.sweeper.members.compactMap { $0 as? WebSocketConnection }
    }

    /// Open Server-Sent Events streams (they count as connections too).
    public private(set) var streams = 0

    public func countStream(_ delta: Int) {
        streams += delta
        server.openConnections += delta
    }

    /// Counted and logged: unlike a malformed frame (one peer's bug), a slow consumer may mean
    /// the server publishes more than its clients can take, which operators need to see.
    func slowConsumerClosed(_ socket: WebSocketConnection, unsentBytes: Int, cap: Int) {
        slowConsumersClosed += 1
        logger.warning("WebSocket slow consumer closed with 1008: \(unsentBytes) unsent bytes over the \(cap)-byte cap",
                       metadata: ["peer": .string(socket.peer), "closed": .stringConvertible(slowConsumersClosed)])
    }

    func countProtocolError() { protocolErrors += 1 }

    func takePayloadBuffer() -> [UInt8]? {
        payloadBuffers.popLast()
    }

    /// Keeps `buffer` for a later decode. A handler that kept the message still shares the storage;
    /// the decoder then copies instead of overwriting it (arrays are values), costing what a fresh
    /// array would.
    func recyclePayload(_ buffer: [UInt8]) {
        guard buffer.capacity > 0, buffer.capacity <= Self.payloadBufferBytesMax,
            payloadBuffers.count < Self.payloadBuffersMax
        else { return }
        payloadBuffers.append(buffer)
    }

    func recyclePayload(of message: WebSocketMessage) {
        switch message {
        case .text(let bytes), .binary(let bytes), .ping(let bytes), .pong(let bytes): recyclePayload(bytes)
        case .close: break
        }
    }

    /// Sends 1001 (going away) to everyone: the server is shutting down.
    public func closeAll() {
        for socket in members {
            socket.close(code: WebSocketCloseCode.goingAway, reason: "server shutting down", waitForPeer: false)
        }
    }

    /// Closes whatever is left (after the grace period).
    public func abortAll() {
        for socket in members { socket.connection.close() }
    }
}

@available(*, unavailable) extension WebSocketRegistry: Sendable {}
