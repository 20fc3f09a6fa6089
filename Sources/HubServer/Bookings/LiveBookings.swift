import HubCore

/// The bookings that hold time (BookingService's `live`), by id and by member, and counted
/// (`counts`) as they come and go.
///
/// Stored densely: the bookings in one array, a table from id to position in it, and each
/// member's positions. A `[String: Booking]` keeps each booking in its hash bucket: for a
/// million bookings that is two million buckets of ~230 bytes, half a gigabyte touched at
/// random while it fills, which was a quarter of a start-up (BENCHMARKS.md, Availability
/// index). Here the tables hold 4-byte positions, the array read at start-up becomes the
/// storage as it is, and a member's set hashes integers, not ids. A removal moves the last
/// booking into the freed place, so the array stays dense and its order is no order at all.
struct LiveBookings {
    private(set) var bookings: [Booking]
    private var positions: [String: Int32]
    /// The positions of each member's bookings: a member's own snapshot reads these instead of
    /// scanning every booking (a million of them is tens of milliseconds).
    private var byUser: [String: Set<Int32>]
    private(set) var counts: Counts

    init() {
        bookings = []
        positions = [:]
        byUser = [:]
        counts = Counts()
    }

    /// `bookings` as they are, with the tables `LiveBookings.Tables(of:)` made from the same
    /// array (perhaps on another thread: it only reads).
    init(adopting bookings: consuming [Booking], tables: consuming Tables) {
        precondition(bookings.count == tables.positions.count, "tables made from other bookings, or ids not unique")
        self.bookings = bookings
        positions = tables.positions
        byUser = tables.byUser
        counts = tables.counts
    }

    /// The id and member tables and the counts of an array of bookings with unique ids, made in
    /// bulk: each member's set at its final size (grown one insert at a time, a million bookings
    /// spent most of a start-up rehashing sets).
    struct Tables: Sendable {
        var positions: [String: Int32]
        var byUser: [String: Set<Int32>] = [:]
        var counts = Counts()

        init(of bookings: [Booking]) {
            precondition(bookings.count < Int(Int32.max), "more bookings than positions")
            positions = [String: Int32](minimumCapacity: bookings.count)
            var perUser: [String: Int] = [:]
            for position in bookings.indices {
                positions[bookings[position].id] = Int32(position)
                perUser[bookings[position].userID, default: 0] += 1
                counts.add(bookings[position], 1)
            }
            byUser.reserveCapacity(perUser.count)
            for (user, count) in perUser { byUser[user] = Set(minimumCapacity: count) }
            for position in bookings.indices { byUser[bookings[position].userID, default: []].insert(Int32(position)) }
        }
    }

    var count: Int { bookings.count }
    var isEmpty: Bool { bookings.isEmpty }
    var ids: Dictionary<String, Int32>.Keys { positions.keys }

    func contains(_ id: String) -> Bool { positions[id] != nil }

    /// The member's bookings, in no order.
    func bookings(of userID: String) -> [Booking] {
        (byUser[userID] ?? []).map { bookings[Int($0)] }
    }

    /// The booking with `id`; set to replace it, add it, or (nil) remove it.
    subscript(id: String) -> Booking? {
        get { positions[id].map { bookings[Int($0)] } }
        set {
            switch (positions[id], newValue) {
            case (let position?, let booking?):
                let old = bookings[Int(position)]
                counts.add(old, -1)
                counts.add(booking, 1)
                if old.userID != booking.userID {
                    leave(old.userID, position)
                    byUser[booking.userID, default: []].insert(position)
                }
                bookings[Int(position)] = booking
            case (nil, let booking?):
                let position = Int32(bookings.count)
                positions[id] = position
                byUser[booking.userID, default: []].insert(position)
                counts.add(booking, 1)
                bookings.append(booking)
            case (let position?, nil):
                positions[id] = nil
                counts.add(bookings[Int(position)], -1)
                leave(bookings[Int(position)].userID, position)
                let last = bookings.removeLast()
                if Int(position) < bookings.count {
                    // The last booking takes the freed place.
                    let moved = Int32(bookings.count)
                    positions[last.id] = position
                    byUser[last.userID]?.remove(moved)
                    byUser[last.userID]?.insert(position)
                    bookings[Int(position)] = last
                }
            case (nil, nil):
                break
            }
        }
    }

    /// Sets the payment reference of a tracked booking in place (no copy of the booking).
    mutating func setPaymentReference(_ reference: String, of id: String) {
        guard let position = positions[id] else { return }
        bookings[Int(position)].paymentReference = reference
    }

    private mutating func leave(_ userID: String, _ position: Int32) {
        byUser[userID]?.remove(position)
        if byUser[userID]?.isEmpty == true { byUser[userID] = nil }
    }
}

/// What `LiveBookings` counts as bookings come and go: by status (`/metrics`), and each member's
/// unpaid holds (`bookings.holdsPerMemberMax`).
struct Counts: Sendable {
    private(set) var byStatus = StatusCounts()
    private var holdsByUser: [String: Int] = [:]

    func holds(of userID: String) -> Int { holdsByUser[userID] ?? 0 }

    /// Counts `booking` in (`sign` 1) or out (-1). A member's holds are gone at zero. Inlined:
    /// a start-up counts a million bookings in place, without copying each.
    @inline(__always)
    mutating func add(_ booking: Booking, _ sign: Int) {
        byStatus[booking.status] += sign
        guard booking.status == .pending else { return }
        let holds = holds(of: booking.userID) + sign
        holdsByUser[booking.userID] = holds > 0 ? holds : nil
    }
}

/// Live bookings by status (`/metrics`), counted without hashing: a start-up counts a million.
struct StatusCounts: Sendable {
    private var counts = [Int](repeating: 0, count: BookingStatus.allCases.count)

    subscript(status: BookingStatus) -> Int {
        get { counts[status.ordinal] }
        set { counts[status.ordinal] = newValue }
    }
}

extension BookingStatus {
    /// The case's place in `allCases`, found without hashing or comparing strings.
    var ordinal: Int {
        switch self {
        case .pending: 0
        case .confirmed: 1
        case .completed: 2
        case .cancelled: 3
        case .expired: 4
        }
    }
}
