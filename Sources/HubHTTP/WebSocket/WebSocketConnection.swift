import HubLoop
import HubWire
import Logging

/// What a WebSocket endpoint does with messages. Called on the loop thread.
public protocol WebSocketHandler: AnyObject {
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
public final class WebSocketConnection: TCPConnectionDelegate, Sweepable {
    public enum State { case open, closing, closed }

    public struct Settings: Hashable, Sendable {
        public var limits: WebSocketLimits
        public var pingIntervalMs: UInt64
        public var outboundBytesMax: Int
        /// How long we wait for the peer's close frame after sending ours.
        public var closeTimeoutMs: UInt64

        public init(limits: WebSocketLimits, pingIntervalMs: UInt64, outboundBytesMax: Int, closeTimeoutMs: UInt64 = 5000) {
            self.limits = limits
            self.pingIntervalMs = pingIntervalMs
            self.outboundBytesMax = outboundBytesMax
            self.closeTimeoutMs = closeTimeoutMs
        }
    }

    public let connection: TCPConnection
    /// Strong: the registry (through its server's sweeper) holds open connections and each one
    /// removes itself when its TCP connection closes, which breaks the cycle. A checked `unowned`
    /// cost a reference-count round trip on every read (the payload pool lives there).
    private let registry: WebSocketRegistry
    /// Shared by every connection of the endpoint (`WebSocketRegistry.shared`): 8 bytes per
    /// idle connection instead of the 48 of a copy.
    private let shared: SharedSettings
    private var settings: Settings { shared.settings }
    public var handler: (any WebSocketHandler)?
    /// The slot in the sweeper's list, kept in 4 bytes beside `state` (`slot`).
    public var sweepSlot: Int {
        get { Int(slot) }
        set { slot = Int32(newValue) }
    }
    public let peer: String
    /// The decoder of a message still arriving, between the reads that bring it. Nil between
    /// messages, when a decoder holds nothing a new one would not (`isAtRest`): each read then
    /// decodes with a new one on the stack, and an idle connection keeps 8 bytes here instead
    /// of a 128-byte decoder.
    private var partial: PartialMessage?
    /// `@exclusivity(unchecked)`: updated on every read, loop thread only, pure mutations.
    @exclusivity(unchecked) private var keepalive: WebSocketKeepalive
    // The one-byte state and the four-byte sweeper slot after the keepalive's last byte, and a
    // plain word for when our close frame went out (0: not yet), keep the object at 120 bytes,
    // a malloc size class below 136 (BENCHMARKS.md, Idle connections).
    public private(set) var state = State.open
    private var slot: Int32 = -1
    private var closeSentMs: UInt64 = 0

    init(connection: TCPConnection, registry: WebSocketRegistry, settings: Settings, peer: String) {
        self.connection = connection
        self.registry = registry
        self.shared = registry.shared(settings)
        self.peer = peer
        self.keepalive = WebSocketKeepalive(intervalMs: settings.pingIntervalMs, nowMs: connection.loop.nowMs)
        // Reading pauses when our own replies back up; the cap below decides disconnection.
        connection.writeBytesHighWater = settings.outboundBytesMax / 2
    }

    public var isOpen: Bool { state == .open }

    /// Starts serving: `leftover` are bytes the client sent right after its upgrade request.
    public func start(leftover: [UInt8]) {
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
    public func send(frame: [UInt8]) {
        guard state == .open else { return }
        connection.write(frame)
        registry.countSent(frame: frame)
        enforceOutboundCap()
    }

    /// Encodes straight into the connection's write buffer: no frame buffer of its own.
    public func send(text: [UInt8]) {
        guard state == .open else { return }
        connection.write { WebSocketFrameEncoder.encodeText(text, into: &$0) }
        registry.countSent(payloadBytes: text.count)
        enforceOutboundCap()
    }

    public func send(json: JSON) { send(text: json.bytes) }

    public func send(binary: [UInt8]) {
        guard state == .open else { return }
        connection.write { WebSocketFrameEncoder.encodeBinary(binary, into: &$0) }
        registry.countSent(payloadBytes: binary.count)
        enforceOutboundCap()
    }

    private func enforceOutboundCap() {
        guard connection.unsentBytes > settings.outboundBytesMax else { return }
        // A peer that does not read cannot make us buffer without bound: it is cut off (and
        // resumes, if the application's protocol lets it, when it reconnects). The close frame goes behind what is
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
    public func close(code: UInt16, reason: String = "", waitForPeer: Bool = true) {
        guard state == .open else { return }
        state = .closing
        connection.write { WebSocketFrameEncoder.encodeClose(code: code, reason: reason, into: &$0) }
        closeSentMs = max(1, connection.loop.nowMs)
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

    public func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        keepalive.received(nowMs: connection.loop.nowMs)
        process(bytes)
    }

    private func process(_ bytes: UnsafeRawBufferPointer) {
        // Moved out of its box, so the arrays of a message in progress stay uniquely owned
        // (appending to a shared one would copy it on every read).
        var decoder: WebSocketMessageDecoder
        if let box = partial, let held = box.decoder {
            box.decoder = nil
            decoder = held
        } else {
            decoder = WebSocketMessageDecoder(limits: settings.limits)
        }
        var consumed = 0
        defer {
            // Payload arrays cycle through the registry: lent to the decoder, handed to the
            // handler as the message, given back once handled, and taken back unused here.
            if let unused = decoder.reclaimLent() { registry.recyclePayload(unused) }
            if decoder.isAtRest {
                partial = nil
            } else {
                let box = partial ?? PartialMessage()
                box.decoder = decoder
                partial = box
            }
        }
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

    public func connectionDidReachEOF(_ connection: TCPConnection) {
        // The peer went away without a closing handshake (1006 on its side).
        connection.closeAfterFlush()
        finishHandler()
    }

    public func connectionDidDrain(_ connection: TCPConnection) {}

    public func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        state = .closed
        finishHandler()
        registry.remove(self)
    }

    // MARK: Deadlines

    /// The loop's clock (milliseconds, monotonic), for handlers that keep their own budgets.
    public var loopNowMs: UInt64 { connection.loop.nowMs }

    public func sweep(nowMs: UInt64) {
        switch state {
        case .closed:
            return
        case .closing:
            if closeSentMs > 0, nowMs >= closeSentMs + settings.closeTimeoutMs { connection.close() }
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

/// One endpoint's `WebSocketConnection.Settings`, held once for all its connections.
final class SharedSettings {
    let settings: WebSocketConnection.Settings
    init(_ settings: WebSocketConnection.Settings) { self.settings = settings }
}

/// A connection's decoder while a message is arriving in pieces (`WebSocketConnection.partial`).
private final class PartialMessage {
    var decoder: WebSocketMessageDecoder?
}
