import Testing

@testable import HubCore

/// Every small case, after swift-collections' `withEverySubset`: for trees of 0 to 8 intervals, every
/// insertion order, every subset removed, every removal order. Random tests find the deep cases;
/// these leave no shallow rotation path untried.
@Suite struct IntervalTreeExhaustiveTests {
    /// Eight intervals with equal starts, nesting, touching ends and one long span, over [0, 21).
    static let sample: [IntervalTree.Entry] = [
        .init(Interval(start: 0, end: 10), id: 1),
        .init(Interval(start: 0, end: 3), id: 2),
        .init(Interval(start: 2, end: 5), id: 0),
        .init(Interval(start: 2, end: 4), id: 3),
        .init(Interval(start: 5, end: 6), id: 4),
        .init(Interval(start: 5, end: 20), id: 5),
        .init(Interval(start: 10, end: 12), id: 6),
        .init(Interval(start: 12, end: 13), id: 7),
    ]

    /// A few queries that touch, straddle and miss the sample.
    static let probes = [
        Interval(start: 0, end: 1), Interval(start: 3, end: 5), Interval(start: 10, end: 12),
        Interval(start: 13, end: 20), Interval(start: 20, end: 21), Interval(start: 0, end: 21),
    ]

    static func check(_ tree: IntervalTree, against entries: [IntervalTree.Entry]) throws {
        tree.checkInvariants()
        let model = IntervalTreeModel(entries: entries)
        try #require(tree.entries == model.ordered)
        for probe in probes {
            try #require(tree.reportedOverlaps(probe) == model.overlaps(probe))
            try #require(tree.anyOverlap(probe) == !model.overlaps(probe).isEmpty)
            try #require(tree.maxOverlapDepth(in: probe) == model.maxDepth(in: probe))
        }
    }

    @Test(arguments: 0...8) func everyInsertionOrder(size: Int) throws {
        let entries = Array(Self.sample.prefix(size))
        try forEachPermutation(of: entries) { order in
            var tree = IntervalTree()
            for (inserted, entry) in order.enumerated() {
                tree.insert(entry.interval, id: entry.id)
                tree.checkInvariants()
                try #require(tree.count == inserted + 1, "order \(order)")
            }
            try Self.check(tree, against: order)
        }
    }

    /// Each subset is removed from a tree built incrementally and from one built in bulk, whose
    /// shapes differ, in ascending and descending key order.
    @Test(arguments: 0...8) func everySubsetRemoved(size: Int) throws {
        let entries = IntervalTreeModel(entries: Array(Self.sample.prefix(size))).ordered
        var incremental = IntervalTree()
        for entry in entries { incremental.insert(entry.interval, id: entry.id) }
        let bulk = IntervalTree(sorted: entries)
        try forEachSubset(of: entries) { removed in
            for start in [incremental, bulk] {
                for order in [removed, removed.reversed()] {
                    var tree = start
                    for entry in order {
                        let removed = tree.remove(entry.interval, id: entry.id)
                        try #require(removed, "removing \(order)")
                        tree.checkInvariants()
                    }
                    for entry in removed {
                        let removedAgain = tree.remove(entry.interval, id: entry.id)
                        try #require(!removedAgain, "removed twice: \(entry)")
                    }
                    try Self.check(tree, against: entries.filter { !removed.contains($0) })
                }
            }
        }
    }

    @Test(arguments: 0...8) func everyRemovalOrder(size: Int) throws {
        let entries = IntervalTreeModel(entries: Array(Self.sample.prefix(size))).ordered
        let full = IntervalTree(sorted: entries)
        try forEachPermutation(of: entries) { order in
            var tree = full
            for (removedCount, entry) in order.enumerated() {
                let removed = tree.remove(entry.interval, id: entry.id)
                try #require(removed, "order \(order)")
                tree.checkInvariants()
                try #require(tree.count == entries.count - removedCount - 1)
            }
            try #require(tree.isEmpty && tree.entries.isEmpty)
        }
    }

    /// Every query [a, b) over the sample's span, including ones that only touch an endpoint.
    @Test func everyQueryOverTheFullSample() throws {
        let tree = IntervalTree(sorted: IntervalTreeModel(entries: Self.sample).ordered)
        let model = IntervalTreeModel(entries: Self.sample)
        for start in Int64(-1)...21 {
            for end in (start + 1)...22 {
                let query = Interval(start: start, end: end)
                try #require(tree.reportedOverlaps(query) == model.overlaps(query), "\(query)")
                try #require(tree.anyOverlap(query) == !model.overlaps(query).isEmpty, "\(query)")
                try #require(tree.maxOverlapDepth(in: query) == model.maxDepth(in: query), "\(query)")
            }
        }
    }
}
