import CSQLite
import Dispatch
import Foundation
import HubCore
import Synchronization

/// The group-commit writer: a dedicated thread with its own connection that commits every
/// write queued since its last commit as one transaction, with one fsync.
///
/// A job that fails (a constraint violation, say) is rolled back alone and reported failed
/// while the rest of its group commits. Groups first run optimistically, all jobs in one plain
/// transaction; only when a job throws is that attempt rolled back and the group run again
/// with a SAVEPOINT around each job. (A savepoint per job costs every job a copy of each page
/// it touches into the statement journal, and failures are rare: the loop decides bookings
/// before they reach the writer.) So a job may run twice, and must only read and write the
/// database it is given. If the COMMIT itself fails, every job of the group is reported
/// failed. Results leave through `deliver` only after the COMMIT returned, so nothing is
/// acknowledged that could still be lost.
///
/// Threads: `submit` may be called from any thread; jobs run on the writer thread; `deliver`
/// is called on the writer thread once per group, with a closure the owner runs on its loop.
public final class Writer: Sendable {
    /// Called once per committed (or failed) group with a closure that runs the group's
    /// completions in submission order. The hub posts it to its loop through `LoopInbox`.
    public typealias Deliver = @Sendable (@escaping @Sendable () -> Void) -> Void

    private struct Job: Sendable {
        let run: @Sendable (Database) throws -> Void
        let fail: @Sendable (any Error) -> Void
        let succeed: @Sendable () -> Void
    }

    private struct Queue: ~Copyable {
        var jobs: [Job] = []
        var stopping = false
    }

    /// The writer connection's page cache, in KiB (the hub's largest single allocation after the
    /// index). 64 MiB holds the hot index pages of a few million bookings. On breach SQLite evicts
    /// least-recently-used pages and reads them back when needed.
    public static let cacheKiB = 64 * 1024

    /// WAL pages after which a commit also checkpoints (SQLite's default is 1,000). Each
    /// checkpoint costs two more fsyncs on the writer thread: at 1,000 pages a booking load
    /// checkpointed every ~8 groups (1.27 fsyncs per group); at 4,096 (a 16 MiB WAL) it is 1.07,
    /// for ~20% more commits per second (BENCHMARKS.md, Writer). Larger values trade p99 latency
    /// (each checkpoint copies more) for little more throughput.
    public static let checkpointPages = 4096

    /// Jobs committed per group at most. Bounds one transaction's duration and memory; the rest
    /// go in the next group a moment later.
    public let batchMax: Int
    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let deliver: Deliver
    private let statistics = Mutex(Statistics())

    /// Counters for benchmarks and `/readyz`.
    public struct Statistics: Sendable {
        public var groups = 0
        public var jobs = 0
        public var failedJobs = 0
        public var failedGroups = 0
        /// Jobs of the failed groups (each failed with its group; `failedJobs` counts jobs that
        /// failed alone).
        public var jobsInFailedGroups = 0
        public var largestGroup = 0
        /// Groups run a second time, a savepoint per job, because one of their jobs failed.
        public var isolatedGroups = 0
        /// Whether the latest group's COMMIT failed (a full disk, an I/O error, a held lock): the
        /// hub is not ready until one succeeds.
        public var lastGroupFailed = false
        /// Jobs per group, and nanoseconds from BEGIN to the end of COMMIT (its fsync included),
        /// failed groups too: the `/metrics` commit series.
        public var groupSizes = Histogram(bounds: Histogram.sizeBounds)
        public var commitNs = Histogram(bounds: Histogram.latencyBoundsNs)
    }

    /// A seam for tests: called before each COMMIT; a non-nil SQLite code makes the commit fail
    /// with it (as a full disk or an I/O error would).
    public let faultBeforeCommit = Mutex<(@Sendable () -> Int32?)?>(nil)

