// Overlap queries. Both walks rely on two facts about a subtree rooted at node v:
//   - if v.maxEnd <= query.start, every interval below ends before the query starts: skip it;
//   - if v.start >= query.end, every interval in v's right subtree starts after the query ends.

extension IntervalTree {
    /// Calls `body` with every stored interval that overlaps `query`, and its id, in `(start, id)`
    /// order. Touching intervals (`end == query.start` or `start == query.end`) are not reported.
    ///
    /// Complexity: O(log n + k) for k reported entries when stored intervals seldom contain one
    /// another, as with the bookings of one space; O(min(n, (k + 1) log n)) in the worst case, when
    /// a few long intervals keep many subtrees' `maxEnd` high (CLRS exercise 14.3-4). Seat plans
    /// have short overlap lists, so the worst case costs little here; a centred interval tree would
    /// guarantee O(log n + k) at the price of much slower updates.
    public func forEachOverlap(_ query: Interval, _ body: (Interval, Int) -> Void) {
        visitOverlaps(root, query, body)
    }

    /// Every stored entry overlapping `query`, in `(start, id)` order. Allocates; see `forEachOverlap`.
    public func overlaps(_ query: Interval) -> [Entry] {
        var result: [Entry] = []
        forEachOverlap(query) { interval, id in result.append(Entry(interval, id: id)) }
        return result
    }

    /// True when some stored interval overlaps `query`. Complexity: O(log n), one root-to-leaf walk.
    public func anyOverlap(_ query: Interval) -> Bool {
        var index = root
        while index != Self.none {
            let node = nodes[Int(index)]
            if node.start < query.end && query.start < node.end { return true }
            // CLRS Theorem 14.2: if the left subtree reaches past query.start but holds no overlap,
            // its far-reaching interval starts at or after query.end, and so does all of the right
            // subtree. Either way one side suffices.
            if node.left != Self.none && nodes[Int(node.left)].maxEnd > query.start {
                index = node.left
            } else if node.start < query.end {
                index = node.right
            } else {
                return false  // right subtree starts at or after node.start >= query.end
            }
        }
        return false
    }

    /// Recurses to the left, loops to the right, so the stack depth stays within the tree height.
    private func visitOverlaps(_ start: Int32, _ query: Interval, _ body: (Interval, Int) -> Void) {
        var index = start
        while index != Self.none {
            let node = nodes[Int(index)]
            if node.maxEnd <= query.start { return }
            visitOverlaps(node.left, query, body)
            if node.start >= query.end { return }
            if node.end > query.start {
                body(Interval(uncheckedStart: node.start, end: node.end), node.id)
            }
            index = node.right
        }
    }
}
