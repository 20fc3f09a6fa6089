import CPostgreSQL
import CSQLite
import Glibc

/// Where the hub's data lives: a SQLite file (the embedded default) or a PostgreSQL server.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresSettings)

    public var dialect: Database.Dialect {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }

    /// The location for logs: a path, or the URL without its password.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let settings): settings.redactedURL
        }
    }
}

/// One connection to the store, SQLite's or PostgreSQL's, used by one thread at a time. The
/// tables speak to it in one SQL: SQLite's `?`/`?N` placeholders (rewritten for PostgreSQL),
/// `ON CONFLICT`, `RETURNING`, `LIMIT/OFFSET`; where the dialects differ a table asks `dialect`.
/// Instants are bound as `.instant` (an integer for SQLite, `timestamptz` for PostgreSQL) and read
/// back with `Row.int64` either way.
///
/// ```swift
/// let db = try Database(path: "var/spacehub.sqlite")
/// try db.execute("UPDATE bookings SET status = ? WHERE id = ?", ["cancelled", .text(id)])
/// let names = try db.query("SELECT name FROM event_spaces") { row in row.string(0) }
/// ```
public final class Database {
    public enum Durability: String, Sendable {
        /// WAL + `synchronous=FULL`: the WAL is fsynced on every commit; survives power loss.
        case full
        /// WAL + `synchronous=NORMAL`: survives a process crash (kill -9), not power loss.
        case normal
        /// No syncing at all: tests and benchmarks that do not measure durability.
        case off
    }

    public enum Dialect: Sendable {
        case sqlite
        case postgres
    }

    private enum Engine {
        case sqlite(SQLiteConnection)
        case postgres(PostgresConnection)
    }

    private let engine: Engine
    public let location: StoreLocation

    /// Opens the SQLite database at `path`.
    public convenience init(path: String, readOnly: Bool = false, durability: Durability = .full,
                            busyTimeoutMs: Int = 5000) throws(StoreError) {
        try self.init(.sqlite(path: path), readOnly: readOnly, durability: durability, busyTimeoutMs: busyTimeoutMs)
    }

    /// Opens a connection to `location`. `durability` and `busyTimeoutMs` are SQLite's; a
    /// PostgreSQL session takes its limits from its settings (the server decides durability).
    public init(_ location: StoreLocation, readOnly: Bool = false, durability: Durability = .full,
                busyTimeoutMs: Int = 5000) throws(StoreError) {
        self.location = location
        switch location {
        case .sqlite(let path):
            engine = .sqlite(try SQLiteConnection(path: path, readOnly: readOnly, durability: durability, busyTimeoutMs: busyTimeoutMs))
        case .postgres(let settings):
            engine = .postgres(try PostgresConnection(settings: settings, readOnly: readOnly))
        }
    }

    public var dialect: Dialect { location.dialect }

