import CSQLite

/// A failed store call, SQLite's or PostgreSQL's: a SQLite-style result code (PostgreSQL's
/// SQLSTATE is mapped onto the same classes, so callers ask one question whichever store runs),
/// the store's message, PostgreSQL's SQLSTATE when it came from there, and the statement.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public let code: Int32
    public let message: String
    public let sql: String?
    /// PostgreSQL's five-character SQLSTATE (`23P01`, `08006`, …); nil for SQLite.
    public let sqlState: String?

    public init(code: Int32, message: String, sql: String? = nil, sqlState: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
        self.sqlState = sqlState
    }

    /// The primary result code (extended codes carry detail in the upper bits).
    public var primaryCode: Int32 { code & 0xFF }
    public var isConstraintViolation: Bool { primaryCode == SQLITE_CONSTRAINT }
    /// SQLITE_CONSTRAINT_UNIQUE (2067) and SQLITE_CONSTRAINT_PRIMARYKEY (1555): macros Swift cannot import.
    public var isUniqueViolation: Bool { code == 2067 || code == 1555 }
    public var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }
    /// The store refused an overlapping booking itself (PostgreSQL's exclusion constraint or the
    /// seat trigger, SQLSTATE 23P01): the time is taken, whatever the hub's index said.
    public var isOverlapRefused: Bool { code == 2323 }
    /// The store could not be reached or the connection broke (PostgreSQL down, a cut network):
    /// retrying later may succeed; nothing says whether a COMMIT in flight took effect.
    public var isUnavailable: Bool { primaryCode == SQLITE_IOERR || primaryCode == SQLITE_CANTOPEN }

    /// The store cannot be reached (`isUnavailable`), for callers that cannot name SQLite's codes.
    public static func unreachable(_ message: String) -> StoreError {
        StoreError(code: SQLITE_CANTOPEN, message: message)
    }

    public var description: String {
        let origin = sqlState.map { "PostgreSQL error \($0)" } ?? "SQLite error \(code)"
        if let sql { return "\(origin): \(message) [\(sql.prefix(120))]" }
        return "\(origin): \(message)"
    }

    /// The SQLite-style code for a PostgreSQL SQLSTATE (postgresql.org/docs/15/errcodes-appendix.html).
    static func code(sqlState: String) -> Int32 {
        switch sqlState {
        case "23505": 2067  // unique_violation → SQLITE_CONSTRAINT_UNIQUE
        case "23503": 787  // foreign_key_violation → SQLITE_CONSTRAINT_FOREIGNKEY
        case "23514": 275  // check_violation → SQLITE_CONSTRAINT_CHECK
        case "23502": 1299  // not_null_violation → SQLITE_CONSTRAINT_NOTNULL
        case "23P01": 2323  // exclusion_violation (and the seat trigger's refusal): SQLITE_CONSTRAINT | 9 << 8
        case _ where sqlState.hasPrefix("23"): SQLITE_CONSTRAINT
        // lock_not_available, query_canceled (statement/lock timeout), serialization, deadlock
        case "55P03", "57014", "40001", "40P01": SQLITE_BUSY
        // connection exceptions, admin shutdown, cannot connect now, crash shutdown
        case _ where sqlState.hasPrefix("08"), "57P01", "57P02", "57P03": SQLITE_IOERR
        case "53100": SQLITE_FULL  // disk_full
        default: SQLITE_ERROR
        }
    }
}
