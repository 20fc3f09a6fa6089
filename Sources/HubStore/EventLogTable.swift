/// Rows of `event_log`: every published event, numbered by `seq` in commit order.
///
/// SQLite: `seq` is `INTEGER PRIMARY KEY AUTOINCREMENT`, assigned inside the one writer's
/// transaction, so numbers follow commit order; a job rolled back to its savepoint gives its
/// number back, so committed numbers have no gaps; AUTOINCREMENT never reuses a number even after
/// pruning. PostgreSQL: the counter row `event_log_head`, bumped in the appending transaction,
/// gives the same three promises with several writers (its lock is held to COMMIT).
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

    /// Appends an event; returns its sequence number. `now` and `created_at` are Unix milliseconds.
    public static func append(type: String, channels: String, payload: String, at now: Int64,
                              _ db: Database) throws(StoreError) -> Int64 {
        try append(type: type, channels: channels, payloadUTF8: Array(payload.utf8), at: now, db)
    }

    /// `append` with the payload as the UTF-8 bytes it was serialized to (no `String` made of it).
    public static func append(type: String, channels: String, payloadUTF8 payload: [UInt8], at now: Int64,
                              _ db: Database) throws(StoreError) -> Int64 {
        try db.scalar(appendSQL(db), appendValues(db, type, channels, payload, now)) ?? 0
    }

    /// Names this process in the events it appends on PostgreSQL (`origin`): random at each start,
    /// so a restarted hub follows what it wrote before like any other hub's events.
    public static let thisProcess = Int64.random(in: 1...Int64.max)

    private static func appendValues(_ db: Database, _ type: String, _ channels: String, _ payload: [UInt8],
                                     _ now: Int64) -> [SQLValue] {
        let values: [SQLValue] = [.text(type), .text(channels), .utf8(payload), .instantMs(now)]
        return db.dialect == .postgres ? values + [.integer(thisProcess)] : values
    }

    /// `append` without waiting for the answer (`Database.sendScalar`): the `seq` is in the
    /// returned value once `db` is synced, which the writer does before COMMIT.
    public static func send(type: String, channels: String, payloadUTF8 payload: [UInt8], at now: Int64,
                            _ db: Database) throws(StoreError) -> PendingInteger {
        try db.sendScalar(appendSQL(db), appendValues(db, type, channels, payload, now))
    }

    private static func appendSQL(_ db: Database) -> String {
        switch db.dialect {
        case .sqlite:
            "INSERT INTO event_log (type, channels, payload, created_at) VALUES (?, ?, ?, ?) RETURNING seq"
        case .postgres:
            """
            WITH head AS (UPDATE event_log_head SET seq = seq + 1 RETURNING seq)
            INSERT INTO event_log (seq, type, channels, payload, created_at, origin)
            SELECT seq, ?, ?, ?, ?, ? FROM head RETURNING seq
            """
        }
    }

    /// The newest `limit` events, oldest first.
    public static func recent(limit: Int, _ db: Database) throws(StoreError) -> [Entry] {
        try db.query("""
            SELECT seq, type, channels, payload, created_at FROM
              (SELECT * FROM event_log ORDER BY seq DESC LIMIT ?) AS recent ORDER BY seq
            """, [.int(limit)]) { row in
            Entry(seq: row.int64(0), type: row.string(1), channels: row.string(2), payload: row.string(3), createdAt: row.milliseconds(4))
        }
    }

    /// The events after `seq`, oldest first, at most `limit`: what a follower of the log reads
    /// next. Numbers are gapless and visible in order (see the type's note), so reading
    /// `seq > after` never skips an event that commits later; the first event returned is not
    /// `after + 1` only when pruning removed those in between.
    public static func after(_ seq: Int64, limit: Int, _ db: Database) throws(StoreError) -> [Entry] {
        try db.query("SELECT seq, type, channels, payload, created_at FROM event_log WHERE seq > ? ORDER BY seq LIMIT ?",
                     [.integer(seq), .int(limit)], expectedRows: limit) { row in
            Entry(seq: row.int64(0), type: row.string(1), channels: row.string(2), payload: row.string(3), createdAt: row.milliseconds(4))
        }
    }

    /// PostgreSQL: the events in `(after, through]` that `origin` did not append, oldest first, at
    /// most `limit`: what a hub's follower reads (its own it published as it committed them).
    public static func between(_ after: Int64, through: Int64, notFrom origin: Int64, limit: Int,
                               _ db: Database) throws(StoreError) -> [Entry] {
        try db.query("""
            SELECT seq, type, channels, payload, created_at FROM event_log
            WHERE seq > ? AND seq <= ? AND origin <> ? ORDER BY seq LIMIT ?
            """, [.integer(after), .integer(through), .integer(origin), .int(limit)]) { row in
            Entry(seq: row.int64(0), type: row.string(1), channels: row.string(2), payload: row.string(3), createdAt: row.milliseconds(4))
        }
    }

    /// PostgreSQL: the last `seq` committed and the oldest still kept (pruning removes older ones).
    /// Every number up to the head is committed and visible (see the type's note).
    public static func bounds(_ db: Database) throws(StoreError) -> (head: Int64, oldest: Int64?) {
        try db.queryOne("SELECT seq, (SELECT MIN(seq) FROM event_log) FROM event_log_head") { row in
            (row.int64(0), row.isNull(1) ? nil : row.int64(1))
        } ?? (0, nil)
    }

    /// Takes what every append needs, for a probe of the store's ability to commit (`/readyz`):
    /// SQLite's write lock is taken by the writer's BEGIN IMMEDIATE already; on PostgreSQL the
    /// head row's lock.
    public static func lockHead(_ db: Database) throws(StoreError) {
        if db.dialect == .postgres { _ = try db.scalar("SELECT seq FROM event_log_head FOR UPDATE") }
    }

    /// The highest sequence number ever assigned (0 when none).
    public static func lastSeq(_ db: Database) throws(StoreError) -> Int64 {
        switch db.dialect {
        case .sqlite: try db.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'event_log'") ?? 0
        case .postgres: try db.scalar("SELECT seq FROM event_log_head") ?? 0
        }
    }

    /// Drops events older than `before` and beyond the newest `keep`.
    @discardableResult
    public static func prune(keep: Int, before: Int64, _ db: Database) throws(StoreError) -> Int {
        try db.execute("""
            DELETE FROM event_log WHERE seq <= (SELECT COALESCE(MAX(seq), 0) FROM event_log) - ? OR created_at < ?
            """, [.int(keep), .instantMs(before)])
    }
}

