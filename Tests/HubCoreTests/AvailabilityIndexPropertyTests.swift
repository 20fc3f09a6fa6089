import HubTestSupport
import Testing

@testable import HubCore

/// Which family of resources a fuzz run exercises; `setResource` steps still cross over now and then.
enum IndexScenario: String, CaseIterable, Sendable {
    case exclusiveWithBuffers
    case seated

    var resources: [(id: String, kind: AvailabilityIndex.ResourceKind)] {
        switch self {
        case .exclusiveWithBuffers:
            [
                ("hall-0", .exclusive(bufferSeconds: 0)), ("hall-15", .exclusive(bufferSeconds: 900)),
                ("hall-30", .exclusive(bufferSeconds: 1_800)), ("hall-60", .exclusive(bufferSeconds: 3_600)),
            ]
        case .seated:
            [
                ("desk-1", .seated(seats: 1)), ("desk-2", .seated(seats: 2)), ("desk-3", .seated(seats: 3)),
                ("desk-5", .seated(seats: 5)),
            ]
        }
    }

    /// Kinds a `setResource` step may switch to; a fifth of the time from the other family.
    func randomKind(_ random: inout SeededRandom) -> AvailabilityIndex.ResourceKind {
        let exclusive = !random.percent(20) == (self == .exclusiveWithBuffers)
        return exclusive
            ? .exclusive(bufferSeconds: [0, 300, 900, 3_600].randomElement(using: &random)!)
            : .seated(seats: [0, 1, 2, 3, 5].randomElement(using: &random)!)
    }
}

/// Random index states and requests, in whole minutes over a four-day domain.
struct IndexFuzzer {
    var random: SeededRandom
    static let domainMinutes: Int64 = 4 * 24 * 60
    static let unknownResource = "nowhere"

    /// Mostly quarter-hour multiples, sometimes odd minutes; a third of the time anchored on a held
    /// reservation (touching it, or exactly one buffer away) so boundaries are hit often.
    mutating func interval(near model: AvailabilityIndexModel) -> Interval {
        let length: Int64 =
            random.percent(70) ? 15 * .random(in: 1...16, using: &random) : .random(in: 1...600, using: &random)
        if random.percent(33), let anchor = model.reservations.values.randomElement(using: &random) {
            let gap: Int64
            if case .exclusive(let buffer)? = model.kinds[anchor.resourceID] { gap = buffer } else { gap = 0 }
            let anchorStart = anchor.interval.start
            let anchorEnd = anchor.interval.end
            switch Int.random(in: 0..<4, using: &random) {
            case 0: return Interval(start: anchorEnd + gap, end: anchorEnd + gap + length * 60)
            case 1: return Interval(start: anchorStart - gap - length * 60, end: anchorStart - gap)
            case 2: return Interval(start: anchorEnd, end: anchorEnd + length * 60)
            default: return Interval(start: anchorStart, end: anchorStart + length * 60)
            }
        }
        let start = Int64.random(in: 0..<(Self.domainMinutes - 60), using: &random)
        return AvailabilityIndexModel.interval(minutes: start..<(start + length))
    }

    mutating func resource(_ scenario: IndexScenario, unknownPercent: Int = 5) -> String {
        random.percent(unknownPercent) ? Self.unknownResource : scenario.resources.randomElement(using: &random)!.id
    }

    /// A held id most of the time, otherwise one never used.
    mutating func reservationID(in model: AvailabilityIndexModel, unknownPercent: Int = 10) -> String {
        if random.percent(unknownPercent) || model.reservations.isEmpty {
            return "never-\(Int.random(in: 0..<9, using: &random))"
        }
        return model.reservations.keys.randomElement(using: &random)!
    }

    /// A window in whole minutes, within the domain.
    mutating func window() -> Range<Int64> {
        let start = Int64.random(in: -60..<Self.domainMinutes, using: &random)
        return start..<(start + .random(in: 1...(24 * 60), using: &random))
    }

    /// One to three opening windows, maybe overlapping or touching, in no particular order.
    mutating func openWindows() -> [Range<Int64>] {
        let day = Int64.random(in: 0..<4, using: &random) * 24 * 60
        return (0..<Int.random(in: 1...3, using: &random)).map { _ in
            let start = day + .random(in: 0..<(20 * 60), using: &random)
            return start..<(start + .random(in: 30...(8 * 60), using: &random))
        }
    }

