import HubCore
import HubCrypto
import HubHTTP
import HubLoop
import HubWire
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Something that went wrong, as it will be reported: built from chosen fields only (never a
/// request's headers, body or raw path), and scrubbed again before it leaves (`Scrubber`).
struct ErrorReport {
    /// What failed: `http_5xx`, `store_commit_failed`, `outbox_dead_letter`, `gateway_failure`,
    /// `payment_flagged`. A tag, and the exception's mechanism.
    var kind: String
    /// The exception type: the error's code (`store_unavailable`, `SQLITE_BUSY`, `gateway_unavailable`).
    var type: String
    /// Free text, scrubbed of anything random-looking.
    var message: String
    /// `"POST /api/bookings"` for a request; the operation otherwise.
    var transaction: String
    /// Values the hub chose (codes, ids, route patterns), shown as Sentry tags.
    var tags: [(String, String)] = []
    /// More chosen values, shown as the event's extra data.
    var extra: [(String, JSON)] = []
    /// Identical errors share a fingerprint: Sentry groups them, and the reporter sends one per
    /// `sentry.dedupeSeconds`.
    var fingerprint: [String]
}

/// Sends error reports to Sentry, off the loop and bounded.
///
/// Loop thread only. `report` never blocks and never fails its caller: it builds the event
/// (a few hundred bytes of JSON), queues it and returns. One envelope at a time is POSTed from
/// libuv's threadpool with `sentry.timeoutSeconds` on every wait, sent once (a lost report is
/// acceptable; a duplicate is noise). Bounds: at most `sentry.queueMax` reports wait, the rest
/// are dropped and counted; a report with the fingerprint of one sent within
/// `sentry.dedupeSeconds` is counted instead of sent (the next one sent carries the count); a
/// `429` from Sentry pauses sending for its `Retry-After`. What leaves is scrubbed: configured
/// secrets, credentials, sensitive `name=value` pairs, and random-looking runs in free text.
final class ErrorReporter {
    struct Statistics {
        /// Reports accepted for sending (queued).
        var queued = 0
        var sent = 0
        /// Sends that failed (network) or were refused (non-2xx).
        var failed = 0
        /// Reports dropped: the queue was full, or the hub was stopping.
        var dropped = 0
        /// Reports not sent because an identical one was sent within the dedupe window.
        var suppressed = 0
    }

    private let loop: Loop
    private let dsn: SentryDSN
    private let logger: Logger
    private let scrubber: Scrubber
    private let environment: String
    private let serverName: String
    private let timeoutSeconds: Int
    private let queueMax: Int
    private var throttle: ReportThrottle
    private var pending: [(eventID: String, event: JSON)] = []
    private var sending = false
    private var pausedUntilMs: Int64 = 0
    private var resumeTimer: HubLoop.Timer?
    private var stopped = false
    private var lastFailureLogMs: Int64 = 0
    private(set) var stats = Statistics()

    static var client: String { "spacehub/\(Hub.version)" }

    init(dsn: SentryDSN, config: Config, loop: Loop, scrubber: Scrubber, logger: Logger) {
        self.loop = loop
        self.dsn = dsn
        self.logger = logger
        self.scrubber = scrubber
        self.environment = config.sentry.environment.isEmpty ? config.mode.rawValue : config.sentry.environment
        self.timeoutSeconds = config.sentry.timeoutSeconds
        self.queueMax = config.sentry.queueMax
        self.throttle = ReportThrottle(windowMs: Int64(config.sentry.dedupeSeconds) * 1000)
        self.serverName = Self.hostName()
    }

    /// Nothing is being sent (shutdown may wait for this).
    var isIdle: Bool { !sending }

    var queueDepth: Int { pending.count }

    // MARK: Reporting

    func report(_ report: ErrorReport) {
        loop.assertOnLoopThread()
        guard !stopped else {
            stats.dropped += 1
            return
        }
        let nowMs = WallClock.milliseconds()
        let key = report.fingerprint.joined(separator: "\u{1F}")
        let suppressedBefore: Int
        switch throttle.admit(key, nowMs: nowMs) {
        case .suppress:
            stats.suppressed += 1
            return
        case .send(let suppressed):
            suppressedBefore = suppressed
        }
        guard pending.count < queueMax else {
            stats.dropped += 1
            return
        }
        let eventID = Hex.encode(SecureRandom.bytes(count: 16))
        pending.append((eventID, event(report, eventID: eventID, nowMs: nowMs, suppressedBefore: suppressedBefore)))
        stats.queued += 1
        pump()
    }

    /// The Sentry event: fields of develop.sentry.dev's "Event Payloads", every string scrubbed.
    func event(_ report: ErrorReport, eventID: String, nowMs: Int64, suppressedBefore: Int) -> JSON {
        let message = scrubber.scrubText(report.message)
        var tags: JSONObject = ["kind": .string(report.kind)]
        for (name, value) in report.tags { tags[name] = .string(scrubber.scrub(value)) }
        var extra = JSONObject()
        for (name, value) in report.extra { extra[name] = scrubber.scrubText(value) }
        if suppressedBefore > 0 { extra["suppressedSinceLastReport"] = .int(suppressedBefore) }
        return [
            "event_id": .string(eventID),
            "timestamp": .number("\(nowMs / 1000).\(String(nowMs % 1000 + 1000).dropFirst())"),
            "platform": "other",
            "level": "error",
            "logger": "spacehub",
            "server_name": .string(serverName),
            "release": .string("spacehub@\(Hub.version)"),
            "environment": .string(environment),
            "transaction": .string(scrubber.scrub(report.transaction)),
            "message": ["formatted": .string(message)],
            "exception": ["values": [[
                "type": .string(scrubber.scrub(report.type)),
                "value": .string(message),
                "mechanism": ["type": .string(report.kind), "handled": true],
            ]]],
            "tags": .object(tags),
            "extra": .object(extra),
            "fingerprint": .array(report.fingerprint.map { .string(scrubber.scrub($0)) }),
            "sdk": ["name": "spacehub", "version": .string(Hub.version)],
        ]
    }

    // MARK: Sending

    private func pump() {
        guard !sending, !stopped, !pending.isEmpty else { return }
        let nowMs = WallClock.milliseconds()
        if nowMs < pausedUntilMs {
            scheduleResume(afterMs: pausedUntilMs - nowMs)
            return
        }
        let (eventID, event) = pending.removeFirst()
        let envelope = SentryEnvelope(eventID: eventID, event: event)
        let request = OutboundRequest(
            method: "POST", url: dsn.envelopeURL,
            headers: [("X-Sentry-Auth", dsn.authHeader(client: Self.client)), ("Content-Type", SentryEnvelope.contentType)],
            body: envelope.bytes(sentAt: nowMs / 1000), timeoutSeconds: timeoutSeconds, isIdempotent: false)
        sending = true
        WorkQueue.submit(on: loop, work: { OutboundHTTP.hub.send(request) }) { [self] result in
            sending = false
            finished(result)
            pump()
        }
    }

    private func finished(_ result: Result<OutboundResponse, OutboundError>) {
        switch result {
        case .success(let response) where response.isSuccess:
            stats.sent += 1
        case .success(let response):
            stats.failed += 1
            if response.status == 429 {
                // Sentry's rate limit: hold everything for as long as it asks (60 s if it does not say).
                let seconds = response.headers["retry-after"].flatMap { Int($0) } ?? 60
                pausedUntilMs = WallClock.milliseconds() + Int64(min(max(seconds, 1), 3600)) * 1000
            }
            logFailure("Sentry answered \(response.status)")
        case .failure(let error):
            stats.failed += 1
            logFailure("\(error)")
        }
    }

    /// At most one line a minute: a Sentry outage must not flood the log it is meant to spare.
    private func logFailure(_ reason: String) {
        let nowMs = WallClock.milliseconds()
        guard nowMs - lastFailureLogMs >= 60_000 else { return }
        lastFailureLogMs = nowMs
        logger.warning("sending an error report to Sentry failed: \(scrubber.scrubText(reason))",
                       metadata: ["failed": .stringConvertible(stats.failed)])
    }

    private func scheduleResume(afterMs: Int64) {
        if resumeTimer == nil {
            let timer = HubLoop.Timer(loop: loop)
            timer.unref()
            resumeTimer = timer
        }
        resumeTimer?.start(afterMs: UInt64(max(afterMs, 1))) { [unowned self] in self.pump() }
    }

    /// Stops sending: what waits is dropped (counted); a send in flight finishes within its timeout.
    func stop() {
        stopped = true
        stats.dropped += pending.count
        pending.removeAll()
        resumeTimer?.close()
        resumeTimer = nil
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "spacehub" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

@available(*, unavailable) extension ErrorReporter: Sendable {}

/// Which reports go out: one per fingerprint per window; repeats inside the window are counted and
/// the count travels with the next one sent. Remembers at most `keysMax` fingerprints (older ones
/// are forgotten first, which only lets one more through).
struct ReportThrottle {
    enum Decision: Equatable {
        /// Send; `suppressed` identical reports were held back since the last one sent.
        case send(suppressed: Int)
        case suppress
    }

    static let keysMax = 1024
    let windowMs: Int64
    private var seen: [String: (sentMs: Int64, suppressed: Int)] = [:]

    init(windowMs: Int64) {
        self.windowMs = windowMs
    }

    mutating func admit(_ key: String, nowMs: Int64) -> Decision {
        if let last = seen[key], nowMs - last.sentMs < windowMs {
            seen[key]?.suppressed += 1
            return .suppress
        }
        let suppressed = seen[key]?.suppressed ?? 0
        if seen[key] == nil && seen.count >= Self.keysMax {
            seen = seen.filter { nowMs - $0.value.sentMs < windowMs }
            if seen.count >= Self.keysMax { seen.removeAll() }
        }
        seen[key] = (nowMs, 0)
        return .send(suppressed: suppressed)
    }
}
