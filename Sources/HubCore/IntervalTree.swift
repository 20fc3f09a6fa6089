/// A set of half-open intervals, each tagged with a caller-chosen integer `id`, that answers
/// "what overlaps this?" in logarithmic time.
///
/// An AVL tree keyed by `(start, id)`, so equal starts are fine as long as ids differ; each node
/// also stores the largest `end` in its subtree, which lets a query skip every subtree that ends
/// before the query starts (CLRS §14.3, "Interval trees").
///
/// Nodes live in one contiguous array and link to each other by `Int32` index, with freed slots
/// kept on a free list: one allocation for the whole tree instead of one object per interval, no
/// reference counting on the hot path, and 48 bytes per interval. The array never shrinks; a tree
/// that was once large keeps its capacity until it is rebuilt with `init(sorted:)`.
///
/// Value semantics come from the array's copy-on-write. Not thread-safe to mutate concurrently,
/// like any Swift value; the availability index owns its trees on the loop thread.
///
/// Complexity: `insert`, `remove`, `anyOverlap` O(log n); `forEachOverlap` O(log n + k) when the
/// stored intervals rarely nest (bookings of one space), O(min(n, (k + 1) log n)) in the worst case;
/// `init(sorted:)` O(n).
///
///     var tree = IntervalTree()
///     tree.insert(Interval(start: 9, end: 12), id: 1)
///     tree.insert(Interval(start: 12, end: 14), id: 2)
///     tree.anyOverlap(Interval(start: 11, end: 12))   // true, id 1
///     tree.anyOverlap(Interval(start: 14, end: 15))   // false: [12, 14) ends where the query starts
public struct IntervalTree: Sendable {
    /// One stored interval and its links. `height == 0` marks a slot on the free list, whose
    /// `left` then links to the next free slot.
    struct Node: Sendable {
        var start: Int64
        var end: Int64
        /// Largest `end` in the subtree rooted here, this node included.
        var maxEnd: Int64
        var id: Int
        var left: Int32
        var right: Int32
        /// Height of the subtree rooted here; a leaf is 1. AVL keeps it below 1.44 log2(n + 2),
        /// so 45 at 2^31 nodes: `Int8` is plenty.
        var height: Int8
    }

    /// One interval with its id, as passed to `init(sorted:)` and returned by `entries`.
    public struct Entry: Hashable, Sendable {
        public var interval: Interval
        public var id: Int

        public init(_ interval: Interval, id: Int) {
            self.interval = interval
            self.id = id
        }
    }

    /// Most intervals one tree holds. Node links are `Int32` to keep a node at 48 bytes; beyond
    /// this `insert` stops with a precondition failure. A resource with two billion bookings is a bug.
    public static let countMax = Int(Int32.max) - 1

    /// Link value meaning "no node".
    static let none: Int32 = -1

    var nodes: ContiguousArray<Node> = []
    var root: Int32 = IntervalTree.none
    /// Head of the free list threaded through `Node.left` of freed slots.
    var freeHead: Int32 = IntervalTree.none

    /// Number of stored intervals.
    public private(set) var count = 0

    public var isEmpty: Bool { count == 0 }

    /// An empty tree.
    public init() {}

    /// Builds a perfectly balanced tree from entries sorted by `(interval.start, id)`, as read back
    /// from storage ordered by start.
    ///
    /// Precondition: strictly increasing `(start, id)` — equal starts need distinct, increasing ids.
    /// Complexity: O(n), one allocation, no rebalancing.
    public init(sorted entries: some Sequence<Entry>) {
        nodes.reserveCapacity(entries.underestimatedCount)
        for entry in entries {
            if let last = nodes.last {
                precondition(
                    Self.precedes(last.start, last.id, entry.interval.start, entry.id),
                    "init(sorted:) needs strictly increasing (start, id); \(entry) follows id \(last.id)")
            }
            nodes.append(
                Node(
                    start: entry.interval.start, end: entry.interval.end, maxEnd: entry.interval.end,
                    id: entry.id, left: Self.none, right: Self.none, height: 1))
        }
        precondition(nodes.count <= Self.countMax, "IntervalTree holds at most \(Self.countMax) intervals")
        count = nodes.count
        // In-order position i is stored at index i; the middle of each range becomes its root, so
        // the two halves differ in size by at most one and the heights by at most one (AVL-valid).
        root = buildBalanced(0, Int32(nodes.count))
        checkInvariantsIfEnabled()
    }

    /// Adds `interval` under `id`. Precondition: no stored entry has the same start and id.
    /// Complexity: O(log n), amortised; no allocation unless the node array grows.
    public mutating func insert(_ interval: Interval, id: Int) {
        let node = allocate(interval, id: id)
        root = insert(node, into: root)
        count += 1
        checkInvariantsIfEnabled()
    }

    /// Removes the entry with this interval and id; returns false, changing nothing, when there is
    /// none (same start and id but a different end counts as none). Complexity: O(log n).
    @discardableResult
    public mutating func remove(_ interval: Interval, id: Int) -> Bool {
        var removed = false
        root = remove(start: interval.start, id: id, end: interval.end, from: root, removed: &removed)
        if removed { count -= 1 }
        checkInvariantsIfEnabled()
        return removed
    }

    /// Calls `body` for every entry in `(start, id)` order. Complexity: O(n).
    public func forEach(_ body: (Interval, Int) -> Void) {
        visitInOrder(root, body)
    }

    /// Every entry in `(start, id)` order. Complexity: O(n); allocates.
    public var entries: [Entry] {
        var result: [Entry] = []
        result.reserveCapacity(count)
        forEach { interval, id in result.append(Entry(interval, id: id)) }
        return result
    }

    /// Recursion depth is the tree height (at most 45), so the stack is never a concern.
    private func visitInOrder(_ index: Int32, _ body: (Interval, Int) -> Void) {
        guard index != Self.none else { return }
        let node = nodes[Int(index)]
        visitInOrder(node.left, body)
        body(Interval(uncheckedStart: node.start, end: node.end), node.id)
        visitInOrder(node.right, body)
    }

    /// Links `nodes[low..<high]`, already in order, into a balanced subtree; returns its root.
    private mutating func buildBalanced(_ low: Int32, _ high: Int32) -> Int32 {
        guard low < high else { return Self.none }
        let middle = low + (high - low) / 2
        let left = buildBalanced(low, middle)
        let right = buildBalanced(middle + 1, high)
        nodes[Int(middle)].left = left
        nodes[Int(middle)].right = right
        update(middle)
        return middle
    }

    /// The tree's key order: by start, then by id.
    @inline(__always)
    static func precedes(_ startA: Int64, _ idA: Int, _ startB: Int64, _ idB: Int) -> Bool {
        startA < startB || (startA == startB && idA < idB)
    }

    @inline(__always)
    func checkInvariantsIfEnabled() {
        #if HUB_INTERNAL_CHECKS
            checkInvariants()
        #endif
    }
}

extension IntervalTree.Entry: CustomStringConvertible {
    public var description: String { "\(interval)#\(id)" }
}
