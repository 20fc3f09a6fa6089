import Foundation
import Testing

@testable import HubCore

private func date(_ text: String) -> LocalDate { LocalDate(text)! }
private func time(_ text: String) -> LocalTime { LocalTime(text)! }
private func utc(_ text: String) -> Int64 { UTC.parse(text)! }

@Suite struct ZoneTests {
    static let london = Zone("Europe/London")!

    /// 2026-03-29: London springs forward at 01:00 GMT to 02:00 BST, so 01:30 never happens.
    @Test func springForwardGapIsNonexistent() {
        #expect(Self.london.resolve(date("2026-03-29"), time("01:30")) == .nonexistent)
        #expect(Self.london.resolve(date("2026-03-29"), time("01:00")) == .nonexistent)
        #expect(Self.london.resolve(date("2026-03-29"), time("01:59")) == .nonexistent)
        // Either side of the gap is unique, in the offset in force.
        #expect(Self.london.resolve(date("2026-03-29"), time("00:59")) == .unique(utc("2026-03-29T00:59:00Z")))
        #expect(Self.london.resolve(date("2026-03-29"), time("02:00")) == .unique(utc("2026-03-29T01:00:00Z")))
        #expect(Self.london.resolve(date("2026-03-29"), time("12:00")) == .unique(utc("2026-03-29T11:00:00Z")))
    }

