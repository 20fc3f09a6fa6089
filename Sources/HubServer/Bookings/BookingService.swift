import Dispatch
import HubCore
import HubCrypto
import HubLoop
import HubStore
import HubWire
import Logging
import Synchronization

/// A member's request for a new booking, parsed and typed.
struct BookingDraft {
    var kind: SpaceKind
    var spaceID: String
    var date: LocalDate
    var start: LocalTime
    var end: LocalTime?
    var duration: DurationSpec?
    var specialRequests: String?
}

/// Decides bookings in memory and persists them through the committer.
///
/// Loop thread only. The availability index and `live` (every booking that holds time) are the
/// truth for decisions; a decision is reserved in the index at once, so concurrent requests for
/// one slot are serialised by the loop, and answered only after the writer committed it.
/// Operations on an existing booking run one at a time per booking (`serial`).
final class BookingService {
    let loop: Loop
    let storage: Storage
    let committer: Committer
    let catalog: SpaceCatalog
    let settings: LiveSettings
    let logger: Logger
    /// `bookings.holdsPerMemberMax`: unpaid holds one member may have at once.
    let holdsPerMemberMax: Int
    var index = AvailabilityIndex()
    /// Bookings in the index: pending with a live hold, confirmed, and recently completed ones
    /// (kept so today's grid still shows them), by id.
    private(set) var live: [String: Booking] = [:]
    /// Unpaid holds per member: the pending bookings in `live`, kept by `replaceLive`.
    private var holdsByUser: [String: Int] = [:]
    /// The ids in `live` of each member, kept by `replaceLive`: a member's own snapshot reads
    /// these instead of scanning every booking (a million of them is tens of milliseconds).
    private var liveByUser: [String: Set<String>] = [:]
    /// New bookings per member whose first commit is under way (not in `live` yet).
    private var creatingByUser: [String: Int] = [:]
    /// The bookings in `live` by status, and committed changes by kind (`/metrics`).
    private(set) var liveByStatus: [BookingStatus: Int] = [:]
    private(set) var changeCounts: [BookingChange: Int] = [:]
    private var holds = DeadlineQueue()
    private var endings = DeadlineQueue()
    let serial = KeyedSerialQueue()
    private var sweepTimer: Timer?
    /// Called after a booking's commit, for side effects in other services (payments refund a
    /// cancelled paid booking; calendars sync).
    var onChange: [(Booking, BookingChange) -> Void] = []

    /// How long completed bookings stay in the index after they end.
    static let completedRetentionSeconds: Int64 = 2 * 86_400
    /// Connections (and threads) that read the bookings at start-up, at most one per core.
    static var rebuildReadersMax: Int { min(Loop.availableParallelism, 4) }
    /// Holds expired per sweep at most; the rest wait for the next tick.
    static let expiriesPerSweepMax = 512

    init(loop: Loop, storage: Storage, committer: Committer, catalog: SpaceCatalog, settings: LiveSettings,
         holdsPerMemberMax: Int, logger: Logger) {
        self.loop = loop
        self.holdsPerMemberMax = holdsPerMemberMax
        self.storage = storage
        self.committer = committer
        self.catalog = catalog
        self.settings = settings
        self.logger = logger
    }

    // MARK: Start-up

    /// Rebuilds the index from the database and settles holds that expired while we were down.
    func rebuild(now: Int64) throws(SQLiteError) {
        // Read on every core: decoding a million rows is most of a start-up (BENCHMARKS.md).
        let bookings = try BookingTable.holdingTime(now: now, completedSince: now - Self.completedRetentionSeconds,
                                                    path: storage.path, parts: Self.rebuildReadersMax)
        let reservations = bookings.map {
            AvailabilityIndex.Reservation(id: $0.id, resourceID: $0.spaceID, interval: $0.range, isTentative: false)
        }
        // The index is built on another core while this one fills `live`: each takes about half
        // a second for a million bookings.
        let resources = catalog.all.map { ($0.id, $0.resourceKind) }
        let built = IndexHandoff()
        let building = DispatchGroup()
        DispatchQueue.global().async(group: building) {
            let index = AvailabilityIndex(resources: resources, reservations: reservations)
            built.value.withLock { $0 = index }
        }
        // Sized once: growing a dictionary of a million bookings by doubling rehashed and moved
        // them ~20 times, most of a start-up's time (BENCHMARKS.md, start-up rebuild).
        live.reserveCapacity(live.count + bookings.count)
        for booking in bookings { track(booking) }
        building.wait()
        index = built.value.withLock { $0.take()! }
        // Holds that lapsed while the hub was down hold no time, but are tracked (outside the
        // index) so the first sweep expires them: status, event and email, as for any other.
        for booking in try BookingTable.expiredHolds(now: now, limit: Int(Int32.max), storage.reader) {
            track(booking)
        }
    }

