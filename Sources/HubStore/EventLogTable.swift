/// Rows of `event_log`: every published event, numbered by `seq` in commit order.
///
/// `seq` is `INTEGER PRIMARY KEY AUTOINCREMENT`: assigned inside the writer's transaction, so
/// numbers follow commit order; a job rolled back to its savepoint gives its number back, so
/// committed numbers have no gaps; AUTOINCREMENT never reuses a number even after pruning.
public enum EventLogTable {
    public struct Entry: Sendable, Equatable {
        public let seq: Int64
        public let type: String
        /// Space-separated channel names.
        public let channels: String
        /// The event's payload as JSON text.
        public let payload: String
        public let createdAt: Int64

        public init(seq: Int64, type: String, channels: String, payload: String, createdAt: Int64) {
            self.seq = seq
            self.type = type
            self.channels = channels
            self.payload = payload
            self.createdAt = createdAt
        }
    }

    /// Appends an event; returns its sequence number.
    public static func append(type: String, channels: String, payload: String, at now: Int64,
                              _ db: Database) throws(SQLiteError) -> Int64 {
        try db.execute("INSERT INTO event_log (type, channels, payload, created_at) VALUES (?, ?, ?, ?)",
                       [.text(type), .text(channels), .text(payload), .integer(now)])
        return db.lastInsertRowID
    }

    /// The newest `limit` events, oldest first.
    public static func recent(limit: Int, _ db: Database) throws(SQLiteError) -> [Entry] {
        try db.query("""
            SELECT seq, type, channels, payload, created_at FROM
              (SELECT * FROM event_log ORDER BY seq DESC LIMIT ?) ORDER BY seq
            """, [.int(limit)]) { row in
            Entry(seq: row.int64(0), type: row.string(1), channels: row.string(2), payload: row.string(3), createdAt: row.int64(4))
        }
    }

    /// The highest sequence number ever assigned (0 when none).
    public static func lastSeq(_ db: Database) throws(SQLiteError) -> Int64 {
        try db.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'event_log'") ?? 0
    }

    /// Drops events older than `before` and beyond the newest `keep`.
    @discardableResult
    public static func prune(keep: Int, before: Int64, _ db: Database) throws(SQLiteError) -> Int {
        try db.execute("""
            DELETE FROM event_log WHERE seq <= (SELECT COALESCE(MAX(seq), 0) FROM event_log) - ? OR created_at < ?
            """, [.int(keep), .integer(before)])
    }
}

/// Small key/value facts about the database itself (the event epoch, the demo secret).
public enum MetaTable {
    public static func get(_ key: String, _ db: Database) throws(SQLiteError) -> String? {
        try db.queryOne("SELECT value FROM meta WHERE key = ?", [.text(key)]) { $0.string(0) }
    }

    public static func set(_ key: String, _ value: String, _ db: Database) throws(SQLiteError) {
        try db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       [.text(key), .text(value)])
    }
}