    /// 2026-10-25: London falls back at 02:00 BST to 01:00 GMT, so 01:30 happens twice.
    @Test func fallBackOverlapIsAmbiguous() {
        #expect(
            Self.london.resolve(date("2026-10-25"), time("01:30"))
                == .ambiguous(utc("2026-10-25T00:30:00Z"), utc("2026-10-25T01:30:00Z")))
        #expect(
            Self.london.resolve(date("2026-10-25"), time("01:00"))
                == .ambiguous(utc("2026-10-25T00:00:00Z"), utc("2026-10-25T01:00:00Z")))
        #expect(Self.london.resolve(date("2026-10-25"), time("00:59")) == .unique(utc("2026-10-24T23:59:00Z")))
        #expect(Self.london.resolve(date("2026-10-25"), time("02:00")) == .unique(utc("2026-10-25T02:00:00Z")))
    }

    /// Lagos keeps UTC+1 all year: the same wall-clock times are unique there.
    /// A zone read from a constant gives, at every instant from 2000 to 2060 (monthly), the
    /// offset Foundation gives: for every zone tzdata knows. Lagos is one of them; London is not.
    @Test func aFixedOffsetIsTheOffsetFoundationGivesForEveryZone() {
        #expect(Zone.lagos.hasFixedOffset)
        #expect(!Self.london.hasFixedOffset)
        var fixed = 0
        for identifier in TimeZone.knownTimeZoneIdentifiers {
            guard let zone = Zone(identifier), zone.hasFixedOffset, let foundation = TimeZone(identifier: identifier) else { continue }
            fixed += 1
            for month in stride(from: Zone.fixedSince, to: Zone.fixedSince + 60 * 365 * 86_400, by: 30 * 86_400) {
                let expected = Int64(foundation.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(month))))
                #expect(zone.offset(at: month) == expected, "\(identifier) at \(UTC.iso8601(month))")
                if zone.offset(at: month) != expected { break }
            }
        }
        #expect(fixed > 50, "zones without transitions since 2000: \(fixed)")
    }

    @Test func lagosIsAlwaysUnique() {
        #expect(Zone.lagos.resolve(date("2026-03-29"), time("01:30")) == .unique(utc("2026-03-29T00:30:00Z")))
        #expect(Zone.lagos.resolve(date("2026-10-25"), time("01:30")) == .unique(utc("2026-10-25T00:30:00Z")))
        #expect(Zone.lagos.resolve(date("2026-06-01"), time("00:00")) == .unique(utc("2026-05-31T23:00:00Z")))
        #expect(Zone.lagos.identifier == "Africa/Lagos")
        #expect(Zone.defaultIdentifier == "Africa/Lagos")
    }

    @Test func offsets() {
        #expect(Zone.lagos.offset(at: utc("2026-01-15T12:00:00Z")) == 3600)
        #expect(Zone.lagos.offset(at: utc("2026-07-15T12:00:00Z")) == 3600)
        #expect(Self.london.offset(at: utc("2026-01-15T12:00:00Z")) == 0)
        #expect(Self.london.offset(at: utc("2026-07-15T12:00:00Z")) == 3600)
        // The transition instants themselves.
        #expect(Self.london.offset(at: utc("2026-03-29T00:59:59Z")) == 0)
        #expect(Self.london.offset(at: utc("2026-03-29T01:00:00Z")) == 3600)
        #expect(Self.london.offset(at: utc("2026-10-25T00:59:59Z")) == 3600)
        #expect(Self.london.offset(at: utc("2026-10-25T01:00:00Z")) == 0)
        #expect(Zone("America/New_York")!.offset(at: utc("2026-01-15T12:00:00Z")) == -5 * 3600)
    }

    @Test func unknownIdentifiersAreRefused() {
        #expect(Zone("Not/AZone") == nil)
        #expect(Zone("") == nil)
        #expect(Zone("Mars/Olympus_Mons") == nil)
    }

    /// Every instant of a year maps to a local time that resolves back to it (uniquely, or as one
    /// of the two readings in the autumn overlap).
    @Test func localThenResolveRoundTrips() {
        for zone in [Self.london, Zone.lagos, Zone("America/New_York")!, Zone("Asia/Kolkata")!] {
            var instant = utc("2026-01-01T00:00:00Z")
            let end = utc("2027-01-01T00:00:00Z")
            while instant < end {
                let (day, clock) = zone.local(instant)
                switch zone.resolve(day, clock) {
                case .unique(let back): #expect(back == instant, "\(zone) \(instant)")
                case .ambiguous(let first, let second): #expect(first == instant || second == instant, "\(zone) \(instant)")
                case .nonexistent: Issue.record("\(zone): local time of \(instant) reported nonexistent")
                }
                instant += 37 * 60  // steps that land on every minute-of-hour over the year
            }
        }
    }

    @Test func startOfDay() {
        #expect(Zone.lagos.startOfDay(date("2026-06-01")) == utc("2026-05-31T23:00:00Z"))
        #expect(Self.london.startOfDay(date("2026-03-29")) == utc("2026-03-29T00:00:00Z"))
        #expect(Self.london.startOfDay(date("2026-03-30")) == utc("2026-03-29T23:00:00Z"))
        // The short and long days are 23 and 25 hours.
        #expect(Self.london.startOfDay(date("2026-03-30")) - Self.london.startOfDay(date("2026-03-29")) == 23 * 3600)
        #expect(Self.london.startOfDay(date("2026-10-26")) - Self.london.startOfDay(date("2026-10-25")) == 25 * 3600)
    }

    /// São Paulo sprang forward at midnight on 2018-11-04: that day began at 01:00 local.
    @Test func startOfDayWhenMidnightIsSkipped() {
        let saoPaulo = Zone("America/Sao_Paulo")!
        #expect(saoPaulo.resolve(date("2018-11-04"), time("00:00")) == .nonexistent)
        #expect(saoPaulo.startOfDay(date("2018-11-04")) == utc("2018-11-04T03:00:00Z"))
        #expect(saoPaulo.local(utc("2018-11-04T03:00:00Z")).time == time("01:00"))
    }

    @Test func iso8601WithOffset() {
        #expect(Zone.lagos.iso8601(utc("2024-01-15T08:00:00Z")) == "2024-01-15T09:00:00+01:00")
        #expect(Self.london.iso8601(utc("2026-07-01T08:00:00Z")) == "2026-07-01T09:00:00+01:00")
        #expect(Self.london.iso8601(utc("2026-01-01T08:00:00Z")) == "2026-01-01T08:00:00+00:00")
        #expect(Zone("America/New_York")!.iso8601(utc("2026-01-01T08:00:30Z")) == "2026-01-01T03:00:30-05:00")
        #expect(Zone("Asia/Kolkata")!.iso8601(utc("2026-01-01T08:00:00Z")) == "2026-01-01T13:30:00+05:30")
        // Lagos midnight crosses the UTC date line.
        #expect(Zone.lagos.iso8601(utc("2026-05-31T23:00:00Z")) == "2026-06-01T00:00:00+01:00")
    }

    /// The byte form views write straight into their text is the same text, across offsets,
    /// transitions and the UTC date line.
    @Test func iso8601AppendedAsBytesIsTheSameText() {
        let zones = [Zone.lagos, Self.london, Zone("America/New_York")!, Zone("Asia/Kolkata")!, Zone("America/Sao_Paulo")!]
        var instant = utc("2018-01-01T00:00:00Z")
        var bytes: [UInt8] = Array("prefix".utf8)
        var expected = "prefix"
        while instant < utc("2027-01-01T00:00:00Z") {
            for zone in zones {
                zone.appendISO8601(instant, to: &bytes)
                expected += zone.iso8601(instant)
            }
            instant += 86_400 * 7 + 3_600 + 17
        }
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
    }

    @Test func utcFormatAndParse() {
        #expect(UTC.iso8601(0) == "1970-01-01T00:00:00Z")
        #expect(UTC.iso8601(1_780_272_000) == "2026-06-01T00:00:00Z")
        #expect(UTC.iso8601(1_780_272_000 + 3 * 3600 + 4 * 60 + 5) == "2026-06-01T03:04:05Z")
        #expect(UTC.parse("2026-06-01T00:00:00Z") == 1_780_272_000)
        #expect(UTC.parse("2026-06-01T00:00Z") == 1_780_272_000)
        #expect(UTC.parse("2026-06-01 00:00:00Z") == 1_780_272_000)
        #expect(UTC.parse("2026-06-01T01:00:00+01:00") == 1_780_272_000)
        #expect(UTC.parse("2026-05-31T19:00:00-05:00") == 1_780_272_000)
        #expect(UTC.parse("2026-06-01T00:00:00.999Z") == 1_780_272_000)
        for bad in ["", "2026-06-01", "2026-06-01T00:00:00", "2026-06-01T24:00:00Z", "2026-06-01T00:60:00Z",
                    "2026-06-01T00:00:60Z", "2026-13-01T00:00:00Z", "2026-06-01T00:00:00+0100", "2026-06-01T00:00:00ZZ",
                    "2026-06-01X00:00:00Z"] {
            #expect(UTC.parse(bad) == nil, "\(bad)")
        }
        var instant: Int64 = 0
        while instant < 4_102_444_800 {  // to 2100
            #expect(UTC.parse(UTC.iso8601(instant)) == instant)
            instant += 86_400 * 13 + 3_607
        }
    }
}

