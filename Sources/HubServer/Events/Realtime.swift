import HubCore
import HubHTTP
import HubLoop
import HubStore
import HubWire
import Logging

/// The real-time hub: `/ws` sessions, their messages, snapshots and resume.
final class Realtime {
    let broker: Broker
    let auth: AuthService
    let catalog: SpaceCatalog
    let bookings: BookingService
    let settings: LiveSettings
    let registry: WebSocketRegistry
    /// The `websocket` section of the configuration: limits, path, origins, pings.
    let websocket: Config.WebSocket
    /// Whether `/ws/echo` (the conformance suite's endpoint) is served.
    let echo: Bool
    let logger: Logger
    /// Connects per address and messages per connection are limited (RateAction).
    let limits: RateLimits
    /// Signed-in sessions by member, so the end of a session reaches its sockets. Anonymous ones
    /// (kiosks, most of the idle connections) are only counted: no entry per connection.
    private var sessionsByUser: [String: [ObjectIdentifier: HubSession]] = [:]
    private(set) var sessionCount = 0
    /// Open sessions per `?client=` kind ("dashboard", "kiosk", …) for analytics.
    private var clientKinds = ClientKinds()
    var clientCounts: [String: Int] { clientKinds.counts }
    /// What an event's envelope and frame add to its payload, about (`resume` budgets by it).
    static let envelopeBytes = 128
    /// Payments a `payments:<user>` snapshot holds, newest first.
    static let paymentsSnapshotMax = 50

    init(broker: Broker, auth: AuthService, catalog: SpaceCatalog, bookings: BookingService, settings: LiveSettings,
         registry: WebSocketRegistry, limits: RateLimits, websocket: Config.WebSocket, echo: Bool, logger: Logger) {
        self.limits = limits
        self.broker = broker
        self.auth = auth
        self.catalog = catalog
        self.bookings = bookings
        self.settings = settings
        self.registry = registry
        self.websocket = websocket
        self.echo = echo
        self.logger = logger
    }

    var hubSettings: WebSocketConnection.Settings {
        WebSocketConnection.Settings(
            limits: WebSocketLimits(frameBytesMax: websocket.frameBytesMax, messageBytesMax: websocket.messageBytesMax,
                                    fragmentsMax: websocket.fragmentsMax),
            pingIntervalMs: UInt64(websocket.pingIntervalSeconds) * 1000,
            outboundBytesMax: websocket.outboundBytesMax,
            closeTimeoutMs: UInt64(websocket.closeTimeoutSeconds) * 1000)
    }

    func register(_ router: Router) {
        router.get(websocket.path) { [self] request, responder throws(APIError) in try self.upgrade(request, responder) }
        if echo {
            router.get("/ws/echo") { [self] request, responder throws(APIError) in
                // Autobahn sends frames and messages up to 16 MiB in up to 65,536 fragments.
                let settings = WebSocketConnection.Settings(limits: .conformance, pingIntervalMs: 3_600_000, outboundBytesMax: 64 << 20)
                let accepted = try WebSocketUpgrade.accept(request, responder, registry: registry, settings: settings, origins: [])
                accepted.socket.handler = EchoHandler()
                accepted.socket.start(leftover: accepted.leftover)
            }
        }
    }

    // MARK: Connecting

    /// Accepts a hub WebSocket: on `websocket.path` (`/ws`), and on `/` when the request asks to
    /// upgrade (a front end given a bare `wss://host` as its socket URL).
    func upgrade(_ request: Request, _ responder: Responder) throws(APIError) {
        try limits.take(.webSocketConnectPerIP, key: request.peer)
        var principal = request.principal
        var offeredBearer = false
        // `Sec-WebSocket-Protocol: bearer, <jwt>`: browsers cannot set Authorization on a WebSocket.
        let protocols = request.head.headers.values("sec-websocket-protocol")
            .flatMap { $0.split(separator: ",") }.map { String($0.trimmingSpaces()) }
        if let index = protocols.firstIndex(of: "bearer"), index + 1 < protocols.count {
            offeredBearer = true
            principal = try token(protocols[index + 1])
        }
        if let found = try queryPrincipal(request) { principal = found }
        var since: Int64?
        if let text = request.query["since"] {
            guard let value = Int64(text), value >= 0 else { throw APIError.invalid("since", "bad_since", "since must be a seq number") }
            since = value
        }
        let kind = String((request.query["client"] ?? "app").prefix(20))
        let snapshot = request.query["snapshot"] == "1" || request.query["snapshot"] == "true"
        let epoch = request.query["epoch"]
        let date = request.query["date"].flatMap(LocalDate.init)
        let accepted = try WebSocketUpgrade.accept(request, responder, registry: registry, settings: hubSettings,
                                                   origins: websocket.origins) { offered in
            offeredBearer && offered.contains("bearer") ? "bearer" : nil
        }
        // Counted in here, out in `sessionClosed`: `start` below opens the session at once.
        let session = HubSession(realtime: self, principal: principal, clientKind: clientKinds.enter(kind))
        accepted.socket.handler = session
        accepted.socket.start(leftover: accepted.leftover)
        // Default channels: the seed's client never subscribes.
        for channel in Channel.defaults(for: principal) { session.subscribe(channel.name) }
        session.send(welcome(session))
        if snapshot { sendSnapshot(Channel.availability.name, to: session, date: date, days: 1) }
        if let since { resume(session, channels: Set(session.channels), since: since, epoch: epoch, id: nil) }
    }

