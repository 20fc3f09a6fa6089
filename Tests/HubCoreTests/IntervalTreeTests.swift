import HubTestSupport
import Testing

@testable import HubCore

/// The reference the tree is checked against: a plain array, every answer by linear scan.
/// Kept in the tree's `(start, id)` order so answers compare element by element.
struct IntervalTreeModel {
    private(set) var ordered: [IntervalTree.Entry] = []

    init(entries: [IntervalTree.Entry] = []) {
        for entry in entries { insert(entry) }
    }

    var count: Int { ordered.count }

    /// Where `(start, id)` is or would go.
    private func position(start: Int64, id: Int) -> Int {
        ordered.firstIndex { ($0.interval.start, $0.id) >= (start, id) } ?? ordered.count
    }

    func contains(start: Int64, id: Int) -> Bool {
        let index = position(start: start, id: id)
        return index < ordered.count && ordered[index].interval.start == start && ordered[index].id == id
    }

    mutating func insert(_ entry: IntervalTree.Entry) {
        ordered.insert(entry, at: position(start: entry.interval.start, id: entry.id))
    }

    /// Removes the entry if present with exactly this interval; says whether it was.
    mutating func remove(_ entry: IntervalTree.Entry) -> Bool {
        guard let index = ordered.firstIndex(of: entry) else { return false }
        ordered.remove(at: index)
        return true
    }

    func overlaps(_ query: Interval) -> [IntervalTree.Entry] {
        ordered.filter { $0.interval.start < query.end && query.start < $0.interval.end }
    }

    /// Depth is highest at `query.start` or at some start inside the query, so counting at those
    /// points is exact.
    func maxDepth(in query: Interval) -> Int {
        let overlapping = overlaps(query).map(\.interval)
        let points = [query.start] + overlapping.map(\.start).filter { $0 > query.start }
        return points.map { point in overlapping.filter { $0.start <= point && point < $0.end }.count }.max() ?? 0
    }
}

/// Overlap queries as arrays, in the order the tree reports them.
extension IntervalTree {
    func reportedOverlaps(_ query: Interval) -> [Entry] {
        var reported: [Entry] = []
        forEachOverlap(query) { interval, id in reported.append(Entry(interval, id: id)) }
        return reported
    }
}

@Suite struct IntervalTreeTests {
    /// Weighted random inserts, removals (present, absent, same key with another end) and every
    /// query kind, each answer compared with the array model and the invariants checked after every
    /// mutation. Size swings between empty and a few hundred so both rebalancing directions run.
    @Test func matchesArrayModelOverRandomOperations() throws {
        var random = SeededRandom.fromEnvironment("IntervalTreeTests.matchesArrayModelOverRandomOperations")
        let seed = random.seed
        let operations = 100_000
        let sizeMax = 300
        var tree = IntervalTree()
        var model = IntervalTreeModel()
        var counts = [String: Int]()

        for step in 0..<operations {
            let context: Comment = "HUB_SEED=\(seed), step \(step)"
            let growing = (step / 3_000) % 2 == 0
            let roll = Int.random(in: 0..<100, using: &random)
            let insertWeight = model.count >= sizeMax ? 0 : (growing ? 45 : 15)

            if roll < insertWeight {
                let interval = randomInterval(&random, near: model)
                var id = Int.random(in: 0..<8, using: &random)
                while model.contains(start: interval.start, id: id) { id += 8 }
                tree.insert(interval, id: id)
                model.insert(IntervalTree.Entry(interval, id: id))
                counts["insert", default: 0] += 1
            } else if roll < 60, let entry = model.ordered.randomElement(using: &random) {
                _ = model.remove(entry)
                let removed = tree.remove(entry.interval, id: entry.id)
                try #require(removed, context)
                counts["remove", default: 0] += 1
            } else if roll < 65 {
                // Absent, or present under the same key but with another end: both must be refused.
                let interval = randomInterval(&random, near: model)
                let id = Int.random(in: 0..<24, using: &random)
                let present = model.remove(IntervalTree.Entry(interval, id: id))
                let removed = tree.remove(interval, id: id)
                try #require(removed == present, context)
                counts["remove absent", default: 0] += 1
            } else if roll < 80 {
                let query = randomInterval(&random, near: model)
                try #require(tree.reportedOverlaps(query) == model.overlaps(query), context)
                counts["forEachOverlap", default: 0] += 1
            } else if roll < 90 {
                let query = randomInterval(&random, near: model)
                try #require(tree.anyOverlap(query) == !model.overlaps(query).isEmpty, context)
                counts["anyOverlap", default: 0] += 1
            } else if roll < 97 {
                let query = randomInterval(&random, near: model)
                try #require(tree.maxOverlapDepth(in: query) == model.maxDepth(in: query), context)
                counts["maxOverlapDepth", default: 0] += 1
            } else {
                try #require(tree.entries == model.ordered, context)
                counts["entries", default: 0] += 1
            }
            if roll < 65 { tree.checkInvariants() }  // queries cannot change the tree
            try #require(tree.count == model.count, context)
        }
        let summary = counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("IntervalTree fuzz: \(operations) operations: \(summary)")
    }

