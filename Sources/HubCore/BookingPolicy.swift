/// A length of time as members write it: "8 hours", "1 day", "2 weeks", "1 month", "90 minutes".
public struct DurationSpec: Hashable, Sendable, CustomStringConvertible {
    public let seconds: Int64
    /// Normalised text, e.g. "8 hours".
    public let label: String

    /// Longest duration we parse: a year. Bounds the arithmetic; spaces set tighter maxima.
    public static let secondsMax: Int64 = 366 * 86_400

    public init?(_ text: String) {
        let parts = text.lowercased().split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].allSatisfy(\.isASCIIDigit), parts[0].count <= 6, let count = Int64(parts[0]), count > 0 else {
            return nil
        }
        let unitSeconds: Int64
        let name: String
        switch parts[1] {
        case "minute", "minutes", "min", "mins": (unitSeconds, name) = (60, "minute")
        case "hour", "hours", "hr", "hrs", "h": (unitSeconds, name) = (3600, "hour")
        case "day", "days": (unitSeconds, name) = (86_400, "day")
        case "week", "weeks": (unitSeconds, name) = (7 * 86_400, "week")
        case "month", "months": (unitSeconds, name) = (PriceUnit.month.seconds, "month")
        default: return nil
        }
        guard count <= Self.secondsMax / unitSeconds else { return nil }
        seconds = count * unitSeconds
        label = "\(count) \(name)\(count == 1 ? "" : "s")"
    }

    /// The label for a range measured in seconds: whole hours when it divides, else minutes.
    public static func label(seconds: Int64) -> String {
        if seconds % 86_400 == 0 && seconds >= 86_400 {
            let days = seconds / 86_400
            return "\(days) day\(days == 1 ? "" : "s")"
        }
        if seconds % 3600 == 0 {
            let hours = seconds / 3600
            return "\(hours) hour\(hours == 1 ? "" : "s")"
        }
        let minutes = seconds / 60
        return "\(minutes) minute\(minutes == 1 ? "" : "s")"
    }

    public var description: String { label }
}

/// Why a requested booking range is refused before availability is even looked at (422s).
public struct BookingRejection: Error, Equatable, Sendable {
    public let code: String
    public let field: String
    public let message: String

    public init(_ code: String, field: String, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }
}

/// A booking request's range, price and label, once the rules accept it.
public struct PlannedBooking: Equatable, Sendable {
    public let range: Interval
    public let amount: Money
    public let durationLabel: String
}

/// The rules every booking obeys, whoever makes it: local times that exist, not in the past,
/// within the booking horizon, within the space's minimum and maximum duration, inside opening
/// hours, not on a blackout date. Pure: `now` is a parameter. Availability (overlaps, seats,
/// buffers) is the index's job.
public enum BookingPolicy {
    /// Resolves local `date` + `start` and either `end` or `duration` into a UTC range and checks it.
    public static func plan(space: Space, date: LocalDate, start: LocalTime, end: LocalTime?, duration: DurationSpec?,
                            now: Int64, horizonDays: Int) -> Result<PlannedBooking, BookingRejection> {
        guard space.isActive else { return .failure(BookingRejection("space_inactive", field: "spaceId", "this space is not bookable")) }
        let startInstant: Int64
        switch resolve(space.zone, date, start, field: "startTime") {
        case .success(let instant): startInstant = instant
        case .failure(let rejection): return .failure(rejection)
        }
        let endInstant: Int64
        var label: String
        if let end {
            guard end > start else {
                return .failure(BookingRejection("end_before_start", field: "endTime", "endTime must be after startTime"))
            }
            switch resolve(space.zone, date, end, field: "endTime") {
            case .success(let instant): endInstant = instant
            case .failure(let rejection): return .failure(rejection)
            }
            label = DurationSpec.label(seconds: endInstant - startInstant)
        } else if let duration {
            endInstant = startInstant + duration.seconds
            label = duration.label
        } else {
            return .failure(BookingRejection("missing_end", field: "endTime", "give endTime or duration"))
        }
        guard endInstant > startInstant else {
            return .failure(BookingRejection("end_before_start", field: "endTime", "the booking must end after it starts"))
        }
        let range = Interval(start: startInstant, end: endInstant)
        if let rejection = check(space: space, range: range, now: now, horizonDays: horizonDays) {
            return .failure(rejection)
        }
        if end != nil { label = DurationSpec.label(seconds: range.duration) }
        return .success(PlannedBooking(range: range, amount: price(space: space, range: range), durationLabel: label))
    }

