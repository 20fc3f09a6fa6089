import ArgumentParser
import Foundation
import HubCore
import HubTestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `spacehub-load index`: the availability index at building scale, without a socket.
///
/// Builds 1,000,000 bookings over 1,000 resources (70% event spaces, 30% seat plans) and measures
/// (a) the start-up rebuild from sorted arrays, (b) the incremental `reserve` rate, (c) `check`
/// latency per call, and (d) resident memory. Thresholds below change only in their own commit
/// (STYLE §9); a missed threshold exits non-zero. Run it in release:
///
///     scripts/swift-locked build -c release --product spacehub-load
///     .build/release/spacehub-load index
struct IndexBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Benchmark AvailabilityIndex: rebuild, reserve rate, check latency, memory."
    )

    /// p99 of one `check`, in nanoseconds. A booking request costs a check and a reserve on the
    /// loop thread; at 20 µs one core still decides 50,000 requests a second with room for I/O.
    static let checkP99NanosecondsMax: UInt64 = 20_000
    /// Rebuilding the index from the store at start-up, in nanoseconds. Two seconds of downtime
    /// per restart at a million live bookings; the store read itself comes on top.
    static let rebuildNanosecondsMax: UInt64 = 2_000_000_000

    @Option(help: "Bookings in total.") var bookings = 1_000_000
    @Option(help: "Resources they spread over.") var resources = 1_000
    @Option(help: "Random check queries to time.") var queries = 1_000_000
    @Option(help: "Seed for the workload and the queries.") var seed: UInt64 = 1

    mutating func run() throws {
        var random = SeededRandom(seed: seed)
        var started = monotonicNanoseconds()
        let workload = IndexWorkload(bookings: bookings, resources: resources, random: &random)
        print("index benchmark: \(bookings) bookings on \(resources) resources, seed \(seed)")
        print("  workload generated in \(milliseconds(monotonicNanoseconds() - started)), RSS \(residentMemory())")
        let baseline = residentBytes()

        // (a) Rebuild: trees alone, then the whole index with its id maps.
        let treeBuild = buildTreesInBulk(workload)
        started = monotonicNanoseconds()
        var rebuilt = AvailabilityIndex(resources: workload.resources, reservations: workload.reservations)
        let rebuild = monotonicNanoseconds() - started
        precondition(rebuilt.count == bookings, "rebuild lost bookings")
        let indexBytes = residentBytes().map { current in baseline.map { current - $0 } ?? current }
        print("(a) rebuild from sorted arrays")
        print("    IntervalTree(sorted:) x \(resources): \(milliseconds(treeBuild))")
        print("    AvailabilityIndex(resources:reservations:): \(milliseconds(rebuild))")

        // (c) Check latency, on the rebuilt index.
        let latencies = measureChecks(rebuilt, workload, &random)
        print("(c) check latency over \(queries) random queries (per-call CLOCK_MONOTONIC)")
        for line in latencies.report { print("    " + line) }

        print("(d) memory")
        print("    index ~\(indexBytes.map(megabytes) ?? "n/a") RSS for \(bookings) bookings (growth over workload)")
        print("    process RSS \(residentMemory()), peak \(peakMemory())")
        rebuilt = AvailabilityIndex()  // release it before the incremental build

        // (b) Incremental: shuffled across resources, each through the full check-then-insert.
        let (reserveTime, conflicts) = reserveIncrementally(workload, &random)
        let treeInsertTime = insertTreesIncrementally(workload, &random)
        print("(b) incremental")
        print("    reserve: \(rate(bookings, reserveTime)) (\(conflicts) refused), total \(milliseconds(reserveTime))")
        print("    IntervalTree.insert: \(rate(bookings, treeInsertTime)), total \(milliseconds(treeInsertTime))")

        let checkOK = latencies.overall.p99 <= Self.checkP99NanosecondsMax
        let rebuildOK = rebuild <= Self.rebuildNanosecondsMax
        print("thresholds")
        let p99 = latencies.overall.p99
        print("    check p99 \(micro(p99)) <= \(micro(Self.checkP99NanosecondsMax)): \(checkOK ? "ok" : "MISSED")")
        let rebuildLimit = milliseconds(Self.rebuildNanosecondsMax)
        print("    rebuild \(milliseconds(rebuild)) <= \(rebuildLimit): \(rebuildOK ? "ok" : "MISSED")")
        if !(checkOK && rebuildOK) { throw ExitCode.failure }
    }

    // MARK: Measurements

    private func buildTreesInBulk(_ workload: IndexWorkload) -> UInt64 {
        var groups = [[IntervalTree.Entry]](repeating: [], count: workload.resources.count)
        var resourceIndex = [String: Int]()
        for (index, resource) in workload.resources.enumerated() { resourceIndex[resource.id] = index }
        for (id, reservation) in workload.reservations.enumerated() {
            let group = resourceIndex[reservation.resourceID]!  // the workload made both lists together
            groups[group].append(.init(reservation.interval, id: id))
        }
        let started = monotonicNanoseconds()
        let trees = groups.map { IntervalTree(sorted: $0) }
        let elapsed = monotonicNanoseconds() - started
        precondition(trees.reduce(0) { $0 + $1.count } == workload.reservations.count)
        return elapsed
    }

    private func reserveIncrementally(_ workload: IndexWorkload, _ random: inout SeededRandom) -> (UInt64, Int)
    {
        let order = workload.reservations.indices.shuffled(using: &random)
        var index = AvailabilityIndex()
        for resource in workload.resources { index.setResource(resource.id, kind: resource.kind) }
        var refused = 0
        let started = monotonicNanoseconds()
        for position in order {
            let reservation = workload.reservations[position]
            if case .reserved = index.reserve(reservation.id, on: reservation.resourceID, during: reservation.interval)
            {
                continue
            }
            refused += 1
        }
        return (monotonicNanoseconds() - started, refused)
    }

    private func insertTreesIncrementally(_ workload: IndexWorkload, _ random: inout SeededRandom) -> UInt64 {
        var resourceIndex = [String: Int]()
        for (index, resource) in workload.resources.enumerated() { resourceIndex[resource.id] = index }
        // Force-unwrap: the workload made both lists together, so every resource id is present.
        let targets = workload.reservations.map { resourceIndex[$0.resourceID]! }
        let order = workload.reservations.indices.shuffled(using: &random)
        var trees = [IntervalTree](repeating: IntervalTree(), count: workload.resources.count)
        let started = monotonicNanoseconds()
        for position in order {
            trees[targets[position]].insert(workload.reservations[position].interval, id: position)
        }
        return monotonicNanoseconds() - started
    }

    private func measureChecks(
        _ index: AvailabilityIndex, _ workload: IndexWorkload, _ random: inout SeededRandom
    ) -> CheckLatencies {
        // Queries are drawn before timing so that only `check` is inside the clock reads.
        let targets = (0..<queries).map { _ in Int.random(in: 0..<workload.resources.count, using: &random) }
        let intervals = targets.map { target in
            let span = workload.spans[target]
            let length = IndexWorkload.quarterHour * .random(in: 2...16, using: &random)
            let start = Int64.random(in: span.start...max(span.start, span.end - length), using: &random)
            return Interval(start: start, end: start + length)
        }
        var latencies = CheckLatencies(capacity: queries)
        latencies.clockOverhead = { () -> UInt64 in
            let first = monotonicNanoseconds()
            return monotonicNanoseconds() - first
        }()
        for query in 0..<queries {
            let resource = workload.resources[targets[query]]
            let started = monotonicNanoseconds()
            let fit = index.check(intervals[query], on: resource.id)
            let elapsed = monotonicNanoseconds() - started
            latencies.record(elapsed, fit: fit, seated: { if case .seated = resource.kind { true } else { false } }())
        }
        return latencies
    }
}

