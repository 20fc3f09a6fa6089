import CSQLite

/// SQLite's "transient" destructor: bind copies the bytes before returning.
/// (SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import.)
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection, used by one thread at a time (opened `SQLITE_OPEN_NOMUTEX`).
/// Prepared statements are cached by their SQL text and reused. `Database` is its public face.
final class SQLiteConnection {
    let handle: OpaquePointer
    private var statements: [String: Statement] = [:]
    /// Statements prepared per connection at most; the API's queries are a few dozen.
    static let statementCacheMax = 256

    /// `spacehub_sqlite_configure`, once, before the first connection (only this type opens
    /// SQLite, so nothing has initialized the library before).
    private static let configured: Void = {
        let rc = spacehub_sqlite_configure()
        assert(rc == SQLITE_OK, "SQLite was initialized before its configuration (\(rc))")
    }()

    init(path: String, readOnly: Bool, durability: Database.Durability, busyTimeoutMs: Int) throws(StoreError) {
        Self.configured
        var raw: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &raw, flags, nil)
        guard rc == SQLITE_OK, let opened = raw else {
            let message = raw.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(raw)
            throw StoreError(code: rc, message: message, sql: nil)
        }
        handle = opened
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, Int32(busyTimeoutMs))
        do {
            if !readOnly {
                try execute("PRAGMA journal_mode=WAL")
            }
            try execute("PRAGMA foreign_keys=ON")
            switch durability {
            case .full: try execute("PRAGMA synchronous=FULL")
            case .normal: try execute("PRAGMA synchronous=NORMAL")
            case .off: try execute("PRAGMA synchronous=OFF")
            }
        } catch {
            sqlite3_close_v2(handle)
            throw error
        }
    }

    deinit {
        statements.removeAll()  // finalize before closing
        sqlite3_close_v2(handle)
    }

    var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    func error(_ code: Int32, _ sql: String?) -> StoreError {
        StoreError(code: code, message: lastErrorMessage, sql: sql)
    }

    /// A cached prepared statement for `sql`, reset and with its bindings cleared.
    func prepare(_ sql: String) throws(StoreError) -> Statement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard rc == SQLITE_OK, let prepared = raw else { throw error(rc, sql) }
        let statement = Statement(handle: prepared, database: self, sql: sql)
        if statements.count >= Self.statementCacheMax { statements.removeAll() }
        statements[sql] = statement
        return statement
    }

    /// Runs a statement that returns no rows. Returns the number of rows changed.
    @discardableResult
    func execute(_ sql: String, _ parameters: [SQLValue] = []) throws(StoreError) -> Int {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(parameters)
        while try statement.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// Runs several statements separated by semicolons (migrations). No parameters.
    func executeScript(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(message)
            throw StoreError(code: rc, message: text, sql: String(sql.prefix(200)))
        }
    }

    /// Calls `body` with each row of the result, in order; nothing is collected.
    func forEachRow(_ sql: String, _ parameters: [SQLValue], _ body: (Row) throws(StoreError) -> Void) throws(StoreError) {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(parameters)
        while try statement.step() { try body(Row(sqlite: statement.handle)) }
    }

    /// The first row mapped through `transform`, or nil.
    func queryOne<T>(_ sql: String, _ parameters: [SQLValue] = [], _ transform: (Row) throws(StoreError) -> T) throws(StoreError) -> T? {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(parameters)
        guard try statement.step() else { return nil }
        return try transform(Row(sqlite: statement.handle))
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    fileprivate static var transientDestructor: sqlite3_destructor_type { transient }
}

@available(*, unavailable) extension SQLiteConnection: Sendable {}

/// A prepared statement owned by its connection's cache.
final class Statement {
    let handle: OpaquePointer
    private unowned let database: SQLiteConnection
    let sql: String

    init(handle: OpaquePointer, database: SQLiteConnection, sql: String) {
        self.handle = handle
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func bind(_ parameters: [SQLValue]) throws(StoreError) {
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard parameters.count == expected else {
            throw StoreError(code: SQLITE_RANGE, message: "expected \(expected) parameters, got \(parameters.count)", sql: sql)
        }
        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .integer(let number), .instant(let number), .instantMs(let number): rc = sqlite3_bind_int64(handle, index, number)
            case .text(let text):
                var text = text
                rc = text.withUTF8 { utf8 in Self.bindText(utf8, at: index, handle) }
            case .utf8(let bytes):
                rc = bytes.withUnsafeBufferPointer { utf8 in Self.bindText(utf8, at: index, handle) }
            case .blob(let bytes):
                rc = bytes.withUnsafeBytes { raw in
                    sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), SQLiteConnection.transientDestructor)
                }
            }
            guard rc == SQLITE_OK else { throw database.error(rc, sql) }
        }
    }

    /// Binds UTF-8 text with an explicit byte count: text may hold U+0000 (JSON allows
    /// "\u0000"), which a length of -1 would silently cut at.
    private static func bindText(_ utf8: UnsafeBufferPointer<UInt8>, at index: Int32, _ handle: OpaquePointer) -> Int32 {
        // A nil pointer would bind NULL; the empty string must stay an empty string.
        guard let base = utf8.baseAddress, !utf8.isEmpty else {
            return sqlite3_bind_text(handle, index, "", 0, SQLiteConnection.transientDestructor)
        }
        return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) { chars in
            sqlite3_bind_text(handle, index, chars, Int32(utf8.count), SQLiteConnection.transientDestructor)
        }
    }

    /// Advances; true when a row is available.
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error(rc, sql)
        }
    }
}

@available(*, unavailable) extension Statement: Sendable {}

