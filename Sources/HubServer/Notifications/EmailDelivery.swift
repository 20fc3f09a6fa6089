import HubCore
import HubLoop
import HubStore
import HubWire
import Logging

/// When a failed message is tried again: base × 2^(attempts − 1) seconds, at most `capSeconds`,
/// and not at all once `retriesMax` retries have failed (the message is dead-lettered).
///
/// No jitter: one hub process drains one queue, so there is no herd of clients to spread out.
struct RetryPolicy: Sendable, Equatable {
    let baseSeconds: Int64
    let capSeconds: Int64
    let retriesMax: Int

    /// `attempts` counts the attempt that just failed (1 after the first failure).
    func retryAt(afterAttempts attempts: Int, now: Int64) -> Int64? {
        guard attempts <= retriesMax else { return nil }
        return now + delay(afterAttempts: attempts)
    }

    func delay(afterAttempts attempts: Int) -> Int64 {
        let shift = min(max(attempts - 1, 0), 30)  // 2^30 × base is past any cap; avoids overflow
        return min(baseSeconds << Int64(shift), capSeconds)
    }
}

/// Delivers the email outbox: polls due rows on a loop timer, renders and sends each on the
/// threadpool, and records the outcome through the writer.
///
/// Guarantee: at least once. A row is marked sent only after the provider accepted it, in a
/// commit that follows the send; if the process dies in between (or the commit fails), the row
/// is still pending and is sent again after the restart. Each crash can repeat at most the
/// messages that were in flight (`email.concurrency`). The Message-ID is stable per row, so a
/// receiver can drop the duplicate. Nothing is lost: rows are written in the same transaction
/// as the change that causes them, and leave `pending` only by being sent, dead-lettered
/// (after `email.retriesMax` retries or a permanent refusal) or skipped (a reminder whose booking
/// was cancelled or moved).
///
/// Loop thread only; senders run on threadpool threads and come back through `WorkQueue`.
final class EmailDelivery {
    private let loop: Loop
    private let storage: Storage
    private let bookings: BookingService
    private let sender: any EmailSender
    private let policy: RetryPolicy
    private let settings: Config.Email
    private let logger: Logger
    let clock: any Clock
    /// Rows handed to a sender whose outcome is not committed yet: never picked twice.
    private var inFlight: Set<Int64> = []
    /// A read of due messages is on its way (`poll`); another poll meanwhile runs after it.
    private var reading = false
    private var pollAgain = false
    /// Messages whose outcome was recorded while a read was on its way: the read may have seen
    /// them still pending, so its answer must not send them again.
    private var finishedDuringRead: Set<Int64> = []
    private var timer: Timer?
    private var stopping = false
    /// Outcomes counted (`/metrics`); dead letters reported to `errors` (Sentry) when set.
    /// EmailDelivery+Observability.swift.
    var outcomes = DeliveryOutcomes()
    var errors: ErrorReporter?

    /// Only the leader sends (`Leadership`): the outbox is shared by every hub on the database.
    private let leadership: Leadership

    init(loop: Loop, storage: Storage, bookings: BookingService, config: Config.Email, leadership: Leadership, clock: any Clock,
         logger: Logger) {
        self.clock = clock
        self.leadership = leadership
        self.loop = loop
        self.storage = storage
        self.bookings = bookings
        self.settings = config
        self.logger = logger
        policy = RetryPolicy(baseSeconds: Int64(config.retryBaseSeconds),
                             capSeconds: Int64(max(config.retryCapSeconds, config.retryBaseSeconds)),
                             retriesMax: config.retriesMax)
        sender = Self.makeSender(config, logger: logger)
    }