@Suite struct LocalDateTests {
    @Test func parsing() {
        #expect(LocalDate("2024-02-29") == LocalDate(year: 2024, month: 2, day: 29))
        #expect(LocalDate("2024-02-29")?.description == "2024-02-29")
        for bad in ["2023-02-29", "2100-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-1-01", "2024-01-1",
                    "24-01-01", "2024/01/01", "2024-01-01 ", "1969-12-31", "abcd-ef-gh", ""] {
            #expect(LocalDate(bad) == nil, "\(bad)")
        }
        #expect(LocalDate("2000-02-29") != nil)  // divisible by 400
        #expect(LocalDate(year: 9999, month: 12, day: 31) != nil)
        #expect(LocalDate(year: 10_000, month: 1, day: 1) == nil)
    }

    @Test func daysSinceEpoch() {
        #expect(LocalDate("1970-01-01")!.daysSinceEpoch == 0)
        #expect(LocalDate("2000-03-01")!.daysSinceEpoch == 11_017)
        #expect(LocalDate("2026-06-01")!.daysSinceEpoch == 20_605)
        #expect(LocalDate(daysSinceEpoch: 20_605) == LocalDate("2026-06-01"))
        for days in stride(from: Int64(0), to: 2_932_897, by: 1) where days % 97 == 0 || days < 1500 {
            #expect(LocalDate(daysSinceEpoch: days).daysSinceEpoch == days)
        }
    }

