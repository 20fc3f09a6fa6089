import HubHTTP
import HubLoop
import HubStore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// What an operator does to a running hub: SIGHUP (reopen the log, reload what can change live)
/// and the readiness probe a load balancer or orchestrator asks.
extension Hub {
    /// A commit must complete within this long for `/readyz` to say ready; past it the store is
    /// stuck (a held write lock, a hung disk), 503.
    static let readinessCommitTimeoutMs: UInt64 = 2000

    /// SIGHUP: logrotate's `postrotate` and `systemctl reload` send it. Reopens the log file,
    /// then reads the configuration again and applies what can change without a restart: the log
    /// level, CORS origins, trusted proxies and rate limits; it also reloads revocations an
    /// operator made with `spacehub admin …` while the hub ran. Logs what changed, and the keys
    /// that changed but need a restart. A configuration that no longer loads changes nothing.
    func reload() {
        do {
            try logOutput?.reopen()
        } catch {
            logger.error("SIGHUP: the log file could not be reopened: \(error)")
        }
        guard let reloadConfig else {
            logger.notice("SIGHUP: log reopened")
            return
        }
        let fresh: Config
        do {
            fresh = try reloadConfig()
        } catch {
            logger.error("SIGHUP: configuration not reloaded, nothing changed: \(error)")
            return
        }
        var changed: [String] = []
        let before = ConfigLoader.effectiveValues(liveConfig)
        let after = ConfigLoader.effectiveValues(fresh)
        let live: Set<String> = ["log.level", "server.corsOrigins", "server.trustedProxies", "server.proxyHeader"]
        var needRestart: [String] = []
        for (old, new) in zip(before, after) where old.value != new.value {
            if live.contains(new.path) || new.path.contains(".rateLimits.") || new.path.hasSuffix("PerMinute") {
                changed.append("\(new.path): \(old.value) → \(new.value)")
            } else {
                needRestart.append(new.path)
            }
        }
        if let level = Logger.Level(rawValue: fresh.log.level) { logOutput?.level.withLock { $0 = level } }
        server.reload(corsOrigins: fresh.server.corsOrigins, trustedProxies: fresh.server.trustedProxies,
                      proxyHeader: ClientAddress.Header(fresh.server.proxyHeader))
        limits.reload(fresh)
        liveConfig = fresh
        let reported = changed
        let report: (Int?) -> Void = { [logger] revocations in
            logger.notice("SIGHUP: configuration reloaded", metadata: [
                "changed": .array(reported.map { .string($0) }),
                "revocations": revocations.map { .stringConvertible($0) } ?? "unread (the store did not answer)",
            ])
        }
        if let auth = services?.auth {
            auth.reloadRevocations { report(try? $0.get()) }
        } else {
            report(0)
        }
        if !needRestart.isEmpty {
            logger.warning("SIGHUP: these keys changed but take effect at the next start",
                           metadata: ["keys": .array(needRestart.map { .string($0) })])
        }
    }

    /// `GET /readyz`: 503 from the first moment of a graceful shutdown, and whenever a commit
    /// fails or cannot complete within `readinessCommitTimeoutMs`: the probe commits an empty
    /// transaction through the writer, so it checks what bookings need, not only that the file
    /// can be read (`store_failing` when real commits are failing too, `store_stuck` when the
    /// writer does not answer in time).
    func answerReadiness(_ responder: Responder) {
        guard !server.isShuttingDown, let storage = services?.storage else {
            return responder.fail(.unavailable("shutting_down", "the hub is shutting down"))
        }
        let stats = storage.writer.stats
        let timer = HubLoop.Timer(loop: loop)
        timer.start(afterMs: Self.readinessCommitTimeoutMs) {
            timer.close()
            guard !responder.isDone else { return }
            responder.fail(.unavailable("store_stuck", "a commit did not complete within \(Self.readinessCommitTimeoutMs) ms"))
        }
        storage.write({ db in try EventLogTable.lockHead(db) }) { result in
            timer.close()
            guard !responder.isDone else { return }
            switch result {
            case .success:
                responder.json(["status": "ready", "commitGroups": .int(stats.groups), "failedGroups": .int(stats.failedGroups)])
            case .failure where stats.lastGroupFailed:
                responder.fail(.unavailable("store_failing", "commits are failing; bookings cannot be saved"))
            case .failure:
                responder.fail(.unavailable("store_unavailable", "the store cannot commit"))
            }
        }
    }
}
