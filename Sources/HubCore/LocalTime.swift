/// A calendar date without a time zone ("2024-01-15"), as members pick it in the space's zone.
public struct LocalDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1970...9999).contains(year), (1...12).contains(month),
              (1...Self.daysIn(month: month, year: year)).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses exactly `YYYY-MM-DD`.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D,
              let year = Self.number(bytes[0..<4]), let month = Self.number(bytes[5..<7]), let day = Self.number(bytes[8..<10])
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    public var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public init(daysSinceEpoch days: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
    }

    public func adding(days: Int) -> LocalDate { LocalDate(daysSinceEpoch: daysSinceEpoch + Int64(days)) }

    /// The first day of the next month, by day arithmetic: after December 9999 it is a date past
    /// the range the parsing initialisers accept (which ends a loop over months, not the process).
    public var firstOfNextMonth: LocalDate { adding(days: Self.daysIn(month: month, year: year) - day + 1) }

    /// 1 for January 1st … 365 or 366 for December 31st.
    public var dayOfYear: Int { (1..<month).reduce(day) { $0 + Self.daysIn(month: $1, year: year) } }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var weekday: Int {
        let days = daysSinceEpoch  // 1970-01-01 was a Thursday (4)
        return Int(((days % 7) + 7 + 3) % 7) + 1
    }

    public var description: String {
        String(unsafeUninitializedCapacity: 10) { buffer in
            func two(_ value: Int, at index: Int) {
                buffer[index] = 0x30 + UInt8(value / 10 % 10)
                buffer[index + 1] = 0x30 + UInt8(value % 10)
            }
            two(year / 100, at: 0)
            two(year % 100, at: 2)
            buffer[4] = 0x2D
            two(month, at: 5)
            buffer[7] = 0x2D
            two(day, at: 8)
            return 10
        }
    }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

/// A wall-clock time of day at minute precision ("09:00"). 24:00 is allowed as an end of day.
public struct LocalTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Minutes after midnight, 0...1440.
    public let minutes: Int

    public init?(minutes: Int) {
        guard (0...1440).contains(minutes) else { return nil }
        self.minutes = minutes
    }

    /// Parses `HH:MM` (or `H:MM`), 00:00 … 24:00.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
              let hour = LocalDate.number(ArraySlice(parts[0].utf8)), let minute = LocalDate.number(ArraySlice(parts[1].utf8)),
              minute < 60, hour < 24 || (hour == 24 && minute == 0)
        else { return nil }
        self.init(minutes: hour * 60 + minute)
    }

    public var hour: Int { minutes / 60 }
    public var minute: Int { minutes % 60 }
    public var description: String {
        String(unsafeUninitializedCapacity: 5) { buffer in
            buffer[0] = 0x30 + UInt8(hour / 10)
            buffer[1] = 0x30 + UInt8(hour % 10)
            buffer[2] = 0x3A
            buffer[3] = 0x30 + UInt8(minute / 10)
            buffer[4] = 0x30 + UInt8(minute % 10)
            return 5
        }
    }
    public static func < (lhs: LocalTime, rhs: LocalTime) -> Bool { lhs.minutes < rhs.minutes }
}
