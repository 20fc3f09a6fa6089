import HubHTTP
import HubLoop
import HubWire

/// Fallback transports over the same history as the WebSocket: long-poll `GET /api/events`
/// and Server-Sent Events `GET /api/events/stream`. Same channel rules; a token may come in
/// `Authorization` or, for `EventSource`, which cannot set headers, in `?token=`.
final class EventRoutes {
    private let realtime: Realtime
    /// The `events` section of the configuration: the long poll's wait, the SSE heartbeat.
    private let events: Config.Events
    private let loop: Loop
    private let sweeper: Sweeper
    /// Events returned by one long-poll answer at most; `next` tells where to continue.
    static let longPollEventsMax = 500

    init(realtime: Realtime, events: Config.Events, loop: Loop, sweeper: Sweeper) {
        self.realtime = realtime
        self.events = events
        self.loop = loop
        self.sweeper = sweeper
    }

    func register(_ router: Router) {
        router.get("/api/events") { [self] request, responder throws(APIError) in try self.longPoll(request, responder) }
        router.get("/api/events/stream") { [self] request, responder throws(APIError) in try self.stream(request, responder) }
    }

    private func principal(_ request: Request) throws(APIError) -> Principal? {
        try realtime.queryPrincipal(request) ?? request.principal
    }

    /// `?channels=a,b` (defaults when absent), each checked against the principal.
    private func channels(_ request: Request, principal: Principal?) throws(APIError) -> Set<String> {
        guard let text = request.query["channels"], !text.isEmpty else { return Set(Channel.defaults(for: principal).map(\.name)) }
        var result = Set<String>()
        for name in text.split(separator: ",").map(String.init) {
            switch Channel.access(name, principal: principal, spaceExists: { self.realtime.catalog[$0] != nil }) {
            case .allowed: result.insert(name)
            case .forbidden: throw APIError.forbidden("forbidden_channel", "you may not read \(name)")
            case .unknown: throw APIError.invalid("channels", "unknown_channel", "no channel named \(name)")
            }
        }
        guard result.count <= realtime.subscriptionsMax else {
            throw APIError.invalid("channels", "too_many_subscriptions", "at most \(realtime.subscriptionsMax) channels")
        }
        return result
    }

    private func since(_ value: String?) throws(APIError) -> Int64? {
        guard let value, !value.isEmpty else { return nil }
        guard let seq = Int64(value), seq >= 0 else { throw APIError.invalid("since", "bad_since", "since must be a seq number") }
        return seq
    }

    // MARK: Long-poll

    private func longPoll(_ request: Request, _ responder: Responder) throws(APIError) {
        let principal = try principal(request)
        let channels = try channels(request, principal: principal)
        let broker = realtime.broker
        if let epoch = request.query["epoch"], epoch != broker.epoch { throw resync(broker) }
        let since = try since(request.query["since"]) ?? broker.lastSeq
        // `?timeout=` seconds (1 to events.longPollSeconds): a client that must answer its own
        // caller sooner waits less; the default is the configured wait.
        let waitMax = events.longPollSeconds
        var waitSeconds = waitMax
        if let text = request.query["timeout"], !text.isEmpty {
            guard let value = Int(text), (1...waitMax).contains(value) else {
                throw APIError.invalid("timeout", "bad_timeout", "timeout must be 1 to \(waitMax) seconds")
            }
            waitSeconds = value
        }
        guard !broker.isBehind(since) else {
            // Ahead of this hub (it came from another): wait for the follower, then answer.
            broker.afterReaching(since, timeoutMs: Broker.catchUpWaitMs, loop: loop) { [self] in
                responder.continuing { () throws(APIError) in
                    guard since <= broker.lastSeq else { throw resync(broker) }
                    try answer(since: since, channels: channels, waitSeconds: waitSeconds, responder)
                }
            }
            return
        }
        try answer(since: since, channels: channels, waitSeconds: waitSeconds, responder)
    }

