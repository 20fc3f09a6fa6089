import Foundation
import Testing

@testable import HubStore

@Suite struct MigrationsTests {
    static let tables: Set<String> = [
        "users", "admin_users", "coworking_plans", "event_spaces", "bookings", "payments", "refunds", "webhook_receipts",
        "calendar_integrations", "calendar_events", "system_settings", "audit_logs", "refresh_tokens",
        "revoked_access_tokens", "subject_revocations", "reset_tokens", "outbox", "event_log", "idempotency_keys", "meta",
    ]

    static func schema(_ db: Database) throws -> [String] {
        try db.query("SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master ORDER BY type, name") { $0.string(0) }
    }

    @Test func migratesAnEmptyFile() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        let db = try Database(path: directory.database)
        #expect(try db.scalar("PRAGMA user_version") == 0)
        #expect(try Migrations.migrate(db) == Array(1...Migrations.latestVersion))
        #expect(try db.scalar("PRAGMA user_version") == Int64(Migrations.latestVersion))
        let tables = Set(try db.query("SELECT name FROM sqlite_master WHERE type = 'table'") { $0.string(0) })
        #expect(tables.isSuperset(of: Self.tables), "missing \(Self.tables.subtracting(tables))")
        let triggers = Set(try db.query("SELECT name FROM sqlite_master WHERE type = 'trigger'") { $0.string(0) })
        #expect(triggers == ["audit_logs_no_update", "audit_logs_no_delete"])
        #expect(try db.queryOne("PRAGMA journal_mode") { $0.string(0) } == "wal")
        #expect(try db.scalar("PRAGMA foreign_keys") == 1)
        #expect(try db.scalar("PRAGMA synchronous") == 2)  // FULL by default
    }

    /// Running the migrations again, in the same connection or after reopening, changes nothing.
    @Test func rerunningIsANoOp() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        let before: [String]
        do {
            let db = try Database(path: directory.database)
            try Migrations.migrate(db)
            before = try Self.schema(db)
            #expect(try Migrations.migrate(db) == [])
            #expect(try Self.schema(db) == before)
        }
        let reopened = try Database(path: directory.database)
        #expect(try Migrations.migrate(reopened) == [])
        #expect(try reopened.scalar("PRAGMA user_version") == Int64(Migrations.latestVersion))
        #expect(try Self.schema(reopened) == before)
    }

    /// Each version applies on top of the previous one with data in it: a version-1 file with
    /// outbox rows keeps them, ids included, through the later rebuild of `outbox`, and
    /// AUTOINCREMENT carries on after the largest copied id.
    @Test func upgradesAVersionOneFileWithData() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        let db = try Database(path: directory.database, durability: .off)
        try db.transaction { () throws(StoreError) in
            try db.executeScript(Migrations.sqlite[0])
            try db.execute("PRAGMA user_version = 1")
        }
        for number in 1...3 {
            try db.execute("""
                INSERT INTO outbox (kind, recipient, template, payload, status, next_attempt_at, created_at)
                VALUES ('email', ?, 'welcome', '{}', 'pending', 0, 0)
                """, [.text("m\(number)@example.com")])
        }
        try UserTable.insert(Fixtures.user(), db)
        try BookingTable.insert(Fixtures.booking("b1"), db)
        #expect(try Migrations.migrate(db) == Array(2...Migrations.latestVersion))
        #expect(try db.scalar("PRAGMA user_version") == Int64(Migrations.latestVersion))
        #expect(try db.query("SELECT id, recipient FROM outbox ORDER BY id") { "\($0.int64(0)) \($0.string(1))" }
            == ["1 m1@example.com", "2 m2@example.com", "3 m3@example.com"])
        try OutboxTable.enqueueEmail(to: "m4@example.com", template: "welcome", payload: "{}", at: 1, db)
        #expect(try db.scalar("SELECT MAX(id) FROM outbox") == 4)
        #expect(try BookingTable.find("b1", db) == Fixtures.booking("b1"))
        #expect(try db.scalar("PRAGMA foreign_key_check") == nil)
        #expect(try db.queryOne("PRAGMA integrity_check") { $0.string(0) } == "ok")
    }

    /// A database written by a newer build is refused rather than used with the wrong schema.
    @Test func refusesANewerSchema() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        let db = try migratedDatabase(directory)
        try db.execute("PRAGMA user_version = \(Migrations.latestVersion + 1)")
        #expect(throws: StoreError.self) { try Migrations.migrate(db) }
        #expect(try db.scalar("PRAGMA user_version") == Int64(Migrations.latestVersion + 1))
    }

    @Test func constraintsAreEnforced() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        let db = try migratedDatabase(directory)
        // Foreign keys are on: a booking for a user who does not exist is refused.
        let orphan = Fixtures.booking("b-orphan", user: "nobody")
        let foreignKey = #expect(throws: StoreError.self) { try BookingTable.insert(orphan, db) }
        #expect(foreignKey?.code == SQLiteCode.constraintForeignKey)
        try UserTable.insert(Fixtures.user(), db)
        // CHECKs: an empty range, an unknown status, negative money.
        for sql in [
            "UPDATE bookings SET ends_at = starts_at", "UPDATE bookings SET status = 'bogus'",
            "UPDATE bookings SET amount_minor = -1", "UPDATE bookings SET payment_status = 'successful'",
        ] {
            try BookingTable.insert(Fixtures.booking("b-check"), db)
            let error = #expect(throws: StoreError.self) { try db.execute(sql + " WHERE id = 'b-check'") }
            #expect(error?.isConstraintViolation == true, "\(sql)")
            try db.execute("DELETE FROM bookings")
        }
    }

    /// The API's hot queries are index searches, not table scans (EXPLAIN QUERY PLAN).
    @Test(arguments: [
        ("SELECT id FROM bookings WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT 10", "idx_bookings_user_created"),
        ("SELECT id FROM bookings WHERE user_id = ? AND status = ? ORDER BY created_at DESC, id DESC LIMIT 10", "idx_bookings_user_created"),
        ("SELECT id FROM bookings WHERE space_id = ? AND starts_at < ? AND ends_at > ? ORDER BY starts_at", "idx_bookings_space_start"),
        ("SELECT id FROM bookings WHERE status = 'pending' AND hold_expires_at <= ? ORDER BY hold_expires_at LIMIT ?", "idx_bookings_status_hold"),
        ("SELECT id FROM bookings WHERE id = ?", "sqlite_autoindex_bookings_1"),
        ("SELECT id FROM payments WHERE booking_id = ? AND status = 'pending'", "idx_payments_"),
        ("SELECT id FROM payments WHERE gateway_reference = ?", "sqlite_autoindex_payments_2"),
        ("SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?", "idx_outbox_due"),
        ("SELECT id FROM users WHERE email = ?", "sqlite_autoindex_users_2"),
        ("SELECT id FROM audit_logs WHERE admin_id = ? ORDER BY created_at DESC LIMIT 10", "idx_audit_logs_admin"),
        ("SELECT body FROM idempotency_keys WHERE principal_id = ? AND key = ?", "sqlite_autoindex_idempotency_keys_1"),
    ])
    func hotQueriesUseIndexes(sql: String, index: String) throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        let db = try migratedDatabase(directory)
        let placeholders = sql.filter { $0 == "?" }.count
        let plan = try db.query("EXPLAIN QUERY PLAN " + sql, Array(repeating: SQLValue.text("x"), count: placeholders)) { $0.string(3) }
        #expect(plan.contains { $0.contains(index) }, "\(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN ") && !$0.contains("INDEX") }, "\(plan)")
    }
}

