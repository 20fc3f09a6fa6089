/// What the email sender and the admin view need from `outbox` (schema version 2 columns).
///
/// Status moves `pending → sent | dead | skipped`; an admin retry moves `dead → pending`. Every
/// update below is guarded by `status = 'pending'` (or `'dead'` for a retry), so a late result
/// for a row that changed meanwhile changes nothing.
extension OutboxTable {
    public struct Entry: Sendable, Equatable {
        public let id: Int64
        public let kind: String
        public let dedupeKey: String?
        public let recipient: String
        public let template: String
        /// Template variables as JSON text.
        public let payload: String
        public let status: String
        public let attempts: Int
        public let nextAttemptAt: Int64
        public let lastAttemptAt: Int64?
        public let lastError: String?
        public let createdAt: Int64
        public let sentAt: Int64?
    }

    public static let statuses = ["pending", "sent", "dead", "skipped"]

    static let entryColumns = """
        id, kind, dedupe_key, recipient, template, payload, status, attempts, next_attempt_at, last_attempt_at, last_error,
        created_at, sent_at
        """

    static func decodeEntry(_ row: Row) -> Entry {
        Entry(id: row.int64(0), kind: row.string(1), dedupeKey: row.optionalString(2), recipient: row.string(3),
              template: row.string(4), payload: row.string(5), status: row.string(6), attempts: row.int(7),
              nextAttemptAt: row.int64(8), lastAttemptAt: row.optionalInt64(9), lastError: row.optionalString(10),
              createdAt: row.int64(11), sentAt: row.optionalInt64(12))
    }

    /// Pending emails due at `now`, oldest due first. Uses `idx_outbox_due`.
    public static func dueEmails(now: Int64, limit: Int, _ db: Database) throws(StoreError) -> [Entry] {
        try db.query("""
            SELECT \(entryColumns) FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? AND kind = 'email'
            ORDER BY next_attempt_at, id LIMIT ?
            """, [.instant(now), .int(limit)], decodeEntry)
    }

    public static func entry(_ id: Int64, _ db: Database) throws(StoreError) -> Entry? {
        try db.queryOne("SELECT \(entryColumns) FROM outbox WHERE id = ?", [.integer(id)], decodeEntry)
    }

    /// Newest first; `status` filters when given.
    public static func entries(status: String?, limit: Int, offset: Int,
                               _ db: Database) throws(StoreError) -> (entries: [Entry], total: Int) {
        let filter = status == nil ? "" : "WHERE status = ?"
        let parameters: [SQLValue] = status.map { [.text($0)] } ?? []
        let rows = try db.query("SELECT \(entryColumns) FROM outbox \(filter) ORDER BY id DESC LIMIT ? OFFSET ?",
                                parameters + [.int(limit), .int(offset)], decodeEntry)
        let total = try db.scalar("SELECT COUNT(*) FROM outbox \(filter)", parameters) ?? 0
        return (rows, Int(total))
    }

    /// Rows per status (statuses without rows are absent).
    public static func countsByStatus(_ db: Database) throws(StoreError) -> [String: Int] {
        var counts: [String: Int] = [:]
        for (status, count) in try db.query("SELECT status, COUNT(*) FROM outbox GROUP BY status", [], { ($0.string(0), $0.int(1)) }) {
            counts[status] = count
        }
        return counts
    }

    /// The provider accepted the message.
    @discardableResult
    public static func recordDelivered(_ id: Int64, at now: Int64, _ db: Database) throws(StoreError) -> Bool {
        try db.execute("""
            UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_attempt_at = ?, last_error = NULL
            WHERE id = ? AND status = 'pending'
            """, [.instant(now), .instant(now), .integer(id)]) == 1
    }

    /// A failed attempt: tried again at `retryAt`, or dead-lettered when `retryAt` is nil.
    @discardableResult
    public static func recordFailure(_ id: Int64, error: String, at now: Int64, retryAt: Int64?,
                                     _ db: Database) throws(StoreError) -> Bool {
        let message = String(error.prefix(1000))
        if let retryAt {
            return try db.execute("""
                UPDATE outbox SET attempts = attempts + 1, last_error = ?, last_attempt_at = ?, next_attempt_at = ?
                WHERE id = ? AND status = 'pending'
                """, [.text(message), .instant(now), .instant(retryAt), .integer(id)]) == 1
        }
        return try db.execute("""
            UPDATE outbox SET attempts = attempts + 1, last_error = ?, last_attempt_at = ?, status = 'dead'
            WHERE id = ? AND status = 'pending'
            """, [.text(message), .instant(now), .integer(id)]) == 1
    }

    /// Not sent, on purpose (a reminder for a booking that was cancelled or moved meanwhile).
    @discardableResult
    public static func recordSkipped(_ id: Int64, reason: String, at now: Int64, _ db: Database) throws(StoreError) -> Bool {
        try db.execute("""
            UPDATE outbox SET status = 'skipped', last_error = ?, last_attempt_at = ? WHERE id = ? AND status = 'pending'
            """, [.text(reason), .instant(now), .integer(id)]) == 1
    }

    /// An admin retry of a dead letter: pending again now, with a fresh retry budget. The last
    /// error stays for reference until the next attempt replaces it.
    public static func requeue(_ id: Int64, at now: Int64, _ db: Database) throws(StoreError) -> Bool {
        try db.execute("UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ? AND status = 'dead'",
                       [.instant(now), .integer(id)]) == 1
    }
}
