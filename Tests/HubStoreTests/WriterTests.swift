import Dispatch
import Foundation
import HubCore
import Synchronization
import Testing

@testable import HubStore

/// The group-commit writer on real files: grouping, per-job savepoints, failed commits, recovery.
@Suite struct WriterTests {
    struct Done: Sendable, Equatable {
        let producer: Int
        let number: Int
        let succeeded: Bool
    }

    /// 8 producer threads × 1,000 jobs at `full` durability: every completion arrives exactly
    /// once, each producer's in the order it submitted, and jobs share commits.
    @Test func groupCommitWithConcurrentProducers() throws {
        let producers = 8
        let jobsPerProducer = 1_000
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        try Database(path: directory.database).withMigrations()
        let test = try TestWriter(path: directory.database, durability: .full)
        try test.writer.submit({ db in try UserTable.insert(Fixtures.user(), db) }).wait()

        let completions = Completions<Done>()
        let start = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        for producer in 0..<producers {
            finished.enter()
            let thread = Thread {
                start.wait()
                for number in 0..<jobsPerProducer {
                    let booking = Fixtures.booking("p\(producer)-\(number)", space: "space-\(producer)",
                                                   start: Fixtures.t0 + Int64(number) * 3600)
                    test.writer.submit({ db in try BookingTable.insert(booking, db) }) { result in
                        completions.record(Done(producer: producer, number: number, succeeded: (try? result.get()) != nil))
                    }
                }
                finished.leave()
            }
            thread.start()
        }
        for _ in 0..<producers { start.signal() }
        #expect(finished.wait(timeout: .now() + 60) == .success)
        completions.wait(for: producers * jobsPerProducer, timeout: 120)

        let done = completions.values
        #expect(done.count == producers * jobsPerProducer)
        #expect(done.allSatisfy { $0.succeeded })
        for producer in 0..<producers {
            #expect(done.filter { $0.producer == producer }.map(\.number) == Array(0..<jobsPerProducer), "producer \(producer)")
        }
        let stats = test.writer.stats
        #expect(stats.jobs == producers * jobsPerProducer + 1)
        #expect(stats.failedJobs == 0 && stats.failedGroups == 0)
        #expect(stats.largestGroup > 1)
        #expect(stats.groups < stats.jobs)
        #expect(test.deliveryCount == stats.groups)  // one delivery per group
        print("groupCommitWithConcurrentProducers: \(stats.jobs) jobs in \(stats.groups) groups, largest \(stats.largestGroup)")
        test.writer.stop()
        let reopened = try Database(path: directory.database, readOnly: true)
        #expect(try reopened.scalar("SELECT COUNT(*) FROM bookings") == Int64(producers * jobsPerProducer))
    }

    /// In one group, a job that violates a constraint, and one that throws after writing, are
    /// rolled back alone; the jobs around them commit, including one that depends on an earlier
    /// job of the same group. A rolled-back event_log insert gives its `seq` back.
    @Test func failedJobFailsOnlyItself() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        try Database(path: directory.database).withMigrations()
        let test = try TestWriter(path: directory.database)
        let results = Completions<(String, Result<Int64, any Error>)>()
        func submit(_ name: String, _ work: @escaping @Sendable (Database) throws -> Int64) {
            test.writer.submit(work) { result in results.record((name, result)) }
        }

        let gate = test.closeGate()
        submit("insert user") { db in try UserTable.insert(Fixtures.user("u1"), db); return 0 }
        submit("duplicate user") { db in try UserTable.insert(Fixtures.user("u1", email: "other@example.com"), db); return 0 }
        submit("booking of that user") { db in try BookingTable.insert(Fixtures.booking("b1", user: "u1"), db); return 0 }
        submit("event then throw") { db in
            _ = try EventLogTable.append(type: "doomed", channels: "c", payload: "{}", at: 1, db)
            try BookingTable.insert(Fixtures.booking("b-doomed", user: "u1", start: Fixtures.t0 + 86_400), db)
            throw InjectedJobError()
        }
        submit("event") { db in try EventLogTable.append(type: "kept", channels: "c", payload: "{}", at: 2, db) }
        gate.signal()
        results.wait(for: 5)

        let outcomes = Dictionary(uniqueKeysWithValues: results.values.map { ($0.0, $0.1) })
        #expect((try? outcomes["insert user"]?.get()) != nil)
        #expect((try? outcomes["booking of that user"]?.get()) != nil)
        guard case .failure(let duplicate) = outcomes["duplicate user"] else {
            Issue.record("duplicate primary key committed")
            return
        }
        #expect((duplicate as? StoreError)?.code == SQLiteCode.constraintPrimaryKey)
        guard case .failure(let thrown) = outcomes["event then throw"] else {
            Issue.record("a throwing job committed")
            return
        }
        #expect(thrown is InjectedJobError)
        #expect(try outcomes["event"]?.get() == 1)
        #expect(results.values.map(\.0) == ["insert user", "duplicate user", "booking of that user", "event then throw", "event"])

