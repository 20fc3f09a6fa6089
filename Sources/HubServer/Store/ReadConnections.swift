import Foundation
import HubStore

/// Read-only store connections for threadpool jobs whose queries are too big for the loop (ICS
/// feeds, the sync reconciliation), on either store. SQLite's WAL lets them read while the
/// writer commits. (PostgreSQL's ordinary reads have threads of their own: `ReadThreads`.)
///
/// A connection is used by one thread at a time: taken from the idle list under the lock,
/// returned after the job. At most `idleMax` are kept; bursts open extra ones and close them.
final class ReadConnections: @unchecked Sendable {  // `idle` is only touched under `lock`
    static let idleMax = 4

    private let location: StoreLocation
    private let busyTimeoutMs: Int
    private let lock = NSLock()
    private var idle: [Database] = []

    init(location: StoreLocation, busyTimeoutMs: Int) {
        self.location = location
        self.busyTimeoutMs = busyTimeoutMs
    }

    /// Runs `body` with a connection on the calling (worker) thread.
    func read<R>(_ body: (Database) throws -> R) throws -> R {
        let database = try take()
        defer { give(database) }
        return try body(database)
    }

    private func take() throws -> Database {
        lock.lock()
        let reused = idle.popLast()
        lock.unlock()
        if let reused { return reused }
        return try Database(location, readOnly: true, busyTimeoutMs: busyTimeoutMs)
    }

    private func give(_ database: Database) {
        lock.lock()
        defer { lock.unlock() }
        if idle.count < Self.idleMax { idle.append(database) }
    }
}
