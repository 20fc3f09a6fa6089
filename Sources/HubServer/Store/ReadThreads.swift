import Dispatch
import Foundation
import HubStore
import Synchronization

/// PostgreSQL's reads (`Storage.read`), on threads of their own, each with its own connection.
///
/// Not libuv's threadpool: that pool also runs payment-gateway and calendar calls (seconds each,
/// with retries), email sends and password hashing, and sixteen slow calls to Paystack would
/// queue every read of the hub behind them, unbounded. Here a read waits only for other reads,
/// each of which waits at most `store.readTimeoutMs` for its answer.
///
/// Threads: `submit` from any thread; jobs run on the read threads, first come first served.
final class ReadThreads: Sendable {
    static let threadCount = 4

    private struct Queue {
        var jobs: [@Sendable (Database?) -> Void] = []
        var head = 0
        var stopping = false
    }

    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let location: StoreLocation
    private let busyTimeoutMs: Int

    init(location: StoreLocation, busyTimeoutMs: Int) {
        self.location = location
        self.busyTimeoutMs = busyTimeoutMs
        for index in 0..<Self.threadCount {
            let thread = Thread { [self] in run() }
            thread.name = "spacehub-read-\(index)"
            thread.start()
        }
    }

    /// Queues `job`; it runs on a read thread with that thread's connection (nil when it could
    /// not be opened: the store is away). After `stop`, jobs run at once with nil.
    func submit(_ job: @escaping @Sendable (Database?) -> Void) {
        let accepted = queue.withLock { queue -> Bool in
            guard !queue.stopping else { return false }
            queue.jobs.append(job)
            return true
        }
        if accepted { wakeup.signal() } else { job(nil) }
    }

    /// Runs what is queued, then ends the threads; returns when they have ended.
    func stop() {
        queue.withLock { $0.stopping = true }
        for _ in 0..<Self.threadCount { wakeup.signal() }
        for _ in 0..<Self.threadCount { finished.wait() }
    }

    private func run() {
        var database: Database?
        var openAgainAtNs: UInt64 = 0  // after a failed open, reads fail fast for a second
        while true {
            wakeup.wait()
            guard let job = queue.withLock({ queue -> (@Sendable (Database?) -> Void)? in
                guard queue.head < queue.jobs.count else { return nil }
                let job = queue.jobs[queue.head]
                queue.head += 1
                if queue.head == queue.jobs.count {
                    queue.jobs.removeAll(keepingCapacity: true)
                    queue.head = 0
                }
                return job
            }) else {
                if queue.withLock({ $0.stopping }) { break }
                continue
            }
            // Opened on first use and kept; a session the server dropped reconnects on its own.
            if database == nil, DispatchTime.now().uptimeNanoseconds >= openAgainAtNs {
                database = try? Database(location, readOnly: true, busyTimeoutMs: busyTimeoutMs)
                if database == nil { openAgainAtNs = DispatchTime.now().uptimeNanoseconds + 1_000_000_000 }
            }
            job(database)
        }
        database = nil
        finished.signal()
    }
}
