// Start-up rebuild: the store hands back every reservation that still holds time (pending holds not
// yet expired, confirmed bookings) and the index is built in one pass, without n rebalancing inserts.

extension AvailabilityIndex {
    /// An index holding exactly these resources and reservations, built in bulk.
    ///
    /// Reservations are taken as committed facts and not checked against each other: the store
    /// accepted them, and refusing one here would silently drop a paid booking. Conflicts that
    /// slipped in (a space's buffer grew since) show up in later `check` results instead.
    /// Preconditions: every reservation names a resource in `resources`; reservation ids are unique.
    /// Complexity: O(n log n) for n reservations, O(n) per resource when the input is already
    /// ordered by start (the sort is adaptive).
    public init(resources: [(id: String, kind: ResourceKind)], reservations: some Sequence<Reservation>) {
        self.init()
        for resource in resources {
            precondition(resourceHandles[resource.id] == nil, "resource \(resource.id) listed twice")
            setResource(resource.id, kind: resource.kind)
        }
        records.reserveCapacity(reservations.underestimatedCount)
        recordHandles.reserveCapacity(reservations.underestimatedCount)
        var entries = [[IntervalTree.Entry]](repeating: [], count: self.resources.count)
        for reservation in reservations {
            guard let resource = resourceHandles[reservation.resourceID] else {
                preconditionFailure("reservation \(reservation.id) is on unknown resource \(reservation.resourceID)")
            }
            let handle = records.count
            let previous = recordHandles.updateValue(handle, forKey: reservation.id)
            precondition(previous == nil, "reservation \(reservation.id) listed twice")
            records.append(
                Record(
                    id: reservation.id, resource: resource, interval: reservation.interval,
                    isTentative: reservation.isTentative))
            entries[Int(resource)].append(IntervalTree.Entry(reservation.interval, id: handle))
        }
        for resource in entries.indices {
            // Handles grow in input order, so equal starts keep their input order as the tie-break.
            entries[resource].sort { IntervalTree.precedes($0.interval.start, $0.id, $1.interval.start, $1.id) }
            self.resources[resource].tree = IntervalTree(sorted: entries[resource])
        }
        checkInvariantsIfEnabled()
    }
}
