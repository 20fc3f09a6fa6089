import Foundation
import HubCore
import HubCrypto
import HubHTTP
import HubLoop
import HubStore
import HubWire
import Logging

#if canImport(Glibc)
import Glibc
/// Glibc imports RLIMIT_NOFILE as an enum case of `__rlimit_resource`; the calls take its raw value.
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#endif

/// The running hub: one loop thread owning the HTTP/WebSocket server and every service.
///
/// `start()` opens the database, rebuilds the in-memory state and binds; `run()` blocks the
/// calling thread, which must be the one that created the hub (it is the loop thread), until a
/// graceful shutdown completes.
public final class Hub {
    public let config: Config
    /// The configuration as last loaded: `config`, then each SIGHUP's (Hub+Operations).
    var liveConfig: Config
    public let loop: Loop
    let logger: Logger
    let router = Router()
    let server: HTTPServer
    let inbox: LoopInbox
    let settings: LiveSettings
    /// Every rate limit's buckets (sign-ins, registrations, booking creation).
    let limits: RateLimits
    /// Where every service reads the time.
    let clock: any Clock
    /// What the hub runs, from `start()` on (`HubServices`); nil before and after.
    private(set) var services: HubServices?
    /// `/metrics` and errors to Sentry (Observability/Monitoring.swift).
    private(set) var monitoring: Monitoring?
    /// This process's claim on the database file, held until the hub has stopped.
    private var databaseLock: DatabaseFiles.Lock?
    private var signals: [SignalWatcher] = []
    private var timers: [HubLoop.Timer] = []
    private var shutdownTimer: HubLoop.Timer?
    private var stopped = false
    public private(set) var boundPort = 0
    /// What the process should exit with once `run()` returns: 0, or `historyReplacedExitStatus`.
    public private(set) var exitStatus: Int32 = 0
    /// The exit status of a hub that stopped because its PostgreSQL database was replaced under
    /// it (EX_TEMPFAIL): a supervisor restarts it, and the new start adopts a new epoch.
    public static let historyReplacedExitStatus: Int32 = 75

    /// The URL people reach the hub at: `server.publicUrl`, or host and bound port.
    public var publicURL: String {
        config.server.publicURL.isEmpty ? "http://\(config.server.host):\(boundPort)" : config.server.publicURL
    }
    /// Credentials of the demo admin created at this start (printed once by the CLI).
    public private(set) var demoAdmin: (email: String, password: String)?

    /// Where the log goes (reopened on SIGHUP); nil when the caller logs elsewhere (tests).
    let logOutput: LogOutput?
    /// Reads the configuration again for SIGHUP; nil: SIGHUP only reopens the log.
    public var reloadConfig: (() throws -> Config)?

    public init(config: Config, logger: Logger, logOutput: LogOutput? = nil, clock: any Clock = SystemClock()) {
        self.logOutput = logOutput
        self.clock = clock
        self.liveConfig = config
        // Outgoing calls to payment, email and calendar providers block a pool thread for up to
        // their timeout; 16 threads keep password hashing from queueing behind them. Read by
        // libuv when the pool first starts, so it must be set before any work is queued.
        setenv("UV_THREADPOOL_SIZE", "16", 0)
        self.config = config
        self.logger = logger
        self.loop = Loop()
        self.inbox = LoopInbox(loop: loop)
        self.settings = LiveSettings(config: config)
        self.limits = RateLimits(config)
        self.server = HTTPServer(loop: loop, router: router, options: HTTPServer.Options(config), logger: logger)
    }

