import Dispatch
import HubCore
import HubCrypto
import HubHTTP
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
    var live = LiveBookings()
    /// New bookings per member whose first commit is under way (not in `live` yet).
    private var creatingByUser: [String: Int] = [:]
    /// The bookings in `live` by status, and committed changes by kind (`/metrics`).
    var liveByStatus: StatusCounts { live.counts.byStatus }
    var changeCounts: [BookingChange: Int] = [:]
    /// Versions at which bookings lately left `live`, and followed bookings whose time is not in
    /// the index yet (BookingService+Follow).
    var released = RecentReleases()
    var unplaced: Set<String> = []
    var holds = DeadlineQueue()
    var endings = DeadlineQueue()
    let serial = KeyedSerialQueue()
    let clock: any Clock
    /// Whether what a change sets off (`observers`) runs here (`Leadership`).
    let leadership: Leadership
    private var sweepTimer: Timer?
    /// Retries `adoptCommitted` while a commit's outcome is unknown (BookingService+Reconcile),
    /// from `uncertainSince`: the earliest creation time such a commit's bookings may have.
    var reconcileTimer: Timer?
    var uncertainSince: Int64?
    /// Counts commits whose outcome was unknown: a reconciliation that began before the latest
    /// one does not cover it.
    var uncertainCommits = 0
    /// While an `adoptCommitted` read is on its way: the bookings that stopped holding time
    /// meanwhile. The read may still show them holding time; they must not be adopted again.
    var releasedDuringAdoption: Set<String>?
    /// Told after each booking's commit (the payments desk refunds a cancelled paid booking,
    /// calendars sync, reminders look again). Weak: they belong to the hub, not to us.
    private var observerBoxes: [WeakObserver] = []
    var observers: [any BookingObserver] { observerBoxes.compactMap(\.observer) }

    func addObserver(_ observer: any BookingObserver) {
        observerBoxes.append(WeakObserver(observer: observer))
    }

    /// How long completed bookings stay in the index after they end.
    static let completedRetentionSeconds: Int64 = 2 * 86_400
    /// Connections (and threads) that read the bookings at start-up, at most one per core.
    static var rebuildReadersMax: Int { min(Loop.availableParallelism, 4) }
    /// Holds expired per sweep at most; the rest wait for the next tick.
    static let expiriesPerSweepMax = 512

    init(loop: Loop, storage: Storage, committer: Committer, catalog: SpaceCatalog, settings: LiveSettings,
         holdsPerMemberMax: Int, leadership: Leadership, clock: any Clock = SystemClock(), logger: Logger) {
        self.loop = loop
        self.leadership = leadership
        self.clock = clock
        self.holdsPerMemberMax = holdsPerMemberMax
        self.storage = storage
        self.committer = committer
        self.catalog = catalog
        self.settings = settings
        self.logger = logger
    }

    // MARK: Start-up

    /// How long each part of a start-up's rebuild took (its log line), in milliseconds.
    struct RebuildTimes {
        /// Reading and decoding the bookings that hold time.
        var readMs: UInt64 = 0
        /// Building the index on one core and what tracks them (`live`'s positions, members'
        /// sets, deadlines) on another.
        var trackMs: UInt64 = 0
    }

    /// Rebuilds the index from the database and settles holds that expired while we were down.
    @discardableResult
    func rebuild(now: Int64) throws(StoreError) -> RebuildTimes {
        var times = RebuildTimes()
        var mark = Loop.hrtimeNs()
        func lap() -> UInt64 {
            let next = Loop.hrtimeNs()
            defer { mark = next }
            return (next - mark) / 1_000_000
        }
        // Read on every core: decoding a million rows is most of a start-up (BENCHMARKS.md).
        let bookings = try BookingTable.holdingTime(now: now, completedSince: now - Self.completedRetentionSeconds,
                                                    location: storage.location, parts: Self.rebuildReadersMax)
        times.readMs = lap()
        // Then two jobs of about 0.8 s each for a million bookings, one per core: the
        // index, and what tracks the bookings. Both only read `bookings`.
        let resources = catalog.all.map { ($0.id, $0.resourceKind) }
        let built = Mutex<AvailabilityIndex?>(nil)
        let tracked = Mutex<StartTracking?>(nil)
        DispatchQueue.concurrentPerform(iterations: 2) { job in
            if job == 0 {
                let reservations = bookings.map {
                    AvailabilityIndex.Reservation(id: $0.id, resourceID: $0.spaceID, interval: $0.range, isTentative: false)
                }
                let index = AvailabilityIndex(resources: resources, reservations: reservations)
                built.withLock { $0 = index }
            } else {
                let tracking = StartTracking(bookings)
                tracked.withLock { $0 = tracking }
            }
        }
        index = built.withLock { $0.take()! }
        adopt(bookings, tracked.withLock { $0.take()! })
        times.trackMs = lap()
        // Holds that lapsed while the hub was down hold no time, but are tracked (outside the
        // index) so the first sweep expires them: status, event and email, as for any other.
        for booking in try BookingTable.expiredHolds(now: now, limit: Int(Int32.max), storage.reader) {
            track(booking)
        }
        return times
    }

    func startTimers() {
        let timer = Timer(loop: loop)
        timer.start(afterMs: UInt64(settings.holdSweepMs), repeatMs: UInt64(settings.holdSweepMs)) { [unowned self] in
            self.sweep(now: self.clock.seconds)
        }
        timer.unref()
        sweepTimer = timer
        // Holds that lapsed while the hub was down are settled on the first sweep.
        sweep(now: clock.seconds)
    }

    func stop() {
        sweepTimer?.close()
        sweepTimer = nil
        reconcileTimer?.close()
        reconcileTimer = nil
    }

    /// Takes the bookings read at start-up, and what `StartTracking` made of them, as the
    /// tracked state, with nothing tracked yet.
    private func adopt(_ bookings: consuming [Booking], _ tracking: consuming StartTracking) {
        precondition(live.isEmpty, "start-up tracking begins with nothing tracked")
        live = LiveBookings(adopting: bookings, tables: tracking.tables)
        holds = tracking.holds
        endings = tracking.endings
    }

    func track(_ booking: Booking) {
        replaceLive(booking.id, with: booking)
        pushDeadlines(of: booking)
    }

    private func pushDeadlines(of booking: Booking) {
        let (hold, ending) = Self.deadlines(of: booking)
        if let hold { holds.push(hold, booking.id) }
        if let ending { endings.push(ending, booking.id) }
    }

    /// When the booking's hold lapses, and when it ends (and, completed, leaves `live`).
    static func deadlines(of booking: Booking) -> (hold: Int64?, ending: Int64?) {
        switch booking.status {
        case .pending: (booking.holdExpiresAt, nil)
        case .confirmed: (nil, booking.range.end)
        case .completed: (nil, booking.range.end + completedRetentionSeconds)
        case .cancelled, .expired: (nil, nil)
        }
    }

    /// The one way `live` changes (but for a payment reference): a booking leaving it is
    /// remembered while an adoption's read is on its way.
    func replaceLive(_ id: String, with booking: Booking?) {
        if booking == nil, live.contains(id) { releasedDuringAdoption?.insert(id) }
        live[id] = booking
    }

    /// The member's bookings that hold time (or completed in the last two days), by start.
    func liveBookings(of userID: String) -> [Booking] {
        live.bookings(of: userID).sorted { ($0.range.start, $0.id) < ($1.range.start, $1.id) }
    }

    /// Unpaid holds of a member now: pending bookings, and new ones whose commit is under way.
    func holdCount(of userID: String) -> Int {
        live.counts.holds(of: userID) + (creatingByUser[userID] ?? 0)
    }

    /// A space saved (here or, followed, on another hub): the catalogue and the index take it.
    func spaceSaved(_ space: Space) {
        catalog.put(space)
        index.setResource(space.id, kind: space.resourceKind)
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

    /// The booking, from memory when it holds time (at once), else from the store
    /// (`Storage.find`). `404` when there is none, or when `allowed` says no (ids cannot be
    /// probed); `503` when the store cannot answer.
    func find(_ id: String, where allowed: @escaping (Booking) -> Bool = { _ in true },
              completion: @escaping (Result<Booking, APIError>) -> Void) {
        let found: (Result<Booking, APIError>) -> Void = { found in
            completion(found.flatMap { allowed($0) ? .success($0) : .failure(.notFound("booking")) })
        }
        if let booking = live[id] { return found(.success(booking)) }
        storage.find("booking", { try BookingTable.find(id, $0) }, completion: found)
    }

    /// The booking for a request: `then` runs with it if `principal` may see it (its owner or an
    /// admin); others get 404; a store failure answers 503.
    func visible(_ id: String, to principal: Principal, for responder: Responder, then: @escaping (Booking) throws(APIError) -> Void) {
        find(id, where: { principal.isAdmin || $0.userID == principal.id }) { found in
            responder.continuing { () throws(APIError) in try then(found.get()) }
        }
    }

    // MARK: Creating

    enum CreateOutcome {
        /// The booking and its view (`BookingViews.bytes(of:)`) serialized, as its event carried it.
        case created(Booking, view: [UInt8])
        case rejected(APIError)
    }

    /// Plans, reserves and commits a new pending booking. `extraWork` runs in the same
    /// transaction (the idempotency record).
    func create(_ draft: BookingDraft, for userID: String, now: Int64,
                extraWork: (@Sendable (Database, Booking, _ view: [UInt8]) throws -> Void)? = nil,
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
        // The view is serialized once: the event, the 201 and an idempotency record carry the same bytes.
        let view = BookingViews.bytes(of: booking)
        let events = [bookingEvent(booking, view: view)] + availabilityEvents(space: space, changed: [booking.range], adding: booking)
        creatingByUser[userID, default: 0] += 1
        serial.run(id) { [self] done in
            committer.commit(events: events, { db in
                try BookingTable.send(insertOf: booking, db)
                try extraWork?(db, booking, view)
            }) { [self] result in
                defer { done() }
                let creating = (creatingByUser[userID] ?? 1) - 1
                creatingByUser[userID] = creating > 0 ? creating : nil
                switch result {
                case .success:
                    index.confirm(id)
                    track(booking)
                    notify(booking, .created)
                    completion(.created(booking, view: view))
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
        if let error = error as? StoreError, error.isOverlapRefused {
            // The database holds a booking this hub's index does not know (written past it, or
            // by another hub on the same PostgreSQL): the database is the arbiter.
            return .conflict("booking_conflict", "that time is already taken (no seat or room left for the whole of it)",
                             details: ["conflicts": []])
        }
        return .unavailable("store_unavailable", "the booking could not be saved; nothing was booked, please retry")
    }
}

@available(*, unavailable) extension BookingService: Sendable {}

private struct WeakObserver {
    weak var observer: (any BookingObserver)?
}

/// What tracks the bookings read at start-up, made in bulk off the loop thread: `live`'s
/// tables and counts, and the deadlines. One by one (`track`), a million bookings spent most of
/// a start-up growing sets and tables by doubling (BENCHMARKS.md, Availability index).
struct StartTracking: Sendable {
    var tables: LiveBookings.Tables
    var holds = DeadlineQueue()
    var endings = DeadlineQueue()

    init(_ bookings: [Booking]) {
        tables = LiveBookings.Tables(of: bookings)
        // Queued at once, not pushed one by one.
        var holding: [(deadline: Int64, id: String)] = []
        var ending: [(deadline: Int64, id: String)] = []
        ending.reserveCapacity(bookings.count)
        for i in bookings.indices {
            let deadlines = BookingService.deadlines(of: bookings[i])
            if let hold = deadlines.hold { holding.append((hold, bookings[i].id)) }
            if let end = deadlines.ending { ending.append((end, bookings[i].id)) }
        }
        holds = DeadlineQueue(holding)
        endings = DeadlineQueue(ending)
    }
}
