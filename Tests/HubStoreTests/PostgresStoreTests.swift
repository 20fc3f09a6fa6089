import Dispatch
import Foundation
import HubCore
import HubTestSupport
import Synchronization
import Testing

@testable import HubStore

/// What needs no server: the placeholder rewrite and `timestamptz` text both ways.
@Suite struct PostgresDialectTests {
    @Test func placeholdersAreNumberedOutsideQuotes() {
        #expect(PostgresConnection.numberedPlaceholders("SELECT ? , ?") == "SELECT $1 , $2")
        #expect(PostgresConnection.numberedPlaceholders("WHERE a = ?1 OR b = ?1 AND c = ?2") == "WHERE a = $1 OR b = $1 AND c = $2")
        #expect(PostgresConnection.numberedPlaceholders("SELECT '?', \"?\", ?") == "SELECT '?', \"?\", $1")
        #expect(PostgresConnection.numberedPlaceholders("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', $1")
        #expect(PostgresConnection.numberedPlaceholders("LIKE ?1 ESCAPE '\\'") == "LIKE $1 ESCAPE '\\'")
    }

    @Test func instantsRoundTripThroughTimestamptzText() {
        func parse(_ text: String) -> Int64? {
            Array(text.utf8).withUnsafeBufferPointer { PostgresTime.seconds($0) }
        }
        func parseMs(_ text: String) -> Int64? {
            Array(text.utf8).withUnsafeBufferPointer { PostgresTime.milliseconds($0) }
        }
        #expect(PostgresTime.text(0) == "1970-01-01 00:00:00+00")
        #expect(PostgresTime.text(Fixtures.t0 + 9 * 3600 + 61) == "2026-06-01 09:01:01+00")
        for seconds: Int64 in [0, 1, 59, 86_399, 86_400, Fixtures.t0, 4_102_444_799, 951_782_400] {
            #expect(parse(PostgresTime.text(seconds)) == seconds)
        }
        #expect(parse("2026-06-01 10:01:01+01") == Fixtures.t0 + 9 * 3600 + 61)
        #expect(parse("2026-06-01 09:01:01.999999+00") == Fixtures.t0 + 9 * 3600 + 61, "the fraction is floored")
        #expect(parse("2026-06-01 05:31:01-03:30") == Fixtures.t0 + 9 * 3600 + 61)
        #expect(parse("infinity") == nil)
        #expect(PostgresTime.text(milliseconds: Fixtures.t0 * 1000 + 7) == "2026-06-01 00:00:00.007+00")
        #expect(parseMs("2026-06-01 00:00:00.25+00") == Fixtures.t0 * 1000 + 250)
        #expect(parseMs(PostgresTime.text(milliseconds: 1_796_605_295_123)) == 1_796_605_295_123)
    }

    @Test func urlsAreRecognisedAndPasswordsRedacted() {
        #expect(PostgresSettings.isURL("postgresql://a@b/c") && PostgresSettings.isURL("postgres://a@b/c"))
        #expect(!PostgresSettings.isURL("var/spacehub.sqlite"))
        #expect(PostgresSettings(url: "postgresql://hub:s3cret@db:5432/hub").redactedURL == "postgresql://hub:***@db:5432/hub")
        #expect(PostgresSettings(url: "postgresql://hub@db/hub").redactedURL == "postgresql://hub@db/hub")
    }

    @Test func sqlStatesMapOntoTheStoresErrorClasses() {
        #expect(StoreError(code: StoreError.code(sqlState: "23505"), message: "").isUniqueViolation)
        #expect(StoreError(code: StoreError.code(sqlState: "23P01"), message: "").isConstraintViolation)
        #expect(StoreError(code: StoreError.code(sqlState: "55P03"), message: "").isBusy)
        #expect(StoreError(code: StoreError.code(sqlState: "57014"), message: "").isBusy)
        #expect(StoreError(code: StoreError.code(sqlState: "08006"), message: "").isUnavailable)
        #expect(!StoreError(code: StoreError.code(sqlState: "42601"), message: "").isUnavailable)
    }
}

/// The store on a real PostgreSQL server.
@Suite(.enabled(if: PostgresDatabase.available, "scripts/test.sh starts PostgreSQL and sets SPACEHUB_TEST_PG"))
struct PostgresStoreTests {
    static let member = "0191d3a4-0000-7000-8000-000000000001"

