// Overlap depth: how many intervals cover a point. Seat plans use it ("does a free seat remain over
// the whole booking?"). Computed by collecting the k overlaps and sweeping their endpoints in
// O(k log k). Keeping depth in a tree instead would need a second tree keyed by endpoint (+1 at each
// start, -1 at each end, with subtree sums and max prefix sums): twice the nodes and twice the
// update work on every booking, for a question only seat plans ask, over overlap lists a few long.

extension IntervalTree {
    /// The largest number of stored intervals that all cover one point inside `query`; 0 when
    /// nothing overlaps. Complexity: O(log n + k log k) for k overlaps (see `forEachOverlap`).
    public func maxOverlapDepth(in query: Interval) -> Int {
        var clipped: [Interval] = []
        forEachOverlap(query) { interval, _ in
            clipped.append(interval.clamped(to: query)!)  // forEachOverlap reports overlaps only
        }
        return Self.maxDepth(of: clipped)
    }

    /// The largest number of `intervals` covering any one point. Half-open: at a shared endpoint the
    /// interval that ends is gone before the one that starts arrives.
    /// Complexity: O(k log k); allocates two arrays of k.
    static func maxDepth(of intervals: [Interval]) -> Int {
        guard intervals.count > 1 else { return intervals.count }
        let starts = intervals.map(\.start).sorted()
        let ends = intervals.map(\.end).sorted()
        var depth = 0
        var deepest = 0
        var nextEnd = 0
        for start in starts {
            while ends[nextEnd] <= start {  // every end exceeds its own start, so this stops in bounds
                depth -= 1
                nextEnd += 1
            }
            depth += 1
            deepest = max(deepest, depth)
        }
        return deepest
    }

    /// The maximal ranges where at least `threshold` of `intervals` overlap, in order, merged and
    /// never touching. Precondition: `threshold >= 1` (every point has depth at least 0).
    /// Complexity: O(k log k).
    static func coverage(of intervals: [Interval], atLeast threshold: Int) -> [Interval] {
        precondition(threshold >= 1, "coverage threshold \(threshold) below 1 covers everything")
        guard intervals.count >= threshold else { return [] }
        let starts = intervals.map(\.start).sorted()
        let ends = intervals.map(\.end).sorted()
        var ranges: [Interval] = []
        var depth = 0
        var nextStart = 0
        var nextEnd = 0
        var openedAt: Int64? = nil
        // The last event is always an end, so the loop closes every range it opens.
        while nextEnd < ends.count {
            let point = nextStart < starts.count ? min(starts[nextStart], ends[nextEnd]) : ends[nextEnd]
            // Apply every event at this point before comparing, so [a, b) and [b, c) at full
            // depth give one range [a, c), not two touching ones.
            while nextEnd < ends.count && ends[nextEnd] == point {
                depth -= 1
                nextEnd += 1
            }
            while nextStart < starts.count && starts[nextStart] == point {
                depth += 1
                nextStart += 1
            }
            if depth >= threshold {
                if openedAt == nil { openedAt = point }
            } else if let opened = openedAt {
                ranges.append(Interval(uncheckedStart: opened, end: point))
                openedAt = nil
            }
        }
        return ranges
    }
}