    func startTimers() {
        let timer = Timer(loop: loop)
        timer.start(afterMs: UInt64(settings.holdSweepMs), repeatMs: UInt64(settings.holdSweepMs)) { [unowned self] in
            self.sweep(now: WallClock.seconds())
        }
        timer.unref()
        sweepTimer = timer
        // Holds that lapsed while the hub was down are settled on the first sweep.
        sweep(now: WallClock.seconds())
    }

    func stop() {
        sweepTimer?.close()
        sweepTimer = nil
    }

    func track(_ booking: Booking) {
        replaceLive(booking.id, with: booking)
        if booking.status == .pending, let expiry = booking.holdExpiresAt { holds.push(expiry, booking.id) }
        if booking.status == .confirmed { endings.push(booking.range.end, booking.id) }
        if booking.status == .completed {
            endings.push(booking.range.end + Self.completedRetentionSeconds, booking.id)
        }
    }

    /// The one way `live` changes (but for a payment reference), so the holds per member stay
    /// what `live` says.
    private func replaceLive(_ id: String, with booking: Booking?) {
        if let old = live[id] {
            liveByStatus[old.status, default: 1] -= 1
            if old.status == .pending {
                let left = (holdsByUser[old.userID] ?? 1) - 1
                holdsByUser[old.userID] = left > 0 ? left : nil
            }
            liveByUser[old.userID]?.remove(id)
            if liveByUser[old.userID]?.isEmpty == true { liveByUser[old.userID] = nil }
        }
        live[id] = booking
        if let booking {
            liveByStatus[booking.status, default: 0] += 1
            if booking.status == .pending { holdsByUser[booking.userID, default: 0] += 1 }
            liveByUser[booking.userID, default: []].insert(id)
        }
    }

    /// The member's bookings that hold time (or completed in the last two days), by start.
    func liveBookings(of userID: String) -> [Booking] {
        (liveByUser[userID] ?? []).compactMap { live[$0] }.sorted { ($0.range.start, $0.id) < ($1.range.start, $1.id) }
    }

    /// Unpaid holds of a member now: pending bookings, and new ones whose commit is under way.
    func holdCount(of userID: String) -> Int {
        (holdsByUser[userID] ?? 0) + (creatingByUser[userID] ?? 0)
    }

    // MARK: Reading

    /// The suffix of the second reservation a reschedule holds while its commit is under way.
    static let moveSuffix = "~move"

    /// The booking behind a reservation in the index: a tracked booking, or the one a reschedule
    /// is moving. Nil while a new booking's first commit is under way.
    func holder(of reservationID: String) -> Booking? {
        if let booking = live[reservationID] { return booking }
        guard reservationID.hasSuffix(Self.moveSuffix) else { return nil }
        return live[String(reservationID.dropLast(Self.moveSuffix.count))]
    }

    /// The booking, from memory when it holds time, else from the database.
    func find(_ id: String) -> Booking? {
        if let booking = live[id] { return booking }
        return try? BookingTable.find(id, storage.reader)
    }

    /// The booking if `principal` may see it: its owner or an admin. Others get nil (404), so
    /// ids cannot be probed.
    func visible(_ id: String, to principal: Principal) -> Booking? {
        guard let booking = find(id) else { return nil }
        return principal.isAdmin || booking.userID == principal.id ? booking : nil
    }

    // MARK: Creating

    enum CreateOutcome {
        case created(Booking)
        case rejected(APIError)
    }

