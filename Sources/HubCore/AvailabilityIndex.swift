/// Which time is taken on every bookable resource, kept in memory so that a booking request is
/// checked and reserved in one step, without a database round trip, on the loop thread.
///
/// One `IntervalTree` per resource (event space or coworking plan). Resource and reservation ids
/// are strings (UUID text) at the edges and small integer handles inside: a reservation's handle
/// is its tree id and its slot in `records`, so a tree hit becomes a reservation without hashing.
///
/// Single-threaded by design: the loop thread owns the index, so "check, then insert" in `reserve`
/// and `move` cannot interleave with another request (docs/ARCHITECTURE.md, "Decide in memory").
/// The index is a plain value; the caller persists and, if the commit fails, calls `release`.
///
/// Complexity, for n reservations on the resource and k of them overlapping the query:
/// `check`, `reserve`, `move` O(log n + k) for exclusive spaces (O(log n) when nothing conflicts),
/// O(log n + k log k) for seat plans; `confirm` O(1); `release` O(log n); string ids add one hash.
///
///     var index = AvailabilityIndex()
///     index.setResource("hall", kind: .exclusive(bufferSeconds: 900))
///     let morning = Interval(start: 1_750_000_000, end: 1_750_007_200)
///     index.reserve("b1", on: "hall", during: morning)           // .reserved(seatsLeft: nil)
///     index.check(Interval(start: 1_750_007_800, end: 1_750_009_000), on: "hall")
///     // .conflict([b1]): it starts 600 s after b1 ends, inside the 900 s buffer
public struct AvailabilityIndex: Sendable {
    /// One bookable resource and the reservations on it, keyed by reservation handle.
    struct Resource: Sendable {
        let id: String
        var kind: ResourceKind
        var tree = IntervalTree()
    }

    /// One live reservation; `resource` is a handle into `resources`.
    struct Record: Sendable {
        let id: String
        let resource: Int32
        var interval: Interval
        var isTentative: Bool
    }

    var resources: [Resource] = []
    var resourceHandles: [String: Int32] = [:]
    /// Indexed by reservation handle; nil for a released slot, whose handle waits in `freeHandles`.
    var records: [Record?] = []
    var recordHandles: [String: Int] = [:]
    var freeHandles: [Int] = []

    /// An empty index with no resources.
    public init() {}

    /// Number of reservations held, tentative and confirmed, on all resources.
    public var count: Int { recordHandles.count }

    /// Number of resources known.
    public var resourceCount: Int { resources.count }

    /// Adds a resource, or changes the kind of a known one. Reservations already held stay, even
    /// ones that the new kind would refuse (fewer seats, a longer buffer): they are commitments; only
    /// new requests see the new rule. Preconditions: `bufferSeconds >= 0`, `seats >= 0`.
    /// Complexity: O(1) amortised.
    public mutating func setResource(_ resourceID: String, kind: ResourceKind) {
        switch kind {
        case .exclusive(let bufferSeconds): precondition(bufferSeconds >= 0, "negative buffer \(bufferSeconds)")
        case .seated(let seats): precondition(seats >= 0, "negative seat count \(seats)")
        }
        if let handle = resourceHandles[resourceID] {
            resources[Int(handle)].kind = kind
        } else {
            precondition(resources.count < Int(Int32.max), "resource handles are Int32")
            resourceHandles[resourceID] = Int32(resources.count)
            resources.append(Resource(id: resourceID, kind: kind))
        }
        checkInvariantsIfEnabled()
    }

    /// The kind of a resource, or nil when it is unknown.
    public func kind(of resourceID: String) -> ResourceKind? {
        resourceHandles[resourceID].map { resources[Int($0)].kind }
    }

    /// The reservation with this id, or nil. Complexity: O(1).
    public func reservation(_ reservationID: String) -> Reservation? {
        recordHandles[reservationID].map(reservation(handle:))
    }