@Suite struct DatabaseTests {
    @Test func statementsAreCached() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        _ = try migratedDatabase(directory)
        let db = try SQLiteConnection(path: directory.database, readOnly: true, durability: .off, busyTimeoutMs: 1000)
        let first = try db.prepare("SELECT COUNT(*) FROM users WHERE id = ?")
        let second = try db.prepare("SELECT COUNT(*) FROM users WHERE id = ?")
        #expect(first === second)
        #expect(try db.prepare("SELECT COUNT(*) FROM users") !== first)
    }

    @Test func wrongParameterCountIsAnError() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        let db = try migratedDatabase(directory)
        let error = #expect(throws: StoreError.self) { try db.execute("SELECT ?", []) }
        #expect(error?.code == SQLiteCode.range)
        let syntax = #expect(throws: StoreError.self) { try db.execute("SELEKT 1") }
        #expect(syntax?.sql == "SELEKT 1")
    }

    /// Text goes in and out byte for byte: quotes, emoji, and an embedded NUL (JSON allows \u0000).
    @Test func textAndBlobsRoundTripExactly() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        let db = try migratedDatabase(directory)
        for text in ["", "O'Brien; DROP TABLE users; --", "Ọlá 🎉 “quotes”", "a\u{0}b", String(repeating: "x", count: 100_000)] {
            try MetaTable.set("k", text, db)
            #expect(try MetaTable.get("k", db) == text, "\(text.prefix(20).debugDescription)")
        }
        try MetaTable.set("empty", "", db)
        #expect(try db.queryOne("SELECT typeof(value) FROM meta WHERE key = 'empty'") { $0.string(0) } == "text")
        let bytes: [UInt8] = [0, 1, 2, 255, 0]
        try db.execute("CREATE TABLE t (b BLOB)")
        try db.execute("INSERT INTO t (b) VALUES (?)", [.blob(bytes)])
        #expect(try db.queryOne("SELECT b FROM t") { $0.blob(0) } == bytes)
        #expect(try db.scalar("SELECT NULL") == nil)
        #expect(try db.scalar("SELECT 1 WHERE 0") == nil)
    }

    @Test func transactionRollsBackOnError() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        let db = try migratedDatabase(directory)
        #expect(throws: StoreError.self) {
            try db.transaction { () throws(StoreError) in
                try UserTable.insert(Fixtures.user("u1"), db)
                try UserTable.insert(Fixtures.user("u1"), db)  // duplicate primary key
            }
        }
        #expect(!db.isInTransaction)
        #expect(try db.scalar("SELECT COUNT(*) FROM users") == 0)
        try db.transaction { () throws(StoreError) in try UserTable.insert(Fixtures.user("u1"), db) }
        #expect(try db.scalar("SELECT COUNT(*) FROM users") == 1)
    }

    @Test func readOnlyConnectionRefusesWrites() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        _ = try migratedDatabase(directory)
        let reader = try Database(path: directory.database, readOnly: true)
        #expect(try reader.scalar("SELECT COUNT(*) FROM users") == 0)
        let error = #expect(throws: StoreError.self) { try UserTable.insert(Fixtures.user(), reader) }
        #expect(error?.primaryCode == SQLiteCode.readOnly)
    }

    @Test func unopenablePathThrows() {
        #expect(throws: StoreError.self) { try Database(path: "/nonexistent-dir/x/hub.sqlite") }
        #expect(throws: StoreError.self) { try Writer(path: "/nonexistent-dir/x/hub.sqlite", durability: .off) { $0() } }
    }
}
