import HubCore
import HubCrypto
import HubHTTP
import HubLoop
import HubStore
import HubWire
import Logging

/// Everything a started hub runs, built once, in dependency order, by `make`: no service is
/// created later, optional, or wired by call order. The hub holds one while it serves.
struct HubServices {
    let storage: Storage
    let broker: Broker
    let committer: Committer
    let catalog: SpaceCatalog
    let bookings: BookingService
    let auth: AuthService
    let payments: PaymentService
    let sandbox: SandboxGateway
    let webSockets: WebSocketRegistry
    let realtime: Realtime
    let delivery: EmailDelivery
    let reminders: ReminderScheduler
    let calendars: CalendarSync
    /// Whether this hub runs the background work that happens once per database.
    let leadership: Leadership
    /// PostgreSQL: follows the event log every hub on the database writes (nil on SQLite,
    /// which one hub owns).
    let follower: EventFollower?
    let followed: FollowedChanges
    private let loop: Loop
    private let revocationReloadMs: UInt64

    /// What the services are built from: the hub's own parts.
    struct Parts {
        let config: Config
        let loop: Loop
        let inbox: LoopInbox
        let settings: LiveSettings
        let limits: RateLimits
        let server: HTTPServer
        let clock: any Clock
        let logger: Logger
    }

    /// Opens the store, rebuilds the state it holds (settings, the event history, the catalogue,
    /// the availability index) and builds every service on it, then wires who tells whom.
    static func make(_ parts: Parts, jwtSecret: (Database) throws -> [UInt8], now: Int64) throws -> HubServices {
        let config = parts.config, loop = parts.loop, logger = parts.logger
        let storage = try Storage(location: config.store.location, durability: Database.Durability(rawValue: config.store.durability) ?? .full,
                                  busyTimeoutMs: config.store.busyTimeoutMs, batchMax: config.store.commitBatchMax,
                                  readTimeoutMs: config.store.readTimeoutMs, loop: loop, inbox: parts.inbox)
        try SettingsStore.load(into: parts.settings, storage.reader)
        let secret = try jwtSecret(storage.reader)
        let broker = try makeBroker(storage.reader, config: config, logger: logger)
        let committer = Committer(storage: storage, broker: broker, clock: parts.clock)
        // Made before the bookings are read: what commits meanwhile is followed, not missed.
        var follower: EventFollower?
        if case .postgres = config.store.location {
            follower = try EventFollower(location: config.store.location, after: broker.lastSeq, pollMs: config.events.followPollMs,
                                         doorbell: config.events.doorbell, inbox: parts.inbox, logger: logger)
        }
        let leadership = Leadership(isLeader: follower?.leadsAtStart ?? true)
        let catalog = SpaceCatalog(try SpaceTable.loadAll(storage.reader))
        let bookings = BookingService(loop: loop, storage: storage, committer: committer, catalog: catalog, settings: parts.settings,
                                      holdsPerMemberMax: config.bookings.holdsPerMemberMax, leadership: leadership, clock: parts.clock,
                                      logger: logger)
        let rebuildStart = Loop.hrtimeNs()
        let times = try bookings.rebuild(now: now)
        logger.info("availability index rebuilt", metadata: [
            "bookings": .stringConvertible(bookings.index.count), "spaces": .stringConvertible(catalog.all.count),
            "ms": .stringConvertible((Loop.hrtimeNs() - rebuildStart) / 1_000_000), "readMs": .stringConvertible(times.readMs),
            "trackMs": .stringConvertible(times.trackMs),
        ])
        let auth = try AuthService(loop: loop, storage: storage, config: config.auth, secret: secret, limits: parts.limits,
                                   clock: parts.clock, logger: logger)
        let delivery = EmailDelivery(loop: loop, storage: storage, bookings: bookings, config: config.email, leadership: leadership,
                                     clock: parts.clock, logger: logger)
        let reminders = ReminderScheduler(loop: loop, storage: storage, delivery: delivery, config: config.email, leadership: leadership,
                                          clock: parts.clock, logger: logger)
        let calendars = try CalendarSync(loop: loop, storage: storage, bookings: bookings, calendar: config.calendar,
                                         leadership: leadership, clock: parts.clock, logger: logger)
        let sandbox = SandboxGateway()
        var gateways: [any PaymentGateway] = [sandbox]
        if !config.payments.paystackSecretKey.isEmpty {
            gateways.append(PaystackGateway(baseURL: config.payments.paystackBaseURL, secretKey: config.payments.paystackSecretKey,
                                            timeoutSeconds: config.payments.timeoutSeconds, retries: config.payments.retries))
        }
        let payments = PaymentService(loop: loop, storage: storage, bookings: bookings, gateways: gateways, settings: parts.settings,
                                      config: config.payments, leadership: leadership, logger: logger)
        let webSockets = WebSocketRegistry(server: parts.server, logger: Logger(label: "spacehub.websocket"))
        let realtime = Realtime(broker: broker, auth: auth, catalog: catalog, bookings: bookings, settings: parts.settings,
                                registry: webSockets, limits: parts.limits, websocket: config.websocket, echo: config.conformance.echo,
                                logger: logger)
        // Who tells whom (each a weak reference to a service this struct owns).
        bookings.addObserver(reminders)
        bookings.addObserver(calendars)
        bookings.addObserver(payments)
        storage.commitOutcomeUnknown = { [weak bookings] in bookings?.commitOutcomeUnknown() }
        auth.sessionWatcher = realtime
        if let follower {
            committer.committedEvents = { follower.ring() }
            broker.onGap = { follower.readNow() }
        }
        // A new leader looks at once for what the last one left: refunds owed, mail, reminders.
        // Weak: the services hold the leadership, which must not hold them.
        leadership.whenGained { [weak payments, weak delivery, weak reminders, weak calendars] in
            payments?.resumeOwedRefunds()
            delivery?.poll()
            reminders?.sweep()
            calendars?.reconcile()
        }
        let followed = FollowedChanges(broker: broker, bookings: bookings, catalog: catalog, settings: parts.settings, auth: auth,
                                       leadership: leadership, logger: logger)
        return HubServices(storage: storage, broker: broker, committer: committer, catalog: catalog, bookings: bookings, auth: auth,
                           payments: payments, sandbox: sandbox, webSockets: webSockets, realtime: realtime, delivery: delivery,
                           reminders: reminders, calendars: calendars, leadership: leadership, follower: follower, followed: followed,
                           loop: loop, revocationReloadMs: UInt64(config.events.revocationReloadSeconds) * 1000)
    }

