import HubCore

/// Rows of `payments`, `refunds` and `webhook_receipts`.
///
/// Lists order by `created_at` (whole seconds), then `rowid` (insertion order): ids are UUIDv7
/// made from those same seconds, so within one second their random bits would decide the order.
public enum PaymentTable {
    static let columns = """
        id, booking_id, user_id, amount_minor, currency, payment_method, payment_gateway, gateway_reference, access_code,
        authorization_url, status, gateway_response, refunded_minor, verified_at, verified_by, flagged, created_at, updated_at,
        applied
        """

    static func decode(_ row: Row) -> Payment {
        let currency = Currency(code: row.string(4)) ?? .ngn
        return Payment(
            id: row.string(0), bookingID: row.string(1), userID: row.string(2),
            amount: Money(minorUnits: row.int64(3), currency: currency), method: row.string(5), gateway: row.string(6),
            reference: row.string(7), accessCode: row.optionalString(8), authorizationURL: row.optionalString(9),
            status: PaymentStatus(rawValue: row.string(10)) ?? .pending, gatewayResponse: row.optionalString(11),
            refundedAmount: Money(minorUnits: row.int64(12), currency: currency), verifiedAt: row.optionalInt64(13),
            verifiedBy: row.optionalString(14), flagged: row.optionalString(15), createdAt: row.int64(16), updatedAt: row.int64(17),
            applied: row.int64(18) != 0)
    }

