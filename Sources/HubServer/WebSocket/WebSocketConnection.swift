import HubLoop
import HubWire
import Logging

/// What a WebSocket endpoint does with messages. Called on the loop thread.
protocol WebSocketHandler: AnyObject {
    func webSocketDidOpen(_ socket: WebSocketConnection)
    func webSocket(_ socket: WebSocketConnection, didReceiveText text: [UInt8])
    func webSocket(_ socket: WebSocketConnection, didReceiveBinary bytes: [UInt8])
    func webSocketDidClose(_ socket: WebSocketConnection)
    /// Once a second: deadlines of the endpoint's own (token expiry, SSE heartbeats).
    func webSocketTick(_ socket: WebSocketConnection, nowMs: UInt64)
}

/// RFC 6455 over one TCP connection after the upgrade: decodes frames, answers pings, runs the
/// closing handshake, keeps the connection alive with pings, and disconnects a peer whose
/// unsent bytes pass the outbound cap.
final class WebSocketConnection: TCPConnectionDelegate, Sweepable {
    enum State { case open, closing, closed }

    struct Settings {
        var limits: WebSocketLimits
        var pingIntervalMs: UInt64
        var outboundBytesMax: Int
        /// How long we wait for the peer's close frame after sending ours.
        var closeTimeoutMs: UInt64 = 5000
    }

    let connection: TCPConnection
    /// Strong: the registry holds open connections and each one removes itself when its TCP
    /// connection closes, which breaks the cycle. A checked `unowned` cost a reference-count
    /// round trip on every read (the payload pool lives there).
    private let registry: WebSocketRegistry
    /// `@exclusivity(unchecked)`: loop thread only, and `decode` is pure (it calls nothing that
    /// could reach this connection), so its mutating access never overlaps another; the dynamic
    /// check cost a thread-local lookup per read.
    @exclusivity(unchecked) private var decoder: WebSocketMessageDecoder
    private let settings: Settings
    private(set) var state = State.open
    var handler: (any WebSocketHandler)?
    var sweepSlot = -1
    /// `@exclusivity(unchecked)`: updated on every read, loop thread only, pure mutations.
    @exclusivity(unchecked) private var keepalive: WebSocketKeepalive
    private var closeSentMs: UInt64?
    let peer: String

    init(connection: TCPConnection, registry: WebSocketRegistry, settings: Settings, peer: String) {
        self.connection = connection
        self.registry = registry
        self.settings = settings
        self.peer = peer
        self.decoder = WebSocketMessageDecoder(limits: settings.limits)
        self.keepalive = WebSocketKeepalive(intervalMs: settings.pingIntervalMs, nowMs: connection.loop.nowMs)
        // Reading pauses when our own replies back up; the cap below decides disconnection.
        connection.writeBytesHighWater = settings.outboundBytesMax / 2
    }

    var isOpen: Bool { state == .open }

    /// Starts serving: `leftover` are bytes the client sent right after its upgrade request.
    func start(leftover: [UInt8]) {
        connection.setDelegate(self)
        registry.add(self)
        handler?.webSocketDidOpen(self)
        connection.startReading()
        if !leftover.isEmpty {
            leftover.withUnsafeBytes { process($0) }
        }
    }

    // MARK: Sending

    /// Queues an already-encoded frame (a broadcast's shared bytes).
    func send(frame: [UInt8]) {
        guard state == .open else { return }
        connection.write(frame)
        registry.countSent(frame: frame)
        enforceOutboundCap()
    }

    /// Encodes straight into the connection's write buffer: no frame buffer of its own.
    func send(text: [UInt8]) {
        guard state == .open else { return }
        connection.write { WebSocketFrameEncoder.encodeText(text, into: &$0) }
        registry.countSent(payloadBytes: text.count)
        enforceOutboundCap()
    }

    func send(json: JSON) { send(text: json.bytes) }