        let stats = test.writer.stats
        #expect(stats.groups == 2)  // the gate's, then all five together
        #expect(stats.largestGroup == 5)
        #expect(stats.failedJobs == 2)
        #expect(stats.failedGroups == 0)
        #expect(stats.isolatedGroups == 1)
        let db = try Database(path: directory.database, readOnly: true)
        #expect(try db.scalar("SELECT COUNT(*) FROM users") == 1)
        #expect(try UserTable.find("u1", db)?.email == "u1@example.com")
        #expect(try db.query("SELECT id FROM bookings") { $0.string(0) } == ["b1"])
        #expect(try EventLogTable.recent(limit: 10, db).map(\.type) == ["kept"])
    }

    /// Groups run optimistically in one plain transaction; only a group with a failing job runs
    /// again, a savepoint per job. So jobs run once, or twice when a neighbour fails.
    @Test func jobsRunAgainOnlyWhenTheirGroupHasAFailure() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        try Database(path: directory.database).withMigrations()
        let test = try TestWriter(path: directory.database)
        let runs = Mutex([Int](repeating: 0, count: 6))
        let done = Completions<Bool>()
        func submit(_ number: Int, failing: Bool) {
            test.writer.submit({ db throws -> Int64 in
                runs.withLock { $0[number] += 1 }
                let seq = try EventLogTable.append(type: "t\(number)", channels: "c", payload: "{}", at: 1, db)
                if failing { throw InjectedJobError() }
                return seq
            }) { (result: Result<Int64, any Error>) in done.record((try? result.get()) != nil) }
        }
        var gate = test.closeGate()
        for number in 0..<3 { submit(number, failing: false) }
        gate.signal()
        done.wait(for: 3)
        gate = test.closeGate()
        for number in 3..<6 { submit(number, failing: number == 4) }
        gate.signal()
        done.wait(for: 3)
        #expect(runs.withLock { $0 } == [1, 1, 1, 2, 2, 1])  // the failing job stops the first pass
        #expect(done.values == [true, true, true, true, false, true])
        #expect(test.writer.stats.isolatedGroups == 1)
        let db = try Database(path: directory.database, readOnly: true)
        #expect(try EventLogTable.recent(limit: 10, db).map(\.type) == ["t0", "t1", "t2", "t3", "t5"])
    }

    /// A COMMIT that fails (here an injected SQLITE_IOERR) fails every job of its group and leaves
    /// nothing behind; the next group commits normally.
    @Test func failedCommitFailsTheWholeGroupThenRecovers() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        try Database(path: directory.database).withMigrations()
        let test = try TestWriter(path: directory.database, durability: .full)
        try test.writer.submit({ db in try UserTable.insert(Fixtures.user(), db) }).wait()

        let failing = Completions<Result<Int64, any Error>>()
        test.planFaults([nil, SQLiteCode.ioError])  // the gate's group commits, the next one fails
        let gate = test.closeGate()
        for number in 0..<50 {
            test.writer.submit({ db in
                try BookingTable.insert(Fixtures.booking("doomed-\(number)", start: Fixtures.t0 + Int64(number) * 3600), db)
                return try EventLogTable.append(type: "booking_updated", channels: "c", payload: "{}", at: 1, db)
            }) { failing.record($0) }
        }
        gate.signal()
        failing.wait(for: 50)
        #expect(failing.values.count == 50)
        #expect(failing.values.allSatisfy { sqliteCode($0.failureError) == SQLiteCode.ioError })
        #expect(test.writer.stats.failedGroups == 1)
        let reader = try Database(path: directory.database, readOnly: true)
        #expect(try reader.scalar("SELECT COUNT(*) FROM bookings") == 0)
        #expect(try reader.scalar("SELECT COUNT(*) FROM event_log") == 0)

        // Recovery: the writer's connection is usable and numbering resumes where it was.
        let recovered = Completions<Result<Int64, any Error>>()
        for number in 0..<10 {
            test.writer.submit({ db in
                try BookingTable.insert(Fixtures.booking("kept-\(number)", start: Fixtures.t0 + Int64(number) * 3600), db)
                return try EventLogTable.append(type: "booking_updated", channels: "c", payload: "{}", at: 2, db)
            }) { recovered.record($0) }
        }
        recovered.wait(for: 10)
        #expect(recovered.values.compactMap { try? $0.get() } == Array(1...10))
        test.writer.stop()
        let reopened = try Database(path: directory.database, readOnly: true)
        #expect(try reopened.query("SELECT id FROM bookings ORDER BY starts_at") { $0.string(0) } == (0..<10).map { "kept-\($0)" })
    }

    /// A fault that persists over several groups fails each of them; a transient SQLITE_BUSY
    /// fails one group and is reported as busy, so the caller can answer 503 and let the client retry.
    @Test func persistentAndTransientFaults() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        try Database(path: directory.database).withMigrations()
        let test = try TestWriter(path: directory.database)
        test.planFaults([SQLiteCode.ioError, SQLiteCode.ioError, SQLiteCode.ioError, SQLiteCode.busy])
        for round in 0..<4 {
            let error = try? test.writer.submit({ db in
                _ = try EventLogTable.append(type: "t", channels: "c", payload: "{}", at: Int64(round), db)
            }).wait().failureError
            #expect(sqliteCode(error) == (round < 3 ? SQLiteCode.ioError : SQLiteCode.busy), "round \(round)")
            if round == 3 { #expect((error as? StoreError)?.isBusy == true) }
        }
        #expect(test.writer.stats.failedGroups == 4)
        let seq = try test.writer.submit({ db in try EventLogTable.append(type: "t", channels: "c", payload: "{}", at: 9, db) }).wait().get()
        #expect(seq == 1)
    }

    /// `batchMax` bounds a group: 1,000 queued jobs with a limit of 100 commit as 10 groups.
    @Test func batchMaxBoundsAGroup() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        try Database(path: directory.database).withMigrations()
        let test = try TestWriter(path: directory.database, batchMax: 100)
        let completions = Completions<Int>()
        let gate = test.closeGate()
        for number in 0..<1_000 {
            test.writer.submit({ db in
                _ = try EventLogTable.append(type: "t", channels: "c", payload: "{}", at: Int64(number), db)
            }) { _ in completions.record(number) }
        }
        gate.signal()
        completions.wait(for: 1_000)
        #expect(completions.values == Array(0..<1_000))
        let stats = test.writer.stats
        #expect(stats.groups == 11)
        #expect(stats.largestGroup == 100)
        #expect(test.deliveryCount == 11)
    }

    /// `stop` commits everything queued before it returns; later submissions fail at once.
    @Test func stopDrainsTheQueueThenRefuses() throws {
        let directory = TempDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed only after the test's connections
        try Database(path: directory.database).withMigrations()
        let test = try TestWriter(path: directory.database)
        let completions = Completions<Bool>()
        let gate = test.closeGate()
        for number in 0..<200 {
            test.writer.submit({ db in
                _ = try EventLogTable.append(type: "t", channels: "c", payload: "{}", at: Int64(number), db)
            }) { completions.record((try? $0.get()) != nil) }
        }
        gate.signal()
        test.writer.stop()
        // The connection is closed when stop() returns: the last one to close checkpoints the
        // WAL into the database and deletes it.
        #expect(!FileManager.default.fileExists(atPath: directory.database + "-wal"))
        #expect(completions.values.count == 200)
        #expect(completions.values.allSatisfy { $0 })
        let late = try? test.writer.submit({ _ in }).wait().failureError
        #expect(sqliteCode(late) == SQLiteCode.misuse)
        let db = try Database(path: directory.database, readOnly: true)
        #expect(try db.scalar("SELECT COUNT(*) FROM event_log") == 200)
    }
}

extension Database {
    /// Creates the schema on this file, then lets the connection go.
    func withMigrations() throws {
        try Migrations.migrate(self)
    }
}

extension Writer {
    /// Submits `work` and returns a handle to wait for its result (tests only).
    func submit<R: Sendable>(_ work: @escaping @Sendable (Database) throws -> R) -> Pending<R> {
        let pending = Pending<R>()
        submit(work) { pending.complete($0) }
        return pending
    }
}

final class Pending<R: Sendable>: Sendable {
    private let result = Mutex<Result<R, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func complete(_ value: Result<R, any Error>) {
        result.withLock { $0 = value }
        done.signal()
    }

    /// The job's result; throws when it does not arrive within 30 s.
    @discardableResult
    func wait() throws -> Result<R, any Error> {
        guard done.wait(timeout: .now() + 30) == .success, let value = result.withLock({ $0 }) else {
            throw StoreError(code: -1, message: "writer did not answer within 30 s")
        }
        return value
    }
}

extension Result {
    var failureError: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