    mutating func minimumSeconds() -> Int64 {
        [0, 60, 900, 3_600, 1_000].randomElement(using: &random)!
    }
}

@Suite struct AvailabilityIndexPropertyTests {
    /// 100,000 weighted random operations per scenario: every mutation compared with the model's
    /// answer and followed by `checkInvariants`, every query compared with the model's brute force.
    @Test(arguments: IndexScenario.allCases) func matchesModelOverRandomOperations(scenario: IndexScenario) throws {
        let random = SeededRandom.fromEnvironment("AvailabilityIndexPropertyTests(\(scenario))")
        let seed = random.seed
        var fuzzer = IndexFuzzer(random: random)
        let operations = 100_000
        var index = AvailabilityIndex()
        var model = AvailabilityIndexModel()
        for (id, kind) in scenario.resources {
            index.setResource(id, kind: kind)
            model.kinds[id] = kind
        }
        var counts = [String: Int]()
        var nextID = 0

        for step in 0..<operations {
            let context: Comment = "HUB_SEED=\(seed), step \(step)"
            let roll = Int.random(in: 0..<100, using: &fuzzer.random)
            var mutated = true
            switch roll {
            case 0..<30:
                let resource = fuzzer.resource(scenario)
                let interval = fuzzer.interval(near: model)
                let id =
                    fuzzer.random.percent(3) && !model.reservations.isEmpty
                    ? fuzzer.reservationID(in: model, unknownPercent: 0) : "r\(nextID)"
                nextID += 1
                let tentative = fuzzer.random.percent(70)
                let expected: AvailabilityIndex.ReserveResult
                if model.kinds[resource] == nil {
                    expected = .unknownResource
                } else if model.reservations[id] != nil {
                    expected = .duplicateReservation
                } else {
                    switch model.fit(interval, on: resource) {
                    case .fits(let seatsLeft):
                        expected = .reserved(seatsLeft: seatsLeft)
                        model.reservations[id] = .init(
                            id: id, resourceID: resource, interval: interval, isTentative: tentative)
                    case .conflict(let conflicts): expected = .conflict(conflicts)
                    case .unknownResource: preconditionFailure("resource checked above")
                    }
                }
                let result = index.reserve(id, on: resource, during: interval, tentative: tentative)
                try #require(result.normalized == expected, context)
                if case .reserved = result {
                    counts["reserve ok", default: 0] += 1
                } else {
                    counts["reserve refused", default: 0] += 1
                }
            case 30..<44:
                let id = fuzzer.reservationID(in: model)
                let released = index.release(id)
                try #require(released == model.reservations.removeValue(forKey: id), context)
                counts["release", default: 0] += 1
            case 44..<48:
                let id = fuzzer.reservationID(in: model)
                let confirmed = index.confirm(id)
                try #require(confirmed == (model.reservations[id] != nil), context)
                model.reservations[id]?.isTentative = false
                counts["confirm", default: 0] += 1
            case 48..<58:
                let id = fuzzer.reservationID(in: model)
                let interval = fuzzer.interval(near: model)
                var expected = AvailabilityIndex.MoveResult.unknownReservation
                if let held = model.reservations[id] {
                    switch model.fit(interval, on: held.resourceID, ignoring: id) {
                    case .fits(let seatsLeft):
                        expected = .moved(seatsLeft: seatsLeft)
                        model.reservations[id]!.interval = interval
                    case .conflict(let conflicts): expected = .conflict(conflicts)
                    case .unknownResource: preconditionFailure("held reservations are on known resources")
                    }
                }
                let result = index.move(id, to: interval)
                try #require(result.normalized == expected, context)
                if case .moved = result {
                    counts["move ok", default: 0] += 1
                } else {
                    counts["move refused", default: 0] += 1
                }
            case 58..<59:
                let resource = fuzzer.resource(scenario, unknownPercent: 0)
                let kind = scenario.randomKind(&fuzzer.random)
                index.setResource(resource, kind: kind)
                model.kinds[resource] = kind
                counts["setResource", default: 0] += 1
            default:
                mutated = false
                try checkQuery(roll: roll, index, model, &fuzzer, scenario, context, &counts)
            }
            if mutated { index.checkInvariants() }
            try #require(index.count == model.reservations.count, context)
        }
        let summary = counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let held = model.reservations.count
        print("AvailabilityIndex fuzz (\(scenario)): \(operations) operations, \(held) held at the end: \(summary)")
    }