    /// Plans, reserves and commits a new pending booking. `extraWork` runs in the same
    /// transaction (the idempotency record).
    func create(_ draft: BookingDraft, for userID: String, now: Int64,
                extraWork: (@Sendable (Database, Booking) throws -> Void)? = nil,
                completion: @escaping (CreateOutcome) -> Void) {
        guard let space = catalog[draft.spaceID], space.isActive else {
            completion(.rejected(.invalid("spaceId", "unknown_space", "no bookable space has id \(draft.spaceID)")))
            return
        }
        guard space.kind == draft.kind else {
            completion(.rejected(.invalid("type", "type_mismatch", "\(draft.spaceID) is a \(space.kind.rawValue) space, not \(draft.kind.rawValue)")))
            return
        }
        let plan: PlannedBooking
        switch BookingPolicy.plan(space: space, date: draft.date, start: draft.start, end: draft.end, duration: draft.duration,
                                  now: now, horizonDays: settings.horizonDays) {
        case .success(let planned): plan = planned
        case .failure(let rejection):
            completion(.rejected(.invalid(rejection.field, rejection.code, rejection.message)))
            return
        }
        let holds = holdCount(of: userID)
        guard holds < holdsPerMemberMax else {
            completion(.rejected(.conflict("too_many_holds",
                                           "you hold \(holds) unpaid bookings, the most one member may hold; pay for or cancel one first",
                                           details: ["holds": .int(holds), "holdsMax": .int(holdsPerMemberMax)])))
            return
        }
        let id = SecureRandom.uuidV7(nowMs: now * 1000)
        switch index.reserve(id, on: space.id, during: plan.range) {
        case .reserved: break
        case .conflict(let conflicts):
            completion(.rejected(Self.conflictError(conflicts, space: space)))
            return
        case .unknownResource, .duplicateReservation:
            completion(.rejected(.internalError("availability index out of step for \(space.id)")))
            return
        }
        let booking = Booking(
            id: id, userID: userID, kind: space.kind, spaceID: space.id, spaceName: space.name, range: plan.range,
            zone: space.zone, durationLabel: plan.durationLabel, amount: plan.amount, status: .pending, paymentState: .pending,
            holdExpiresAt: now + settings.holdSeconds, specialRequests: draft.specialRequests,
            createdAt: now, updatedAt: now)
        let events = [bookingEvent(booking)] + availabilityEvents(space: space, changed: [booking.range], adding: booking)
        creatingByUser[userID, default: 0] += 1
        serial.run(id) { [self] done in
            committer.commit(events: events, { db in
                try BookingTable.insert(booking, db)
                try extraWork?(db, booking)
            }) { [self] result in
                defer { done() }
                let creating = (creatingByUser[userID] ?? 1) - 1
                creatingByUser[userID] = creating > 0 ? creating : nil
                switch result {
                case .success:
                    index.confirm(id)
                    track(booking)
                    notify(booking, .created)
                    completion(.created(booking))
                case .failure(let error):
                    index.release(id)
                    logger.error("booking commit failed: \(error)")
                    completion(.rejected(Self.storeError(error)))
                }
            }
        }
    }

    static func conflictError(_ conflicts: [AvailabilityIndex.Conflict], space: Space) -> APIError {
        let ranges = conflicts.map { BookingViews.range($0.interval, zone: space.zone) }
        let message = space.kind == .coworking
            ? "\(space.name) has no seat left for the whole of that time"
            : "\(space.name) is already booked for part of that time"
        return .conflict("booking_conflict", message, details: ["conflicts": .array(ranges)])
    }

    static func storeError(_ error: any Error) -> APIError {
        if let apiError = error as? APIError { return apiError }
        return .unavailable("store_unavailable", "the booking could not be saved; nothing was booked, please retry")
    }

    // MARK: Changing

    enum BookingChange {
        case created, cancelled, confirmed, expired, rescheduled, completed, paid, refunded, updated
    }