    /// Every route, each area given only what it uses. `publicURL` is the bound address.
    func register(on router: Router, parts: Parts, publicURL: String) {
        let config = parts.config
        let links = PublicLinks(configured: config.server.publicURL, bound: publicURL)
        AuthRoutes(auth: auth, storage: storage, tokens: config.auth, links: links).register(router)
        SpaceRoutes(catalog: catalog, bookings: bookings, committer: committer, settings: parts.settings).register(router)
        BookingRoutes(service: bookings, storage: storage, limits: parts.limits).register(router)
        PaymentRoutes(payments: payments, storage: storage, paystackSecretKey: config.payments.paystackSecretKey, links: links)
            .register(router)
        SandboxCheckout(payments: payments, sandbox: sandbox, storage: storage, settings: parts.settings).register(router)
        realtime.register(router)
        EventRoutes(realtime: realtime, events: config.events, loop: parts.loop, sweeper: parts.server.sweeper).register(router)
        AdminUserRoutes(storage: storage, auth: auth, bookings: bookings, realtime: realtime, committer: committer).register(router)
        AnalyticsRoutes(loop: parts.loop, storage: storage, catalog: catalog, settings: parts.settings, realtime: realtime,
                        clock: parts.clock).register(router)
        SettingsRoutes(storage: storage, settings: parts.settings, committer: committer).register(router)
        NotificationRoutes(storage: storage, delivery: delivery).register(router)
        CalendarRoutes(calendars: calendars, catalog: catalog, redirectURI: config.calendar.redirectURI, links: links).register(router)
        WebRoutes(realtime: realtime, storage: storage).register(router)
    }

