import CPostgreSQL
import CSQLite
import Dispatch
import Foundation
import HubCore

/// How the hub talks to a PostgreSQL server: the URL and the limits every session sets.
public struct PostgresSettings: Sendable, Equatable {
    /// `postgresql://user:password@host:port/database?…` (libpq's URI form; libpq's own
    /// parameters such as `sslmode` may follow the `?`).
    public var url: String
    /// Seconds to wait for a connection (libpq's `connect_timeout`).
    public var connectTimeoutSeconds = 5
    /// A statement running longer is cancelled (`statement_timeout`): bounds a read on the loop
    /// and a writer group alike.
    public var statementTimeoutMs = 5000
    /// Waiting for a row lock longer fails the statement (`lock_timeout`).
    public var lockTimeoutMs = 2000
    /// A session idle inside a transaction longer is ended by the server, so a frozen hub cannot
    /// hold a space's row lock (`idle_in_transaction_session_timeout`).
    public var idleInTransactionTimeoutMs = 10_000
    /// Unacknowledged data older than this breaks the connection (`tcp_user_timeout`): a cut
    /// network is noticed in seconds, not in the kernel's minutes.
    public var tcpUserTimeoutMs = 10_000
    /// When set, a statement whose answer has not arrived this long after it was sent is given
    /// up on the client side: the session is dropped and the call fails as unavailable. The
    /// server's `statement_timeout` cannot end a wait on a server that has frozen or a network
    /// that drops everything; this does, for the connection the loop thread reads through.
    public var answerTimeoutMs: Int?

    public init(url: String) { self.url = url }

    /// Whether `text` names PostgreSQL (`postgresql://` or `postgres://`).
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// The URL with its password replaced by `***`, for logs and errors.
    public var redactedURL: String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}

/// One PostgreSQL session over libpq, used by one thread at a time. Statements are prepared once
/// per session, named, and cached by their SQL text; parameters travel as text (blobs as binary)
/// and the server infers their types from the statement. `?` and `?N` placeholders (SQLite's)
/// become `$N`.
///
/// A broken session is reopened on the next call, no sooner than a backoff after the last failed
/// attempt (100 ms doubling to 5 s), so a caller on the loop thread pays at most one connect
/// timeout per backoff while the server is down, and otherwise gets `isUnavailable` at once.
final class PostgresConnection {
    let settings: PostgresSettings
    private let readOnly: Bool
    private var connection: OpaquePointer?
    private var statements: [String: String] = [:]
    /// Statements sent in pipeline mode whose answers `sync()` has not read yet, in order.
    private var pipelined: [Pipelined] = []
    private(set) var changes = 0
    private var retryAtNs: UInt64 = 0
    private var backoffMs: UInt64 = 0

    static let statementCacheMax = 256
    /// Statements sent before a pipeline is synced regardless: bounds what either side buffers
    /// (a blocking send of a long pipeline could wait on a server that waits for us to read).
    static let pipelineMax = 64

    private struct Pipelined {
        let sql: String
        let answer: PendingInteger?
    }

    init(settings: PostgresSettings, readOnly: Bool) throws(StoreError) {
        self.settings = settings
        self.readOnly = readOnly
        try connect()
    }

    deinit { PQfinish(connection) }