    /// Applies `change` to a booking that holds time or is stored, one operation per booking at
    /// a time. `decide` sees the current booking and returns the new one (or an error); the
    /// index effect runs after commit.
    func modify(_ id: String, change: BookingChange, events extraEvents: @escaping (Booking) -> [DomainEvent] = { _ in [] },
                work: (@Sendable (Database, Booking) throws -> Void)? = nil,
                decide: @escaping (Booking) -> Result<Booking, APIError>,
                completion: @escaping (Result<Booking, APIError>) -> Void) {
        serial.run(id) { [self] done in
            modifyHoldingSlot(id, change: change, events: extraEvents, work: work, decide: decide) { result in
                done()
                completion(result)
            }
        }
    }

    /// `modify` for a caller that already runs inside `serial` for this booking (the payments
    /// desk, which also has a gateway call to make in the same turn of the queue).
    func modifyHoldingSlot(_ id: String, change: BookingChange, events extraEvents: @escaping (Booking) -> [DomainEvent] = { _ in [] },
                           work: (@Sendable (Database, Booking) throws -> Void)? = nil,
                           decide: @escaping (Booking) -> Result<Booking, APIError>,
                           completion: @escaping (Result<Booking, APIError>) -> Void) {
        guard let current = find(id) else {
            completion(.failure(.notFound("booking")))
            return
        }
        var updated: Booking
        switch decide(current) {
        case .success(let next): updated = next
        case .failure(let error):
            completion(.failure(error))
            return
        }
        let now = WallClock.seconds()
        updated.version = current.version + 1
        updated.updatedAt = max(now, current.updatedAt)
        let releases = current.status.holdsTime && !updated.status.holdsTime && updated.status != .completed
        let claims = !current.status.holdsTime && updated.status.holdsTime  // reinstated: the caller reserved it
        // A hold that becomes a booking changes what a kiosk shows (HELD → BUSY).
        let shownStatus = current.status != updated.status && updated.status.holdsTime
        var events = [bookingEvent(updated)]
        if releases || claims || shownStatus || change == .rescheduled, let space = catalog[updated.spaceID] {
            events += availabilityEvents(space: space, changed: [updated.range], ignoring: releases ? [id] : [],
                                         adding: releases ? nil : updated)
        }
        events += extraEvents(updated)
        let stored = updated
        committer.commit(events: events, { db in
            guard try BookingTable.update(stored, db) else {
                throw APIError.conflict("booking_changed", "the booking changed meanwhile; reload and retry")
            }
            try work?(db, stored)
        }) { [self] result in
            switch result {
            case .success:
                if releases {
                    index.release(id)
                    replaceLive(id, with: nil)
                } else if updated.status.holdsTime || updated.status == .completed {
                    if claims { index.confirm(id) }
                    track(updated)
                }
                notify(updated, change)
                completion(.success(updated))
            case .failure(let error):
                logger.error("booking \(id) \(change) failed: \(error)")
                completion(.failure(Self.storeError(error)))
            }
        }
    }

    /// The reference of the payment just opened for a booking (the payments desk writes it with the
    /// payment row), so the copy in memory says what the row says.
    func recordPaymentReference(_ reference: String, of id: String) {
        live[id]?.paymentReference = reference
    }

    func notify(_ booking: Booking, _ change: BookingChange) {
        changeCounts[change, default: 0] += 1
        for observer in onChange { observer(booking, change) }
    }

    // MARK: Timers

    /// Expires lapsed holds and completes bookings that ended.
    func sweep(now: Int64) {
        for (_, id) in holds.popDue(now: now, limit: Self.expiriesPerSweepMax) {
            guard let booking = live[id], booking.status == .pending, let expiry = booking.holdExpiresAt, expiry <= now else {
                continue  // confirmed, cancelled or rescheduled since: a stale entry
            }
            expire(id)
        }
        for (_, id) in endings.popDue(now: now, limit: Self.expiriesPerSweepMax) {
            guard let booking = live[id] else { continue }
            if booking.status == .confirmed && booking.range.end <= now {
                complete(id)
            } else if booking.status == .completed && booking.range.end + Self.completedRetentionSeconds <= now {
                index.release(id)
                replaceLive(id, with: nil)
            }
        }
    }