    private func answer(since: Int64, channels: Set<String>, waitSeconds: Int, _ responder: Responder) throws(APIError) {
        let broker = realtime.broker
        switch broker.missed(since: since, channels: channels, limit: Self.longPollEventsMax) {
        case .resyncRequired:
            throw resync(broker)
        case .events(let events) where !events.isEmpty:
            responder.send(Self.page(events, channels: channels, broker: broker))
        case .events:
            let waiter = LongPollWaiter(responder: responder, channels: channels, broker: broker, since: since,
                                        deadlineMs: loop.nowMs + UInt64(waitSeconds) * 1000)
            for channel in channels { broker.subscribe(waiter, to: channel) }
            sweeper.add(waiter)
            waiter.onFinish = { [sweeper] finished in sweeper.remove(finished) }
        }
    }

    private func resync(_ broker: Broker) -> APIError {
        APIError(410, "resync_required", "history does not reach back to that seq; fetch current state over REST",
                 details: ["epoch": .string(broker.epoch), "seq": .int64(broker.lastSeq)])
    }

    static func page(_ events: [PublishedEvent], channels: Set<String>, broker: Broker) -> HTTPResponse {
        var out: [UInt8] = Array(#"{"events":["#.utf8)
        for (offset, event) in events.enumerated() {
            if offset > 0 { out.append(0x2C) }
            out.append(contentsOf: event.envelope(channel: Broker.matchingChannel(event, channels) ?? event.channels[0]))
        }
        let next = events.last?.seq ?? broker.lastSeq
        out.append(contentsOf: #"],"next":\#(next),"epoch":"#.utf8)
        JSON.appendQuoted(broker.epoch, into: &out)
        out.append(0x7D)
        var response = HTTPResponse(status: 200, body: out)
        response.headers.set("content-type", "application/json; charset=utf-8")
        response.headers.set("cache-control", "no-store")
        return response
    }

    // MARK: Server-Sent Events

    private func stream(_ request: Request, _ responder: Responder) throws(APIError) {
        let principal = try principal(request)
        let channels = try channels(request, principal: principal)
        let broker = realtime.broker
        var resumeFrom = try since(request.header("last-event-id"))
        if resumeFrom == nil { resumeFrom = try since(request.query["since"]) }
        let cors = responder.corsHeaders()
        guard let (connection, _) = responder.takeOver() else { return }
        let stream = SSEStream(connection: connection, broker: broker, channels: channels, realtime: realtime,
                               heartbeatMs: UInt64(events.sseHeartbeatSeconds) * 1000, principal: principal)
        stream.start(since: resumeFrom, requestID: request.id, cors: cors)
        sweeper.add(stream)
        if let principal { realtime.streamOpened(stream, principal: principal) }
        stream.onFinish = { [sweeper, realtime] finished in
            sweeper.remove(finished)
            realtime.streamClosed(finished)
        }
    }
}

@available(*, unavailable) extension EventRoutes: Sendable {}

/// A long-poll request waiting for the first event on its channels, or its deadline.
final class LongPollWaiter: EventSubscriber, Sweepable {
    private let responder: Responder
    private let channels: Set<String>
    private unowned let broker: Broker
    private let deadlineMs: UInt64
    var deliveredSeq: Int64
    var sweepSlot = -1
    var onFinish: ((LongPollWaiter) -> Void)?
    private var done = false

    init(responder: Responder, channels: Set<String>, broker: Broker, since: Int64, deadlineMs: UInt64) {
        self.responder = responder
        self.channels = channels
        self.broker = broker
        self.deadlineMs = deadlineMs
        self.deliveredSeq = since
    }

    func receive(_ event: PublishedEvent, channel: String) {
        // Answer with this event; others committed in the same turn come with the next poll.
        finish(EventRoutes.page([event], channels: channels, broker: broker))
    }

    func sweep(nowMs: UInt64) {
        if !responder.isConnected {
            finish(nil)
        } else if nowMs >= deadlineMs {
            finish(EventRoutes.page([], channels: channels, broker: broker))
        }
    }

    private func finish(_ response: HTTPResponse?) {
        guard !done else { return }
        done = true
        for channel in channels { broker.unsubscribe(self, from: channel) }
        if let response, responder.isConnected, !responder.isDone { responder.send(response) }
        onFinish?(self)
        onFinish = nil
    }
}

@available(*, unavailable) extension LongPollWaiter: Sendable {}
