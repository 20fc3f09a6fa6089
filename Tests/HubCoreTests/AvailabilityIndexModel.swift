import HubCore

/// The brute-force reference for `AvailabilityIndex`: a dictionary of reservations, every answer by
/// scanning all of them, and busy/free time by walking a window minute by minute. The fuzz tests
/// keep every endpoint and buffer on whole minutes, so the minute walk is exact.
struct AvailabilityIndexModel {
    var kinds: [String: AvailabilityIndex.ResourceKind] = [:]
    var reservations: [String: AvailabilityIndex.Reservation] = [:]

    /// Epoch second of minute 0, itself on a whole minute (2025-02-19T21:20:00Z).
    static let base: Int64 = 29_000_000 * 60

    static func interval(minutes: Range<Int64>) -> Interval {
        Interval(start: base + minutes.lowerBound * 60, end: base + minutes.upperBound * 60)
    }

    func held(on resourceID: String, except ignored: String? = nil) -> [AvailabilityIndex.Reservation] {
        reservations.values.filter { $0.resourceID == resourceID && $0.id != ignored }
    }

    /// The fit rules written out directly, without widening or sweeping.
    func fit(_ interval: Interval, on resourceID: String, ignoring ignored: String? = nil) -> AvailabilityIndex.Fit {
        guard let kind = kinds[resourceID] else { return .unknownResource }
        let others = held(on: resourceID, except: ignored)
        switch kind {
        case .exclusive(let buffer):
            let conflicts = others.filter {
                $0.interval.start < interval.end + buffer && interval.start < $0.interval.end + buffer
            }
            return conflicts.isEmpty ? .fits(seatsLeft: nil) : .conflict(Self.sorted(conflicts))
        case .seated(let seats):
            let overlapping = others.filter { $0.interval.overlaps(interval) }
            let depth = Self.maxDepth(of: overlapping.map(\.interval), in: interval)
            return depth < seats ? .fits(seatsLeft: seats - depth - 1) : .conflict(Self.sorted(overlapping))
        }
    }

    func seatsLeft(on resourceID: String, during interval: Interval) -> Int? {
        guard case .seated(let seats) = kinds[resourceID] else { return nil }
        let overlapping = held(on: resourceID).map(\.interval).filter { $0.overlaps(interval) }
        return max(0, seats - Self.maxDepth(of: overlapping, in: interval))
    }

    /// Depth is highest at the query's start or at a start inside it.
    static func maxDepth(of intervals: [Interval], in query: Interval) -> Int {
        let points = [query.start] + intervals.map(\.start).filter { $0 > query.start && $0 < query.end }
        return points.map { point in intervals.filter { $0.start <= point && point < $0.end }.count }.max() ?? 0
    }

    static func sorted(_ reservations: [AvailabilityIndex.Reservation]) -> [AvailabilityIndex.Conflict] {
        reservations
            .sorted { ($0.interval.start, $0.interval.end, $0.id) < ($1.interval.start, $1.interval.end, $1.id) }
            .map { AvailabilityIndex.Conflict(reservationID: $0.id, interval: $0.interval) }
    }

    // MARK: Minute walks

    /// How many reservations (widened by `buffer` minutes) cover each minute of `window`.
    func coverage(on resourceID: String, window: Range<Int64>, bufferMinutes: Int64) -> [Int] {
        var delta = [Int](repeating: 0, count: Int(window.count) + 1)
        for reservation in held(on: resourceID) {
            let from = (reservation.interval.start - Self.base) / 60 - bufferMinutes
            let to = (reservation.interval.end - Self.base) / 60 + bufferMinutes
            let low = max(from, window.lowerBound)
            let high = min(to, window.upperBound)
            guard low < high else { continue }
            delta[Int(low - window.lowerBound)] += 1
            delta[Int(high - window.lowerBound)] -= 1
        }
        var running = 0
        return delta.dropLast().map { change in
            running += change
            return running
        }
    }

    /// Minutes that a new reservation may not use: buffered bookings, or full seat plans.
    func blocked(on resourceID: String, window: Range<Int64>, forBooking: Bool) -> [Bool] {
        switch kinds[resourceID]! {  // callers pass known resources
        case .exclusive(let buffer):
            let widening = forBooking ? buffer / 60 : 0
            return coverage(on: resourceID, window: window, bufferMinutes: widening).map { $0 >= 1 }
        case .seated(let seats):
            return coverage(on: resourceID, window: window, bufferMinutes: 0).map { $0 >= seats }
        }
    }

    func busyRanges(on resourceID: String, within window: Range<Int64>) -> [Interval] {
        guard kinds[resourceID] != nil else { return [] }
        return Self.runs(
            blocked(on: resourceID, window: window, forBooking: false), from: window.lowerBound, minimumSeconds: 0)
    }

    func freeSlots(on resourceID: String, openWindows: [Range<Int64>], minimumSeconds: Int64) -> [Interval] {
        guard kinds[resourceID] != nil, let low = openWindows.map(\.lowerBound).min(),
            let high = openWindows.map(\.upperBound).max()
        else { return [] }
        let blocked = blocked(on: resourceID, window: low..<high, forBooking: true)
        let usable = (low..<high).map { minute in
            openWindows.contains { $0.contains(minute) } && !blocked[Int(minute - low)]
        }
        return Self.runs(usable, from: low, minimumSeconds: minimumSeconds)
    }

    /// Maximal runs of `true` minutes as intervals, keeping those of at least `minimumSeconds`.
    static func runs(_ minutes: [Bool], from first: Int64, minimumSeconds: Int64) -> [Interval] {
        var result: [Interval] = []
        var runStart: Int? = nil
        for (offset, flag) in (minutes + [false]).enumerated() {
            if flag, runStart == nil { runStart = offset }
            if !flag, let start = runStart {
                let interval = interval(minutes: (first + Int64(start))..<(first + Int64(offset)))
                if interval.duration >= minimumSeconds { result.append(interval) }
                runStart = nil
            }
        }
        return result
    }
}

extension AvailabilityIndex.Fit {
    /// Conflicts in `(start, end, id)` order, as the model lists them; the index orders equal starts
    /// by internal handle instead.
    var normalized: Self {
        guard case .conflict(let conflicts) = self else { return self }
        return .conflict(
            conflicts.sorted {
                ($0.interval.start, $0.interval.end, $0.reservationID) < (
                    $1.interval.start, $1.interval.end, $1.reservationID
                )
            })
    }
}

extension AvailabilityIndex.ReserveResult {
    var normalized: Self {
        guard case .conflict(let conflicts) = self else { return self }
        guard case .conflict(let sorted) = AvailabilityIndex.Fit.conflict(conflicts).normalized else { return self }
        return .conflict(sorted)
    }
}

extension AvailabilityIndex.MoveResult {
    var normalized: Self {
        guard case .conflict(let conflicts) = self else { return self }
        guard case .conflict(let sorted) = AvailabilityIndex.Fit.conflict(conflicts).normalized else { return self }
        return .conflict(sorted)
    }
}
