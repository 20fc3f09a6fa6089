// Read-only views for dashboards, kiosks and the booking form: who holds what, when a resource is
// busy, and where a booking would still fit.

extension AvailabilityIndex {
    /// Reservations on a resource overlapping `interval`, in start order; empty for an unknown
    /// resource. Complexity: O(log n + k).
    public func reservations(on resourceID: String, overlapping interval: Interval) -> [Reservation] {
        guard let handle = resourceHandles[resourceID] else { return [] }
        // Local copies, taken once: read through `self` in the closure, the arrays were retained
        // and released for every reservation reported.
        let resource = resources[Int(handle)]
        let records = records
        var result: [Reservation] = []
        resource.tree.forEachOverlap(interval) { _, reservation in
            let record = records[reservation]!  // tree ids are live handles
            result.append(Reservation(id: record.id, resourceID: resource.id, interval: record.interval, isTentative: record.isTentative))
        }
        return result
    }

    /// When a resource is taken within `window`: sorted, merged (touching ranges joined), clipped
    /// to the window. Empty for an unknown resource.
    ///
    /// Exclusive: the union of the reservations themselves, without buffers, which is what a
    /// kiosk shows as "busy until"; buffers are a booking rule, see `freeSlots`. Seated: where all
    /// seats are taken (the whole window for a plan with 0 seats).
    /// Complexity: O(log n + k log k).
    public func busyRanges(on resourceID: String, within window: Interval) -> [Interval] {
        guard let handle = resourceHandles[resourceID] else { return [] }
        let resource = resources[Int(handle)]
        let threshold: Int
        switch resource.kind {
        case .exclusive: threshold = 1
        case .seated(let seats): threshold = seats
        }
        guard threshold > 0 else { return [window] }
        return IntervalTree.coverage(of: clippedOverlaps(resource.tree, window), atLeast: threshold)
    }

    /// The parts of `openWindows` (opening hours already in UTC, in any order; overlapping or
    /// touching windows are joined) where a reservation would fit, keeping only pieces of at least
    /// `minimumSeconds`. Any interval inside a returned slot passes `check`; an interval inside the
    /// windows that crosses a blocked instant does not. Empty for an unknown resource.
    ///
    /// Exclusive: the windows minus every reservation widened by the buffer on both sides.
    /// Seated: the windows minus the instants where all seats are taken.
    /// Precondition: `minimumSeconds >= 0`. Complexity: O(w log w + log n + k log k) for w windows.
    ///
    /// `ignoring` leaves reservations out, as if released: the free slots a cancellation will
    /// leave, computed before it commits.
    public func freeSlots(on resourceID: String, openWindows: [Interval], minimumSeconds: Int64,
                          ignoring ignoredIDs: Set<String> = []) -> [Interval] {
        precondition(minimumSeconds >= 0, "negative minimum slot length \(minimumSeconds)")
        guard let handle = resourceHandles[resourceID] else { return [] }
        let ignored = Set(ignoredIDs.compactMap { recordHandles[$0] })
        let windows = Self.joined(openWindows)
        guard let first = windows.first, let last = windows.last else { return [] }
        let hull = Interval(uncheckedStart: first.start, end: last.end)
        let resource = resources[Int(handle)]
        let blocked: [Interval]
        switch resource.kind {
        case .exclusive(let bufferSeconds):
            var widened: [Interval] = []
            resource.tree.forEachOverlap(hull.widened(by: bufferSeconds)) { held, reservation in
                guard !ignored.contains(reservation) else { return }
                // Overlap is symmetric under widening: held overlaps hull±buffer iff held±buffer
                // overlaps hull, so the clamp always succeeds.
                widened.append(held.widened(by: bufferSeconds).clamped(to: hull)!)
            }
            blocked = IntervalTree.coverage(of: widened, atLeast: 1)
        case .seated(let seats):
            blocked =
                seats > 0 ? IntervalTree.coverage(of: clippedOverlaps(resource.tree, hull, ignoring: ignored), atLeast: seats) : [hull]
        }
        return Self.subtracting(blocked, from: windows, minimumSeconds: minimumSeconds)
    }

    /// The stored intervals overlapping `window`, each cut to the window.
    private func clippedOverlaps(_ tree: IntervalTree, _ window: Interval, ignoring ignored: Set<Int> = []) -> [Interval] {
        var clipped: [Interval] = []
        tree.forEachOverlap(window) { held, reservation in
            guard !ignored.contains(reservation) else { return }
            clipped.append(held.clamped(to: window)!)  // forEachOverlap reports overlaps only
        }
        return clipped
    }

    /// Sorted, with overlapping or touching intervals joined: [9, 12) and [12, 17) are one
    /// opening, so a booking across noon fits.
    static func joined(_ intervals: [Interval]) -> [Interval] {
        var result: [Interval] = []
        for interval in intervals.sorted(by: { $0.start < $1.start }) {
            if let last = result.last, interval.start <= last.end {
                result[result.count - 1] = Interval(uncheckedStart: last.start, end: max(last.end, interval.end))
            } else {
                result.append(interval)
            }
        }
        return result
    }

    /// `windows` minus `blocked`, both sorted and non-overlapping, dropping pieces shorter than
    /// `minimumSeconds`. Complexity: O(windows + blocked), a merge walk.
    static func subtracting(_ blocked: [Interval], from windows: [Interval], minimumSeconds: Int64) -> [Interval] {
        var free: [Interval] = []
        func keep(_ start: Int64, _ end: Int64) {
            if start < end && end - start >= minimumSeconds { free.append(Interval(uncheckedStart: start, end: end)) }
        }
        var firstRelevant = 0
        for window in windows {
            var cursor = window.start
            while firstRelevant < blocked.count && blocked[firstRelevant].end <= cursor { firstRelevant += 1 }
            // A blocked range may reach into the next window too, so this scan does not consume it.
            var next = firstRelevant
            while next < blocked.count && blocked[next].start < window.end {
                keep(cursor, blocked[next].start)
                cursor = max(cursor, blocked[next].end)
                next += 1
            }
            keep(cursor, window.end)
        }
        return free
    }
}