    static func makeSender(_ email: Config.Email, logger: Logger) -> any EmailSender {
        switch email.sender {
        case "smtp":
            let domain = email.from.split(separator: "@").last.map(String.init) ?? "localhost"
            return SMTPSender(settings: SMTPSettings(
                host: email.smtpHost, port: email.smtpPort, username: email.smtpUsername, password: email.smtpPassword,
                startTLS: email.smtpStartTLS, verifyCertificate: email.smtpVerifyCertificate, heloName: domain,
                timeoutSeconds: email.timeoutSeconds))
        case "sendgrid":
            return SendGridSender(baseURL: email.sendgridBaseURL, apiKey: email.sendgridAPIKey, timeoutSeconds: email.timeoutSeconds)
        default:
            return LogSender(directory: email.directory, logger: logger)
        }
    }

    var senderName: String { sender.name }

    /// Nothing is being sent (shutdown waits for this so outcomes get committed).
    var isIdle: Bool { inFlight.isEmpty && !reading }

    func start() {
        let timer = Timer(loop: loop)
        let interval = UInt64(settings.pollIntervalMs)
        timer.start(afterMs: interval, repeatMs: interval) { [unowned self] in self.poll() }
        timer.unref()
        self.timer = timer
        logger.info("email delivery started", metadata: ["sender": .string(sender.name)])
        // Messages left pending by the previous run (including any it was sending when it
        // stopped) go out now.
        poll()
    }

    /// Stops picking new messages; those in flight finish and record their outcome.
    func beginShutdown() {
        stopping = true
        timer?.close()
        timer = nil
    }

    /// Looks for due messages now (after an admin retry, a new reminder).
    func kick() {
        poll()
    }

    // MARK: Polling

    func poll() {
        // A hub that took the lead over waits out one send's time first: the last leader may be
        // alive (only its follower's session broke) and finishing a send it will record.
        guard !stopping, leadership.leads(settledForMs: UInt64(settings.timeoutSeconds) * 2000, nowMs: loop.nowMs) else { return }
        let free = settings.concurrency - inFlight.count
        guard free > 0 else { return }
        guard !reading else {
            pollAgain = true
            return
        }
        let now = clock.seconds
        let limit = settings.concurrency + inFlight.count
        reading = true
        finishedDuringRead = []
        // An indexed range read of a few rows (idx_outbox_due).
        storage.read({ try OutboxTable.dueEmails(now: now, limit: limit, $0) }) { [self] read in
            reading = false
            let finished = finishedDuringRead
            finishedDuringRead = []
            guard !stopping else { return }  // shutdown began while the read was on its way
            switch read {
            case .success(let due):
                for entry in due where !inFlight.contains(entry.id) && !finished.contains(entry.id) && inFlight.count < settings.concurrency {
                    dispatch(entry, now: now)
                }
            case .failure(let error):
                logger.warning("reading the outbox failed: \(error)")
            }
            if pollAgain {
                pollAgain = false
                poll()
            }
        }
    }

    private func dispatch(_ entry: OutboxTable.Entry, now: Int64) {
        inFlight.insert(entry.id)
        guard let bookingID = Self.reminderBooking(entry) else { return send(entry, now: now) }
        bookings.find(bookingID) { [self] found in
            guard !stopping else {
                inFlight.remove(entry.id)  // shutdown began while the booking was read: sent next start
                return
            }
            let booking: Booking?
            switch found {
            case .success(let found): booking = found
            case .failure(let error) where error.status == 404: booking = nil
            case .failure(let error):
                // Not sent and not recorded: picked again by a later poll.
                logger.warning("reading the booking of reminder \(entry.id) failed: \(error.message)")
                inFlight.remove(entry.id)
                return
            }
            if let reason = Self.staleReminder(entry, booking: booking, bookingID: bookingID, now: now) {
                record(entry, startedAt: now, outcome: nil, skipReason: reason)
            } else {
                send(entry, now: now)
            }
        }
    }

