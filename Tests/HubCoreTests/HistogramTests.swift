import HubCore
import Testing

@Suite struct HistogramTests {
    /// A value equal to a bound counts in that bound's bucket (Prometheus `le` is "less or equal").
    @Test func boundsAreInclusive() {
        var histogram = Histogram(bounds: [10, 100, 1000])
        for value: Int64 in [0, 10, 11, 100, 1000, 1001, 50_000] { histogram.record(value) }
        #expect(histogram.counts == [2, 2, 1, 2])
        #expect(histogram.cumulativeCounts == [2, 4, 5, 7])
        #expect(histogram.count == 7)
        #expect(histogram.sum == 0 + 10 + 11 + 100 + 1000 + 1001 + 50_000)
    }

    @Test func emptyHistogramHasZeroCounts() {
        let histogram = Histogram(bounds: Histogram.latencyBoundsNs)
        #expect(histogram.cumulativeCounts == Array(repeating: 0, count: Histogram.latencyBoundsNs.count + 1))
        #expect(histogram.sum == 0 && histogram.count == 0)
    }

    @Test func mergeAddsObservations() {
        var a = Histogram(bounds: [1, 2])
        var b = Histogram(bounds: [1, 2])
        a.record(1)
        b.record(2)
        b.record(3)
        a.merge(b)
        #expect(a.counts == [1, 1, 1] && a.sum == 6 && a.count == 3)
    }

    /// Against a brute-force count over seeded random values: cumulative bucket i holds exactly
    /// the values at or below bound i.
    @Test func cumulativeCountsMatchABruteForceModel() {
        var generator = SystemRandomNumberGenerator()
        let bounds = Histogram.sizeBounds
        var histogram = Histogram(bounds: bounds)
        var values: [Int64] = []
        for _ in 0..<2000 {
            let value = Int64.random(in: 0...10_000, using: &generator)
            values.append(value)
            histogram.record(value)
        }
        for (index, bound) in bounds.enumerated() {
            #expect(histogram.cumulativeCounts[index] == values.filter { $0 <= bound }.count)
        }
        #expect(histogram.cumulativeCounts.last == values.count)
        #expect(histogram.sum == values.reduce(0, +))
    }
}
