import CSQLite
import Dispatch
import HubCore
import Synchronization

/// Rows of `bookings`.
public enum BookingTable {
    static let columns = """
        id, user_id, booking_type, space_id, space_name, starts_at, ends_at, time_zone, duration, amount_minor, currency,
        status, payment_status, hold_expires_at, special_requests, payment_reference, refund_due, cancel_reason,
        created_at, updated_at, version
        """

    static func decode(_ row: Row) -> Booking { decode(row, strings: nil) }

    /// `strings` shares the text of the columns many bookings repeat (member, space, its name,
    /// the duration) among them: the start-up read of a million bookings.
    static func decode(_ row: Row, strings: StringInterner?) -> Booking {
        let zone = row.text(7, equals: Zone.defaultIdentifier) ? .lagos : Zone(row.string(7)) ?? .lagos
        return Booking(
            id: row.string(0), userID: row.string(1, interning: strings), kind: row.value(2, as: SpaceKind.self) ?? .event,
            spaceID: row.string(3, interning: strings), spaceName: row.string(4, interning: strings),
            range: Interval(start: row.int64(5), end: row.int64(6)),  // CHECK (ends_at > starts_at)
            zone: zone, durationLabel: row.string(8, interning: strings),
            amount: Money(minorUnits: row.int64(9), currency: Currency.supported.first { row.text(10, equals: $0.code) } ?? .ngn),
            status: row.value(11, as: BookingStatus.self) ?? .pending,
            paymentState: row.value(12, as: PaymentState.self) ?? .pending,
            holdExpiresAt: row.optionalInt64(13), specialRequests: row.optionalString(14),
            paymentReference: row.optionalString(15), refundDue: row.bool(16), cancelReason: row.optionalString(17),
            createdAt: row.int64(18), updatedAt: row.int64(19), version: row.int(20))
    }