extension EventLogTable {
    /// What names this copy of the history, for PostgreSQL: the cluster (`system_identifier`),
    /// its timeline (a promoted standby or a point-in-time recovery starts a new one) and the
    /// database's oid (a dump restored into a new database). When it differs from the one the
    /// history was written under, history may have rewound, and the epoch must change (a client
    /// resuming by `(epoch, seq)` is told to resync rather than fed another history). Nil for
    /// SQLite, whose restores go through `Backup.restore` (which rotates the epoch itself).
    public static func historyIdentity(_ db: Database) throws(StoreError) -> String? {
        guard db.dialect == .postgres else { return nil }
        return try db.queryOne("""
            SELECT (SELECT system_identifier FROM pg_control_system())::text || '/'
                || (SELECT timeline_id FROM pg_control_checkpoint())::text || '/'
                || (SELECT oid FROM pg_database WHERE datname = current_database())::text
            """) { $0.string(0) }
    }
}

/// Small key/value facts about the database itself (the event epoch, the demo secret).
public enum MetaTable {
    public static func get(_ key: String, _ db: Database) throws(StoreError) -> String? {
        try db.queryOne("SELECT value FROM meta WHERE key = ?", [.text(key)]) { $0.string(0) }
    }

    /// Sets `key` unless it is set already; returns the value it holds after (several hubs
    /// starting on one new database agree on the first one's).
    public static func setIfAbsent(_ key: String, _ value: String, _ db: Database) throws(StoreError) -> String {
        try db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING", [.text(key), .text(value)])
        return try get(key, db) ?? value
    }

    public static func set(_ key: String, _ value: String, _ db: Database) throws(StoreError) {
        try db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       [.text(key), .text(value)])
    }
}