    /// Opens the store, rebuilds state, binds the listeners and registers routes.
    public func start() throws {
        // A peer that resets a connection mid-write must cost us an EPIPE, not the process.
        signal(SIGPIPE, SIG_IGN)
        raiseDescriptorLimit()
        let now = clock.seconds
        try prepareDatabase(now: now)
        let services = try HubServices.make(parts, jwtSecret: jwtSecret, now: now)
        self.services = services
        router.useHubAccess(auth: services.auth, limits: limits)
        // Bind before wiring the routes: links (payment callbacks, feeds) need the real port when
        // the configured one is 0. Nothing is served until run() starts the loop.
        boundPort = try server.listen(host: config.server.host, port: config.server.port)
        if !config.server.hostIPv6.isEmpty {
            try server.listen(host: config.server.hostIPv6, port: boundPort)
        }
        registerSystemRoutes()
        ReadYourWrites.install(on: router, server: server, broker: services.broker, committer: services.committer, loop: loop,
                               shared: services.follower != nil)
        services.register(on: router, parts: parts, publicURL: publicURL)
        monitoring = try Monitoring.start(self, services: services)
        services.followed.onHistoryReplaced = { [unowned self] in
            exitStatus = Self.historyReplacedExitStatus
            shutdown()
        }
        services.start()
        startHousekeeping(services)

        for number in [SIGINT, SIGTERM] {
            signals.append(SignalWatcher(loop: loop, signal: number) { [unowned self] received in
                self.logger.notice("received signal \(received); shutting down")
                self.shutdown()
            })
        }
        // SIGHUP's default action ends the process (exit 129); here it reloads (Hub+Operations).
        signals.append(SignalWatcher(loop: loop, signal: SIGHUP) { [unowned self] _ in self.reload() })
    }

    var parts: HubServices.Parts {
        HubServices.Parts(config: config, loop: loop, inbox: inbox, settings: settings, limits: limits, server: server, clock: clock,
                          logger: logger)
    }

