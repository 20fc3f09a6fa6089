import CSQLite

/// Copies a SQLite hub's data into an empty PostgreSQL database: for an operator moving up from
/// the embedded store (`spacehub migrate --from sqlite:PATH --to postgresql://…`).
///
/// Both schemas come from one migration history, so the tables and columns are the same; only
/// the types differ, and the copy converts by the target column's type (instants to
/// `timestamptz`, the event log's milliseconds included, ids to `uuid`, blobs to `bytea`). Rows
/// go in SQLite's `rowid` order, so lists that break ties by insertion order keep it. Everything
/// is one transaction: a copy that fails leaves the target as it was. The event log keeps its
/// numbers and its epoch (the `meta` row), and the log's head continues after the highest `seq`
/// SQLite ever handed out, so a client resuming across the move is fed the same history.
public enum StoreCopy {
    /// Tables in an order that satisfies their foreign keys.
    public static let tables = [
        "users", "admin_users", "coworking_plans", "event_spaces", "bookings", "payments", "refunds", "webhook_receipts",
        "calendar_integrations", "calendar_events", "system_settings", "audit_logs", "refresh_tokens",
        "revoked_access_tokens", "subject_revocations", "reset_tokens", "outbox", "event_log", "idempotency_keys", "meta",
    ]

    /// Rows copied per table, in `tables` order.
    public typealias Report = [(table: String, rows: Int)]

    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Copies every table of `source` (SQLite, at the latest schema version) into `target`
    /// (PostgreSQL, migrated here, holding no users, spaces or bookings yet).
    public static func copy(from source: Database, to target: Database) throws -> Report {
        guard source.dialect == .sqlite, target.dialect == .postgres else {
            throw Refusal(description: "copies from SQLite to PostgreSQL only")
        }
        let version = try Migrations.version(source)
        guard version == Migrations.latestVersion else {
            throw Refusal(description: "the SQLite database is at schema version \(version), this build at "
                          + "\(Migrations.latestVersion): run `spacehub migrate` on it first")
        }
        try Migrations.migrate(target)
        let occupied = try target.scalar("""
            SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM admin_users) + (SELECT COUNT(*) FROM bookings)
                 + (SELECT COUNT(*) FROM coworking_plans) + (SELECT COUNT(*) FROM event_spaces) + (SELECT COUNT(*) FROM event_log)
            """) ?? 0
        guard occupied == 0 else {
            throw Refusal(description: "the PostgreSQL database already holds data (\(occupied) rows of users, spaces, "
                          + "bookings or events); copy into an empty one")
        }
        return try target.transaction { () throws(StoreError) -> Report in
            var report: Report = []
            for table in tables {
                report.append((table, try copyTable(table, source, target)))
            }
            // The log's head continues after the highest number SQLite ever handed out (pruned
            // numbers included); the outbox's identity after its highest id.
            try target.execute("UPDATE event_log_head SET seq = ?", [.integer(try EventLogTable.lastSeq(source))])
            try target.execute("SELECT setval(pg_get_serial_sequence('outbox', 'id'), COALESCE((SELECT MAX(id) FROM outbox), 0) + 1, false)")
            return report
        }
    }

    private static func copyTable(_ table: String, _ source: Database, _ target: Database) throws(StoreError) -> Int {
        let columns = try source.query("SELECT name FROM pragma_table_info(?) ORDER BY cid", [.text(table)]) { $0.string(0) }
        let types = Dictionary(uniqueKeysWithValues: try target.query("""
            SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?
            """, [.text(table)]) { ($0.string(0), $0.string(1)) })
        for column in columns where types[column] == nil {
            throw StoreError(code: SQLITE_ERROR, message: "PostgreSQL's \(table) has no column \(column)")
        }
        let list = columns.joined(separator: ", ")
        let insert = "INSERT INTO \(table) (\(list)) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
        let milliseconds = table == "event_log" ? Set(["created_at"]) : []
        let hasRowID = try source.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = ? AND sql LIKE '%WITHOUT ROWID%'",
                                         [.text(table)]) == 0
        let rows = try source.query("SELECT \(list) FROM \(table)\(hasRowID ? " ORDER BY rowid" : "")") { row in
            columns.indices.map { index in
                let value = row.value(Int32(index))
                guard case .integer(let number) = value else { return value }
                switch types[columns[index]] {
                case "timestamp with time zone": return milliseconds.contains(columns[index]) ? .instantMs(number) : .instant(number)
                default: return value
                }
            }
        }
        for values in rows { try target.execute(insert, values) }
        return rows.count
    }
}