    public static func insert(_ payment: Payment, _ db: Database) throws(StoreError) {
        try db.execute("INSERT INTO payments (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            .text(payment.id), .text(payment.bookingID), .text(payment.userID), .integer(payment.amount.minorUnits),
            .text(payment.amount.currency.code), .text(payment.method), .text(payment.gateway), .text(payment.reference),
            .optional(payment.accessCode), .optional(payment.authorizationURL), .text(payment.status.rawValue),
            .optional(payment.gatewayResponse), .integer(payment.refundedAmount.minorUnits), .optionalInstant(payment.verifiedAt),
            .optional(payment.verifiedBy), .optional(payment.flagged), .instant(payment.createdAt), .instant(payment.updatedAt),
            .bool(payment.applied),
        ])
    }

    /// Writes the mutable columns. Returns false when the row's status is no longer `expectedStatus`
    /// (someone settled it first).
    @discardableResult
    public static func update(_ payment: Payment, expectedStatus: PaymentStatus, _ db: Database) throws(StoreError) -> Bool {
        try db.execute("""
            UPDATE payments SET status = ?, gateway_response = ?, refunded_minor = ?, verified_at = ?, verified_by = ?,
                flagged = ?, updated_at = ?, applied = ? WHERE id = ? AND status = ?
            """, [
                .text(payment.status.rawValue), .optional(payment.gatewayResponse), .integer(payment.refundedAmount.minorUnits),
                .optionalInstant(payment.verifiedAt), .optional(payment.verifiedBy), .optional(payment.flagged),
                .instant(payment.updatedAt), .bool(payment.applied), .text(payment.id), .text(expectedStatus.rawValue),
            ]) == 1
    }

    /// Cancels the booking's open payment, if any: it was opened for a price the booking no longer
    /// has. Money that still arrives for it is refunded (the payments desk checks the price).
    /// Returns how many were cancelled (0 or 1: one open payment per booking).
    @discardableResult
    public static func supersedeOpen(bookingID: String, at now: Int64, _ db: Database) throws(StoreError) -> Int {
        try db.execute("UPDATE payments SET status = 'cancelled', updated_at = ? WHERE booking_id = ? AND status = 'pending'",
                       [.instant(now), .text(bookingID)])
    }

    /// Sets only the `flagged` note (for the admin desk), whatever the payment's status.
    public static func flag(_ id: String, reason: String, at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("UPDATE payments SET flagged = ?, updated_at = ? WHERE id = ?", [.text(reason), .instant(now), .text(id)])
    }

    public static func find(_ id: String, _ db: Database) throws(StoreError) -> Payment? {
        try db.queryOne("SELECT \(columns) FROM payments WHERE id = ?", [.text(id)], decode)
    }

    public static func find(reference: String, _ db: Database) throws(StoreError) -> Payment? {
        try db.queryOne("SELECT \(columns) FROM payments WHERE gateway_reference = ?", [.text(reference)], decode)
    }

    /// The booking's pending payment, if one is open.
    public static func open(bookingID: String, _ db: Database) throws(StoreError) -> Payment? {
        try db.queryOne("SELECT \(columns) FROM payments WHERE booking_id = ? AND status = 'pending'", [.text(bookingID)], decode)
    }

    public static func forBooking(_ bookingID: String, _ db: Database) throws(StoreError) -> [Payment] {
        try db.query("SELECT \(columns) FROM payments WHERE booking_id = ? ORDER BY created_at, rowid", [.text(bookingID)], decode)
    }

    /// Successful payments with money the hub owes back and has not yet refunded: flagged while
    /// an automatic refund was under way (`flaggedPrefix`), or paid for a booking cancelled with a
    /// refund due and not flagged otherwise (a refund the gateway gave up on waits for an admin).
    /// What a hub that stopped mid-refund finds at start; oldest first.
    public static func owedRefunds(flaggedPrefix: String, _ db: Database) throws(StoreError) -> [Payment] {
        try db.query("""
            SELECT \(columns) FROM payments
            WHERE status = 'successful' AND refunded_minor < amount_minor
              AND (substr(flagged, 1, length(CAST(?1 AS TEXT))) = CAST(?1 AS TEXT)
                   OR (flagged IS NULL AND booking_id IN (SELECT id FROM bookings
                        WHERE status = 'cancelled' AND refund_due = 1 AND payment_status = 'paid')))
            ORDER BY created_at, rowid
            """, [.text(flaggedPrefix)], decode)
    }

    public static func forUser(_ userID: String, limit: Int, _ db: Database) throws(StoreError) -> [Payment] {
        try db.query("SELECT \(columns) FROM payments WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
                     [.text(userID), .int(limit)], decode)
    }

    /// Newest first; `status` filters when given.
    public static func list(status: String?, limit: Int, offset: Int, _ db: Database) throws(StoreError) -> (payments: [Payment], total: Int) {
        let filter = status == nil ? "" : "WHERE status = ?"
        let parameters: [SQLValue] = status.map { [.text($0)] } ?? []
        let rows = try db.query("SELECT \(columns) FROM payments \(filter) ORDER BY created_at DESC, rowid DESC LIMIT \(limit) OFFSET \(offset)",
                                parameters, decode)
        let total = try db.scalar("SELECT COUNT(*) FROM payments \(filter)", parameters) ?? 0
        return (rows, Int(total))
    }

    // MARK: Refunds

    public struct Refund: Sendable, Equatable {
        public let id: String
        public let paymentID: String
        public let amountMinor: Int64
        public var status: String
        public var gatewayReference: String?
        public let reason: String?
        public let requestedBy: String?
        public let createdAt: Int64
        public var updatedAt: Int64

        public init(id: String, paymentID: String, amountMinor: Int64, status: String, gatewayReference: String?, reason: String?,
                    requestedBy: String?, createdAt: Int64, updatedAt: Int64) {
            self.id = id
            self.paymentID = paymentID
            self.amountMinor = amountMinor
            self.status = status
            self.gatewayReference = gatewayReference
            self.reason = reason
            self.requestedBy = requestedBy
            self.createdAt = createdAt
            self.updatedAt = updatedAt
        }
    }

    public static func insertRefund(_ refund: Refund, _ db: Database) throws(StoreError) {
        try db.execute("""
            INSERT INTO refunds (id, payment_id, amount_minor, status, gateway_reference, reason, requested_by, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(refund.id), .text(refund.paymentID), .integer(refund.amountMinor), .text(refund.status),
                  .optional(refund.gatewayReference), .optional(refund.reason), .optional(refund.requestedBy),
                  .instant(refund.createdAt), .instant(refund.updatedAt)])
    }

    public static func refunds(paymentID: String, _ db: Database) throws(StoreError) -> [Refund] {
        try db.query("""
            SELECT id, payment_id, amount_minor, status, gateway_reference, reason, requested_by, created_at, updated_at
            FROM refunds WHERE payment_id = ? ORDER BY created_at, rowid
            """, [.text(paymentID)]) { row in
            Refund(id: row.string(0), paymentID: row.string(1), amountMinor: row.int64(2), status: row.string(3),
                   gatewayReference: row.optionalString(4), reason: row.optionalString(5), requestedBy: row.optionalString(6),
                   createdAt: row.int64(7), updatedAt: row.int64(8))
        }
    }

    /// Moves the given refunds, those still pending, to `status` (a gateway's refund.processed /
    /// refund.failed). Returns how many moved.
    @discardableResult
    public static func settleRefunds(ids: [String], status: String, at now: Int64, _ db: Database) throws(StoreError) -> Int {
        var moved = 0
        for id in ids {
            moved += try db.execute("UPDATE refunds SET status = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
                                    [.text(status), .instant(now), .text(id)])
        }
        return moved
    }

    // MARK: Webhooks

    /// Records a webhook delivery; returns false when this (gateway, event, key) was seen before.
    public static func recordWebhook(gateway: String, event: String, key: String, payload: String, at now: Int64,
                                     _ db: Database) throws(StoreError) -> Bool {
        try db.execute("""
            INSERT INTO webhook_receipts (gateway, event, event_key, payload, received_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING
            """, [.text(gateway), .text(event), .text(key), .text(payload), .instant(now)]) == 1
    }

    public static func webhookSeen(gateway: String, event: String, key: String, _ db: Database) throws(StoreError) -> Bool {
        try db.scalar("SELECT 1 FROM webhook_receipts WHERE gateway = ? AND event = ? AND event_key = ?",
                      [.text(gateway), .text(event), .text(key)]) != nil
    }
}

extension PaymentTable {
    /// Money in and out over `[from, to)`: successful charges at their verification time (kept
    /// even when later refunded) and refunds that did not fail, at their creation time; only
    /// those in `currency` when given.
    public static func movements(from: Int64, to: Int64, currency: String? = nil, _ db: Database) throws(StoreError)
        -> (charges: [(minor: Int64, currency: String, at: Int64)], refunds: [(minor: Int64, at: Int64)])
    {
        // Amounts of different currencies cannot be added: `currency` keeps one of them.
        let onlyCurrency = currency == nil ? "" : "AND currency = ?3"
        var parameters: [SQLValue] = [.instant(from), .instant(to)]
        if let currency { parameters.append(.text(currency)) }
        let charges = try db.query("""
            SELECT amount_minor, currency, COALESCE(verified_at, updated_at) FROM payments
            WHERE status IN ('successful', 'refunded')
              AND COALESCE(verified_at, updated_at) >= ?1 AND COALESCE(verified_at, updated_at) < ?2 \(onlyCurrency)
            """, parameters) { (minor: $0.int64(0), currency: $0.string(1), at: $0.int64(2)) }
        let refunds = try db.query("""
            SELECT r.amount_minor, r.created_at FROM refunds r
            WHERE r.status != 'failed' AND r.created_at >= ?1 AND r.created_at < ?2
              \(currency == nil ? "" : "AND (SELECT p.currency FROM payments p WHERE p.id = r.payment_id) = ?3")
            """, parameters) { (minor: $0.int64(0), at: $0.int64(1)) }
        return (charges, refunds)
    }

    public static func count(status: String, _ db: Database) throws(StoreError) -> Int {
        Int(try db.scalar("SELECT COUNT(*) FROM payments WHERE status = ?", [.text(status)]) ?? 0)
    }
}