    /// ISO weekday, 1 = Monday … 7 = Sunday.
    @Test(arguments: [
        ("1970-01-01", 4), ("2024-01-15", 1), ("2026-03-29", 7), ("2026-06-01", 1), ("2026-06-06", 6),
        ("2026-06-07", 7), ("2000-02-29", 2), ("2026-10-25", 7),
    ])
    func weekday(text: String, weekday: Int) {
        #expect(LocalDate(text)!.weekday == weekday)
    }

    @Test func weekdaysCycle() {
        var day = LocalDate("1970-01-05")!  // a Monday
        for offset in 0..<3000 {
            #expect(day.weekday == offset % 7 + 1)
            day = day.adding(days: 1)
        }
    }

    /// Month starts and day numbers by arithmetic, past December 9999 too (no initialiser that
    /// could refuse the date is involved).
    @Test func monthStartsAndDaysOfTheYear() {
        #expect(LocalDate("2024-01-31")!.firstOfNextMonth == LocalDate("2024-02-01")!)
        #expect(LocalDate("2024-02-10")!.firstOfNextMonth == LocalDate("2024-03-01")!)
        #expect(LocalDate("2023-12-01")!.firstOfNextMonth == LocalDate("2024-01-01")!)
        let past = LocalDate("9999-12-15")!.firstOfNextMonth
        #expect(past == LocalDate("9999-12-31")!.adding(days: 1))
        #expect(past.year == 10000 && past.month == 1 && past.day == 1)
        #expect(LocalDate("2024-01-01")!.dayOfYear == 1)
        #expect(LocalDate("2024-12-31")!.dayOfYear == 366)
        #expect(LocalDate("2023-12-31")!.dayOfYear == 365)
        #expect(LocalDate("2023-03-01")!.dayOfYear == 60)
        #expect(past.dayOfYear == 1)
    }

    @Test func arithmetic() {
        #expect(LocalDate("2024-02-28")!.adding(days: 1) == LocalDate("2024-02-29"))
        #expect(LocalDate("2024-02-28")!.adding(days: 2) == LocalDate("2024-03-01"))
        #expect(LocalDate("2023-02-28")!.adding(days: 1) == LocalDate("2023-03-01"))
        #expect(LocalDate("2025-12-31")!.adding(days: 1) == LocalDate("2026-01-01"))
        #expect(LocalDate("2026-01-01")!.adding(days: -1) == LocalDate("2025-12-31"))
        #expect(LocalDate("2026-06-01")!.adding(days: 365) == LocalDate("2027-06-01"))
        #expect(LocalDate("2024-03-01")!.adding(days: -366) == LocalDate("2023-03-01"))
        #expect(LocalDate("2026-06-01")!.adding(days: 0) == LocalDate("2026-06-01"))
        #expect(LocalDate("2026-06-01")! < LocalDate("2026-06-02")!)
        #expect(LocalDate("2025-12-31")! < LocalDate("2026-01-01")!)
        #expect(!(LocalDate("2026-06-01")! < LocalDate("2026-06-01")!))
    }
}

@Suite struct LocalTimeTests {
    @Test func parsing() {
        #expect(LocalTime("09:00")?.minutes == 540)
        #expect(LocalTime("9:05")?.minutes == 545)
        #expect(LocalTime("00:00")?.minutes == 0)
        #expect(LocalTime("23:59")?.minutes == 1439)
        #expect(LocalTime("24:00")?.minutes == 1440)  // an end of day
        for bad in ["24:01", "23:60", "25:00", "0900", "09:0", "09:000", "009:00", "-1:00", "9:5", "", ":", "09:00:00", "ab:cd"] {
            #expect(LocalTime(bad) == nil, "\(bad)")
        }
        #expect(LocalTime(minutes: -1) == nil)
        #expect(LocalTime(minutes: 1441) == nil)
    }

    @Test func formatting() {
        #expect(LocalTime(minutes: 545)!.description == "09:05")
        #expect(LocalTime(minutes: 0)!.description == "00:00")
        #expect(LocalTime(minutes: 1440)!.description == "24:00")
        #expect(LocalTime(minutes: 545)!.hour == 9)
        #expect(LocalTime(minutes: 545)!.minute == 5)
        #expect(LocalTime("08:00")! < LocalTime("08:01")!)
    }
}