    static func booking(_ id: Int, space: String = "room", kind: SpaceKind = .event, start: Int64, minutes: Int64 = 60,
                        status: BookingStatus = .confirmed) -> Booking {
        Booking(id: String(format: "0191d3a4-0000-7000-8000-%012d", id), userID: member, kind: kind, spaceID: space,
                spaceName: space, range: Interval(start: start, end: start + minutes * 60), zone: .lagos,
                durationLabel: "\(minutes) minutes", amount: Money(minorUnits: 500_000), status: status,
                holdExpiresAt: status == .pending ? start : nil, createdAt: Fixtures.t0, updatedAt: Fixtures.t0)
    }

    /// A migrated database with a member, an exclusive room with a 15-minute buffer and a
    /// two-seat plan.
    static func building(_ postgres: PostgresDatabase) throws -> Database {
        let db = try postgres.open()
        try UserTable.insert(Fixtures.user(member), db)
        try SpaceTable.save(Space(id: "room", kind: .event, name: "Room", price: Money(minorUnits: 500_000), bufferMinutes: 15), db)
        try SpaceTable.save(Space(id: "desk", kind: .coworking, name: "Desk", seats: 2, price: Money(minorUnits: 100_000)), db)
        return db
    }

    @Test func migrationsApplyOnceAndRecordTheirVersion() throws {
        let postgres = try PostgresDatabase()
        let db = try postgres.open(migrated: false)
        #expect(try Migrations.migrate(db) == Array(1...Migrations.latestVersion))
        #expect(try Migrations.migrate(db) == [])
        #expect(try Migrations.version(db) == Migrations.latestVersion)
        #expect(Migrations.postgres.count == Migrations.sqlite.count, "one history, two dialects")
        let columns = try db.query("""
            SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'bookings'
              AND column_name IN ('id', 'user_id', 'starts_at', 'amount_minor', 'hold_expires_at') ORDER BY column_name
            """) { "\($0.string(0)):\($0.string(1))" }
        #expect(columns == ["amount_minor:bigint", "hold_expires_at:timestamp with time zone", "id:uuid",
                            "starts_at:timestamp with time zone", "user_id:uuid"])
    }

    @Test func hubsMigratingOneDatabaseTogetherTakeTurns() throws {
        let postgres = try PostgresDatabase()
        let location = postgres.location
        let outcomes = Mutex<[Result<[Int], StoreError>]>([])
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            let outcome = Result { () throws(StoreError) -> [Int] in try Migrations.migrate(try Database(location)) }
            outcomes.withLock { $0.append(outcome) }
        }
        let applied = outcomes.withLock { $0 }.map { try? $0.get() }
        #expect(!applied.contains(nil), "none failed: \(outcomes.withLock { $0 })")
        #expect(applied.compactMap { $0 }.sorted { $0.count < $1.count } == [[], [], Array(1...Migrations.latestVersion)],
                "one applied every version, the others found them applied")
    }

    @Test func theCopyRefusesAnOutdatedSourceAndAPopulatedTarget() throws {
        let postgres = try PostgresDatabase()
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }
        let empty = try Database(path: directory.database)  // schema version 0
        let outdated = #expect(throws: StoreCopy.Refusal.self) { try StoreCopy.copy(from: empty, to: try postgres.open(migrated: false)) }
        #expect(outdated?.description.contains("run `spacehub migrate`") == true)
        let source = try migratedDatabase(directory)
        try UserTable.insert(Fixtures.user(Self.member), source)
        let report = try StoreCopy.copy(from: source, to: try postgres.open(migrated: false))
        #expect(report.first { $0.table == "users" }?.rows == 1)
        let populated = #expect(throws: StoreCopy.Refusal.self) { try StoreCopy.copy(from: source, to: try postgres.open()) }
        #expect(populated?.description.contains("already holds data") == true)
    }

    @Test func tablesRoundTripInstantsIdsAndText() throws {
        let postgres = try PostgresDatabase()
        let db = try Self.building(postgres)
        let held = Self.booking(1, start: Fixtures.t0 + 9 * 3600, status: .pending)
        try BookingTable.insert(held, db)
        let found = try #require(try BookingTable.find(held.id, db))
        #expect(found.range == held.range && found.holdExpiresAt == held.holdExpiresAt && found.createdAt == Fixtures.t0)
        #expect(found.amount == held.amount && found.status == .pending && found.zone == .lagos)
        #expect(try BookingTable.expiredHolds(now: held.range.start, limit: 10, db).map(\.id) == [held.id])
        #expect(try BookingTable.expiredHolds(now: held.range.start - 1, limit: 10, db).isEmpty)
        #expect(try UserTable.find(Self.member, db)?.email == "\(Self.member)@example.com")
        // An id that is no uuid (a mistyped URL) matches no row, as in SQLite's text column.
        #expect(try BookingTable.find("not-a-uuid", db) == nil)
        #expect(try PaymentTable.forBooking("not-a-uuid", db).isEmpty)
        #expect(try SpaceTable.loadAll(db).count == 2)
        try SpaceTable.save(Space(id: "room", kind: .event, name: "Room (renamed)", price: Money(minorUnits: 1), bufferMinutes: 15), db)
        #expect(try SpaceTable.loadAll(db).first { $0.id == "room" }?.name == "Room (renamed)", "save replaces the row")
    }

    @Test func theDatabaseRefusesOverlappingHoldsOfAnExclusiveSpaceBufferIncluded() throws {
        let postgres = try PostgresDatabase()
        let db = try Self.building(postgres)
        let nine = Fixtures.t0 + 9 * 3600
        try BookingTable.insert(Self.booking(1, start: nine), db)
        // 10:00 starts inside the 15-minute buffer after 9:00-10:00; 10:15 does not.
        let inBuffer = #expect(throws: StoreError.self) { try BookingTable.insert(Self.booking(2, start: nine + 3600), db) }
        #expect(inBuffer?.isConstraintViolation == true && inBuffer?.sqlState == "23P01")
        let before = #expect(throws: StoreError.self) { try BookingTable.insert(Self.booking(3, start: nine - 3600 - 60), db) }
        #expect(before?.isConstraintViolation == true, "ends 8:59, its buffer reaches 9:14")
        try BookingTable.insert(Self.booking(4, start: nine + 3600 + 900), db)
        // A cancelled booking holds nothing; a hold that is still pending does.
        try BookingTable.insert(Self.booking(5, start: nine + 4 * 3600, status: .cancelled), db)
        try BookingTable.insert(Self.booking(6, start: nine + 4 * 3600, status: .pending), db)
        #expect(throws: StoreError.self) { try BookingTable.insert(Self.booking(7, start: nine + 4 * 3600, status: .pending), db) }
        // A plain SQL update that moves a booking onto another is refused as well.
        #expect(throws: StoreError.self) {
            try db.execute("UPDATE bookings SET starts_at = ?, ends_at = ? WHERE id = ?",
                           [.instant(nine), .instant(nine + 3600), .text(Self.booking(4, start: 0).id)])
        }
    }

    @Test func theDatabaseRefusesASeatBeyondAPlansCapacity() throws {
        let postgres = try PostgresDatabase()
        let db = try Self.building(postgres)
        let nine = Fixtures.t0 + 9 * 3600
        func desk(_ id: Int, _ start: Int64, _ minutes: Int64) -> Booking {
            Self.booking(id, space: "desk", kind: .coworking, start: start, minutes: minutes)
        }
        try BookingTable.insert(desk(1, nine, 60), db)  // 9:00-10:00
        try BookingTable.insert(desk(2, nine + 3600, 60), db)  // 10:00-11:00
        try BookingTable.insert(desk(3, nine + 1800, 60), db)  // 9:30-10:30: two at every instant
        let third = #expect(throws: StoreError.self) { try BookingTable.insert(desk(4, nine + 2700, 30), db) }  // 9:45-10:15
        #expect(third?.isConstraintViolation == true && third?.message.contains("no seat left") == true)
        try BookingTable.insert(desk(5, nine + 7200, 60), db)  // 11:00-12:00 overlaps none
        // Freeing a seat lets the refused booking in.
        try db.execute("UPDATE bookings SET status = 'cancelled' WHERE id = ?", [.text(desk(3, 0, 1).id)])
        try BookingTable.insert(desk(4, nine + 2700, 30), db)
    }

    @Test func eventSeqIsGaplessAcrossRollbacksAndSurvivesPruning() throws {
        let postgres = try PostgresDatabase()
        let db = try postgres.open()
        let nowMs = Fixtures.t0 * 1000
        var kept: [Int64] = []
        for index in 0..<10 {
            let seq = try db.transaction { () throws(StoreError) -> Int64 in
                try EventLogTable.append(type: "booking_created", channels: "availability", payload: "{}", at: nowMs + Int64(index), db)
            }
            kept.append(seq)
            if index % 3 == 0 {  // appended and rolled back: the number is given back
                try db.execute("BEGIN")
                _ = try EventLogTable.append(type: "x", channels: "x", payload: "{}", at: nowMs, db)
                try db.execute("ROLLBACK")
            }
        }
        #expect(kept == Array(1...10))
        #expect(try EventLogTable.recent(limit: 3, db).map(\.seq) == [8, 9, 10])
        #expect(try EventLogTable.recent(limit: 1, db).first?.createdAt == nowMs + 9, "milliseconds kept")
        try EventLogTable.prune(keep: 2, before: 0, db)
        #expect(try EventLogTable.lastSeq(db) == 10)
        #expect(try EventLogTable.append(type: "t", channels: "c", payload: "{}", at: nowMs, db) == 11, "never reused")
    }

    @Test func concurrentAppendersGetSeqInCommitOrder() throws {
        let postgres = try PostgresDatabase()
        _ = try postgres.open()
        // Two sessions: the second appends while the first holds its transaction open; it waits
        // on the head row and takes the next number only after the first commits.
        let first = try postgres.open(migrated: false)
        try first.execute("BEGIN")
        #expect(try EventLogTable.append(type: "a", channels: "c", payload: "{}", at: 1, first) == 1)
        let secondSeq = Mutex<Int64?>(nil)
        let location = postgres.location
        let done = DispatchSemaphore(value: 0)
        Thread {
            defer { done.signal() }
            guard let second = try? Database(location) else { return }
            let seq = try? EventLogTable.append(type: "b", channels: "c", payload: "{}", at: 2, second)
            secondSeq.withLock { $0 = seq }
        }.start()
        #expect(done.wait(timeout: .now() + 0.3) == .timedOut, "the second appender waits for the first")
        try first.execute("COMMIT")
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(secondSeq.withLock { $0 } == 2)
    }

    @Test func theWriterGroupsCommitsAndIsolatesAFailingJob() throws {
        let postgres = try PostgresDatabase()
        let db = try Self.building(postgres)
        let nine = Fixtures.t0 + 9 * 3600
        let results = Completions<Result<Int, StoreError>>()
        let writer = try Writer(postgres.location, durability: .full) { work in work() }
        defer { writer.stop() }
        for index in 1...5 {
            // The third overlaps the first: the database refuses it alone.
            let booking = Self.booking(index, start: nine + Int64(index == 3 ? 1 : index) * 7200)
            writer.submit({ db in try BookingTable.insert(booking, db); return index }) { result in
                results.record(result.mapError { $0 as? StoreError ?? StoreError(code: 1, message: "\($0)") })
            }
        }
        results.wait(for: 5)
        let outcomes = results.values
        #expect(outcomes.compactMap { try? $0.get() }.sorted() == [1, 2, 4, 5])
        #expect(outcomes.contains { if case .failure(let error) = $0 { error.sqlState == "23P01" } else { false } })
        #expect(try db.scalar("SELECT COUNT(*) FROM bookings") == 4)
    }

    @Test func pipelinedStatementsAnswerAtTheSyncAndAFailureStopsTheRest() throws {
        let postgres = try PostgresDatabase()
        let db = try Self.building(postgres)
        let nine = Fixtures.t0 + 9 * 3600
        try db.send("BEGIN")
        try BookingTable.send(insertOf: Self.booking(1, start: nine), db)
        let seq = try EventLogTable.send(type: "a", channels: "c", payloadUTF8: Array("{}".utf8), at: 1, db)
        #expect(seq.value == nil, "not answered before the sync")
        try db.sync()
        #expect(seq.value == 1)
        // The second overlaps the first: the sync throws its refusal, and what was sent after it
        // did not run.
        try BookingTable.send(insertOf: Self.booking(2, start: nine + 1800), db)
        let after = try EventLogTable.send(type: "b", channels: "c", payloadUTF8: Array("{}".utf8), at: 2, db)
        let refused = #expect(throws: StoreError.self) { try db.sync() }
        #expect(refused?.sqlState == "23P01")
        #expect(after.value == nil)
        try db.rollback()
        #expect(!db.isInTransaction)
        #expect(try db.scalar("SELECT COUNT(*) FROM bookings") == 0, "the transaction was rolled back")
        // A statement that waits for its answer syncs first, and the session goes on.
        try db.send("BEGIN")
        try BookingTable.send(insertOf: Self.booking(3, start: nine), db)
        try db.execute("COMMIT")
        #expect(try db.scalar("SELECT COUNT(*) FROM bookings") == 1)
        // More statements than one pipeline takes are synced on the way.
        try db.send("BEGIN")
        let many = try (0..<(PostgresConnection.pipelineMax * 2 + 5)).map { index throws(StoreError) in
            try EventLogTable.send(type: "n", channels: "c", payloadUTF8: Array("{}".utf8), at: Int64(index), db)
        }
        try db.execute("COMMIT")
        // The first transaction's number was given back with its rollback.
        #expect(many.map(\.value) == (1...Int64(many.count)).map { $0 })
    }

    @Test func aSessionLostUnderPipelinedStatementsFailsAsUnavailable() throws {
        let postgres = try PostgresDatabase()
        let db = try Self.building(postgres)
        let admin = try postgres.open(migrated: false)
        try db.send("BEGIN")
        try BookingTable.send(insertOf: Self.booking(1, start: Fixtures.t0), db)
        _ = try admin.scalar("""
            SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'spacehub'
            """)
        let lost = #expect(throws: StoreError.self) { try db.sync() }
        #expect(lost?.isUnavailable == true)
        // The next statement reconnects at once (no failed connect, so no backoff) and finds
        // nothing of the lost transaction.
        #expect(try db.scalar("SELECT COUNT(*) FROM bookings") == 0)
    }

    @Test func theWriterIsolatesAPipelinedFailureToItsJobAndNumbersTheRestsEvents() throws {
        let postgres = try PostgresDatabase()
        let db = try Self.building(postgres)
        let nine = Fixtures.t0 + 9 * 3600
        let results = Completions<Result<[Int64], StoreError>>()
        let writer = try Writer(postgres.location, durability: .full) { work in work() }
        defer { writer.stop() }
        // A first job holds the writer while the next five queue: they commit as one group.
        let started = DispatchSemaphore(value: 0)
        writer.submit({ _ in started.signal(); Thread.sleep(forTimeInterval: 0.3); return 0 }) { _ in }
        started.wait()
        let pendings = Mutex<[Int: [PendingInteger]]>([:])
        for index in 1...5 {
            // The third overlaps the first: the database refuses it alone, at the writer's sync.
            let booking = Self.booking(index, start: nine + Int64(index == 3 ? 1 : index) * 7200)
            writer.submit({ db in
                try BookingTable.send(insertOf: booking, db)
                let seqs = try (0..<2).map { _ throws(StoreError) in
                    try EventLogTable.send(type: "t", channels: "c", payloadUTF8: Array("{}".utf8), at: 1, db)
                }
                pendings.withLock { $0[index] = seqs }
                return index
            }) { result in
                let seqs = pendings.withLock { $0[index] ?? [] }.compactMap(\.value)
                results.record(result.map { _ in seqs }.mapError { $0 as? StoreError ?? StoreError(code: 1, message: "\($0)") })
            }
        }
        results.wait(for: 5)
        let outcomes = results.values
        #expect(outcomes.compactMap { try? $0.get() }.flatMap { $0 } == Array(1...8), "in order, gapless, the refused job's given back")
        #expect(outcomes.contains { if case .failure(let error) = $0 { error.sqlState == "23P01" } else { false } })
        #expect(try db.scalar("SELECT COUNT(*) FROM bookings") == 4)
        #expect(writer.stats.isolatedGroups == 1)
    }

    @Test func anUnreachableServerFailsFastAsUnavailable() throws {
        var settings = PostgresSettings(url: "postgresql://spacehub@127.0.0.1:1/spacehub")
        settings.connectTimeoutSeconds = 2
        let started = Date()
        let error = #expect(throws: StoreError.self) { try Database(.postgres(settings)) }
        #expect(error?.isUnavailable == true)
        #expect(Date().timeIntervalSince(started) < 5)
    }
}
