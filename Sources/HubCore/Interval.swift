/// A half-open span of time `[start, end)` in whole seconds since the Unix epoch, UTC.
///
/// Half-open means touching intervals do not overlap: `[9:00, 10:00)` and `[10:00, 11:00)` can both
/// be booked. `start < end` always holds; an empty interval is not an `Interval`.
///
/// The fields are `let` because `IntervalTree` and `AvailabilityIndex` key on them: an interval that
/// could be mutated in place could also be made empty in place.
public struct Interval: Hashable, Sendable {
    /// First second inside the interval.
    public let start: Int64
    /// First second after the interval.
    public let end: Int64

    /// Creates `[start, end)`. Precondition: `start < end`.
    public init(start: Int64, end: Int64) {
        precondition(start < end, "Interval needs start < end, got [\(start), \(end))")
        self.start = start
        self.end = end
    }

    /// For values read back from storage that already satisfied `start < end` when stored.
    init(uncheckedStart start: Int64, end: Int64) {
        assert(start < end)
        self.start = start
        self.end = end
    }

    /// Length in seconds.
    public var duration: Int64 { end - start }

    /// True when some second lies in both intervals; `[a, b)` and `[b, c)` do not overlap.
    public func overlaps(_ other: Interval) -> Bool {
        start < other.end && other.start < end
    }

    /// True when `other` lies entirely inside `self`.
    public func contains(_ other: Interval) -> Bool {
        start <= other.start && other.end <= end
    }

    /// `self` widened by `seconds` on both sides, saturating at the ends of `Int64` so a huge buffer
    /// cannot wrap around into a small interval.
    func widened(by seconds: Int64) -> Interval {
        precondition(seconds >= 0, "negative widening \(seconds)")
        let (low, lowOverflow) = start.subtractingReportingOverflow(seconds)
        let (high, highOverflow) = end.addingReportingOverflow(seconds)
        return Interval(uncheckedStart: lowOverflow ? .min : low, end: highOverflow ? .max : high)
    }

    /// The part of `self` inside `window`, or nil when they do not overlap.
    public func clamped(to window: Interval) -> Interval? {
        let low = max(start, window.start)
        let high = min(end, window.end)
        return low < high ? Interval(uncheckedStart: low, end: high) : nil
    }
}

extension Interval: CustomStringConvertible {
    public var description: String { "[\(start), \(end))" }
}