    /// Starts what runs by itself: hold and completion timers, refunds owed since the last stop,
    /// email delivery, reminders, calendar reconciliation.
    func start() {
        bookings.startTimers()
        if leadership.isLeader { payments.resumeOwedRefunds() }
        delivery.start()
        reminders.start()
        calendars.start()
        guard let follower else { return }
        followed.start(follower, loop: loop)
        // Logouts and password resets made on other hubs are rows, not events: read them often.
        auth.reloadRevocations(everyMs: revocationReloadMs)
    }

    /// A graceful shutdown begins: live streams are told, and nothing new starts in the
    /// background; sends and calendar calls in flight finish and commit within the grace.
    func beginShutdown() {
        realtime.shutdown()
        stopBackgroundWork()
    }

    /// Nothing of ours is running on the threadpool (a send, a calendar call).
    var isIdle: Bool { delivery.isIdle && calendars.isIdle && storage.pendingReads == 0 }

    /// The grace is over (or there was none): connections are cut and timers stop. The store is
    /// closed after, by the hub, once nothing else can submit to it.
    func stop() {
        webSockets.abortAll()
        bookings.stop()
        stopBackgroundWork()
        auth.stopReloading()
        followed.stop()
        follower?.stop()  // its session ends, and a leader's lock with it
    }

    private func stopBackgroundWork() {
        delivery.beginShutdown()
        reminders.stop()
        calendars.beginShutdown()
    }

    /// The history of events for resume, reloaded from `event_log`, under the database's epoch
    /// (made on first start, and made anew on PostgreSQL when the database is no longer the one
    /// the history was written in: `EventLogTable.historyIdentity`).
    private static func makeBroker(_ db: Database, config: Config, logger: Logger) throws -> Broker {
        let epoch = try decideEpoch(config.store.location, logger: logger)
        // The head first, then the history up to it: other hubs may commit between the two reads,
        // and the history must end where `lastSeq` does (the follower brings what follows).
        let lastSeq = try EventLogTable.lastSeq(db)
        let recent = try EventLogTable.recent(limit: config.events.historyCount, db).filter { $0.seq <= lastSeq }
        let broker = Broker(epoch: epoch, lastSeq: lastSeq, history: recent.map(PublishedEvent.init),
                            historyCountMax: config.events.historyCount, historyAgeSeconds: config.events.historySeconds)
        broker.isShared = config.store.location.dialect == .postgres
        return broker
    }
}

extension HubServices {
    /// The event epoch, decided in one transaction under a lock, so hubs starting together on
    /// one database agree: the first epoch stored stays; after a rewind (the database is not the
    /// one the history was written in) a new one is derived from the old one and the new
    /// history's identity, and stored with that identity before the next hub looks.
    static func decideEpoch(_ location: StoreLocation, logger: Logger) throws -> String {
        let db = try Database(location)
        try db.execute(db.beginWrite)
        do {
            if db.dialect == .postgres { try db.execute("SELECT pg_advisory_xact_lock(?)", [.integer(AdvisoryLock.epoch)]) }
            let stored = try MetaTable.get("event_epoch", db)
            let identity = try EventLogTable.historyIdentity(db)
            let written = try MetaTable.get("history_identity", db)
            let epoch: String
            if let stored, let identity, let written, identity != written {
                logger.warning("""
                    the database is not the one its event history was written in (a restore, a promoted standby \
                    or another cluster): new event epoch, resuming clients resync
                    """, metadata: ["was": .string(written), "now": .string(identity)])
                epoch = String(Hex.encode(SHA256.hash(Array("\(stored)/\(identity)".utf8))).prefix(32))
                try MetaTable.set("event_epoch", epoch, db)
            } else if let stored {
                epoch = stored
            } else {
                epoch = SecureRandom.token(byteCount: 16)
                try MetaTable.set("event_epoch", epoch, db)
            }
            if let identity, identity != written { try MetaTable.set("history_identity", identity, db) }
            try db.execute("COMMIT")
            return epoch
        } catch {
            try? db.rollback()
            throw error
        }
    }
}

@available(*, unavailable) extension HubServices: Sendable {}
