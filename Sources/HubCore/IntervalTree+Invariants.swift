// Structural self-check, after swift-collections `Heap+Invariants.swift`. Mutating methods call it
// at their end when HUB_INTERNAL_CHECKS is defined (see Package.swift); tests may call it any time.

extension IntervalTree {
    /// Stops the process with a message when the tree is malformed: keys out of `(start, id)`
    /// order, an empty interval, a stale `maxEnd` or `height`, an AVL imbalance above one, `count`
    /// different from the reachable nodes, or a free list that does not account for every other slot.
    ///
    /// Complexity: O(n + free slots). Far too slow for production mutations, hence the define.
    public func checkInvariants() {
        var reachable = 0
        var previous: (start: Int64, id: Int)? = nil
        // Unsafe only for speed in unoptimised test builds, where checked array reads retain the
        // buffer each time; `checkSubtree` validates every link before it dereferences it.
        nodes.withUnsafeBufferPointer { nodes in
            _ = Self.checkSubtree(root, in: nodes, count: count, reachable: &reachable, previous: &previous)
        }
        precondition(reachable == count, "count \(count) but \(reachable) nodes reachable from the root")

        var freeSlots = 0
        var slot = freeHead
        while slot != Self.none {
            precondition(freeSlots < nodes.count, "free list has a cycle")
            precondition(nodes[Int(slot)].height == 0, "free slot \(slot) has height \(nodes[Int(slot)].height)")
            freeSlots += 1
            slot = nodes[Int(slot)].left
        }
        precondition(
            count + freeSlots == nodes.count,
            "\(count) live + \(freeSlots) free slots, but \(nodes.count) slots allocated")
    }

    /// Checks the subtree at `index` in order; returns its height and largest end. Recursion depth
    /// is the height, which the AVL check itself bounds, so even a corrupt tree fails before the
    /// stack does.
    private static func checkSubtree(
        _ index: Int32, in nodes: UnsafeBufferPointer<Node>, count: Int, reachable: inout Int,
        previous: inout (start: Int64, id: Int)?
    ) -> (height: Int8, maxEnd: Int64) {
        guard index != none else { return (0, .min) }
        precondition(index >= 0 && Int(index) < nodes.count, "link \(index) outside 0..<\(nodes.count)")
        reachable += 1
        precondition(reachable <= count, "more nodes reachable than count \(count): a cycle or a shared child")
        let node = nodes[Int(index)]
        precondition(node.start < node.end, "empty interval [\(node.start), \(node.end)) at \(index)")

        let left = checkSubtree(node.left, in: nodes, count: count, reachable: &reachable, previous: &previous)
        if let before = previous {
            precondition(
                precedes(before.start, before.id, node.start, node.id),
                "(\(node.start), #\(node.id)) follows (\(before.start), #\(before.id)) in order")
        }
        previous = (node.start, node.id)
        let right = checkSubtree(node.right, in: nodes, count: count, reachable: &reachable, previous: &previous)

        precondition(abs(Int(left.height) - Int(right.height)) <= 1, "AVL balance broken at \(index)")
        precondition(node.height == max(left.height, right.height) + 1, "stale height at \(index)")
        let expectedMaxEnd = max(node.end, max(left.maxEnd, right.maxEnd))
        precondition(node.maxEnd == expectedMaxEnd, "maxEnd \(node.maxEnd) at \(index), expected \(expectedMaxEnd)")
        return (node.height, node.maxEnd)
    }
}
