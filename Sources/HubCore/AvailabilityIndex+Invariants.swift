// Cross-checks the index's maps, records and trees. Mutating methods call it at their end when
// HUB_INTERNAL_CHECKS is defined (see Package.swift); tests may call it any time.

extension AvailabilityIndex {
    /// Stops the process with a message when the index is inconsistent: a tree malformed (see
    /// `IntervalTree.checkInvariants`), a tree entry that is not a live reservation of that
    /// resource with that interval, a reservation in no tree, or id maps that disagree with the
    /// records. Complexity: O(reservations + resources), no hashing.
    public func checkInvariants() {
        precondition(resourceHandles.count == resources.count, "resource map and list differ in size")
        for (id, handle) in resourceHandles {
            precondition(resources[Int(handle)].id == id, "resource map sends \(id) to \(resources[Int(handle)].id)")
        }

        // Distinct keys map to records carrying those keys, and the sizes match: a bijection
        // between recordHandles and live records, proven without hashing every id again.
        let live = records.lazy.filter { $0 != nil }.count
        precondition(recordHandles.count == live, "\(recordHandles.count) reservation ids but \(live) live records")
        for (id, handle) in recordHandles {
            precondition(records[handle]?.id == id, "reservation map sends \(id) to a different record")
        }
        precondition(live + freeHandles.count == records.count, "free handles do not account for released records")
        for handle in freeHandles {
            precondition(records[handle] == nil, "free handle \(handle) still holds a record")
        }

        // Each tree entry is a live record of that resource with that interval; tree keys are
        // unique per tree and each record has one resource, so equal totals mean every record
        // sits in exactly one tree.
        var entries = 0
        for (handle, resource) in resources.enumerated() {
            resource.tree.checkInvariants()
            entries += resource.tree.count
            resource.tree.forEach { interval, reservation in
                guard let record = records[reservation] else {
                    preconditionFailure("tree of \(resource.id) holds released handle \(reservation)")
                }
                precondition(Int(record.resource) == handle, "\(record.id) sits in the tree of \(resource.id)")
                precondition(
                    record.interval == interval, "\(record.id) is \(record.interval) but stored as \(interval)")
            }
        }
        precondition(entries == live, "\(live) reservations but \(entries) tree entries")
    }
}
