import HubCore
import HubStore
import HubWire

/// The emails the hub sends. Raw values are template names (the seed's two first).
enum EmailTemplate: String, CaseIterable, Sendable {
    case bookingConfirmation = "booking-confirmation"
    case paymentReceived = "payment-received"
    case bookingReminder = "booking-reminder"
    case bookingCancelled = "booking-cancelled"
    case refundIssued = "refund-issued"
    case holdExpired = "hold-expired"
    case passwordReset = "password-reset"
    case accountSuspended = "account-suspended"
}

/// Writes emails into the outbox inside the caller's transaction (writer thread).
enum Outbox {
    /// Queues `template` about `booking` to the booking's member. Variables are the booking's
    /// fields in the space's time zone, plus `extra`. Queued at `now`, or else at the booking's
    /// last change (the decision that sends it).
    static func enqueue(_ template: EmailTemplate, booking: Booking, extra: JSONObject = [:], dedupeKey: String? = nil,
                        at now: Int64? = nil, _ db: Database) throws {
        guard let user = try UserTable.find(booking.userID, db) else { return }
        var variables: JSONObject = [
            "userName": .string(user.fullName),
            "firstName": .string(user.firstName),
            "bookingId": .string(booking.id),
            "spaceName": .string(booking.spaceName),
            "date": .string(booking.localDate.description),
            "time": .string("\(booking.localStart)–\(booking.localEnd)"),
            "timeZone": .string(booking.zone.identifier),
            "duration": .string(booking.durationLabel),
            "amount": .string(booking.amount.display),
            "status": .string(booking.status.rawValue),
        ]
        for member in extra { variables[member.key] = member.value }
        try OutboxTable.enqueueEmail(to: user.email, template: template.rawValue, payload: JSON.object(variables).text,
                                     dedupeKey: dedupeKey, at: now ?? booking.updatedAt, db)
    }

    /// Queues `template` to `recipient` with `variables`, at `now`.
    static func enqueue(_ template: EmailTemplate, to recipient: String, variables: JSONObject, dedupeKey: String? = nil,
                        at now: Int64, _ db: Database) throws {
        try OutboxTable.enqueueEmail(to: recipient, template: template.rawValue, payload: JSON.object(variables).text,
                                     dedupeKey: dedupeKey, at: now, db)
    }
}
