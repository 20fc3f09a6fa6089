import HubCore
import HubCrypto
import HubHTTP
import HubLoop
import HubStore
import HubWire
import Logging

/// The hub's monitoring: `GET /metrics` (Prometheus text, docs/METRICS.md) and errors to Sentry.
/// Created by `Hub.start` once every service exists, which it then wires: the HTTP server's
/// request metrics, the error reporter into the services whose failures it reports, the writer's
/// failed-group hook.
///
/// Where `/metrics` is served (`metrics.*`):
/// - on a listener of its own at `metrics.host:metrics.port` (loopback by default; an empty host
///   opens none), which serves nothing else and is not counted in the request metrics;
/// - on the public port only when `metrics.token` is set, as `GET /metrics` with
///   `Authorization: Bearer <token>`; without a token that path is unknown there (404).
/// When a token is set, every scrape needs it, on either listener: a wrong or missing one is
/// `401` with `WWW-Authenticate: Bearer realm="metrics"` (the endpoint exists; a scraper whose
/// credentials are wrong should be told so, not sent looking for a path). The compare is of
/// SHA-256 digests in constant time, so neither the token nor its length leaks through timing.
///
/// Loop thread only.
final class Monitoring {
    private unowned let hub: Hub
    let errors: ErrorReporter?
    let httpMetrics: HTTPMetrics?
    let loopLag: LoopLag?
    /// The store's writer, whose failed commit groups are reported.
    private let writer: Writer
    private let tokenDigest: [UInt8]?
    private var listener: HTTPServer?
    /// Where the listener of its own took its port (printed at start), when there is one.
    private(set) var listenerURL: String?

    private init(hub: Hub, errors: ErrorReporter?, writer: Writer) {
        self.hub = hub
        self.errors = errors
        self.writer = writer
        let metrics = hub.config.metrics
        self.httpMetrics = metrics.enabled ? HTTPMetrics() : nil
        self.loopLag = metrics.enabled ? LoopLag(loop: hub.loop) : nil
        self.tokenDigest = metrics.token.isEmpty ? nil : SHA256.hash(Array(metrics.token.utf8))
    }

    /// Wires metrics and error reporting into the running services and opens the metrics listener.
    static func start(_ hub: Hub, services: HubServices) throws(UVError) -> Monitoring {
        let config = hub.config
        let errors = SentryDSN(config.sentry.dsn).map { dsn in
            ErrorReporter(dsn: dsn, config: config, loop: hub.loop, scrubber: Scrubber(secrets: secrets(of: config)), logger: hub.logger)
        }
        let monitoring = Monitoring(hub: hub, errors: errors, writer: services.storage.writer)
        monitoring.wire(services)
        if config.metrics.enabled {
            if monitoring.tokenDigest != nil {
                hub.router.get("/metrics", access: .anonymous) { [unowned monitoring] request, responder in
                    monitoring.serve(request, responder)
                }
            }
            if !config.metrics.host.isEmpty { try monitoring.listen() }
            monitoring.loopLag?.start()
        }
        return monitoring
    }

    private func wire(_ services: HubServices) {
        if httpMetrics != nil || errors != nil {
            hub.server.observer = HTTPObservation(metrics: httpMetrics, errors: errors)
        }
        services.payments.errors = errors
        services.delivery.errors = errors
        guard let errors else { return }
        let bound = LoopBound(errors)
        let inbox = hub.inbox
        writer.groupFailed.withLock { observer in
            observer = { error, jobs in
                let report = ErrorReport.commitFailed(error, jobs: jobs)
                _ = inbox.post { bound.value.report(report) }
            }
        }
    }

    private func listen() throws(UVError) {
        var quiet = hub.config
        quiet.log.access = false  // scrapes every few seconds are not news
        quiet.server.corsOrigins = []
        let router = Router()
        router.get("/metrics", access: .anonymous) { [unowned self] request, responder in self.serve(request, responder) }
        let server = HTTPServer(loop: hub.loop, router: router, options: HTTPServer.Options(quiet), logger: hub.logger)
        let port = try server.listen(host: hub.config.metrics.host, port: hub.config.metrics.port)
        listener = server
        let host = hub.config.metrics.host.contains(":") ? "[\(hub.config.metrics.host)]" : hub.config.metrics.host
        listenerURL = "http://\(host):\(port)/metrics"
    }

