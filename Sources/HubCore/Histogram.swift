/// Counts of observed values in fixed buckets, plus their sum: what a Prometheus histogram
/// exports. A plain value with no synchronisation: its owner's thread records into it (the loop
/// for HTTP latencies, the writer thread under its statistics lock for commit groups).
///
/// `bounds` are inclusive upper bounds (Prometheus `le`), ascending; a value above the last one
/// lands in the overflow bucket (`+Inf`). Counts are kept per bucket, not cumulative, so a
/// record is one comparison per bucket passed and one increment; `cumulativeCounts` folds them
/// at export time. Recording is O(buckets) worst case and allocates nothing.
///
///     var latency = Histogram(bounds: [1_000, 10_000, 100_000])
///     latency.record(2_500)       // counts [0, 1, 0, 0]
///     latency.cumulativeCounts    // [0, 1, 1, 1]
public struct Histogram: Sendable, Equatable {
    public let bounds: [Int64]
    /// `bounds.count + 1` counts; the last is the overflow bucket.
    public private(set) var counts: [Int]
    public private(set) var sum: Int64 = 0
    public private(set) var count = 0

    public init(bounds: [Int64]) {
        precondition(!bounds.isEmpty && zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 },
                     "histogram bounds must be ascending and non-empty")
        self.bounds = bounds
        self.counts = Array(repeating: 0, count: bounds.count + 1)
    }

    /// Adds one observation. Small values are the common case (fast requests, small groups), so
    /// the search starts at the low end.
    public mutating func record(_ value: Int64) {
        var index = 0
        let last = bounds.count
        while index < last && value > bounds[index] { index &+= 1 }
        counts[index] &+= 1
        sum &+= value
        count &+= 1
    }

    /// Counts at or below each bound, then the total (`+Inf`): the exported `_bucket` series.
    public var cumulativeCounts: [Int] {
        var running = 0
        return counts.map { count in
            running += count
            return running
        }
    }

    /// Adds another histogram's observations (same bounds), e.g. to report a total.
    public mutating func merge(_ other: Histogram) {
        precondition(other.bounds == bounds, "merging histograms with different bounds")
        for index in counts.indices { counts[index] &+= other.counts[index] }
        sum &+= other.sum
        count &+= other.count
    }
}

extension Histogram {
    /// Latency buckets in nanoseconds, 100 µs to 10 s: the HTTP and commit timers.
    public static let latencyBoundsNs: [Int64] = [
        100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
        100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 10_000_000_000,
    ]

    /// Powers of two up to 4,096: sizes of commit groups (`store.commitBatchMax` is 4,096 by default).
    public static let sizeBounds: [Int64] = (0...12).map { Int64(1) << Int64($0) }
}
