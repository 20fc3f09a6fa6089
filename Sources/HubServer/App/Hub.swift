import HubLoop
import HubWire
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The running hub: one loop thread owning the HTTP/WebSocket server and every service.
///
/// `start()` binds and prepares; `run()` blocks the calling thread, which becomes the loop
/// thread, until a graceful shutdown completes.
public final class Hub {
    public let config: Config
    public let loop: Loop
    let logger: Logger
    let router = Router()
    let server: HTTPServer
    private var signals: [SignalWatcher] = []
    private var shutdownTimer: Timer?
    private var stopped = false
    public private(set) var boundPort = 0
    /// Called on the loop thread once the hub listens (tests use it to learn the port).
    public var onListening: ((Int) -> Void)?

    public init(config: Config, logger: Logger) {
        self.config = config
        self.logger = logger
        self.loop = Loop()
        self.server = HTTPServer(loop: loop, router: router, config: config, logger: logger)
        registerSystemRoutes()
    }

    /// Binds the listeners. Throws when the address is taken or invalid.
    public func start() throws(UVError) {
        boundPort = try server.listen(host: config.server.host, port: config.server.port)
        if !config.server.hostIPv6.isEmpty {
            try server.listen(host: config.server.hostIPv6, port: boundPort)
        }
        for signal in [SIGINT, SIGTERM] {
            signals.append(SignalWatcher(loop: loop, signal: signal) { [unowned self] number in
                self.logger.notice("received signal \(number); shutting down")
                self.shutdown()
            })
        }
    }

    /// Runs the loop on the calling thread until shutdown completes.
    public func run() {
        onListening?(boundPort)
        loop.run()
        finish()
    }

    /// Stops accepting, lets in-flight requests finish within the grace period, then stops.
    public func shutdown() {
        loop.assertOnLoopThread()
        guard shutdownTimer == nil, !stopped else { return }
        server.beginShutdown()
        let timer = Timer(loop: loop)
        shutdownTimer = timer
        let graceMs = UInt64(config.server.shutdownGraceSeconds) * 1000
        let startedMs = loop.nowMs
        // Poll until the last session is gone or the grace period is over.
        timer.start(afterMs: 10, repeatMs: 10) { [unowned self] in
            if self.server.sessionCount == 0 || self.loop.nowMs - startedMs >= graceMs {
                self.stopServices()
            }
        }
    }

    private func stopServices() {
        guard !stopped else { return }
        stopped = true
        shutdownTimer?.close()
        server.close()
        for signal in signals { signal.close() }
        signals = []
    }

    private func finish() {
        if !stopped { stopServices() }
        if !loop.close() { logger.warning("loop closed with handles still open") }
    }

    private func registerSystemRoutes() {
        router.get("/healthz") { _, responder in
            responder.send(Self.healthResponse)
        }
        router.get("/readyz") { _, responder in
            responder.json(["status": "ready"])
        }
        router.get("/api/version") { _, responder in
            responder.json(["name": "spacehub", "version": .string(Hub.version), "api": "v1"])
        }
    }

    public static let version = "0.1.0"

    private static let healthResponse = HTTPResponse(
        status: 200, headers: HTTPHeaders([("content-type", "application/json")]), body: Array(#"{"status":"ok"}"#.utf8))
}

@available(*, unavailable) extension Hub: Sendable {}