    /// Runs a statement that returns no rows. Returns the number of rows changed.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [SQLValue] = []) throws(StoreError) -> Int {
        switch engine {
        case .sqlite(let connection): return try connection.execute(sql, parameters)
        case .postgres(let connection):
            PQclear(try connection.run(sql, parameters))
            return connection.changes
        }
    }

    /// Runs a statement whose answer the caller does not wait for. SQLite runs it at once.
    /// PostgreSQL sends it in a pipeline with the statements around it (one round trip for many,
    /// instead of one each): its error, if any, is thrown by `sync()`, which every statement
    /// that waits for an answer (`execute`, `query`, COMMIT) calls first. A caller that must
    /// know which statement failed calls `sync()` itself.
    public func send(_ sql: String, _ parameters: [SQLValue] = []) throws(StoreError) {
        switch engine {
        case .sqlite(let connection): try connection.execute(sql, parameters)
        case .postgres(let connection): try connection.send(sql, parameters, answer: nil)
        }
    }

    /// `send` for a statement that answers one integer (`RETURNING seq`): the integer is in the
    /// returned value once the pipeline is synced (at once on SQLite).
    public func sendScalar(_ sql: String, _ parameters: [SQLValue] = []) throws(StoreError) -> PendingInteger {
        let pending = PendingInteger()
        switch engine {
        case .sqlite: pending.value = try scalar(sql, parameters)
        case .postgres(let connection): try connection.send(sql, parameters, answer: pending)
        }
        return pending
    }

    /// Waits for the answers of every statement `send` sent; throws the first error among them.
    public func sync() throws(StoreError) {
        if case .postgres(let connection) = engine { try connection.sync() }
    }

    /// Rolls back (`ROLLBACK`, or `ROLLBACK TO name`) after a failure: the answers of statements
    /// still pipelined are read and dropped first (the failure being undone explains them).
    public func rollback(_ statement: String = "ROLLBACK") throws(StoreError) {
        if case .postgres(let connection) = engine { try? connection.sync() }
        try execute(statement)
    }

    /// PostgreSQL: the server process of the open session (nil when none is open, and on SQLite).
    public var sessionID: Int32? {
        if case .postgres(let connection) = engine { return connection.sessionID }
        return nil
    }

    /// PostgreSQL: waits at most `timeoutMs` for a notification on a channel this session
    /// listens to (`LISTEN`), or for `wake` to become readable; returns the sessions that sent
    /// the notifications received. SQLite has no notifications: it waits for `wake` or the time.
    public func awaitNotifications(timeoutMs: Int, wake: Int32) throws(StoreError) -> [Int32] {
        let timeout = Int32(clamping: timeoutMs)
        switch engine {
        case .postgres(let connection):
            return try connection.awaitNotifications(timeoutMs: timeout, wake: wake)
        case .sqlite:
            var descriptor = pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, timeout)
            return []
        }
    }

    /// Runs several statements separated by semicolons (migrations). No parameters.
    public func executeScript(_ sql: String) throws(StoreError) {
        switch engine {
        case .sqlite(let connection): try connection.executeScript(sql)
        case .postgres(let connection): try connection.executeScript(sql)
        }
    }

    /// Maps every row through `transform`. `expectedRows` reserves room up front (large results:
    /// growing an array of a million rows by doubling copies and page-faults it several times).
    public func query<T>(_ sql: String, _ parameters: [SQLValue] = [], expectedRows: Int = 0,
                         _ transform: (Row) throws(StoreError) -> T) throws(StoreError) -> [T] {
        var rows: [T] = []
        rows.reserveCapacity(expectedRows)
        try forEachRow(sql, parameters) { row throws(StoreError) in rows.append(try transform(row)) }
        return rows
    }

    /// Calls `body` with each row of the result, in order; nothing is collected (a row is valid
    /// only during its call).
    public func forEachRow(_ sql: String, _ parameters: [SQLValue] = [], _ body: (Row) throws(StoreError) -> Void) throws(StoreError) {
        switch engine {
        case .sqlite(let connection):
            try connection.forEachRow(sql, parameters, body)
        case .postgres(let connection):
            guard let result = try connection.runLookup(sql, parameters) else { return }
            defer { PQclear(result) }
            for index in 0..<PQntuples(result) { try body(Row(postgres: result, row: index)) }
        }
    }

    /// The first row mapped through `transform`, or nil.
    public func queryOne<T>(_ sql: String, _ parameters: [SQLValue] = [], _ transform: (Row) throws(StoreError) -> T) throws(StoreError) -> T? {
        switch engine {
        case .sqlite(let connection): return try connection.queryOne(sql, parameters, transform)
        case .postgres(let connection):
            guard let result = try connection.runLookup(sql, parameters) else { return nil }
            defer { PQclear(result) }
            guard PQntuples(result) > 0 else { return nil }
            return try transform(Row(postgres: result, row: 0))
        }
    }

    /// A single integer (COUNT, MAX, …); nil when there is no row or it is NULL.
    public func scalar(_ sql: String, _ parameters: [SQLValue] = []) throws(StoreError) -> Int64? {
        try queryOne(sql, parameters) { row in row.isNull(0) ? nil : row.int64(0) } ?? nil
    }

    /// Rows changed by the latest statement.
    public var changes: Int {
        switch engine {
        case .sqlite(let connection): connection.changes
        case .postgres(let connection): connection.changes
        }
    }

    public var isInTransaction: Bool {
        switch engine {
        case .sqlite(let connection): connection.isInTransaction
        case .postgres(let connection): connection.isInTransaction
        }
    }

    /// The statement opening a write transaction: SQLite takes its write lock up front
    /// (`BEGIN IMMEDIATE`); PostgreSQL locks rows as it goes.
    public var beginWrite: String {
        switch dialect {
        case .sqlite: "BEGIN IMMEDIATE"
        case .postgres: "BEGIN"
        }
    }

    /// SQL for an instant column's Unix seconds (SQLite stores them; PostgreSQL's `timestamptz`
    /// is converted), for expressions that build text from one.
    public func epochSeconds(_ column: String) -> String {
        switch dialect {
        case .sqlite: column
        case .postgres: "CAST(EXTRACT(EPOCH FROM \(column)) AS bigint)"
        }
    }

    /// Runs `body` in a write transaction.
    public func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute(beginWrite)
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if isInTransaction { _ = try? rollback() }
            throw error
        }
    }
}

@available(*, unavailable) extension Database: Sendable {}

/// An integer a statement answers once its pipeline is synced (`Database.sendScalar`). Written
/// on the thread that owns the connection, before the transaction commits; read by whoever the
/// commit's completion reaches (after the writer's hand-off, a happens-before edge).
public final class PendingInteger: @unchecked Sendable {
    /// Nil until the answer was read, or when the statement answered no row or NULL.
    public internal(set) var value: Int64?

    init() {}
}

/// The current row of a result, valid only inside the `query` closure. Instants read with
/// `int64` whichever the store: PostgreSQL's `timestamptz` comes back as Unix seconds.
public struct Row {
    private enum Source {
        case sqlite(OpaquePointer)
        case postgres(OpaquePointer, Int32)
    }

    private let source: Source

    init(sqlite statement: OpaquePointer) { source = .sqlite(statement) }
    init(postgres result: OpaquePointer, row: Int32) { source = .postgres(result, row) }