    /// The principal of a `?token=` in the query; nil when none was sent. Browsers cannot set
    /// Authorization on a WebSocket or an `EventSource`, so the real-time routes (`/ws`, the event
    /// stream, long-poll and snapshot) take the token there too. A bad token is the request's error.
    func queryPrincipal(_ request: Request) throws(APIError) -> Principal? {
        guard let text = request.query["token"], !text.isEmpty else { return nil }
        return try token(text)
    }

    private func token(_ text: String) throws(APIError) -> Principal {
        switch auth.principal(token: text, now: auth.clock.seconds) {
        case .success(let principal): return principal
        case .failure(let error): throw error
        }
    }

    private func welcome(_ session: HubSession) -> JSON {
        [
            "type": "welcome",
            "payload": [
                "epoch": .string(broker.epoch),
                "seq": .int64(broker.lastSeq),
                "channels": .array(session.channels.sorted().map(JSON.string)),
                "user": session.principal.map { ["id": .string($0.id), "role": .string($0.role.rawValue)] } ?? .null,
            ],
        ]
    }

    // MARK: Sessions

    func sessionOpened(_ session: HubSession) {
        sessionCount += 1
        sessionAuthenticated(session)
    }

    func sessionAuthenticated(_ session: HubSession) {
        guard let principal = session.principal else { return }
        sessionsByUser[principal.id, default: [:]][ObjectIdentifier(session)] = session
    }

    /// Called once per session, after `sessionOpened` (HubSession keeps to that).
    func sessionClosed(_ session: HubSession) {
        sessionCount -= 1
        clientKinds.leave(session.clientKind)
        if let principal = session.principal {
            sessionsByUser[principal.id]?[ObjectIdentifier(session)] = nil
            if sessionsByUser[principal.id]?.isEmpty == true { sessionsByUser[principal.id] = nil }
        }
    }

    /// Signed-in Server-Sent Events streams, so the end of their session ends them too.
    private var streams: [ObjectIdentifier: (stream: SSEStream, principal: Principal)] = [:]

    func streamOpened(_ stream: SSEStream, principal: Principal) {
        streams[ObjectIdentifier(stream)] = (stream, principal)
    }

    func streamClosed(_ stream: SSEStream) {
        streams[ObjectIdentifier(stream)] = nil
    }

    // MARK: Messages

    /// Subscriptions a connection may hold at once.
    var subscriptionsMax: Int { websocket.subscriptionsMax }