    /// The read-only operations, each compared with the model.
    private func checkQuery(
        roll: Int, _ index: AvailabilityIndex, _ model: AvailabilityIndexModel, _ fuzzer: inout IndexFuzzer,
        _ scenario: IndexScenario, _ context: Comment, _ counts: inout [String: Int]
    ) throws {
        let resource = fuzzer.resource(scenario)
        switch roll {
        case 59..<79:
            let interval = fuzzer.interval(near: model)
            let ignoring = fuzzer.random.percent(40) ? fuzzer.reservationID(in: model) : nil
            let fit = index.check(interval, on: resource, ignoring: ignoring)
            try #require(fit.normalized == model.fit(interval, on: resource, ignoring: ignoring), context)
            if case .fits = fit {
                counts["check fits", default: 0] += 1
            } else {
                counts["check refused", default: 0] += 1
            }
        case 79..<85:
            let interval = fuzzer.interval(near: model)
            let expected = model.held(on: resource).filter { $0.interval.overlaps(interval) }
                .sorted { ($0.interval.start, $0.id) < ($1.interval.start, $1.id) }
            let found = index.reservations(on: resource, overlapping: interval)
            try #require(found.map(\.interval.start) == expected.map(\.interval.start), context)
            try #require(Set(found) == Set(expected), context)
            counts["reservations", default: 0] += 1
        case 85..<90:
            let interval = fuzzer.interval(near: model)
            try #require(
                index.seatsLeft(on: resource, during: interval) == model.seatsLeft(on: resource, during: interval),
                context)
            counts["seatsLeft", default: 0] += 1
        case 90..<94:
            let window = fuzzer.window()
            let busy = index.busyRanges(on: resource, within: AvailabilityIndexModel.interval(minutes: window))
            try #require(busy == model.busyRanges(on: resource, within: window), context)
            counts["busyRanges", default: 0] += 1
        case 94..<98:
            let windows = fuzzer.openWindows()
            let minimum = fuzzer.minimumSeconds()
            let free = index.freeSlots(
                on: resource, openWindows: windows.map(AvailabilityIndexModel.interval(minutes:)),
                minimumSeconds: minimum)
            try #require(free == model.freeSlots(on: resource, openWindows: windows, minimumSeconds: minimum), context)
            counts["freeSlots", default: 0] += 1
        default:
            let id = fuzzer.reservationID(in: model)
            try #require(index.reservation(id) == model.reservations[id], context)
            counts["reservation", default: 0] += 1
        }
    }

    /// Bulk rebuild from stored reservations answers exactly like the index that made them.
    @Test(arguments: IndexScenario.allCases) func rebuildEqualsIncrementalIndex(scenario: IndexScenario) throws {
        let random = SeededRandom.fromEnvironment("AvailabilityIndexPropertyTests.rebuild(\(scenario))")
        let seed = random.seed
        var fuzzer = IndexFuzzer(random: random)
        var index = AvailabilityIndex()
        var model = AvailabilityIndexModel()
        for (id, kind) in scenario.resources {
            index.setResource(id, kind: kind)
            model.kinds[id] = kind
        }
        for step in 0..<3_000 {
            let id = "r\(step)"
            let resource = fuzzer.resource(scenario, unknownPercent: 0)
            let interval = fuzzer.interval(near: model)
            if case .reserved = index.reserve(id, on: resource, during: interval, tentative: fuzzer.random.percent(50))
            {
                model.reservations[id] = index.reservation(id)
            }
            if fuzzer.random.percent(20), let released = index.release(fuzzer.reservationID(in: model)) {
                model.reservations[released.id] = nil
            }
        }
        let stored = model.reservations.values.sorted { $0.interval.start < $1.interval.start }
        let rebuilt = AvailabilityIndex(resources: scenario.resources, reservations: stored)
        rebuilt.checkInvariants()
        #expect(rebuilt.count == index.count, "HUB_SEED=\(seed)")
        for reservation in stored { try #require(rebuilt.reservation(reservation.id) == reservation, "HUB_SEED=\(seed)") }
        for _ in 0..<2_000 {
            let resource = fuzzer.resource(scenario)
            let interval = fuzzer.interval(near: model)
            try #require(
                rebuilt.check(interval, on: resource).normalized == index.check(interval, on: resource).normalized,
                "HUB_SEED=\(seed)")
            try #require(
                rebuilt.seatsLeft(on: resource, during: interval) == index.seatsLeft(on: resource, during: interval),
                "HUB_SEED=\(seed)")
        }
    }
}