    private func expire(_ id: String) {
        modify(id, change: .expired, events: { booking in
            [DomainEvent(type: "booking_hold_expired", channels: Self.bookingChannels(booking.userID),
                         payload: ["bookingId": .string(booking.id), "spaceId": .string(booking.spaceID),
                                   "booking": BookingViews.booking(booking)])]
        }, work: { db, booking in
            try Outbox.enqueue(.holdExpired, booking: booking, db)
        }, decide: { booking in
            guard booking.status == .pending, let expiry = booking.holdExpiresAt, expiry <= WallClock.seconds() else {
                return .failure(.conflict("not_expired", "hold is still valid"))
            }
            var next = booking
            next.status = .expired
            return .success(next)
        }) { [logger] result in
            if case .failure(let error) = result, error.code != "not_expired" {
                logger.warning("expiring hold \(id) failed: \(error.message)")
            }
        }
    }

    private func complete(_ id: String) {
        modify(id, change: .completed, decide: { booking in
            guard booking.status == .confirmed else { return .failure(.conflict("not_confirmed", "not confirmed")) }
            var next = booking
            next.status = .completed
            return .success(next)
        }) { _ in }
    }

    // MARK: Events

    static func bookingChannels(_ userID: String) -> [String] { ["bookings:\(userID)", "admin"] }

    func bookingEvent(_ booking: Booking) -> DomainEvent {
        DomainEvent(type: "booking_updated", channels: Self.bookingChannels(booking.userID), payload: BookingViews.booking(booking))
    }

    /// The most day views one change publishes: a change longer than this (a coworking plan
    /// taken for months) sends its first days; every event carries the whole `changed` range, so a
    /// client that holds a later day sees that it is covered and refetches it.
    static let changedDaysMax = 62

    /// One `space_availability_changed` for every local day of the space that `ranges` touch: a
    /// booking across midnight changes two day views, and a client holding either must hear of it.
    /// Each day is sent once, with the first of `ranges` that touches it as `changed`.
    func availabilityEvents(space: Space, changed ranges: [Interval], ignoring: Set<String> = [],
                            adding: Booking? = nil) -> [DomainEvent] {
        var seen = Set<LocalDate>()
        var events: [DomainEvent] = []
        for range in ranges {
            let first = space.zone.local(range.start).date
            let last = space.zone.local(max(range.start, range.end - 1)).date  // half-open: the end is not in it
            var date = first
            while date <= last && seen.count < Self.changedDaysMax {
                if seen.insert(date).inserted {
                    events.append(availabilityEvent(space: space, date: date, changed: range, ignoring: ignoring, adding: adding))
                }
                date = date.adding(days: 1)
            }
        }
        return events
    }

    private func availabilityEvent(space: Space, date: LocalDate, changed range: Interval, ignoring: Set<String>,
                                   adding: Booking?) -> DomainEvent {
        var payload = AvailabilityViews.day(space: space, date: date, service: self, ignoring: ignoring, adding: adding)
        if case .object(var object) = payload {
            object["changed"] = BookingViews.range(range, zone: space.zone)
            if space.kind == .coworking {
                object["seatsLeft"] = .int(seatsLeft(space: space, range: range, ignoring: ignoring))
            }
            payload = .object(object)
        }
        return DomainEvent(type: "space_availability_changed",
                           channels: ["availability", "availability:\(space.id)", "admin"], payload: payload)
    }

    func seatsLeft(space: Space, range: Interval, ignoring: Set<String> = []) -> Int {
        let overlapping = index.reservations(on: space.id, overlapping: range).filter { !ignoring.contains($0.id) }
        var points: [(Int64, Int)] = []
        for reservation in overlapping {
            points.append((max(reservation.interval.start, range.start), 1))
            points.append((min(reservation.interval.end, range.end), -1))
        }
        points.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var depth = 0, deepest = 0
        for point in points {
            depth += point.1
            deepest = max(deepest, depth)
        }
        return max(0, space.seats - deepest)
    }
}

@available(*, unavailable) extension BookingService: Sendable {}

/// Hands the index built on another thread at start-up back to the loop thread.
private final class IndexHandoff: Sendable {
    let value = Mutex<AvailabilityIndex?>(nil)
}