    func handle(_ message: JSONObject, from session: HubSession) {
        let id = message["id"]
        guard let type = message["type"]?.stringValue else {
            session.reply(error: "malformed_message", "a message needs a string \"type\"", id: id)
            return
        }
        switch type {
        case "ping":
            session.send(["type": "pong", "payload": ["ts": .int64(auth.clock.milliseconds), "id": id ?? .null]])
        case "auth":
            guard let token = message["token"]?.stringValue ?? message["payload"]?["token"]?.stringValue else {
                session.reply(error: "malformed_message", "auth needs a \"token\"", id: id)
                return
            }
            switch auth.principal(token: token, now: auth.clock.seconds) {
            case .success(let principal):
                if let previous = session.principal, previous.id != principal.id { session.dropPrivateChannels() }
                session.authenticate(principal)
                for channel in Channel.defaults(for: principal) { session.subscribe(channel.name) }
                ack(session, id: id, ["user": ["id": .string(principal.id), "role": .string(principal.role.rawValue)],
                                      "channels": .array(session.channels.sorted().map(JSON.string))])
            case .failure(let error):
                session.reply(error: error.code, error.message, id: id)
                session.close(code: HubCloseCode.closing(for: error), reason: "invalid token")
            }
        case "subscribe", "unsubscribe", "resume":
            guard let channel = message["channel"]?.stringValue, channel.utf8.count <= 128 else {
                session.reply(error: "malformed_message", "\(type) needs a \"channel\"", id: id)
                return
            }
            switch Channel.access(channel, principal: session.principal, spaceExists: { self.catalog[$0] != nil }) {
            case .unknown:
                session.reply(error: "unknown_channel", "no channel named \(channel)", id: id, channel: channel)
                return
            case .forbidden:
                session.reply(error: "forbidden_channel", "you may not read \(channel)", id: id, channel: channel)
                return
            case .allowed:
                break
            }
            if type == "unsubscribe" {
                session.unsubscribe(channel)
                ack(session, id: id, ["channel": .string(channel)])
            } else if type == "subscribe" {
                guard session.channels.contains(channel) || session.channels.count < subscriptionsMax else {
                    session.reply(error: "too_many_subscriptions", "at most \(subscriptionsMax) channels per connection", id: id, channel: channel)
                    return
                }
                session.subscribe(channel)
                ack(session, id: id, ["channel": .string(channel), "seq": .int64(broker.lastSeq), "epoch": .string(broker.epoch)])
                if message["snapshot"]?.boolValue == true {
                    let days = min(max(message["days"]?.intValue ?? 1, 1), SpaceRoutes.gridDaysMax)
                    sendSnapshot(channel, to: session, date: message["date"]?.stringValue.flatMap(LocalDate.init), days: days)
                }
            } else {
                guard let seq = message["seq"]?.intValue ?? message["since"]?.intValue, seq >= 0 else {
                    session.reply(error: "malformed_message", "resume needs \"seq\", the last seq received", id: id, channel: channel)
                    return
                }
                guard session.channels.contains(channel) || session.channels.count < subscriptionsMax else {
                    session.reply(error: "too_many_subscriptions", "at most \(subscriptionsMax) channels per connection", id: id, channel: channel)
                    return
                }
                session.subscribe(channel)
                resume(session, channels: [channel], since: Int64(seq), epoch: message["epoch"]?.stringValue, id: id)
            }
        default:
            session.reply(error: "unknown_message_type", "unknown message type \(type)", id: id)
        }
    }

    private func ack(_ session: HubSession, id: JSON?, _ payload: JSONObject) {
        var body = payload
        if let id { body["id"] = id }
        session.send(["type": "ack", "payload": .object(body)])
    }

    /// Replays what `session` missed on `channels` since `since`, or tells it to resync.
    func resume(_ session: HubSession, channels: Set<String>, since: Int64, epoch: String?, id: JSON?) {
        if broker.isBehind(since), epoch == nil || epoch == broker.epoch {
            // Behind the client, which resumes here from another hub: the events up to its
            // position are on their way (the follower brings them). They are not sent again, and
            // those after it arrive live as on any subscription.
            session.deliveredSeq = max(session.deliveredSeq, since)
            broker.afterReaching(since, timeoutMs: Broker.catchUpWaitMs, loop: bookings.loop) { [weak self, weak session] in
                guard let self, let session, session.socket != nil else { return }
                // Caught up: everything after `since` went out live meanwhile. Still behind: resync,
                // and live events flow again from where this hub is.
                let position = broker.lastSeq >= since ? broker.lastSeq : broker.lastSeq + 1
                if position > broker.lastSeq { session.deliveredSeq = broker.lastSeq }
                replay(session, channels: channels, since: position, epoch: epoch, id: id)
            }
            return
        }
        replay(session, channels: channels, since: since, epoch: epoch, id: id)
    }

    /// Sends what `session` missed since `since`, or `resync_required` when history does not
    /// reach back that far (or forward: a client this hub never caught up with).
    private func replay(_ session: HubSession, channels: Set<String>, since: Int64, epoch: String?, id: JSON?) {
        var replay: Broker.Replay = epoch != nil && epoch != broker.epoch ? .resyncRequired : broker.missed(since: since, channels: channels)
        // More than half the outbound buffer at once would close the socket as a slow consumer:
        // a client that missed that much is better served by the current state.
        if case .events(let events) = replay,
           events.reduce(0, { $0 + $1.payload.count + Self.envelopeBytes }) > websocket.outboundBytesMax / 2 {
            replay = .resyncRequired
        }
        switch replay {
        case .resyncRequired:
            session.send(["type": "resync_required", "payload": [
                "channels": .array(channels.sorted().map(JSON.string)), "epoch": .string(broker.epoch), "seq": .int64(broker.lastSeq),
                "message": "history does not reach back to that seq; fetch current state over REST",
            ]])
        case .events(let events):
            for event in events {
                guard let channel = Broker.matchingChannel(event, channels) else { continue }
                session.receive(event, channel: channel)
            }
            session.deliveredSeq = max(session.deliveredSeq, broker.lastSeq)
            ack(session, id: id, ["resumed": .int(events.count), "seq": .int64(broker.lastSeq), "epoch": .string(broker.epoch),
                                  "channels": .array(channels.sorted().map(JSON.string))])
        }
    }

