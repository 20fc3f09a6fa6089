import HubStore
import HubWire

/// What the email sender did with outbox messages, counted for `/metrics`.
struct DeliveryOutcomes {
    var sent = 0
    /// Attempts that failed (each retry counts).
    var failedAttempts = 0
    /// Messages given up on: retries exhausted or a permanent refusal.
    var deadLettered = 0
    /// Reminders not sent because their booking changed.
    var skipped = 0
}

extension EmailDelivery {
    /// A send's outcome was recorded. A dead letter is also reported to Sentry, naming the
    /// template and the outbox row but never the recipient or the message's variables (a reset
    /// link carries its token).
    func observe(_ entry: OutboxTable.Entry, outcome: DeliveryOutcome?, attempts: Int, deadLetter: Bool) {
        switch outcome {
        case .delivered: outcomes.sent += 1
        case .failed: outcomes.failedAttempts += 1
        case .none: outcomes.skipped += 1
        }
        guard deadLetter, case .failed(let reason, let permanent) = outcome else { return }
        outcomes.deadLettered += 1
        errors?.report(ErrorReport(
            kind: "outbox_dead_letter", type: permanent ? "email_refused" : "email_retries_exhausted",
            message: "email \(entry.template) (outbox \(entry.id)) dead-lettered after \(attempts) attempts: \(reason)",
            transaction: "email \(entry.template)",
            tags: [("template", entry.template), ("sender", senderName), ("outbox_id", String(entry.id))],
            extra: [("attempts", .int(attempts)), ("permanent", .bool(permanent))],
            fingerprint: ["outbox_dead_letter", entry.template, permanent ? "refused" : "exhausted"]))
    }
}