    func send(binary: [UInt8]) {
        guard state == .open else { return }
        connection.write { WebSocketFrameEncoder.encodeBinary(binary, into: &$0) }
        registry.countSent(payloadBytes: binary.count)
        enforceOutboundCap()
    }

    private func enforceOutboundCap() {
        guard connection.unsentBytes > settings.outboundBytesMax else { return }
        // A subscriber that does not read cannot make us buffer without bound: it is cut off
        // and resumes from its last seq when it reconnects. The close frame goes behind what is
        // queued, so a peer that is slow but still reading learns why; nothing more is queued
        // once closing, and the sweep drops the connection `closeTimeoutMs` later if it never
        // drains, so this holds at most the cap plus one frame, for at most that long.
        registry.slowConsumerClosed(self, unsentBytes: connection.unsentBytes, cap: settings.outboundBytesMax)
        close(code: WebSocketCloseCode.policyViolation, reason: "slow consumer: outbound buffer full", waitForPeer: false)
    }

    /// Starts the closing handshake with `code`. With `waitForPeer` false (a failed connection)
    /// the TCP connection closes once the close frame is written, lingering for what the peer
    /// still sends. Either way the sweep closes TCP if that has not happened `closeTimeoutMs`
    /// after the close frame was queued.
    func close(code: UInt16, reason: String = "", waitForPeer: Bool = true) {
        guard state == .open else { return }
        state = .closing
        connection.write { WebSocketFrameEncoder.encodeClose(code: code, reason: reason, into: &$0) }
        closeSentMs = connection.loop.nowMs
        // Failing: the peer may still be sending (the rest of a message too big to take), and
        // closing on unread bytes would reset the connection under our close frame.
        if !waitForPeer { connection.closeAfterFlush(linger: true) }
        finishHandler()
    }

    private func finishHandler() {
        if let handler {
            self.handler = nil
            handler.webSocketDidClose(self)
        }
    }

    // MARK: Receiving

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        keepalive.received(nowMs: connection.loop.nowMs)
        process(bytes)
    }

    private func process(_ bytes: UnsafeRawBufferPointer) {
        var consumed = 0
        // Payload arrays cycle through the registry: lent to the decoder, handed to the handler
        // as the message, given back once handled, and taken back unused here.
        defer { if let unused = decoder.reclaimLent() { registry.recyclePayload(unused) } }
        while state != .closed && connection.isOpen {
            if !decoder.holdsLent, let spare = registry.takePayloadBuffer() { decoder.lend(spare) }
            let message: WebSocketMessage?
            do {
                message = try decoder.decode(bytes, consumed: &consumed)
            } catch {
                registry.countProtocolError()
                if state == .open {
                    close(code: error.closeCode, reason: error.description, waitForPeer: false)
                } else {
                    connection.close()
                }
                return
            }
            guard let message else { return }
            handle(message)
            registry.recyclePayload(of: message)
        }
    }

    private func handle(_ message: WebSocketMessage) {
        switch message {
        case .text(let text):
            registry.countReceived(payloadBytes: text.count)
            if state == .open { handler?.webSocket(self, didReceiveText: text) }
        case .binary(let bytes):
            registry.countReceived(payloadBytes: bytes.count)
            if state == .open { handler?.webSocket(self, didReceiveBinary: bytes) }
        case .ping(let payload):
            // RFC 6455 §5.5.2: answer with a pong carrying the same payload.
            guard state == .open else { return }
            connection.write { WebSocketFrameEncoder.encodePong(payload, into: &$0) }
        case .pong:
            break  // §5.5.3: an unsolicited pong needs no answer; any traffic proves liveness
        case .close(let code, _):
            if state == .open {
                // §5.5.1: echo the close (status 1000 when the peer sent none), then close TCP:
                // the server closes the TCP connection first (§7.1.1).
                state = .closing
                connection.write { WebSocketFrameEncoder.encodeClose(code: code ?? WebSocketCloseCode.normalClosure, into: &$0) }
                finishHandler()
            }
            connection.closeAfterFlush()
        }
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        // The peer went away without a closing handshake (1006 on its side).
        connection.closeAfterFlush()
        finishHandler()
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        state = .closed
        finishHandler()
        registry.remove(self)
    }

    // MARK: Deadlines

    /// The loop's clock (milliseconds, monotonic), for handlers that keep their own budgets.
    var loopNowMs: UInt64 { connection.loop.nowMs }

    func sweep(nowMs: UInt64) {
        switch state {
        case .closed:
            return
        case .closing:
            if let sent = closeSentMs, nowMs >= sent + settings.closeTimeoutMs { connection.close() }
        case .open:
            switch keepalive.sweep(nowMs: nowMs) {
            case .close:
                close(code: WebSocketCloseCode.goingAway, reason: "no answer to a ping within an interval", waitForPeer: false)
                return
            case .ping:
                connection.write { WebSocketFrameEncoder.encodePing([], into: &$0) }
            case .none:
                break
            }
            handler?.webSocketTick(self, nowMs: nowMs)
        }
    }
}

