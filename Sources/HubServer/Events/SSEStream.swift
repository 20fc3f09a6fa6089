import HubHTTP
import HubLoop
import HubWire

/// One Server-Sent Events client: a connection taken over from HTTP that receives events as
/// `id: <seq>` blocks, resumes from `Last-Event-ID`, and gets a comment line as heartbeat.
final class SSEStream: EventSubscriber, TCPConnectionDelegate, Sweepable {
    private let connection: TCPConnection
    private unowned let broker: Broker
    private unowned let realtime: Realtime
    private let channels: Set<String>
    private let heartbeatMs: UInt64
    /// Who opened it, for private channels; the stream ends when its token expires.
    private let principal: Principal?
    private var lastWriteMs: UInt64
    var deliveredSeq: Int64
    var sweepSlot = -1
    var onFinish: ((SSEStream) -> Void)?
    private var finished = false

    init(connection: TCPConnection, broker: Broker, channels: Set<String>, realtime: Realtime, heartbeatMs: UInt64,
         principal: Principal?) {
        self.connection = connection
        self.principal = principal
        self.broker = broker
        self.realtime = realtime
        self.channels = channels
        self.heartbeatMs = heartbeatMs
        self.lastWriteMs = connection.loop.nowMs
        self.deliveredSeq = broker.lastSeq
    }

    /// Answers the request and replays from `since`. `cors` are the server's CORS headers for the
    /// request: a page on an allowed origin may then read the stream (an `EventSource` is a CORS
    /// request; the token rides in the query, so no credentials).
    func start(since: Int64?, requestID: String, cors: HTTPHeaders) {
        connection.setDelegate(self)
        realtime.registry.countStream(+1)
        var head = HTTPResponse(status: 200)
        head.headers.set("content-type", "text/event-stream; charset=utf-8")
        head.headers.set("cache-control", "no-store")
        head.headers.set("x-request-id", requestID)
        head.headers.set("x-accel-buffering", "no")
        for field in cors { head.headers.add(field.name, field.value) }
        var out: [UInt8] = []
        head.serialize(into: &out, lengthOmitted: true)
        out.append(contentsOf: ServerSentEvents.retry(milliseconds: 2000))
        connection.write(out)
        if let since, broker.isBehind(since) {
            // Ahead of this hub (resumed here from another): wait for the follower to bring the
            // events up to `since`; later ones arrive live. Still behind after the wait: resync.
            deliveredSeq = since
            for channel in channels { broker.subscribe(self, to: channel) }
            connection.startReading()
            broker.afterReaching(since, timeoutMs: Broker.catchUpWaitMs, loop: connection.loop) { [weak self] in
                guard let self, !finished, since > broker.lastSeq else { return }
                deliveredSeq = broker.lastSeq  // live events flow again from here
                writeResyncNotice()
            }
            return
        }
        if let since {
            switch broker.missed(since: since, channels: channels) {
            case .resyncRequired:
                writeResyncNotice()
            case .events(let events):
                for event in events {
                    if let channel = Broker.matchingChannel(event, channels) { connection.write(event.sseBlock(channel: channel)) }
                }
            }
        }
        deliveredSeq = broker.lastSeq
        for channel in channels { broker.subscribe(self, to: channel) }
        connection.startReading()
    }

    private func writeResyncNotice() {
        let notice: JSON = [
            "type": "resync_required",
            "payload": ["epoch": .string(broker.epoch), "seq": .int64(broker.lastSeq)],
        ]
        connection.write(ServerSentEvents.event(id: String(broker.lastSeq), type: "resync_required", data: notice.bytes))
    }

    func receive(_ event: PublishedEvent, channel: String) {
        let block = event.sseBlock(channel: channel)
        connection.write(block)
        realtime.registry.countStreamEvent(bytes: block.count)
        lastWriteMs = connection.loop.nowMs
        if connection.unsentBytes > realtime.websocket.outboundBytesMax {
            realtime.registry.countSlowStreamClosed()
            connection.close()  // a slow reader resumes with Last-Event-ID
        }
    }

    // MARK: Connection

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {}  // clients send nothing more
    func connectionDidReachEOF(_ connection: TCPConnection) { connection.close() }
    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        guard !finished else { return }
        finished = true
        for channel in channels { broker.unsubscribe(self, from: channel) }
        realtime.registry.countStream(-1)
        onFinish?(self)
        onFinish = nil
    }

    func sweep(nowMs: UInt64) {
        guard connection.isOpen else { return }
        // An EventSource cannot be handed a new token: when this one expires the stream ends, and
        // the client reconnects (with `Last-Event-ID`) under a fresh one, or anonymously.
        if let principal, AuthService.hasExpired(principal, now: realtime.auth.clock.seconds) {
            connection.close()
            return
        }
        guard nowMs >= lastWriteMs + heartbeatMs else { return }
        connection.write(ServerSentEvents.comment("heartbeat"))
        lastWriteMs = nowMs
    }

    func close() { connection.close() }
}

@available(*, unavailable) extension SSEStream: Sendable {}
