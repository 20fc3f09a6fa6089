import HubCore
import HubStore

/// Bookings other hubs changed on a shared PostgreSQL, brought by the event follower
/// (`EventFollower`) as their rows are now: this hub's index and `live` catch up with them.
///
/// The database decided them (its overlap constraint and seat trigger); here they are only
/// mirrored, so availability reads and the checks made before a commit agree with it again. Each
/// row is applied in the booking's serial turn, after any operation of this hub on it, and only
/// when it is newer than what this hub holds (`version`): the row of a change this hub made
/// itself, or one already applied, changes nothing.
extension BookingService {
    func applyFollowed(_ rows: [Booking]) {
        // Releases first: a batch's rows were read together, so what one frees another may take.
        let ordered = rows.sorted { !keepsTime($0) && keepsTime($1) }
        for row in ordered {
            serial.run(row.id) { [self] turn in
                applyFollowed(row, now: clock.seconds)
                turn.end()
            }
        }
        placeUnplaced()
    }

    /// Whether a booking stays in `live` (and the index): it holds time, or it ended lately.
    private func keepsTime(_ booking: Booking) -> Bool {
        booking.status.holdsTime || (booking.status == .completed && booking.range.end + Self.completedRetentionSeconds > clock.seconds)
    }

    private func applyFollowed(_ row: Booking, now: Int64) {
        let known = live[row.id]
        if let known, known.version >= row.version { return }
        let gone = released.entry(of: row.id)
        if let gone, gone.version >= row.version { return }
        // A booking this hub released is named from what it was when released: a payment refunded
        // on another hub after a cancellation is `.refunded`, not a second `.cancelled`.
        let before = known ?? gone.map { gone in
            var was = row
            was.status = gone.status
            was.paymentState = gone.paymentState
            return was
        }
        index.release(row.id)
        unplaced.remove(row.id)
        if keepsTime(row) {
            place(row, now: now)
            track(row)
        } else {
            replaceLive(row.id, with: nil)
            released.record(row)
        }
        notify(row, .between(before, row), counted: false)
    }

    /// Reserves a followed booking's time in the index. A pending hold that lapsed holds none
    /// (it waits for the sweep, as at start-up). A conflict means this hub's index holds something
    /// the database no longer does (its release is on its way, or a commit of this hub that will
    /// fail is under way): the booking is placed again once that is gone.
    private func place(_ booking: Booking, now: Int64) {
        if booking.status == .pending, let expiry = booking.holdExpiresAt, expiry <= now { return }
        switch index.reserve(booking.id, on: booking.spaceID, during: booking.range, tentative: booking.status == .pending) {
        case .reserved, .duplicateReservation: break
        // `unknownResource`: a space made on another hub whose row has not been read here yet.
        case .conflict, .unknownResource: unplaced.insert(booking.id)
        }
    }

    /// Tries again the followed bookings whose time could not be reserved (after each followed
    /// batch, and on each sweep).
    func placeUnplaced() {
        guard !unplaced.isEmpty else { return }
        let now = clock.seconds
        for id in unplaced {
            unplaced.remove(id)
            guard let booking = live[id], index.reservation(id) == nil else { continue }
            place(booking, now: now)
        }
    }
}

/// Bookings that recently left `live`, at the version (and status) they left at: a row read
/// before the change that released one (by this hub or another) must not bring it back.
/// Bounded: such a row arrives within moments of the release, long before `capacity` releases
/// more have happened.
struct RecentReleases {
    struct Entry: Equatable {
        let version: Int
        let status: BookingStatus
        let paymentState: PaymentState
    }

    static let capacity = 65_536
    private var entries: [String: Entry] = [:]
    private var order: [String] = []
    private var next = 0

    func entry(of id: String) -> Entry? { entries[id] }

    mutating func record(_ booking: Booking) {
        record(booking.id, Entry(version: booking.version, status: booking.status, paymentState: booking.paymentState))
    }

    mutating func record(_ id: String, _ entry: Entry) {
        if entries.updateValue(entry, forKey: id) != nil { return }
        if order.count < Self.capacity {
            order.append(id)
            return
        }
        entries[order[next]] = nil
        order[next] = id
        next = (next + 1) % Self.capacity
    }
}