    @Test func bulkBuildEqualsIncrementalInserts() throws {
        var random = SeededRandom.fromEnvironment("IntervalTreeTests.bulkBuildEqualsIncrementalInserts")
        let seed = random.seed
        for size in Array(0...64) + [127, 128, 129, 1_000, 4_095] {
            let context: Comment = "HUB_SEED=\(seed), size \(size)"
            var model = IntervalTreeModel()
            var insertionOrder: [IntervalTree.Entry] = []
            for id in 0..<size {
                insertionOrder.append(IntervalTree.Entry(randomInterval(&random, near: model), id: id))
                model.insert(insertionOrder[id])
            }
            var incremental = IntervalTree()
            for entry in insertionOrder { incremental.insert(entry.interval, id: entry.id) }
            var bulk = IntervalTree(sorted: model.ordered)
            bulk.checkInvariants()
            try #require(bulk.entries == incremental.entries, context)
            try #require(bulk.count == size, context)
            // Perfect balance: height is ceil(log2(n + 1)), the least any binary tree of n nodes has.
            let expectedHeight = size == 0 ? 0 : Int.bitWidth - (size).leadingZeroBitCount
            try #require(Int(bulk.height(bulk.root)) == expectedHeight, context)
            for _ in 0..<20 {
                let query = randomInterval(&random, near: model)
                try #require(bulk.reportedOverlaps(query) == incremental.reportedOverlaps(query), context)
            }
            // A bulk-built tree must keep working as an ordinary one.
            for entry in model.ordered.shuffled(using: &random).prefix(size / 2) {
                let removed = bulk.remove(entry.interval, id: entry.id)
                try #require(removed, context)
                _ = model.remove(entry)
            }
            for id in size..<(size + 10) {
                let interval = randomInterval(&random, near: model)
                bulk.insert(interval, id: id)
                model.insert(IntervalTree.Entry(interval, id: id))
            }
            bulk.checkInvariants()
            try #require(bulk.entries == model.ordered, context)
        }
    }

    @Test func touchingIntervalsDoNotOverlap() {
        var tree = IntervalTree()
        tree.insert(Interval(start: 10, end: 20), id: 1)
        #expect(!tree.anyOverlap(Interval(start: 20, end: 30)))
        #expect(!tree.anyOverlap(Interval(start: 0, end: 10)))
        #expect(tree.reportedOverlaps(Interval(start: 20, end: 30)).isEmpty)
        #expect(tree.anyOverlap(Interval(start: 19, end: 20)))
        #expect(tree.anyOverlap(Interval(start: 9, end: 11)))
        tree.insert(Interval(start: 20, end: 30), id: 2)
        #expect(tree.maxOverlapDepth(in: Interval(start: 0, end: 40)) == 1)
    }

    @Test func equalStartsAreKeptApartByID() {
        var tree = IntervalTree()
        tree.insert(Interval(start: 5, end: 9), id: 2)
        tree.insert(Interval(start: 5, end: 7), id: 1)
        #expect(tree.entries.map(\.id) == [1, 2])
        #expect(tree.maxOverlapDepth(in: Interval(start: 6, end: 8)) == 2)
        #expect(tree.maxOverlapDepth(in: Interval(start: 7, end: 8)) == 1)
        let removed = tree.remove(Interval(start: 5, end: 7), id: 1)
        #expect(removed)
        #expect(tree.entries == [IntervalTree.Entry(Interval(start: 5, end: 9), id: 2)])
    }

    @Test func removeRefusesWrongEndOrUnknownID() {
        var tree = IntervalTree()
        let removedFromEmpty = tree.remove(Interval(start: 1, end: 2), id: 0)
        #expect(!removedFromEmpty)
        tree.insert(Interval(start: 1, end: 5), id: 7)
        let removedWrongEnd = tree.remove(Interval(start: 1, end: 4), id: 7)
        let removedWrongID = tree.remove(Interval(start: 1, end: 5), id: 8)
        #expect(!removedWrongEnd && !removedWrongID)
        #expect(tree.count == 1)
        let removed = tree.remove(Interval(start: 1, end: 5), id: 7)
        #expect(removed)
        #expect(tree.isEmpty)
    }

    /// Removed slots go on the free list and are reused before the node array grows.
    @Test func freedNodesAreReused() {
        var tree = IntervalTree()
        for id in 0..<100 { tree.insert(Interval(start: Int64(id), end: Int64(id) + 10), id: id) }
        for id in 0..<50 {
            let removed = tree.remove(Interval(start: Int64(id), end: Int64(id) + 10), id: id)
            #expect(removed)
        }
        for id in 100..<150 { tree.insert(Interval(start: Int64(id), end: Int64(id) + 1), id: id) }
        #expect(tree.nodes.count == 100)
        tree.checkInvariants()
    }

    @Test func extremeCoordinatesWork() {
        var tree = IntervalTree()
        tree.insert(Interval(start: .min, end: .min + 1), id: 0)
        tree.insert(Interval(start: .max - 1, end: .max), id: 1)
        tree.insert(Interval(start: .min, end: .max), id: 2)
        #expect(tree.maxOverlapDepth(in: Interval(start: .min, end: .max)) == 2)
        #expect(tree.reportedOverlaps(Interval(start: 0, end: 1)).map(\.id) == [2])
        tree.checkInvariants()
    }
}

/// A random interval in [0, 2000), mostly short, sometimes long; a quarter of the time it starts or
/// ends on an endpoint already stored, so ties and touching intervals are common.
func randomInterval(_ random: inout SeededRandom, near model: IntervalTreeModel) -> Interval {
    let lengthRoll = Int.random(in: 0..<100, using: &random)
    let length: Int64 =
        lengthRoll < 70
        ? .random(in: 1...20, using: &random)
        : lengthRoll < 95 ? .random(in: 21...200, using: &random) : .random(in: 201...1_500, using: &random)
    if random.percent(25), let anchor = model.ordered.randomElement(using: &random)?.interval {
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return Interval(start: anchor.start, end: anchor.start + length)
        case 1: return Interval(start: anchor.end, end: anchor.end + length)
        default: return Interval(start: anchor.start - length, end: anchor.start)
        }
    }
    let start = Int64.random(in: 0..<2_000, using: &random)
    return Interval(start: start, end: start + length)
}