    /// Every connection is a descriptor: raise the soft limit to the hard one, and say what it is.
    private func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(RLIMIT_NOFILE_VALUE, &raised) == 0 { limit = raised }
        }
        logger.info("open file limit", metadata: ["soft": .stringConvertible(limit.rlim_cur), "hard": .stringConvertible(limit.rlim_max)])
    }

    /// Claims the database for this process, migrates, and in demo mode seeds an empty database.
    /// Runs before the writer exists.
    private func prepareDatabase(now: Int64) throws {
        if case .sqlite(let path) = config.store.location {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            databaseLock = try DatabaseFiles.Lock(database: path)
            try DatabaseFiles.createPrivately(path)
        }
        let database = try Database(config.store.location, busyTimeoutMs: config.store.busyTimeoutMs)
        let applied = try Migrations.migrate(database)
        if config.mode == .production, let refusal = try productionDatabaseProblem(database) { throw refusal }
        if !applied.isEmpty { logger.info("database migrated", metadata: ["versions": .string(applied.map(String.init).joined(separator: ","))]) }
        if config.mode == .demo {
            let hasher = PasswordHasher(cost: .init(logN: config.auth.passwordCostLog2, blockSize: 8, parallelism: 1))
            if let credentials = try DemoData.seedIfEmpty(database, hasher: hasher, zone: settings.timeZone, now: now) {
                demoAdmin = (credentials.email, credentials.password)
            }
        }
    }

    /// What production mode refuses about the database itself (`Config.Production`).
    private func productionDatabaseProblem(_ database: Database) throws -> ConfigError? {
        if !config.production.allowDemoData, try DemoData.isPresent(database) {
            let key = config.store.url.isEmpty ? "store.path (SPACEHUB_DB)" : "store.url (DATABASE_URL)"
            return ConfigError(key, "\(config.store.location) holds the demo building and its demo super admin "
                               + "(\(DemoData.adminEmail)); use a database of your own, or set production.allowDemoData")
        }
        if !config.production.allowSharedDatabase, case .sqlite(let path) = config.store.location, DatabaseFiles.isWorldAccessible(path) {
            return ConfigError("store.path (SPACEHUB_DB)", "\(config.store.path) can be read by every account on this machine and "
                               + "holds password hashes; chmod 600 it, or set production.allowSharedDatabase")
        }
        return nil
    }

    /// JWT_SECRET, or in demo mode a random secret kept in the database so tokens survive restarts.
    private func jwtSecret(_ db: Database) throws -> [UInt8] {
        if !config.auth.jwtSecret.isEmpty { return Array(config.auth.jwtSecret.utf8) }
        precondition(config.mode == .demo, "ConfigLoader.validate requires a secret in production")
        if let stored = try MetaTable.get("demo_jwt_secret", db), let bytes = Hex.decode(stored) { return bytes }
        // Hubs starting together on one new database keep the first one's.
        let stored = try MetaTable.setIfAbsent("demo_jwt_secret", Hex.encode(SecureRandom.bytes(count: 32)), try Database(config.store.location))
        logger.warning("JWT_SECRET is not set: using a generated demo secret (set JWT_SECRET and mode=production for real use)")
        guard let secret = Hex.decode(stored), !secret.isEmpty else {
            throw ConfigError("auth.jwtSecret (JWT_SECRET)", "the demo secret stored in the database is not hex; set JWT_SECRET")
        }
        return secret
    }

    /// Hourly pruning of what only needs to live for a while: event history, idempotency keys,
    /// expired tokens.
    private func startHousekeeping(_ services: HubServices) {
        let timer = HubLoop.Timer(loop: loop)
        let keep = config.events.historyCount
        let ageSeconds = Int64(config.events.historySeconds)
        timer.start(afterMs: 60_000, repeatMs: 3_600_000) { [clock, logger, auth = services.auth, storage = services.storage] in
            let now = clock.seconds
            auth.pruneRevocations(now: now)
            storage.write({ db in
                try EventLogTable.prune(keep: keep, before: (now - ageSeconds) * 1000, db)
                try IdempotencyTable.prune(before: now - BookingRoutes.idempotencyRetentionSeconds, db)
                try TokenTable.prune(now: now, db)
            }) { [logger] result in
                if case .failure(let error) = result { logger.warning("housekeeping failed: \(error)") }
            }
        }
        timer.unref()
        timers.append(timer)
    }

    // MARK: Running

    /// Runs the loop on the calling thread until shutdown completes.
    public func run() {
        loop.run()
        finish()
    }

    /// Stops accepting, lets in-flight requests finish within the grace period, then stops.
    public func shutdown() {
        loop.assertOnLoopThread()
        guard shutdownTimer == nil, !stopped else { return }
        server.beginShutdown()
        monitoring?.beginShutdown()
        services?.beginShutdown()
        let timer = HubLoop.Timer(loop: loop)
        shutdownTimer = timer
        let graceMs = UInt64(config.server.shutdownGraceSeconds) * 1000
        let startedMs = loop.nowMs
        timer.start(afterMs: 10, repeatMs: 10) { [unowned self] in
            if (self.server.sessionCount == 0 && (self.services?.isIdle ?? true)) || self.loop.nowMs - startedMs >= graceMs {
                self.stopServices()
            }
        }
    }

    private func stopServices() {
        guard !stopped else { return }
        stopped = true
        shutdownTimer?.close()
        server.close()
        services?.stop()
        for timer in timers { timer.close() }
        timers = []
        for watcher in signals { watcher.close() }
        signals = []
        monitoring?.close()
        // Commit what is queued; the completions arrive through the inbox, drained by close().
        services?.storage.close()
        inbox.close()
    }

    private func finish() {
        if !stopped { stopServices() }
        if !loop.close() { logger.warning("loop closed with handles still open") }
        services = nil
        router.removeAll()  // its handlers hold the services, which hold the server and router
        databaseLock?.release()
        server.responseHeaders = nil  // they hold the services' parts
        router.hold = nil
    }

    private func registerSystemRoutes() {
        router.get("/healthz") { _, responder in
            responder.send(Self.healthResponse)
        }
        router.get("/readyz") { [unowned self] _, responder in answerReadiness(responder) }
        router.get("/api/version") { _, responder in
            responder.send(Self.versionResponse)
        }
    }

    public static let version = "0.2.0"

    /// Constant answers, serialized once.
    private static let versionResponse = HTTPResponse(
        status: 200, headers: HTTPHeaders([("content-type", "application/json; charset=utf-8")]),
        body: JSON.object(["name": "spacehub", "version": .string(Hub.version), "api": "v1"]).bytes)

    private static let healthResponse = HTTPResponse(
        status: 200, headers: HTTPHeaders([("content-type", "application/json")]), body: Array(#"{"status":"ok"}"#.utf8))
}

@available(*, unavailable) extension Hub: Sendable {}