    private func serve(_ request: Request, _ responder: Responder) {
        if let tokenDigest {
            let given = request.header("authorization").flatMap { value -> String? in
                let parts = value.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
                return String(parts[1].trimmingSpaces())
            }
            guard let given, constantTimeEquals(SHA256.hash(Array(given.utf8)), tokenDigest) else {
                responder.fail(APIError(401, "unauthorized", "metrics need Authorization: Bearer <metrics.token>",
                                        headers: [("WWW-Authenticate", #"Bearer realm="metrics""#)]))
                return
            }
        }
        hub.metricsText { body in
            responder.send(HTTPResponse(status: 200, headers: HTTPHeaders([
                ("content-type", PrometheusText.contentType), ("cache-control", "no-store"),
            ]), body: body))
        }
    }

    /// Graceful shutdown: the metrics listener stops accepting with the public one.
    func beginShutdown() {
        listener?.beginShutdown()
    }

    func close() {
        listener?.close()
        listener = nil
        loopLag?.stop()
        errors?.stop()
        writer.groupFailed.withLock { $0 = nil }
    }

    /// Every configured secret, for the scrubber: none of them may reach Sentry in any form.
    static func secrets(of config: Config) -> [String] {
        var secrets = [
            config.auth.jwtSecret, config.payments.paystackSecretKey, config.email.smtpPassword, config.email.sendgridAPIKey,
            config.calendar.tokenKey, config.calendar.googleClientSecret, config.calendar.outlookClientSecret,
            config.metrics.token,
        ]
        if let dsn = SentryDSN(config.sentry.dsn) { secrets.append(dsn.publicKey) }
        return secrets.filter { !$0.isEmpty }
    }
}

@available(*, unavailable) extension Monitoring: Sendable {}

extension ErrorReport {
    /// A whole commit group failed (BEGIN or COMMIT): every write in it was refused.
    static func commitFailed(_ error: any Error, jobs: Int) -> ErrorReport {
        let code = (error as? StoreError).map { "SQLITE_\($0.primaryCode)" } ?? "commit_failed"
        return ErrorReport(
            kind: "store_commit_failed", type: code, message: "a commit group of \(jobs) writes failed: \(error)",
            transaction: "store commit", tags: [("sqlite_code", code)], extra: [("jobs", .int(jobs))],
            fingerprint: ["store_commit_failed", code])
    }
}

/// How late the loop runs: a timer every `intervalMs` measures the time since its previous tick
/// beyond the interval. A request that holds the loop for 80 ms shows as a tick 80 ms late.
/// One tick four times a second, one histogram record each.
final class LoopLag {
    static let intervalMs: UInt64 = 250
    /// 1 ms to 5 s: libuv's timers have millisecond resolution.
    static let boundsNs: [Int64] = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000].map { Int64($0) * 1_000_000 }

    private let timer: HubLoop.Timer
    private var lastNs: UInt64 = 0
    private(set) var lagNs = Histogram(bounds: LoopLag.boundsNs)
    /// The largest lag seen since start.
    private(set) var maxNs: Int64 = 0

    init(loop: Loop) {
        timer = HubLoop.Timer(loop: loop)
    }

    func start() {
        lastNs = Loop.hrtimeNs()
        timer.start(afterMs: Self.intervalMs, repeatMs: Self.intervalMs) { [unowned self] in self.tick() }
        timer.unref()
    }

    private func tick() {
        let now = Loop.hrtimeNs()
        let lag = max(0, Int64(bitPattern: now &- lastNs) - Int64(Self.intervalMs) * 1_000_000)
        lastNs = now
        lagNs.record(lag)
        maxNs = max(maxNs, lag)
    }

    func stop() {
        timer.close()
    }
}

@available(*, unavailable) extension LoopLag: Sendable {}

extension Hub {
    /// The metrics listener's URL when it runs (printed at start: `metrics.port` 0 picks a port).
    public var metricsURL: String? { monitoring?.listenerURL }
}