    /// PostgreSQL type OIDs (pg_type.dat) the row converts.
    private static let boolOID: Oid = 16
    private static let timestamptzOID: Oid = 1184

    public func isNull(_ column: Int32) -> Bool {
        switch source {
        case .sqlite(let statement): sqlite3_column_type(statement, column) == SQLITE_NULL
        case .postgres(let result, let row): PQgetisnull(result, row, column) == 1
        }
    }

    public func int64(_ column: Int32) -> Int64 {
        switch source {
        case .sqlite(let statement): return sqlite3_column_int64(statement, column)
        case .postgres(let result, let row):
            let bytes = pgBytes(result, row, column)
            switch PQftype(result, column) {
            case Self.timestamptzOID: return PostgresTime.seconds(bytes) ?? 0
            case Self.boolOID: return bytes.first == UInt8(ascii: "t") ? 1 : 0
            default:
                var value: Int64 = 0
                var negative = false
                for byte in bytes {
                    if byte == UInt8(ascii: "-") { negative = true; continue }
                    let digit = byte &- 0x30
                    guard digit < 10 else { break }  // numeric's fraction: truncated
                    value = value &* 10 &+ Int64(digit)
                }
                return negative ? -value : value
            }
        }
    }

    /// An instant column in Unix milliseconds (`.instantMs`): SQLite's integer, PostgreSQL's
    /// `timestamptz` with its fraction.
    public func milliseconds(_ column: Int32) -> Int64 {
        switch source {
        case .sqlite(let statement): return sqlite3_column_int64(statement, column)
        case .postgres(let result, let row):
            guard PQftype(result, column) == Self.timestamptzOID else { return int64(column) }
            return PostgresTime.milliseconds(pgBytes(result, row, column)) ?? 0
        }
    }

    public func int(_ column: Int32) -> Int { Int(int64(column)) }

    /// The column as a parameter value, by the type the store reports (copying rows between
    /// stores): SQLite's integer, text, blob or null; PostgreSQL's text form or null.
    public func value(_ column: Int32) -> SQLValue {
        if isNull(column) { return .null }
        switch source {
        case .sqlite(let statement):
            switch sqlite3_column_type(statement, column) {
            case SQLITE_INTEGER: return .integer(int64(column))
            case SQLITE_BLOB: return .blob(blob(column))
            default: return .text(string(column))
            }
        case .postgres: return .text(string(column))
        }
    }
    public func bool(_ column: Int32) -> Bool { int64(column) != 0 }

    public func string(_ column: Int32) -> String {
        String(decoding: bytes(column), as: UTF8.self)
    }

    /// The column's text, shared with the rows before it that held the same (`StringInterner`).
    public func string(_ column: Int32, interning strings: StringInterner?) -> String {
        guard let strings else { return string(column) }
        return strings.string(bytes(column))
    }

    public func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }

    /// Whether the column's text is exactly `expected`, compared in place (no String is made).
    public func text(_ column: Int32, equals expected: String) -> Bool {
        Self.equal(bytes(column), expected)
    }

    /// The case whose raw value is the column's text, found without making a String (enum
    /// columns of large scans, such as the start-up read of every booking).
    public func value<E: RawRepresentable & CaseIterable>(_ column: Int32, as type: E.Type) -> E? where E.RawValue == String {
        let text = bytes(column)
        return E.allCases.first { Self.equal(text, $0.rawValue) }
    }

    /// The column's text as the store holds it: valid until the row is stepped past.
    private func bytes(_ column: Int32) -> UnsafeBufferPointer<UInt8> {
        switch source {
        case .sqlite(let statement):
            // Text first, then its length: the order SQLite's documentation asks for.
            guard let text = sqlite3_column_text(statement, column) else { return UnsafeBufferPointer(start: nil, count: 0) }
            return UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, column)))
        case .postgres(let result, let row):
            return pgBytes(result, row, column)
        }
    }

    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ expected: String) -> Bool {
        var expected = expected
        return expected.withUTF8 { $0.count == bytes.count && ($0.isEmpty || memcmp($0.baseAddress!, bytes.baseAddress!, $0.count) == 0) }
    }

    public func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    public func blob(_ column: Int32) -> [UInt8] {
        switch source {
        case .sqlite(let statement):
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
            return Array(UnsafeRawBufferPointer(start: bytes, count: count))
        case .postgres(let result, let row):
            // bytea in text form (`\x` and hex), decoded by libpq.
            guard let text = PQgetvalue(result, row, column) else { return [] }
            var length = 0
            guard let decoded = text.withMemoryRebound(to: UInt8.self, capacity: 1, { PQunescapeBytea($0, &length) }) else { return [] }
            defer { PQfreemem(decoded) }
            return Array(UnsafeBufferPointer(start: decoded, count: length))
        }
    }

    private func pgBytes(_ result: OpaquePointer, _ row: Int32, _ column: Int32) -> UnsafeBufferPointer<UInt8> {
        let count = Int(PQgetlength(result, row, column))
        return PQgetvalue(result, row, column).withMemoryRebound(to: UInt8.self, capacity: count) {
            UnsafeBufferPointer(start: $0, count: count)
        }
    }
}