@available(*, unavailable) extension WebSocketConnection: Sendable {}

/// Every open WebSocket connection: for the sweeper, shutdown, and counters.
final class WebSocketRegistry {
    private let server: HTTPServer
    private var members: [ObjectIdentifier: WebSocketConnection] = [:]
    private(set) var slowConsumersClosed = 0
    private(set) var protocolErrors = 0
    /// Data messages and their payload bytes, both ways, and what event streams were sent
    /// (`/metrics`; WebSocketRegistry+Metrics.swift). `@exclusivity(unchecked)`: loop thread only,
    /// plain additions that call nothing.
    @exclusivity(unchecked) var traffic = Traffic()
    private let logger = Logger(label: "spacehub.websocket")
    var count: Int { members.count }

    /// Payload arrays of handled messages, lent to the next decode (`WebSocketFrameDecoder.lend`)
    /// so that a message arriving in one read allocates nothing. Shared by every connection on
    /// the loop, so an idle connection holds none. `@exclusivity(unchecked)`: loop thread only,
    /// and popLast/append call nothing out.
    @exclusivity(unchecked) private var payloadBuffers: [[UInt8]] = []
    /// Arrays kept at most; with `payloadBufferBytesMax` bounds the pool to 1 MiB.
    static let payloadBuffersMax = 256
    /// Larger payloads (rare on `/ws`, whose clients send small JSON) are freed, not kept.
    static let payloadBufferBytesMax = 4096

    init(server: HTTPServer) {
        self.server = server
    }

    func add(_ socket: WebSocketConnection) {
        members[ObjectIdentifier(socket)] = socket
        server.sweeper.add(socket)
        server.openConnections += 1
    }

    func remove(_ socket: WebSocketConnection) {
        guard members.removeValue(forKey: ObjectIdentifier(socket)) != nil else { return }
        server.sweeper.remove(socket)
        server.openConnections -= 1
    }

    /// Open Server-Sent Events streams (they count as connections too).
    private(set) var streams = 0

    func countStream(_ delta: Int) {
        streams += delta
        server.openConnections += delta
    }

    /// Counted and logged: unlike a malformed frame (one peer's bug), a slow consumer may mean
    /// the hub publishes more than its clients can take, which operators need to see.
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

    /// Sends 1001 (going away) to everyone: the hub is shutting down.
    func closeAll() {
        for socket in Array(members.values) {
            socket.close(code: WebSocketCloseCode.goingAway, reason: "server shutting down", waitForPeer: false)
        }
    }

    /// Closes whatever is left (after the grace period).
    func abortAll() {
        for socket in Array(members.values) { socket.connection.close() }
    }
}

@available(*, unavailable) extension WebSocketRegistry: Sendable {}
