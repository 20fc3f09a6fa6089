import HubCore
import HubTestSupport

/// The benchmarks draw from the tests' `SeededRandom` (SplitMix64), so every run with one
/// `--seed` builds the same bookings and asks the same queries.
extension SeededRandom {
    /// Lower-case UUID text (version 4 layout), as the store's ids look.
    mutating func uuidText() -> String {
        let hex = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(36)
        for (index, word) in [next(), next()].enumerated() {
            for nibble in 0..<16 {
                if bytes.count == 8 || bytes.count == 13 || bytes.count == 18 || bytes.count == 23 {
                    bytes.append(UInt8(ascii: "-"))
                }
                var digit = Int((word >> UInt64(60 - 4 * nibble)) & 0xF)
                if index == 0 && nibble == 12 { digit = 4 }  // version nibble
                bytes.append(hex[digit])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A year of bookings on event spaces and a quarter of seat-plan bookings, shaped like the seed
/// data: 30 minutes to 4 hours per event booking with changeover buffers, 1 to 10 hours per seat.
struct IndexWorkload {
    var resources: [(id: String, kind: AvailabilityIndex.ResourceKind)] = []
    /// Grouped by resource, each group in start order, as the store returns them `ORDER BY start`.
    var reservations: [AvailabilityIndex.Reservation] = []
    /// Per resource, the span its bookings cover; queries land inside it.
    var spans: [Interval] = []

    /// 2026-01-01T00:00:00Z.
    static let epoch: Int64 = 1_767_225_600
    static let quarterHour: Int64 = 900
    static let hour: Int64 = 3_600
    static let day: Int64 = 86_400
    /// Share of resources that are event spaces; the rest are seat plans.
    static let exclusivePercent = 70
    /// Seat-plan bookings spread over this many days, so that they overlap a few deep.
    static let seatedHorizonDays: Int64 = 90

    init(bookings: Int, resources resourceCount: Int, random: inout SeededRandom) {
        precondition(resourceCount > 0 && bookings >= 0, "need at least one resource")
        resources.reserveCapacity(resourceCount)
        reservations.reserveCapacity(bookings)
        for resource in 0..<resourceCount {
            let id = random.uuidText()
            let perResource = bookings / resourceCount + (resource < bookings % resourceCount ? 1 : 0)
            let first = reservations.count
            if Int.random(in: 0..<100, using: &random) < Self.exclusivePercent {
                let buffer: Int64 = [0, 900, 1_800].randomElement(using: &random)!  // literal is non-empty
                resources.append((id, .exclusive(bufferSeconds: buffer)))
                appendExclusive(perResource, on: id, buffer: buffer, random: &random)
            } else {
                resources.append((id, .seated(seats: .random(in: 10...40, using: &random))))
                appendSeated(perResource, on: id, random: &random)
            }
            let group = reservations[first...]
            let low = group.first?.interval.start ?? Self.epoch
            let high = group.map(\.interval.end).max() ?? Self.epoch + Self.day
            spans.append(Interval(start: low, end: high))
        }
    }

    /// Back to back in time, each gap at least the buffer, so every booking fits.
    private mutating func appendExclusive(
        _ count: Int, on id: String, buffer: Int64, random: inout SeededRandom
    ) {
        var cursor = Self.epoch + Self.quarterHour * .random(in: 0..<96, using: &random)
        for _ in 0..<count {
            let start = cursor + buffer + Self.quarterHour * .random(in: 0...40, using: &random)
            let end = start + Self.quarterHour * .random(in: 2...16, using: &random)
            reservations.append(
                .init(
                    id: random.uuidText(), resourceID: id, interval: Interval(start: start, end: end),
                    isTentative: Int.random(in: 0..<10, using: &random) == 0))
            cursor = end
        }
    }

    /// Uniform over the horizon; with 10 to 40 seats, nearly all fit.
    private mutating func appendSeated(_ count: Int, on id: String, random: inout SeededRandom) {
        let slots = Self.seatedHorizonDays * Self.day / Self.quarterHour
        var group: [AvailabilityIndex.Reservation] = []
        group.reserveCapacity(count)
        for _ in 0..<count {
            let start = Self.epoch + Self.quarterHour * .random(in: 0..<slots, using: &random)
            let end = start + Self.hour * .random(in: 1...10, using: &random)
            group.append(
                .init(
                    id: random.uuidText(), resourceID: id, interval: Interval(start: start, end: end),
                    isTentative: Int.random(in: 0..<10, using: &random) == 0))
        }
        reservations.append(contentsOf: group.sorted { $0.interval.start < $1.interval.start })
    }
}