/// Per-call latencies, split by resource kind and outcome.
private struct CheckLatencies {
    var exclusive: [UInt64] = []
    var seated: [UInt64] = []
    var fits = 0
    var conflicts = 0
    var clockOverhead: UInt64 = 0

    /// Reserves room up front, so no array grows (and copies) between two timed calls.
    init(capacity: Int) {
        exclusive.reserveCapacity(capacity)
        seated.reserveCapacity(capacity)
    }

    mutating func record(_ nanoseconds: UInt64, fit: AvailabilityIndex.Fit, seated isSeated: Bool) {
        if isSeated { seated.append(nanoseconds) } else { exclusive.append(nanoseconds) }
        if case .fits = fit { fits += 1 } else { conflicts += 1 }
    }

    struct Percentiles {
        var p50: UInt64 = 0
        var p99: UInt64 = 0
        var p999: UInt64 = 0
        var max: UInt64 = 0

        init(_ samples: [UInt64]) {
            guard !samples.isEmpty else { return }
            let sorted = samples.sorted()
            func at(_ fraction: Double) -> UInt64 {
                sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
            }
            (p50, p99, p999, max) = (at(0.50), at(0.99), at(0.999), sorted[sorted.count - 1])
        }

        var line: String { "p50 \(micro(p50))  p99 \(micro(p99))  p999 \(micro(p999))  max \(micro(max))" }
    }

    var overall: Percentiles { Percentiles(exclusive + seated) }

    var report: [String] {
        [
            "all       (\(exclusive.count + seated.count)): \(overall.line)",
            "exclusive (\(exclusive.count)): \(Percentiles(exclusive).line)",
            "seated    (\(seated.count)): \(Percentiles(seated).line)",
            "outcomes: \(fits) fit, \(conflicts) conflict; clock read pair costs ~\(clockOverhead) ns (included)",
        ]
    }
}

// MARK: Clocks and memory

/// CLOCK_MONOTONIC in nanoseconds: never steps backwards, read through the vDSO in ~20 ns.
private func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Resident set size from /proc/self/status (Linux), in bytes.
private func residentBytes(_ field: String = "VmRSS:") -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }) else { return nil }
    return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1_024 }  // reported in kB
}

private func residentMemory() -> String { residentBytes().map(megabytes) ?? "n/a" }
private func peakMemory() -> String { residentBytes("VmHWM:").map(megabytes) ?? "n/a" }
private func megabytes(_ bytes: Int) -> String { "\(bytes / 1_048_576) MiB" }
private func micro(_ nanoseconds: UInt64) -> String { String(format: "%.2f µs", Double(nanoseconds) / 1_000) }
private func milliseconds(_ nanoseconds: UInt64) -> String { String(format: "%.0f ms", Double(nanoseconds) / 1e6) }
private func rate(_ count: Int, _ nanoseconds: UInt64) -> String {
    String(format: "%.2f M/s", Double(count) / (Double(nanoseconds) / 1e9) / 1e6)
}
