// The fit rules, shared by check, reserve and move so the three can never disagree.

extension AvailabilityIndex {
    /// Whether `interval` could be reserved on a resource now, and if not, what stands in the way.
    /// `ignoring` names a reservation to leave out, as when asking whether it could move.
    /// Complexity: exclusive O(log n) when it fits, O(log n + k) with k conflicts; seated
    /// O(log n + k log k) with k overlapping reservations.
    public func check(_ interval: Interval, on resourceID: String, ignoring reservationID: String? = nil) -> Fit {
        guard let resource = resourceHandles[resourceID] else { return .unknownResource }
        let ignored = reservationID.flatMap { recordHandles[$0] }
        return fit(interval, in: resource, ignoring: ignored)
    }

    /// Seats free over the whole of `interval` on a seat plan: seats minus the most reservations
    /// overlapping at any one instant, never below 0 (a plan whose seats were cut below its
    /// reservations reports 0). Nil for an exclusive space or an unknown resource.
    /// Complexity: O(log n + k log k).
    /// `ignoring` leaves reservations out (a booking being released or moved).
    public func seatsLeft(on resourceID: String, during interval: Interval, ignoring: Set<String> = []) -> Int? {
        guard let handle = resourceHandles[resourceID] else { return nil }
        let resource = resources[Int(handle)]
        guard case .seated(let seats) = resource.kind else { return nil }
        guard !ignoring.isEmpty else { return max(0, seats - resource.tree.maxOverlapDepth(in: interval)) }
        let ignored = Set(ignoring.compactMap { recordHandles[$0] })
        var clipped: [Interval] = []
        resource.tree.forEachOverlap(interval) { held, handle in
            if !ignored.contains(handle) { clipped.append(held.clamped(to: interval)!) }  // forEachOverlap reports overlaps only
        }
        return max(0, seats - IntervalTree.maxDepth(of: clipped))
    }

    /// The fit rule for a known resource handle; never returns `.unknownResource`.
    func fit(_ interval: Interval, in resourceHandle: Int32, ignoring ignored: Int?) -> Fit {
        let resource = resources[Int(resourceHandle)]
        switch resource.kind {
        case .exclusive(let bufferSeconds):
            return exclusiveFit(interval, tree: resource.tree, bufferSeconds: bufferSeconds, ignoring: ignored)
        case .seated(let seats):
            return seatedFit(interval, tree: resource.tree, seats: seats, ignoring: ignored)
        }
    }

    /// `[a, b)` conflicts with a held `[s, e)` iff `s < b + buffer && a < e + buffer`, which is
    /// `[s, e)` overlapping `[a - buffer, b + buffer)`: one overlap query on the widened interval.
    private func exclusiveFit(_ interval: Interval, tree: IntervalTree, bufferSeconds: Int64, ignoring ignored: Int?)
        -> Fit
    {
        let reach = interval.widened(by: bufferSeconds)
        // The common case, a free slot, costs one root-to-leaf walk and no allocation.
        guard tree.anyOverlap(reach) else { return .fits(seatsLeft: nil) }
        var conflicts: [Conflict] = []
        tree.forEachOverlap(reach) { held, handle in
            guard handle != ignored else { return }
            conflicts.append(Conflict(reservationID: records[handle]!.id, interval: held))  // tree ids are live handles
        }
        return conflicts.isEmpty ? .fits(seatsLeft: nil) : .conflict(conflicts)
    }

    /// Fits while fewer than `seats` reservations overlap at every instant of `interval`.
    private func seatedFit(_ interval: Interval, tree: IntervalTree, seats: Int, ignoring ignored: Int?) -> Fit {
        var clipped: [Interval] = []
        var overlapping: [(interval: Interval, handle: Int)] = []
        tree.forEachOverlap(interval) { held, handle in
            guard handle != ignored else { return }
            clipped.append(held.clamped(to: interval)!)  // forEachOverlap reports overlaps only
            overlapping.append((held, handle))
        }
        let depth = IntervalTree.maxDepth(of: clipped)
        if depth < seats { return .fits(seatsLeft: seats - depth - 1) }
        return .conflict(overlapping.map { Conflict(reservationID: records[$0.handle]!.id, interval: $0.interval) })
    }
}
