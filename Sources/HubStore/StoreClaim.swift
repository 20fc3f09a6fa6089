import CSQLite
import Dispatch
import Foundation

/// One hub per PostgreSQL database, as one per SQLite file (`DatabaseFiles.Lock`): a
/// session-level advisory lock held on a connection of its own for the hub's life. The server
/// releases it when that session ends, however the hub ended (kill -9 included: the connection
/// drops). Several hubs sharing one database is the next step; until it exists, a second hub is
/// refused rather than allowed to decide bookings from an index the first one does not see.
public final class StoreClaim {
    private let database: Database

    /// Claims the database at `location` (PostgreSQL), or throws naming the session that holds
    /// it. Tries for up to `waitMs` first: the session of a hub killed a moment ago ends when the
    /// server notices its connection closed, which takes a moment.
    public init(_ location: StoreLocation, waitMs: Int = 5000) throws(StoreError) {
        database = try Database(location)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(waitMs) * 1_000_000
        func claimed() throws(StoreError) -> Bool {
            try database.scalar("SELECT CASE WHEN pg_try_advisory_lock(?) THEN 1 ELSE 0 END", [.integer(AdvisoryLock.hub)]) == 1
        }
        var won = try claimed()
        while !won, DispatchTime.now().uptimeNanoseconds < deadline {
            usleep(100_000)
            won = try claimed()
        }
        guard won else {
            let holder = try database.queryOne("""
                SELECT a.pid, COALESCE(host(a.client_addr), 'a local socket'), a.application_name
                FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.objid = ? AND l.granted
                """, [.integer(AdvisoryLock.hub)]) { "PostgreSQL session \($0.int64(0)) from \($0.string(1)) (\($0.string(2)))" }
            throw StoreError(code: SQLITE_BUSY, message: "another hub is serving \(location) (\(holder ?? "a session")); "
                             + "one hub per database until several can share one")
        }
    }
}

@available(*, unavailable) extension StoreClaim: Sendable {}