    private func connect() throws(StoreError) {
        PQfinish(connection)
        connection = nil
        statements.removeAll()
        let pairs: [(String, String)] = [
            ("dbname", settings.url),
            ("connect_timeout", String(settings.connectTimeoutSeconds)),
            ("keepalives", "1"), ("keepalives_idle", "5"), ("keepalives_interval", "2"), ("keepalives_count", "3"),
            ("tcp_user_timeout", String(settings.tcpUserTimeoutMs)),
            ("application_name", "spacehub"),
            ("client_encoding", "UTF8"),
        ]
        var keys: [UnsafePointer<CChar>?] = pairs.map { UnsafePointer(strdup($0.0)) }
        var values: [UnsafePointer<CChar>?] = pairs.map { UnsafePointer(strdup($0.1)) }
        defer { (keys + values).forEach { free(UnsafeMutablePointer(mutating: $0)) } }
        keys.append(nil)
        values.append(nil)
        let opened: OpaquePointer? = try settings.answerTimeoutMs.map { timeout throws(StoreError) in
            try Self.connect(keys, values, timeoutMs: timeout, redacted: settings.redactedURL)
        } ?? PQconnectdbParams(keys, values, 1)
        guard let opened, PQstatus(opened) == CONNECTION_OK else {
            let message = opened.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(opened)
            throw StoreError(code: SQLITE_CANTOPEN, message: "cannot connect to \(settings.redactedURL): \(Self.trimmed(message))",
                             sqlState: "08001")
        }
        connection = opened
        var setup = """
            SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET IntervalStyle = 'iso_8601'; SET client_min_messages = warning;
            SET statement_timeout = \(settings.statementTimeoutMs); SET lock_timeout = \(settings.lockTimeoutMs);
            SET idle_in_transaction_session_timeout = \(settings.idleInTransactionTimeoutMs);
            SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3;
            SET tcp_user_timeout = \(settings.tcpUserTimeoutMs);
            """
        if readOnly { setup += " SET default_transaction_read_only = on;" }
        do {
            try executeScript(setup)
        } catch {
            PQfinish(connection)  // nil already when the wait for an answer gave up on it
            connection = nil
            throw error
        }
    }

