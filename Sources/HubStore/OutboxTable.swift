/// Rows of `outbox`: side effects (emails) written in the same transaction as the change that
/// causes them, delivered later by a background sender with retries.
public enum OutboxTable {
    public struct Message: Sendable, Equatable {
        public let id: Int64
        public let kind: String
        public let recipient: String
        public let template: String
        /// Template variables as JSON text.
        public let payload: String
        public let status: String
        public let attempts: Int
        public let nextAttemptAt: Int64
        public let lastError: String?
        public let createdAt: Int64
        public let sentAt: Int64?
    }

    static let columns = "id, kind, recipient, template, payload, status, attempts, next_attempt_at, last_error, created_at, sent_at"

    static func decode(_ row: Row) -> Message {
        Message(id: row.int64(0), kind: row.string(1), recipient: row.string(2), template: row.string(3), payload: row.string(4),
                status: row.string(5), attempts: row.int(6), nextAttemptAt: row.int64(7), lastError: row.optionalString(8),
                createdAt: row.int64(9), sentAt: row.optionalInt64(10))
    }

    /// Queues an email. With a `dedupeKey`, a second message with the same key is dropped (a
    /// reminder must not go out twice, even across restarts).
    public static func enqueueEmail(to recipient: String, template: String, payload: String, dedupeKey: String? = nil,
                                    at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("""
            INSERT INTO outbox (kind, dedupe_key, recipient, template, payload, status, attempts, next_attempt_at, created_at)
            VALUES ('email', ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING
            """, [.optional(dedupeKey), .text(recipient), .text(template), .text(payload), .instant(now), .instant(now)])
    }

    /// Pending messages due at `now`, oldest first.
    public static func due(now: Int64, limit: Int, _ db: Database) throws(StoreError) -> [Message] {
        try db.query("""
            SELECT \(columns) FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?
            """, [.instant(now), .int(limit)], decode)
    }

    public static func markSent(_ id: Int64, at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL WHERE id = ?",
                       [.instant(now), .integer(id)])
    }

    /// Records a failed attempt: retried at `retryAt`, or dead-lettered when `retryAt` is nil.
    public static func markFailed(_ id: Int64, error: String, retryAt: Int64?, _ db: Database) throws(StoreError) {
        if let retryAt {
            try db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
                           [.text(error), .instant(retryAt), .integer(id)])
        } else {
            try db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, status = 'dead' WHERE id = ?",
                           [.text(error), .integer(id)])
        }
    }

    public static func list(status: String?, limit: Int, offset: Int, _ db: Database) throws(StoreError) -> (messages: [Message], total: Int) {
        let filter = status == nil ? "" : "WHERE status = ?"
        let parameters: [SQLValue] = status.map { [.text($0)] } ?? []
        let rows = try db.query("SELECT \(columns) FROM outbox \(filter) ORDER BY id DESC LIMIT \(limit) OFFSET \(offset)", parameters, decode)
        let total = try db.scalar("SELECT COUNT(*) FROM outbox \(filter)", parameters) ?? 0
        return (rows, Int(total))
    }

    /// Puts a dead message back in the queue (an admin retry).
    public static func retry(_ id: Int64, at now: Int64, _ db: Database) throws(StoreError) -> Bool {
        try db.execute("UPDATE outbox SET status = 'pending', next_attempt_at = ? WHERE id = ? AND status = 'dead'",
                       [.instant(now), .integer(id)]) == 1
    }

    /// The newest messages to `recipient` using `template` (tests and admins read reset links here).
    public static func latest(to recipient: String, template: String, _ db: Database) throws(StoreError) -> Message? {
        try db.queryOne("SELECT \(columns) FROM outbox WHERE recipient = ? AND template = ? ORDER BY id DESC LIMIT 1",
                        [.text(recipient), .text(template)], decode)
    }
}

/// Rows of `idempotency_keys`: the first answer to a POST carrying an `Idempotency-Key`.
public enum IdempotencyTable {
    public struct Entry: Sendable, Equatable {
        public let requestHash: String
        public let status: Int
        public let body: String

        public init(requestHash: String, status: Int, body: String) {
            self.requestHash = requestHash
            self.status = status
            self.body = body
        }
    }

    public static func find(principalID: String, key: String, _ db: Database) throws(StoreError) -> Entry? {
        try db.queryOne("SELECT request_hash, status, body FROM idempotency_keys WHERE principal_id = ? AND key = ?",
                        [.text(principalID), .text(key)]) { Entry(requestHash: $0.string(0), status: $0.int(1), body: $0.string(2)) }
    }

    public static func insert(principalID: String, key: String, entry: Entry, at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("""
            INSERT INTO idempotency_keys (principal_id, key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)
            """, [.text(principalID), .text(key), .text(entry.requestHash), .int(entry.status), .text(entry.body), .instant(now)])
    }

    @discardableResult
    public static func prune(before: Int64, _ db: Database) throws(StoreError) -> Int {
        try db.execute("DELETE FROM idempotency_keys WHERE created_at < ?", [.instant(before)])
    }
}