    private func send(_ entry: OutboxTable.Entry, now: Int64) {
        let sender = self.sender
        let from = settings.from
        let fromName = settings.fromName
        WorkQueue.submit(on: loop, work: { () -> DeliveryOutcome in
            switch EmailRenderer.render(template: entry.template, payload: entry.payload, siteName: fromName) {
            case .failure(let failure):
                return .failed(reason: failure.description, permanent: true)
            case .success(let content):
                let email = OutgoingEmail(outboxID: entry.id, template: entry.template, from: from, fromName: fromName,
                                          to: entry.recipient, content: content, createdAt: entry.createdAt,
                                          date: WallClock.seconds())  // the message's Date header: when it really leaves
                return sender.deliver(email)
            }
        }) { [self] outcome in
            record(entry, startedAt: now, outcome: outcome, skipReason: nil)
        }
    }

    /// A reminder is sent only while its booking is still confirmed, at the time it was
    /// written for, and has not started.
    private static func staleReminder(_ entry: OutboxTable.Entry, booking: Booking?, bookingID: String, now: Int64) -> String? {
        guard let booking else { return "booking \(bookingID) not found" }
        let payload = (try? JSONParser.parse(entry.payload)) ?? .null
        if booking.status != .confirmed { return "booking is \(booking.status.rawValue)" }
        if let startsAt = payload["startsAt"]?.numberLiteral.flatMap({ Int64($0) }), startsAt != booking.range.start {
            return "booking moved to another time"
        }
        if booking.range.start <= now { return "booking already started" }
        return nil
    }

    /// The booking a reminder is about; nil for every other message.
    private static func reminderBooking(_ entry: OutboxTable.Entry) -> String? {
        guard entry.template == EmailTemplate.bookingReminder.rawValue, let payload = try? JSONParser.parse(entry.payload) else { return nil }
        return payload["bookingId"]?.stringValue
    }

    // MARK: Outcomes

    private func record(_ entry: OutboxTable.Entry, startedAt: Int64, outcome: DeliveryOutcome?, skipReason: String?) {
        let now = clock.seconds
        let id = entry.id
        let policy = self.policy
        let attempts = entry.attempts + 1
        var retryAt: Int64?
        if case .failed(_, let permanent) = outcome, !permanent {
            retryAt = policy.retryAt(afterAttempts: attempts, now: now)
        }
        let nextAttemptAt = retryAt
        let deadLetter = outcome.map { if case .failed = $0 { nextAttemptAt == nil } else { false } } ?? false
        storage.write({ db in
            if let skipReason {
                try OutboxTable.recordSkipped(id, reason: skipReason, at: now, db)
                return
            }
            switch outcome {
            case .delivered, .none:
                try OutboxTable.recordDelivered(id, at: now, db)
            case .failed(let reason, _):
                try OutboxTable.recordFailure(id, error: reason, at: now, retryAt: nextAttemptAt, db)
            }
        }) { [self] result in
            // Only now may the row be picked again: before the commit the reader still sees it pending.
            inFlight.remove(id)
            if reading { finishedDuringRead.insert(id) }
            if case .failure(let error) = result {
                logger.error("recording the outcome of outbox \(id) failed (it will be sent again): \(error)")
            }
            observe(entry, outcome: outcome, attempts: attempts, deadLetter: deadLetter && result.isSuccess)
            switch outcome {
            case .delivered(let detail):
                logger.debug("email sent", metadata: ["outbox": .stringConvertible(id), "detail": .string(detail)])
            case .failed(let reason, _):
                let next = nextAttemptAt.map { "retry in \($0 - now) s" } ?? "dead-lettered"
                logger.warning("email \(entry.template) to \(entry.recipient) failed (attempt \(attempts)): \(reason); \(next)",
                               metadata: ["outbox": .stringConvertible(id)])
                if deadLetter { logger.error("email dead-lettered", metadata: ["outbox": .stringConvertible(id)]) }
            case .none:
                logger.info("reminder skipped: \(skipReason ?? "")", metadata: ["outbox": .stringConvertible(id)])
            }
            // A free slot: carry on with the queue without waiting for the next tick.
            if !stopping && result.isSuccess { poll() }
        }
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}

@available(*, unavailable) extension EmailDelivery: Sendable {}