    /// libpq's non-blocking connect, given up after `timeoutMs` (the loop's reader: a server that
    /// does not answer must not hold the loop for `connect_timeout`).
    private static func connect(_ keys: [UnsafePointer<CChar>?], _ values: [UnsafePointer<CChar>?], timeoutMs: Int,
                                redacted: String) throws(StoreError) -> OpaquePointer? {
        guard let started = PQconnectStartParams(keys, values, 1) else { return nil }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMs) * 1_000_000
        var state = PGRES_POLLING_WRITING
        while PQstatus(started) != CONNECTION_BAD, state != PGRES_POLLING_OK, state != PGRES_POLLING_FAILED {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else {
                PQfinish(started)
                throw StoreError(code: SQLITE_CANTOPEN, message: "cannot connect to \(redacted): no answer within \(timeoutMs) ms",
                                 sqlState: "08001")
            }
            var descriptor = pollfd(fd: PQsocket(started), events: Int16(state == PGRES_POLLING_READING ? POLLIN : POLLOUT), revents: 0)
            if poll(&descriptor, 1, Int32((deadline - now) / 1_000_000 + 1)) < 0 && errno != EINTR { break }
            state = PQconnectPoll(started)
        }
        return started  // the caller reports CONNECTION_BAD with libpq's message
    }

    /// The open session, reopened if it broke (see the type's note on backoff).
    private func live() throws(StoreError) -> OpaquePointer {
        if let connection, PQstatus(connection) == CONNECTION_OK { return connection }
        // Pipelined statements of an open transaction went with the session: a new one must not
        // go on as if they had run.
        if !pipelined.isEmpty { throw dropBrokenSession(sql: nil) }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now >= retryAtNs else {
            throw Self.lost("PostgreSQL is unreachable (\(settings.redactedURL)); retrying shortly")
        }
        do {
            try connect()
            backoffMs = 0
        } catch {
            backoffMs = min(5000, max(100, backoffMs * 2))
            retryAtNs = DispatchTime.now().uptimeNanoseconds + backoffMs * 1_000_000
            throw error
        }
        return connection!  // connect() succeeded
    }

    /// The server process serving the open session (`PQbackendPID`), nil when none is open. A
    /// `LISTEN` lasts as long as its session: a listener that sees this change listens again.
    var sessionID: Int32? {
        guard let connection, PQstatus(connection) == CONNECTION_OK else { return nil }
        return PQbackendPID(connection)
    }

    /// Waits at most `timeoutMs` for a notification on a channel this session listens to, or
    /// for `wake` (a descriptor another thread writes to) to become readable. Returns the server
    /// processes that sent the notifications that arrived (empty on a timeout or a wake).
    func awaitNotifications(timeoutMs: Int32, wake: Int32) throws(StoreError) -> [Int32] {
        let connection = try live()
        var senders = Self.notifications(connection)
        guard senders.isEmpty else { return senders }
        var descriptors = [pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0),
                           pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        if poll(&descriptors, wake >= 0 ? 2 : 1, timeoutMs) < 0 && errno != EINTR {
            throw Self.lost("waiting for PostgreSQL's notifications failed (errno \(errno))")
        }
        guard descriptors[0].revents != 0 else { return [] }
        // The session broke: the next call reconnects (after the backoff), and the caller listens again.
        if PQconsumeInput(connection) == 0 { throw Self.lost("the listening session broke: \(Self.errorMessage(connection))") }
        senders = Self.notifications(connection)
        return senders
    }

    private static func notifications(_ connection: OpaquePointer) -> [Int32] {
        var senders: [Int32] = []
        while let notification = PQnotifies(connection) {
            senders.append(notification.pointee.be_pid)
            PQfreemem(notification)
        }
        return senders
    }

    var isInTransaction: Bool {
        guard let connection else { return false }
        let status = PQtransactionStatus(connection)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// Runs several statements separated by semicolons (migrations, session setup). No parameters.
    func executeScript(_ sql: String) throws(StoreError) {
        try sync()
        guard let connection else { throw StoreError(code: SQLITE_IOERR, message: "no connection", sqlState: "08003") }
        let result = try answer(connection, sql: String(sql.prefix(200))) { PQsendQuery(connection, sql) }
        defer { PQclear(result) }
        try check(result, sql: String(sql.prefix(200)))
    }

    /// Runs `sql` (prepared once per session) with `parameters`; the caller owns the result.
    func run(_ sql: String, _ parameters: [SQLValue]) throws(StoreError) -> OpaquePointer {
        try sync()
        let connection = try live()
        let name = try prepared(sql, connection)
        let result = try answer(connection, sql: sql) {
            Self.withParameters(parameters) { count, values, lengths, formats in
                PQsendQueryPrepared(connection, name, count, values, lengths, formats, 0)
            }
        }
        do {
            try check(result, sql: sql)
        } catch {
            PQclear(result)
            throw error
        }
        changes = Int(String(cString: PQcmdTuples(result))) ?? 0
        return result!  // check() throws on nil
    }

    /// Calls `body` with `parameters` as libpq takes them: every value in one buffer, each
    /// followed by a NUL (libpq reads text up to it; blobs go by their length, in binary); null
    /// is no pointer at all.
    private static func withParameters(
        _ parameters: [SQLValue],
        _ body: (Int32, [UnsafePointer<CChar>?], [Int32], [Int32]) -> Int32
    ) -> Int32 {
        let count = parameters.count
        var arena: [UInt8] = []
        var offsets = [Int?](repeating: nil, count: count)
        var lengths = [Int32](repeating: 0, count: count)
        var formats = [Int32](repeating: 0, count: count)
        for (index, parameter) in parameters.enumerated() {
            let start = arena.count
            switch parameter {
            case .null: continue
            case .integer(let number): arena += String(number).utf8
            case .instant(let seconds): arena += PostgresTime.text(seconds).utf8
            case .instantMs(let milliseconds): arena += PostgresTime.text(milliseconds: milliseconds).utf8
            case .text(let text): arena += text.utf8
            case .utf8(let bytes): arena += bytes
            case .blob(let blob):
                arena += blob
                formats[index] = 1
            }
            offsets[index] = start
            lengths[index] = Int32(arena.count - start)
            arena.append(0)
        }
        return arena.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                body(Int32(count), offsets.map { offset in offset.map { UnsafePointer(chars.baseAddress! + $0) } }, lengths, formats)
            }
        }
    }

    /// Sends `sql` (prepared once per session) with `parameters` in libpq's pipeline mode,
    /// without waiting for its answer: the answer is read by `sync()`, which the next statement
    /// that waits for one calls first. An error of a pipelined statement is thrown by that
    /// `sync()`; the statements after it in the pipeline are not run. `answer`, when given,
    /// receives the first column of the first row.
    func send(_ sql: String, _ parameters: [SQLValue], answer: PendingInteger?) throws(StoreError) {
        // Preparing waits for an answer, which pipeline mode does not allow.
        if pipelined.count >= Self.pipelineMax || (statements[sql] == nil && !pipelined.isEmpty) { try sync() }
        let connection = try live()
        let name = try prepared(sql, connection)
        if pipelined.isEmpty, PQenterPipelineMode(connection) != 1 {
            throw Self.lost(Self.errorMessage(connection), sql: sql)
        }
        let sent = Self.withParameters(parameters) { count, values, lengths, formats in
            PQsendQueryPrepared(connection, name, count, values, lengths, formats, 0)
        }
        guard sent == 1 else {
            let error = Self.lost(Self.errorMessage(connection), sql: sql)
            if pipelined.isEmpty {
                PQexitPipelineMode(connection)  // entered for this statement alone: nothing to read
            } else {
                try sync()  // an earlier statement's error explains it better, when there is one
            }
            throw error
        }
        pipelined.append(Pipelined(sql: sql, answer: answer))
    }

    /// Reads the answers of every pipelined statement and leaves pipeline mode; throws the first
    /// statement error among them. A session that broke meanwhile is dropped (the server rolled
    /// its transaction back) and the call fails as unavailable.
    func sync() throws(StoreError) {
        guard !pipelined.isEmpty else { return }
        let batch = pipelined
        pipelined.removeAll(keepingCapacity: true)
        guard let connection, PQstatus(connection) == CONNECTION_OK, PQpipelineSync(connection) == 1 else {
            throw dropBrokenSession(sql: batch.first?.sql)
        }
        let deadline = settings.answerTimeoutMs.map { DispatchTime.now().uptimeNanoseconds + UInt64($0) * 1_000_000 }
        var failure: StoreError?
        for entry in batch {
            while let result = try nextResult(connection, deadline: deadline, sql: entry.sql, partial: nil) {
                defer { PQclear(result) }
                switch PQresultStatus(result) {
                case PGRES_PIPELINE_ABORTED: continue  // after the failure already kept
                case PGRES_TUPLES_OK:
                    if let answer = entry.answer, PQntuples(result) > 0, PQgetisnull(result, 0, 0) == 0 {
                        answer.value = Row(postgres: result, row: 0).int64(0)
                    }
                default:
                    do { try check(result, sql: entry.sql) } catch { failure = failure ?? error }
                }
            }
            if PQstatus(connection) != CONNECTION_OK { throw dropBrokenSession(sql: entry.sql) }
        }
        // The sync point's own result (PGRES_PIPELINE_SYNC); then the session is idle again.
        PQclear(try nextResult(connection, deadline: deadline, sql: "SYNC", partial: nil))
        guard PQstatus(connection) == CONNECTION_OK, PQexitPipelineMode(connection) == 1 else {
            throw dropBrokenSession(sql: batch.last?.sql)
        }
        if let failure { throw failure }
    }

    private func dropBrokenSession(sql: String?) -> StoreError {
        let message = connection.map(Self.errorMessage) ?? ""
        PQfinish(connection)
        connection = nil
        statements.removeAll()
        pipelined.removeAll()
        return Self.lost("the PostgreSQL session broke under pipelined statements: \(message)", sql: sql)
    }

    /// The session is gone or cannot be used (SQLSTATE 08006): `isUnavailable`.
    private static func lost(_ message: String, sql: String? = nil) -> StoreError {
        StoreError(code: SQLITE_IOERR, message: message, sql: sql, sqlState: "08006")
    }

    private static func errorMessage(_ connection: OpaquePointer) -> String {
        trimmed(String(cString: PQerrorMessage(connection)))
    }

    /// `run` for a query, where a value that is not of its column's type (`not-a-uuid` for a
    /// uuid id, from a mistyped URL) matches no row, as it would in SQLite's text column: nil
    /// instead of an error. Inside a transaction the error stands (it has aborted the transaction).
    func runLookup(_ sql: String, _ parameters: [SQLValue]) throws(StoreError) -> OpaquePointer? {
        do {
            return try run(sql, parameters)
        } catch where error.sqlState == "22P02" && !isInTransaction {
            return nil
        }
    }

    private func prepared(_ sql: String, _ connection: OpaquePointer) throws(StoreError) -> String {
        if let name = statements[sql] { return name }
        if statements.count >= Self.statementCacheMax {
            PQclear(try answer(connection, sql: "DEALLOCATE ALL") { PQsendQuery(connection, "DEALLOCATE ALL") })
            statements.removeAll()
        }
        let name = "s\(statements.count)"
        let result = try answer(connection, sql: sql) { PQsendPrepare(connection, name, Self.numberedPlaceholders(sql), 0, nil) }
        defer { PQclear(result) }
        try check(result, sql: sql)
        statements[sql] = name
        return name
    }

    /// Sends with `send` (a `PQsend…` call) and waits for the statement's result, at most
    /// `answerTimeoutMs` when set: past it the session is dropped (a query is in flight on it)
    /// and the call fails as unavailable; the next call reconnects, after the backoff.
    private func answer(_ connection: OpaquePointer, sql: String, _ send: () -> Int32) throws(StoreError) -> OpaquePointer? {
        guard send() == 1 else { return nil }  // check() reports the connection's error
        let deadline = settings.answerTimeoutMs.map { DispatchTime.now().uptimeNanoseconds + UInt64($0) * 1_000_000 }
        var last: OpaquePointer?
        while let result = try nextResult(connection, deadline: deadline, sql: sql, partial: last) {
            if let previous = last {
                // One statement gives one result; keep an error over a later one.
                if PQresultStatus(previous) == PGRES_FATAL_ERROR {
                    PQclear(result)
                    continue
                }
                PQclear(previous)
            }
            last = result
        }
        return last
    }

    /// The next result, once libpq has it (nil at the end of a statement's results), waiting for
    /// the socket until `deadline` at most: past it the session is abandoned (`partial`, a result
    /// the caller holds, is freed with it).
    private func nextResult(_ connection: OpaquePointer, deadline: UInt64?, sql: String,
                            partial: OpaquePointer?) throws(StoreError) -> OpaquePointer? {
        while PQisBusy(connection) == 1 {
            var wait: Int32 = -1
            if let deadline {
                let now = DispatchTime.now().uptimeNanoseconds
                guard now < deadline else { throw abandon(sql: sql, partial) }
                wait = Int32(min(UInt64(Int32.max), (deadline - now) / 1_000_000 + 1))
            }
            var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0)
            // A failed poll leaves the answer unread: PQgetResult would block for it.
            if poll(&descriptor, 1, wait) < 0 && errno != EINTR { throw abandon(sql: sql, partial) }
            if PQconsumeInput(connection) == 0 { break }  // the connection broke: PQgetResult says so
        }
        return PQgetResult(connection)
    }

    private func abandon(sql: String, _ partial: OpaquePointer?) -> StoreError {
        PQclear(partial)
        PQfinish(connection)
        connection = nil
        statements.removeAll()
        pipelined.removeAll()
        backoffMs = max(100, backoffMs)
        retryAtNs = DispatchTime.now().uptimeNanoseconds + backoffMs * 1_000_000
        let why = settings.answerTimeoutMs.map { "PostgreSQL did not answer within \($0) ms" } ?? "waiting for PostgreSQL failed"
        return Self.lost("\(why); the session was dropped", sql: sql)
    }

    private func check(_ result: OpaquePointer?, sql: String) throws(StoreError) {
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY { return }
        var sqlState = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
        let message = result.map { String(cString: PQresultErrorMessage($0)) } ?? connection.map { String(cString: PQerrorMessage($0)) } ?? ""
        if connection.map({ PQstatus($0) != CONNECTION_OK }) ?? true {
            sqlState = sqlState ?? "08006"  // the session broke under the statement
        }
        let state = sqlState ?? "XX000"
        throw StoreError(code: StoreError.code(sqlState: state), message: Self.trimmed(message), sql: sql, sqlState: state)
    }

    private static func trimmed(_ message: String) -> String { message.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// SQLite's placeholders in PostgreSQL's spelling: `?N` becomes `$N`, a bare `?` the next
    /// number. Quoted text ('…', "…") is copied untouched.
    static func numberedPlaceholders(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var next = 0
        var quote: Character?
        var characters = sql.makeIterator()
        var pending: Character? = characters.next()
        while let character = pending {
            pending = characters.next()
            if let open = quote {
                output.append(character)
                if character == open { quote = nil }
                continue
            }
            if character == "'" || character == "\"" {
                quote = character
                output.append(character)
                continue
            }
            guard character == "?" else {
                output.append(character)
                continue
            }
            var digits = ""
            while let digit = pending, digit.isASCII, digit.isNumber {
                digits.append(digit)
                pending = characters.next()
            }
            if digits.isEmpty {
                next += 1
                digits = String(next)
            }
            output += "$" + digits
        }
        return output
    }
}