    /// Built once: the statement cache is keyed by this text, hashed on every insert.
    static let insertSQL = """
        INSERT INTO bookings (\(columns), booking_date)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    public static func insert(_ booking: Booking, _ db: Database) throws(StoreError) {
        try db.execute(insertSQL, insertValues(booking))
    }

    /// `insert` without waiting for the answer (`Database.send`): a refusal (an overlap, a seat
    /// too many) is thrown by the next statement that waits, or by `db.sync()`.
    public static func send(insertOf booking: Booking, _ db: Database) throws(StoreError) {
        try db.send(insertSQL, insertValues(booking))
    }

    private static func insertValues(_ booking: Booking) -> [SQLValue] {
        values(booking) + [.text(booking.localDate.description)]
    }

    /// Writes every mutable column of `booking`. Fails (returns false) when the row's version
    /// is not `booking.version - 1`: a concurrent change we did not see.
    @discardableResult
    public static func update(_ booking: Booking, _ db: Database) throws(StoreError) -> Bool {
        try db.execute("""
            UPDATE bookings SET starts_at = ?, ends_at = ?, booking_date = ?, duration = ?, amount_minor = ?, status = ?,
                payment_status = ?, hold_expires_at = ?, special_requests = ?, payment_reference = ?, refund_due = ?,
                cancel_reason = ?, updated_at = ?, version = ?
            WHERE id = ? AND version = ?
            """, [
                .instant(booking.range.start), .instant(booking.range.end), .text(booking.localDate.description),
                .text(booking.durationLabel), .integer(booking.amount.minorUnits), .text(booking.status.rawValue),
                .text(booking.paymentState.rawValue), .optionalInstant(booking.holdExpiresAt), .optional(booking.specialRequests),
                .optional(booking.paymentReference), .bool(booking.refundDue), .optional(booking.cancelReason),
                .instant(booking.updatedAt), .int(booking.version), .text(booking.id), .int(booking.version - 1),
            ]) == 1
    }

    private static func values(_ booking: Booking) -> [SQLValue] {
        [
            .text(booking.id), .text(booking.userID), .text(booking.kind.rawValue), .text(booking.spaceID),
            .text(booking.spaceName), .instant(booking.range.start), .instant(booking.range.end),
            .text(booking.zone.identifier), .text(booking.durationLabel), .integer(booking.amount.minorUnits),
            .text(booking.amount.currency.code), .text(booking.status.rawValue), .text(booking.paymentState.rawValue),
            .optionalInstant(booking.holdExpiresAt), .optional(booking.specialRequests), .optional(booking.paymentReference),
            .bool(booking.refundDue), .optional(booking.cancelReason), .instant(booking.createdAt),
            .instant(booking.updatedAt), .int(booking.version),
        ]
    }

    public static func find(_ id: String, _ db: Database) throws(StoreError) -> Booking? {
        try db.queryOne("SELECT \(columns) FROM bookings WHERE id = ?", [.text(id)], decode)
    }

    /// A member's bookings, newest first; `status` filters when given. `created_at` has whole
    /// seconds and ids are random within one, so ties go by `rowid`: insertion (commit) order.
    /// The bookings with these ids (those that exist), in one statement: the ids travel as one
    /// JSON array, so the statement is prepared once whatever their number.
    public static func find(ids: [String], _ db: Database) throws(StoreError) -> [Booking] {
        guard !ids.isEmpty else { return [] }
        let list = "[" + ids.map { "\"" + $0.filter { $0 != "\"" && $0 != "\\" } + "\"" }.joined(separator: ",") + "]"
        let unpack = db.dialect == .postgres ? "SELECT jsonb_array_elements_text(?::jsonb)::uuid" : "SELECT value FROM json_each(?)"
        return try db.query("SELECT \(columns) FROM bookings WHERE id IN (\(unpack))", [.text(list)], expectedRows: ids.count, decode)
    }

    public static func list(userID: String, status: String?, limit: Int, offset: Int,
                            _ db: Database) throws(StoreError) -> (bookings: [Booking], total: Int) {
        if let status {
            let rows = try db.query("""
                SELECT \(columns) FROM bookings WHERE user_id = ? AND status = ?
                ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?
                """, [.text(userID), .text(status), .int(limit), .int(offset)], decode)
            let total = try db.scalar("SELECT COUNT(*) FROM bookings WHERE user_id = ? AND status = ?", [.text(userID), .text(status)])
            return (rows, Int(total ?? 0))
        }
        let rows = try db.query("""
            SELECT \(columns) FROM bookings WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?
            """, [.text(userID), .int(limit), .int(offset)], decode)
        let total = try db.scalar("SELECT COUNT(*) FROM bookings WHERE user_id = ?", [.text(userID)])
        return (rows, Int(total ?? 0))
    }

    /// Every booking that holds time at `now` (confirmed, or pending with a live hold), plus
    /// bookings completed after `completedSince` (today's grid still shows them), in no particular
    /// order: `AvailabilityIndex(resources:reservations:)` groups and sorts them itself, and an
    /// ORDER BY here made SQLite sort the whole result in a temporary B-tree (about a second of a
    /// start-up with a million bookings; BENCHMARKS.md, start-up rebuild).
    public static func holdingTime(now: Int64, completedSince: Int64, _ db: Database) throws(StoreError) -> [Booking] {
        try holdingTime(now: now, completedSince: completedSince, rowids: nil, db)
    }

    private static func holdingTime(now: Int64, completedSince: Int64, rowids: Range<Int64>?,
                                    _ db: Database) throws(StoreError) -> [Booking] {
        let count = try holdingTimeCount(now: now, completedSince: completedSince, rowids: rowids, db)
        let (sql, parameters) = holdingTimeQuery(columns, now: now, completedSince: completedSince, rowids: rowids)
        // Counted first so the result array is allocated once.
        let strings = StringInterner()
        return try db.query(sql, parameters, expectedRows: count) { decode($0, strings: strings) }
    }

    /// What holds time, one condition per status: confirmed; pending with a live hold (`?1`: now);
    /// completed after `?2`.
    private static let holdingConditions = [
        "status = 'confirmed'",
        "status = 'pending' AND (hold_expires_at IS NULL OR hold_expires_at > ?1)",
        "status = 'completed' AND ends_at > ?2",
    ]

    /// The query of `holdingTime` (of a rowid range), selecting `selection` from each row: one
    /// index range scan per status (`idx_bookings_status_hold`), so that SQLite reads the rows
    /// in the index's order instead of gathering and sorting every rowid first, as it did for
    /// one WHERE with three ORs.
    private static func holdingTimeQuery(_ selection: String, now: Int64, completedSince: Int64,
                                         rowids: Range<Int64>?) -> (String, [SQLValue]) {
        let range = rowids == nil ? "" : " AND rowid >= ?3 AND rowid < ?4"
        let sql = holdingConditions.map { "SELECT \(selection) FROM bookings WHERE \($0)\(range)" }.joined(separator: " UNION ALL ")
        return (sql, holdingParameters(now: now, completedSince: completedSince, rowids: rowids))
    }

    /// `holdingTimeQuery` for a rowid range most of whose rows hold time: the table's rows are
    /// walked in order and filtered, rather than each found from the status index by a descent
    /// of the table's B-tree (~10% of a million-row start-up read when nearly all hold time).
    private static func holdingTimeScan(now: Int64, completedSince: Int64, rowids: Range<Int64>) -> (String, [SQLValue]) {
        let holding = holdingConditions.map { "(\($0))" }.joined(separator: " OR ")
        let sql = "SELECT \(columns) FROM bookings NOT INDEXED WHERE rowid >= ?3 AND rowid < ?4 AND (\(holding))"
        return (sql, holdingParameters(now: now, completedSince: completedSince, rowids: rowids))
    }

    private static func holdingParameters(now: Int64, completedSince: Int64, rowids: Range<Int64>?) -> [SQLValue] {
        let times: [SQLValue] = [.instant(now), .instant(completedSince)]
        guard let rowids else { return times }
        return times + [.integer(rowids.lowerBound), .integer(rowids.upperBound)]
    }

    /// How many rows `holdingTimeQuery` reads (an index-only pass).
    private static func holdingTimeCount(now: Int64, completedSince: Int64, rowids: Range<Int64>?,
                                         _ db: Database) throws(StoreError) -> Int {
        let (sql, parameters) = holdingTimeQuery("1", now: now, completedSince: completedSince, rowids: rowids)
        return Int(try db.scalar("SELECT COUNT(*) FROM (\(sql)) AS holding", parameters) ?? 0)
    }

    /// `holdingTime` for start-up, read in up to `parts` rowid ranges at once, each on its own
    /// read-only connection to `path` and its own thread. Decoding a million rows into bookings
    /// is most of a start-up; the ranges split it across cores. Each range is counted first and
    /// decoded straight into its place in the one array returned: gathering the parts' arrays
    /// afterwards moved a quarter of a gigabyte and faulted in as much again (BENCHMARKS.md).
    /// The caller must be the only writer, or not write meanwhile (start-up: the hub serves
    /// nothing yet), so that the ranges read one state. Rows come in no set order, as from the
    /// one-connection read. Below `parallelRowsMin` rows (by rowid span) one connection reads
    /// all: threads would cost more than they save. A range of which at least `scanShareMin`
    /// (by rowid span) holds time is read by walking the table, others through the status
    /// index. PostgreSQL sends the rows over one connection in one query.
    public static func holdingTime(now: Int64, completedSince: Int64, location: StoreLocation, parts: Int,
                                   parallelRowsMin: Int64 = 50_000, scanShareMin: Double = 0.5,
                                   busyTimeoutMs: Int = 5000) throws(StoreError) -> [Booking] {
        let probe = try Database(location, readOnly: true, busyTimeoutMs: busyTimeoutMs)
        guard case .sqlite(let path) = location else { return try holdingTime(now: now, completedSince: completedSince, probe) }
        let bounds = try probe.queryOne("SELECT MIN(rowid), MAX(rowid) FROM bookings") { ($0.int64(0), $0.int64(1)) }
        guard let (low, high) = bounds, parts > 1, high - low >= parallelRowsMin else {
            return try holdingTime(now: now, completedSince: completedSince, probe)
        }
        let count = Int(min(Int64(parts), high - low + 1))
        let step = (high - low) / Int64(count) + 1
        let ranges = (0..<count).map { part in
            min(high + 1, low + Int64(part) * step)..<min(high + 1, low + Int64(part + 1) * step)
        }
        // Each range counted on its own connection and thread too (a tenth of a second each
        // for half a million rows): the counts give every range its place in the one array.
        let counts = Mutex<[Result<Int, StoreError>]>(Array(repeating: .success(0), count: count))
        DispatchQueue.concurrentPerform(iterations: count) { part in
            let counted = Result { () throws(StoreError) -> Int in
                let db = try Database(path: path, readOnly: true, busyTimeoutMs: busyTimeoutMs)
                return try holdingTimeCount(now: now, completedSince: completedSince, rowids: ranges[part], db)
            }
            counts.withLock { $0[part] = counted }
        }
        var counted: [Range<Int>] = []
        for result in counts.withLock({ $0 }) {
            let start = counted.last?.upperBound ?? 0
            counted.append(start..<start + (try result.get()))
        }
        let places = counted
        return try [Booking](unsafeUninitializedCapacity: places.last?.upperBound ?? 0) { buffer, initialized throws(StoreError) in
            let rows = SharedRows(buffer)
            let outcomes = Mutex<[(decoded: Int, error: StoreError?)]>(Array(repeating: (0, nil), count: count))
            DispatchQueue.concurrentPerform(iterations: count) { part in
                let place = places[part]
                var decoded = 0
                var failure: StoreError?
                do throws(StoreError) {
                    let db = try Database(path: path, readOnly: true, busyTimeoutMs: busyTimeoutMs)
                    let strings = StringInterner()
                    // Mostly bookings that hold time (a young database): walk the table.
                    let rowids = ranges[part]
                    let (sql, parameters) = Double(place.count) >= scanShareMin * Double(rowids.count)
                        ? holdingTimeScan(now: now, completedSince: completedSince, rowids: rowids)
                        : holdingTimeQuery(columns, now: now, completedSince: completedSince, rowids: rowids)
                    try db.forEachRow(sql, parameters) { row throws(StoreError) in
                        guard decoded < place.count else {
                            throw StoreError(code: SQLITE_ABORT, message: "the bookings changed while they were read at start-up")
                        }
                        rows.initialize(place.lowerBound + decoded, to: decode(row, strings: strings))
                        decoded += 1
                    }
                } catch {
                    failure = error
                }
                outcomes.withLock { $0[part] = (decoded, failure) }
            }
            // Every decoded row counts as initialized (so the array releases them if we throw),
            // moved down over what a range left unfilled (it held fewer rows than counted).
            for (place, outcome) in zip(places, outcomes.withLock { $0 }) {
                if place.lowerBound != initialized {
                    rows.move(from: place.lowerBound, count: outcome.decoded, to: initialized)
                }
                initialized += outcome.decoded
            }
            if let error = outcomes.withLock({ $0.lazy.compactMap(\.error).first }) { throw error }
        }
    }

    /// Pending bookings whose hold lapsed at or before `now`.
    public static func expiredHolds(now: Int64, limit: Int, _ db: Database) throws(StoreError) -> [Booking] {
        try db.query("""
            SELECT \(columns) FROM bookings WHERE status = 'pending' AND hold_expires_at <= ?
            ORDER BY hold_expires_at LIMIT ?
            """, [.instant(now), .int(limit)], decode)
    }

    /// Bookings of a space overlapping `[from, to)`, any status (ICS feeds show cancellations).
    public static func forSpace(_ spaceID: String, from: Int64, to: Int64, _ db: Database) throws(StoreError) -> [Booking] {
        try db.query("""
            SELECT \(columns) FROM bookings WHERE space_id = ? AND starts_at < ? AND ends_at > ? ORDER BY starts_at
            """, [.text(spaceID), .instant(to), .instant(from)], decode)
    }

    public static func forUser(_ userID: String, limit: Int, _ db: Database) throws(StoreError) -> [Booking] {
        try db.query("SELECT \(columns) FROM bookings WHERE user_id = ? ORDER BY starts_at DESC LIMIT ?",
                     [.text(userID), .int(limit)], decode)
    }

    /// Bookings overlapping `[from, to)` in any status (analytics).
    public static func overlapping(from: Int64, to: Int64, _ db: Database) throws(StoreError) -> [Booking] {
        try db.query("SELECT \(columns) FROM bookings WHERE starts_at < ? AND ends_at > ? ORDER BY starts_at",
                     [.instant(to), .instant(from)], decode)
    }

    public static func createdBetween(from: Int64, to: Int64, _ db: Database) throws(StoreError) -> [Booking] {
        try db.query("SELECT \(columns) FROM bookings WHERE created_at >= ? AND created_at < ? ORDER BY created_at",
                     [.instant(from), .instant(to)], decode)
    }
}

/// The start-up read's one array, shared by its reading threads: each initializes only the
/// places of its own range, and the array is not touched otherwise until every thread is done.
private struct SharedRows: @unchecked Sendable {
    let base: UnsafeMutablePointer<Booking>

    init(_ buffer: UnsafeMutableBufferPointer<Booking>) {
        base = buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Booking>.alignment)!
    }

    func initialize(_ place: Int, to booking: consuming Booking) {
        (base + place).initialize(to: booking)
    }

    func move(from place: Int, count: Int, to target: Int) {
        (base + target).moveInitialize(from: base + place, count: count)
    }
}