    /// Told on the writer thread when a whole group failed (BEGIN or COMMIT), with the error and
    /// the group's size: the hub reports it (Sentry). Each job's own completion still fails too.
    public let groupFailed = Mutex<(@Sendable (any Error, Int) -> Void)?>(nil)

    /// Opens the writer's connection on the SQLite file at `path` and starts its thread.
    public convenience init(path: String, durability: Database.Durability, busyTimeoutMs: Int = 5000, batchMax: Int = 4096,
                            deliver: @escaping Deliver) throws(StoreError) {
        try self.init(.sqlite(path: path), durability: durability, busyTimeoutMs: busyTimeoutMs, batchMax: batchMax, deliver: deliver)
    }

    /// Opens the writer's connection to `location` and starts its thread.
    public init(_ location: StoreLocation, durability: Database.Durability, busyTimeoutMs: Int = 5000, batchMax: Int = 4096,
                deliver: @escaping Deliver) throws(StoreError) {
        self.batchMax = batchMax
        self.deliver = deliver
        // Open on the calling thread so a bad path fails start-up, then hand it to the thread.
        let database = try Database(location, durability: durability, busyTimeoutMs: busyTimeoutMs)
        if database.dialect == .sqlite {
            // Index pages the writer touches stay in its own cache instead of being read back with
            // a pread each time they were evicted (SQLite's default cache is 2 MiB).
            try database.execute("PRAGMA cache_size = -\(Self.cacheKiB)")
            try database.execute("PRAGMA wal_autocheckpoint = \(Self.checkpointPages)")
        }
        let box = UncheckedBox<Database?>(database)
        let thread = Thread { [self] in
            if let database = box.take() { self.loop(database) }
            // The thread held the only reference: the connection is closed now, before `stop()`
            // returns, so its files (WAL, shared memory) are settled when the caller goes on.
            self.finished.signal()
        }
        thread.name = "spacehub-writer"
        thread.start()
    }

    /// Queues `work`; `completion` runs (through `deliver`) after the group's COMMIT. `work` may
    /// run more than once (when another job of its group fails) and must touch nothing but the
    /// database it is given.
    public func submit<R: Sendable>(_ work: @escaping @Sendable (Database) throws -> R,
                                    completion: @escaping @Sendable (Result<R, any Error>) -> Void) {
        let result = UncheckedBox<R?>(nil)
        let job = Job(
            run: { database in result.value = try work(database) },
            fail: { error in completion(.failure(error)) },
            succeed: { completion(.success(result.value!)) }  // run stored a value before the job succeeded
        )
        let accepted = queue.withLock { queue -> Bool in
            guard !queue.stopping else { return false }
            queue.jobs.append(job)
            return true
        }
        if accepted {
            wakeup.signal()
        } else {
            deliver { completion(.failure(StoreError(code: SQLITE_MISUSE, message: "writer is stopped"))) }
        }
    }

    /// Commits what is queued, then stops the thread and closes its connection. Blocks until it
    /// has. Idempotent: a second call (or a concurrent one) returns once the thread has stopped.
    public func stop() {
        queue.withLock { $0.stopping = true }
        wakeup.signal()
        finished.wait()
        finished.signal()  // a latch: let any other caller of stop() through as well
    }

    public var stats: Statistics { statistics.withLock { $0 } }

    /// Jobs waiting for a group (not counting the group being committed).
    public var queueDepth: Int { queue.withLock { $0.jobs.count } }

    private func loop(_ database: Database) {
        while true {
            wakeup.wait()
            while true {
                let (jobs, stopping) = queue.withLock { queue -> ([Job], Bool) in
                    let taken = Array(queue.jobs.prefix(batchMax))
                    queue.jobs.removeFirst(taken.count)
                    return (taken, queue.stopping)
                }
                if jobs.isEmpty {
                    if stopping { return }
                    break
                }
                commit(jobs, database)
            }
        }
    }

