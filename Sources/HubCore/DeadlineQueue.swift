/// A min-heap of (deadline, id): the next hold to expire, in O(log n) per push and pop.
///
/// Entries are never removed early; a popped entry whose booking has changed since is simply
/// ignored by the caller (lazy deletion), which keeps cancel and confirm O(1).
public struct DeadlineQueue: Sendable {
    private var heap: [(deadline: Int64, id: String)] = []

    public init() {}

    /// A queue of `entries` at once, in O(n) (Floyd's construction) rather than n pushes: a
    /// start-up queues the deadlines of a million bookings.
    public init(_ entries: consuming [(deadline: Int64, id: String)]) {
        heap = entries
        for parent in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(from: parent) }
    }

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }
    public var nextDeadline: Int64? { heap.first?.deadline }

    public mutating func push(_ deadline: Int64, _ id: String) {
        heap.append((deadline, id))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns every entry due at or before `now`, earliest first.
    public mutating func popDue(now: Int64, limit: Int = .max) -> [(deadline: Int64, id: String)] {
        var due: [(deadline: Int64, id: String)] = []
        while due.count < limit, let first = heap.first, first.deadline <= now {
            due.append(popFirst())
        }
        return due
    }

    private mutating func popFirst() -> (deadline: Int64, id: String) {
        let first = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(from: 0)
        }
        return first
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