    /// The checks on a UTC range (also used when rescheduling).
    public static func check(space: Space, range: Interval, now: Int64, horizonDays: Int) -> BookingRejection? {
        if range.start < now {
            return BookingRejection("in_the_past", field: "startTime", "the booking would start in the past")
        }
        if range.start > now + Int64(horizonDays) * 86_400 {
            return BookingRejection("beyond_horizon", field: "date", "bookings open \(horizonDays) days ahead")
        }
        let minutes = range.duration / 60
        if range.duration % 60 != 0 {
            return BookingRejection("bad_duration", field: "endTime", "durations are whole minutes")
        }
        if minutes < space.minimumMinutes {
            return BookingRejection("too_short", field: "endTime", "\(space.name) is booked for at least \(space.minimumMinutes) minutes")
        }
        if minutes > space.maximumMinutes {
            return BookingRejection("too_long", field: "endTime", "\(space.name) is booked for at most \(space.maximumMinutes) minutes")
        }
        // Every local day the range touches is checked, however long it is (a booking across a
        // blackout date, or one longer than a day, once slipped past the first day's checks).
        // The range is at most `maximumMinutes` (a year at most), so the walk is bounded.
        let startDate = space.zone.local(range.start).date
        let lastDate = space.zone.local(range.end - 1).date  // half-open: the end is not in it
        var date = startDate
        while date <= lastDate {
            if space.blackoutDates.contains(date) {
                return BookingRejection("blackout_date", field: "date", "\(space.name) is closed on \(date)")
            }
            date = date.adding(days: 1)
        }
        // The whole range lies inside the opening hours, merged across days where one day's close
        // meets the next day's open: a booking longer than a day needs hours that run through the
        // night (the 24/7 desks and offices), and may cross midnight only where the space does.
        let windows = openWindows(space: space, from: startDate.adding(days: -1), through: lastDate.adding(days: 1))
        guard windows.contains(where: { $0.contains(range) }) else {
            let closed = firstClosedInstant(windows, within: range)
            let day = space.zone.local(closed).date
            return BookingRejection("outside_opening_hours", field: "startTime",
                                    "\(space.name) is open \(describeHours(space.hours, on: day)) on \(day)")
        }
        return nil
    }

    /// Price computed by the server: event spaces per hour prorated to the minute; coworking
    /// plans per started unit (an 8-hour booking of a day plan is one day).
    public static func price(space: Space, range: Interval) -> Money {
        switch space.kind {
        case .event:
            return space.price.scaled(by: range.duration / 60, over: 60)
        case .coworking:
            let unit = space.priceUnit.seconds
            let units = (range.duration + unit - 1) / unit
            return space.price.scaled(by: units, over: 1)
        }
    }

    /// The space's opening hours on `date` as UTC intervals (empty when closed or blacked out).
    public static func openWindows(space: Space, on date: LocalDate) -> [Interval] {
        guard !space.blackoutDates.contains(date), let window = space.hours.window(on: date) else { return [] }
        let open = instant(space.zone, date, window.open)
        let close = window.close == 1440 ? space.zone.startOfDay(date.adding(days: 1)) : instant(space.zone, date, window.close)
        return open < close ? [Interval(start: open, end: close)] : []
    }

    /// Open windows of consecutive days, merged where one day's close meets the next day's open
    /// (a 24-hour space is one long window, so overnight bookings fit).
    public static func openWindows(space: Space, from first: LocalDate, through last: LocalDate) -> [Interval] {
        var merged: [Interval] = []
        var date = first
        while date <= last {
            for window in openWindows(space: space, on: date) {
                if let previous = merged.last, previous.end >= window.start {
                    merged[merged.count - 1] = Interval(start: previous.start, end: max(previous.end, window.end))
                } else {
                    merged.append(window)
                }
            }
            date = date.adding(days: 1)
        }
        return merged
    }

    /// The first instant of `range` that no window covers, to name the day that is closed.
    private static func firstClosedInstant(_ windows: [Interval], within range: Interval) -> Int64 {
        var instant = range.start
        for window in windows where window.start <= instant && window.end > instant { instant = window.end }
        return min(instant, range.end - 1)
    }

    private static func instant(_ zone: Zone, _ date: LocalDate, _ minutes: Int) -> Int64 {
        switch zone.resolve(date, LocalTime(minutes: minutes)!) {  // minutes < 1440 from a Window
        case .unique(let instant): return instant
        case .ambiguous(let first, _): return first
        case .nonexistent: return zone.startOfDay(date) + Int64(minutes) * 60
        }
    }

    private static func resolve(_ zone: Zone, _ date: LocalDate, _ time: LocalTime, field: String) -> Result<Int64, BookingRejection> {
        let target = time.minutes == 1440 ? (date.adding(days: 1), LocalTime(minutes: 0)!) : (date, time)
        switch zone.resolve(target.0, target.1) {
        case .unique(let instant): return .success(instant)
        case .nonexistent:
            return .failure(BookingRejection("nonexistent_local_time", field: field,
                                             "\(date) \(time) does not exist in \(zone) (clocks skip it)"))
        case .ambiguous:
            return .failure(BookingRejection("ambiguous_local_time", field: field,
                                             "\(date) \(time) happens twice in \(zone) (clocks go back); pick another time"))
        }
    }

    static func describeHours(_ hours: WeeklyHours, on date: LocalDate) -> String {
        guard let window = hours.window(on: date) else { return "closed" }
        return "\(LocalTime(minutes: window.open)!)–\(LocalTime(minutes: window.close)!)"
    }
}

extension Character {
    /// 0–9 only (not other scripts' digits, not signs).
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