    private func commit(_ jobs: [Job], _ database: Database) {
        var outcomes: [Result<Void, any Error>] = []
        outcomes.reserveCapacity(jobs.count)
        var commitError: (any Error)?
        var isolated = false
        let startedNs = DispatchTime.now().uptimeNanoseconds
        do {
            try database.send(database.beginWrite)
            if !(try runTogether(jobs, database)) {
                isolated = true
                // An I/O error or a full disk may have ended the transaction already.
                if database.isInTransaction { try database.rollback() }
                try database.send(database.beginWrite)
                outcomes = try runIsolated(jobs, database)
            }
            if let code = faultBeforeCommit.withLock({ $0?() }) {
                throw StoreError(code: code, message: "injected fault before COMMIT")
            }
            try database.execute("COMMIT")
        } catch {
            commitError = error
            if database.isInTransaction { _ = try? database.rollback() }
        }
        let elapsedNs = Int64(DispatchTime.now().uptimeNanoseconds &- startedNs)
        statistics.withLock { stats in
            stats.groups += 1
            stats.jobs += jobs.count
            stats.largestGroup = max(stats.largestGroup, jobs.count)
            if commitError != nil {
                stats.failedGroups += 1
                stats.jobsInFailedGroups += jobs.count
            }
            stats.lastGroupFailed = commitError != nil
            if isolated { stats.isolatedGroups += 1 }
            stats.groupSizes.record(Int64(jobs.count))
            stats.commitNs.record(elapsedNs)
        }
        if let commitError, let observer = groupFailed.withLock({ $0 }) { observer(commitError, jobs.count) }
        var completions: [@Sendable () -> Void] = []
        completions.reserveCapacity(jobs.count)
        for (index, job) in jobs.enumerated() {
            if let commitError {
                completions.append { job.fail(commitError) }
            } else if !isolated {
                completions.append(job.succeed)
            } else {
                switch outcomes[index] {
                case .success: completions.append(job.succeed)
                case .failure(let error):
                    statistics.withLock { $0.failedJobs += 1 }
                    completions.append { job.fail(error) }
                }
            }
        }
        let batch = completions
        deliver { for completion in batch { completion() } }
    }

    /// Runs every job in the open transaction; false as soon as one throws (the caller rolls back).
    /// A store that is busy or gone (PostgreSQL's lock or statement timeout, a broken connection)
    /// fails the whole group instead, as SQLite's BEGIN IMMEDIATE does: it is not one job's fault,
    /// and running the jobs again one by one would wait once per job.
    /// Statements a job sends without waiting (`Database.send`) answer at the latest in the
    /// final sync here, still counted as the jobs' failure rather than the COMMIT's.
    private func runTogether(_ jobs: [Job], _ database: Database) throws(StoreError) -> Bool {
        do {
            for job in jobs { try job.run(database) }
            try database.sync()
        } catch let error as StoreError where error.isBusy || error.isUnavailable {
            throw error
        } catch {
            return false
        }
        return true
    }

    /// Runs each job in its own savepoint, so a failing one is undone alone.
    private func runIsolated(_ jobs: [Job], _ database: Database) throws(StoreError) -> [Result<Void, any Error>] {
        var outcomes: [Result<Void, any Error>] = []
        outcomes.reserveCapacity(jobs.count)
        for job in jobs {
            try database.send("SAVEPOINT job")
            do {
                try job.run(database)
                try database.sync()  // what the job sent fails here, as its own
                try database.send("RELEASE job")
                outcomes.append(.success(()))
            } catch {
                try database.rollback("ROLLBACK TO job")
                try database.send("RELEASE job")
                outcomes.append(.failure(error))
            }
        }
        return outcomes
    }
}

/// Moves a non-Sendable value to another thread that becomes its only user, or carries a value
/// written by one thread and read by another after a happens-before edge (the writer's queue).
final class UncheckedBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

extension UncheckedBox {
    /// Moves the value out, leaving nil: the box no longer keeps it alive.
    func take<Wrapped>() -> Wrapped? where Value == Wrapped? {
        defer { value = nil }
        return value
    }
}