    /// Reserves `interval` on a resource for `reservationID` if it fits, atomically; otherwise
    /// changes nothing and says why, checking in this order: the resource is known, the id is not
    /// held yet, the interval fits. The reservation is tentative (a hold awaiting payment) until
    /// `confirm`. Complexity: as `check`, plus O(log n) to insert.
    ///
    /// `ignoring` leaves one reservation out of the check: a booking that moves holds its new
    /// range under a second id while keeping the old one until the move is committed, and the two
    /// may overlap.
    public mutating func reserve(
        _ reservationID: String, on resourceID: String, during interval: Interval, tentative: Bool = true,
        ignoring ignoredID: String? = nil
    ) -> ReserveResult {
        guard let resource = resourceHandles[resourceID] else { return .unknownResource }
        guard recordHandles[reservationID] == nil else { return .duplicateReservation }
        let seatsLeft: Int?
        switch fit(interval, in: resource, ignoring: ignoredID.flatMap { recordHandles[$0] }) {
        case .fits(let left): seatsLeft = left
        case .conflict(let conflicts): return .conflict(conflicts)
        case .unknownResource: preconditionFailure("fit(_:in:ignoring:) takes a known handle")
        }
        let record = Record(id: reservationID, resource: resource, interval: interval, isTentative: tentative)
        let handle: Int
        if let reused = freeHandles.popLast() {
            handle = reused
            records[handle] = record
        } else {
            handle = records.count
            records.append(record)
        }
        recordHandles[reservationID] = handle
        resources[Int(resource)].tree.insert(interval, id: handle)
        checkInvariantsIfEnabled()
        return .reserved(seatsLeft: seatsLeft)
    }

    /// Marks a tentative reservation confirmed; returns false when no reservation has this id.
    /// Confirming twice is harmless. Complexity: O(1).
    @discardableResult
    public mutating func confirm(_ reservationID: String) -> Bool {
        guard let handle = recordHandles[reservationID] else { return false }
        records[handle]!.isTentative = false  // recordHandles only maps to live records
        checkInvariantsIfEnabled()
        return true
    }

    /// Frees the reservation's time, for a cancellation, an expired hold, or a commit that failed;
    /// returns what was released, or nil when no reservation has this id. Complexity: O(log n).
    @discardableResult
    public mutating func release(_ reservationID: String) -> Reservation? {
        guard let handle = recordHandles.removeValue(forKey: reservationID) else { return nil }
        let released = reservation(handle: handle)
        let record = records[handle]!  // recordHandles only maps to live records
        let removed = resources[Int(record.resource)].tree.remove(record.interval, id: handle)
        precondition(removed, "reservation \(reservationID) missing from its resource's tree")
        records[handle] = nil
        freeHandles.append(handle)
        checkInvariantsIfEnabled()
        return released
    }

    /// Moves a reservation to `interval` on the same resource if the new interval fits, ignoring
    /// the reservation's own current interval; otherwise keeps the old interval and says why.
    /// The tentative flag is unchanged. Complexity: as `check`, plus O(log n).
    public mutating func move(_ reservationID: String, to interval: Interval) -> MoveResult {
        guard let handle = recordHandles[reservationID] else { return .unknownReservation }
        let record = records[handle]!  // recordHandles only maps to live records
        let seatsLeft: Int?
        switch fit(interval, in: record.resource, ignoring: handle) {
        case .fits(let left): seatsLeft = left
        case .conflict(let conflicts): return .conflict(conflicts)
        case .unknownResource: preconditionFailure("fit(_:in:ignoring:) takes a known handle")
        }
        let removed = resources[Int(record.resource)].tree.remove(record.interval, id: handle)
        precondition(removed, "reservation \(reservationID) missing from its resource's tree")
        resources[Int(record.resource)].tree.insert(interval, id: handle)
        records[handle]!.interval = interval
        checkInvariantsIfEnabled()
        return .moved(seatsLeft: seatsLeft)
    }

    /// The public value for a live handle.
    func reservation(handle: Int) -> Reservation {
        let record = records[handle]!  // callers pass handles of live records
        return Reservation(
            id: record.id, resourceID: resources[Int(record.resource)].id, interval: record.interval,
            isTentative: record.isTentative)
    }

    @inline(__always)
    func checkInvariantsIfEnabled() {
        #if HUB_INTERNAL_CHECKS
            checkInvariants()
        #endif
    }
}