@available(*, unavailable) extension PostgresConnection: Sendable {}

/// `timestamptz` text both ways, in UTC with whole seconds (the hub's instants).
enum PostgresTime {
    /// `2026-12-07 00:42:53.250+00` for Unix milliseconds.
    static func text(milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let fraction = milliseconds - seconds * 1000
        let digits = String(fraction)
        return String(text(seconds).dropLast(3)) + "." + String(repeating: "0", count: 3 - digits.count) + digits + "+00"
    }

    /// `2026-12-07 00:42:53+00` for Unix seconds.
    static func text(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = seconds - days * 86_400
        let date = LocalDate(daysSinceEpoch: days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : String(value) }
        return "\(date) \(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))+00"
    }

    /// Unix seconds for PostgreSQL's ISO output (`2026-12-07 00:42:53[.123456]+00[:30]`); the
    /// fraction is dropped (floor). Nil for text that is not such an instant (`infinity`).
    static func seconds(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        milliseconds(bytes).map { $0 >= 0 ? $0 / 1000 : ($0 - 999) / 1000 }
    }

    /// Unix milliseconds for PostgreSQL's ISO output; digits past the millisecond are dropped.
    static func milliseconds(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        func number(_ width: Int) -> Int64? {
            guard index + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for offset in index..<(index + width) {
                let digit = bytes[offset] &- 0x30
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            index += width
            return value
        }
        func skip(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        guard let year = number(4), skip(0x2D), let month = number(2), skip(0x2D), let day = number(2), skip(0x20),
              let hour = number(2), skip(0x3A), let minute = number(2), skip(0x3A), let second = number(2),
              let date = LocalDate(year: Int(year), month: Int(month), day: Int(day))
        else { return nil }
        var fraction: Int64 = 0
        if skip(0x2E) {
            var scale: Int64 = 100
            while index < bytes.count, bytes[index] &- 0x30 < 10 {
                fraction += Int64(bytes[index] &- 0x30) * scale
                scale /= 10
                index += 1
            }
        }
        var offset: Int64 = 0
        if index < bytes.count {
            let sign: Int64 = bytes[index] == 0x2D ? -1 : 1
            index += 1
            guard let hours = number(2) else { return nil }
            var minutes: Int64 = 0
            if skip(0x3A), let value = number(2) { minutes = value }
            offset = sign * (hours * 3600 + minutes * 60)
        }
        return (date.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second - offset) * 1000 + fraction
    }
}