    // MARK: Snapshots

    /// The channel's current state stamped with the seq it reflects; live events follow. The
    /// session is subscribed already: a snapshot read from the store (PostgreSQL answers later)
    /// holds back the channel's live events until it is sent, so none overtakes it (each is then
    /// newer than the stamped seq; the snapshot may already show it, and events carry whole
    /// objects, so applying it again changes nothing).
    func sendSnapshot(_ channel: String, to session: HubSession, date: LocalDate?, days: Int) {
        let seq = broker.lastSeq
        session.holdEvents(of: channel)
        snapshot(channel, principal: session.principal, date: date, days: days) { payload in
            // Unsubscribed while it was read: neither the snapshot nor the held events are wanted.
            guard session.channels.contains(channel) else { return }
            switch payload {
            case .success(let payload):
                session.send(["type": "snapshot", "channel": .string(channel), "seq": .int64(seq), "payload": payload])
            case .failure(let error):
                session.reply(error: error.code, error.message, channel: channel)
            }
            session.releaseEvents(of: channel)
        }
    }

    /// The channel's current state, at once from memory or, for a member's payments, from the
    /// store (`Storage.read`).
    func snapshot(_ channel: String, principal: Principal?, date: LocalDate?, days: Int,
                  completion: @escaping (Result<JSON, APIError>) -> Void) {
        guard case .payments(let userID)? = Channel(name: channel) else {
            return completion(.success(snapshot(channel, principal: principal, date: date, days: days)))
        }
        // The member's latest payments, newest first: an indexed read of at most 50 rows.
        bookings.storage.read({ try PaymentTable.forUser(userID, limit: Self.paymentsSnapshotMax, $0) }) { read in
            switch read {
            case .success(let recent): completion(.success(["payments": .array(recent.map(PaymentViews.payment))]))
            case .failure: completion(.failure(Storage.unavailable))
            }
        }
    }

    private func snapshot(_ channel: String, principal: Principal?, date: LocalDate?, days: Int) -> JSON {
        let now = auth.clock.seconds
        switch Channel(name: channel) {
        case .availability?, .admin?:
            let day = date ?? settings.timeZone.local(now).date
            return AvailabilityViews.grid(catalog: catalog, service: bookings, date: day, days: days, committedOnly: true)
        case .space(let id)?:
            guard let space = catalog[id] else { return [:] }
            // "Today" where the space is: a room in another zone than the hub's is on its own date.
            let day = date ?? space.zone.local(now).date
            return [
                "date": .string(day.description),
                "space": SpaceViews.view(space),
                "days": .array((0..<days).map {
                    .raw(AvailabilityViews.day(space: space, date: day.adding(days: $0), service: bookings, committedOnly: true))
                }),
            ]
        case .bookings(let userID)?:
            return ["bookings": .array(bookings.liveBookings(of: userID).map { BookingViews.booking($0) })]
        case .payments?, nil:
            return [:]
        }
    }

    func shutdown() {
        registry.closeAll()
    }
}

/// A session ends for every socket and stream that holds it, at once: a logout, a password reset,
/// a reused refresh token or a suspension closes the member's live connections whose token it
/// revoked (4401, or 4403 when suspended; a stream simply ends), instead of letting them receive
/// private events until the token expires. Connections with another, still valid token stay.
extension Realtime: SessionWatcher {
    func sessionsMayHaveEnded(subject: String) {
        for session in (sessionsByUser[subject] ?? [:]).values {
            guard let principal = session.principal, let ended = auth.revocation(of: principal) else { continue }
            session.endSession(ended)
        }
        for (stream, principal) in streams.values where principal.id == subject && auth.revocation(of: principal) != nil {
            stream.close()
        }
    }
}

@available(*, unavailable) extension Realtime: Sendable {}
