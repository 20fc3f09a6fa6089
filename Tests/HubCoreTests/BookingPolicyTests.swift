import Testing

@testable import HubCore

private func date(_ text: String) -> LocalDate { LocalDate(text)! }
private func time(_ text: String) -> LocalTime { LocalTime(text)! }
private func utc(_ text: String) -> Int64 { UTC.parse(text)! }
private func naira(_ amount: Int64) -> Money { Money(minorUnits: amount * 100) }

/// `BookingPolicy` is pure: every test passes `now`, so no clock is involved.
@Suite struct BookingPolicyTests {
    /// Sunday 2026-05-31, 13:00 in Lagos; 2026-06-01 is the Monday after.
    static let now = utc("2026-05-31T12:00:00Z")
    static let monday = date("2026-06-01")

    /// A Lagos meeting room: Monday–Friday 09:00–17:00, 1 to 4 hours, NGN 10,000 an hour.
    static let room = Space(id: "room", kind: .event, name: "Room", price: naira(10_000),
                            hours: .weekdays(open: 9 * 60, close: 17 * 60), minimumMinutes: 60, maximumMinutes: 240,
                            bufferMinutes: 15)

    static func plan(in space: Space = room, on day: LocalDate = monday, _ start: String, _ end: String? = nil,
                     duration: String? = nil, now: Int64 = now, horizonDays: Int = 365) -> Result<PlannedBooking, BookingRejection> {
        BookingPolicy.plan(space: space, date: day, start: time(start), end: end.map(time), duration: duration.map { DurationSpec($0)! },
                           now: now, horizonDays: horizonDays)
    }

    static func code(_ result: Result<PlannedBooking, BookingRejection>) -> String? {
        if case .failure(let rejection) = result { return rejection.code }
        return nil
    }

    @Test func acceptsAndPricesARangeInsideHours() throws {
        let planned = try Self.plan("10:00", "11:30").get()
        #expect(planned.range == Interval(start: utc("2026-06-01T09:00:00Z"), end: utc("2026-06-01T10:30:00Z")))
        #expect(planned.amount == naira(15_000))
        #expect(planned.durationLabel == "90 minutes")
        #expect(try Self.plan("09:00", "11:00").get().durationLabel == "2 hours")
    }

    /// The window is half-open and inclusive at both edges: 09:00 start and 17:00 end fit.
    @Test func openingHoursEdges() {
        var allDay = Self.room
        allDay.maximumMinutes = 600
        #expect(Self.code(Self.plan(in: allDay, "09:00", "17:00")) == nil)
        #expect(Self.code(Self.plan(in: allDay, "08:59", "10:00")) == "outside_opening_hours")
        #expect(Self.code(Self.plan(in: allDay, "16:00", "17:01")) == "outside_opening_hours")
        #expect(Self.code(Self.plan(in: allDay, "08:00", "10:00")) == "outside_opening_hours")
        #expect(Self.code(Self.plan(in: allDay, "16:00", "18:00")) == "outside_opening_hours")
        #expect(Self.code(Self.plan(in: allDay, "06:00", "07:00")) == "outside_opening_hours")
        // Saturday and Sunday are closed.
        #expect(Self.code(Self.plan(in: allDay, on: date("2026-06-06"), "10:00", "11:00")) == "outside_opening_hours")
        #expect(Self.code(Self.plan(in: allDay, on: date("2026-06-07"), "10:00", "11:00")) == "outside_opening_hours")
    }

    @Test func minimumAndMaximumDuration() {
        #expect(Self.code(Self.plan("10:00", "10:30")) == "too_short")
        #expect(Self.code(Self.plan("10:00", "10:59")) == "too_short")
        #expect(Self.code(Self.plan("10:00", "11:00")) == nil)
        #expect(Self.code(Self.plan("10:00", "14:00")) == nil)
        #expect(Self.code(Self.plan("10:00", "14:01")) == "too_long")
        #expect(Self.code(Self.plan("09:00", duration: "5 hours")) == "too_long")
    }

    @Test func pastAndHorizon() {
        let mondayEleven = utc("2026-06-01T10:00:00Z")  // 11:00 in Lagos
        #expect(Self.code(Self.plan("10:00", "11:00", now: mondayEleven)) == "in_the_past")
        #expect(Self.code(Self.plan("10:59", "12:00", now: mondayEleven)) == "in_the_past")
        #expect(Self.code(Self.plan("11:00", "12:00", now: mondayEleven)) == nil)  // starting right now is fine
        #expect(Self.code(Self.plan(on: date("2026-07-15"), "10:00", "11:00", horizonDays: 30)) == "beyond_horizon")
        #expect(Self.code(Self.plan(on: date("2026-06-29"), "10:00", "11:00", horizonDays: 30)) == nil)
        // The horizon is exact to the second.
        let start = Self.now + 30 * 86_400
        let atHorizon = Interval(start: start, end: start + 3600)
        var open = Self.room
        open.hours = .always
        #expect(BookingPolicy.check(space: open, range: atHorizon, now: Self.now, horizonDays: 30) == nil)
        let pastHorizon = Interval(start: start + 1, end: start + 3601)
        #expect(BookingPolicy.check(space: open, range: pastHorizon, now: Self.now, horizonDays: 30)?.code == "beyond_horizon")
    }

    @Test func blackoutDates() {
        var closed = Self.room
        closed.blackoutDates = [Self.monday]
        #expect(Self.code(Self.plan(in: closed, "10:00", "11:00")) == "blackout_date")
        #expect(Self.code(Self.plan(in: closed, on: date("2026-06-02"), "10:00", "11:00")) == nil)
        #expect(BookingPolicy.openWindows(space: closed, on: Self.monday).isEmpty)
    }

    @Test func malformedRequests() {
        #expect(Self.code(Self.plan("11:00", "10:00")) == "end_before_start")
        #expect(Self.code(Self.plan("11:00", "11:00")) == "end_before_start")
        #expect(Self.code(Self.plan("11:00")) == "missing_end")
        var inactive = Self.room
        inactive.isActive = false
        #expect(Self.code(Self.plan(in: inactive, "10:00", "11:00")) == "space_inactive")
        // Ranges that are not whole minutes (a reschedule computed elsewhere).
        let odd = Interval(start: utc("2026-06-01T09:00:00Z"), end: utc("2026-06-01T10:00:01Z"))
        #expect(BookingPolicy.check(space: Self.room, range: odd, now: Self.now, horizonDays: 365)?.code == "bad_duration")
    }

    /// Local times in a DST gap or overlap are refused, naming the field that holds them.
    @Test func nonexistentAndAmbiguousLocalTimes() throws {
        let london = Space(id: "london", kind: .event, name: "London Room", price: naira(10_000), zone: Zone("Europe/London")!,
                           minimumMinutes: 30, maximumMinutes: 600)
        let before = utc("2026-03-01T00:00:00Z")
        func londonPlan(_ day: String, _ start: String, _ end: String) -> Result<PlannedBooking, BookingRejection> {
            Self.plan(in: london, on: date(day), start, end, now: before)
        }
        #expect(londonPlan("2026-03-29", "01:30", "03:00") == .failure(BookingRejection(
            "nonexistent_local_time", field: "startTime", "2026-03-29 01:30 does not exist in Europe/London (clocks skip it)")))
        if case .failure(let rejection) = londonPlan("2026-03-29", "00:30", "01:30") {
            #expect(rejection.code == "nonexistent_local_time")
            #expect(rejection.field == "endTime")
        } else {
            Issue.record("an end inside the gap was accepted")
        }
        if case .failure(let rejection) = londonPlan("2026-10-25", "01:30", "03:00") {
            #expect(rejection.code == "ambiguous_local_time")
            #expect(rejection.field == "startTime")
        } else {
            Issue.record("an ambiguous start was accepted")
        }
        // Across the gap, 00:30–02:30 on the wall clock is one hour of real time, priced as one.
        let spring = try londonPlan("2026-03-29", "00:30", "02:30").get()
        #expect(spring.range.duration == 3600)
        #expect(spring.amount == naira(10_000))
        #expect(spring.durationLabel == "1 hour")
        // Across the overlap, 00:30–02:30 is three hours.
        let autumn = try londonPlan("2026-10-25", "00:30", "02:30").get()
        #expect(autumn.range.duration == 3 * 3600)
        #expect(autumn.amount == naira(30_000))
    }

    /// A 24-hour space takes bookings over midnight; its days' windows merge into one.
    @Test func overnightBookingInATwentyFourHourSpace() throws {
        let studio = Space(id: "studio", kind: .event, name: "Studio", price: naira(10_000), hours: .always,
                           minimumMinutes: 60, maximumMinutes: 24 * 60)
        let overnight = try Self.plan(in: studio, "22:00", duration: "8 hours").get()
        #expect(overnight.range == Interval(start: utc("2026-06-01T21:00:00Z"), end: utc("2026-06-02T05:00:00Z")))
        #expect(overnight.amount == naira(80_000))
        #expect(overnight.durationLabel == "8 hours")
        let toMidnight = try Self.plan(in: studio, "22:00", "24:00").get()
        #expect(toMidnight.range == Interval(start: utc("2026-06-01T21:00:00Z"), end: utc("2026-06-01T23:00:00Z")))
        #expect(Self.code(Self.plan(in: studio, "00:00", duration: "24 hours")) == nil)
        // The same booking where Tuesday is closed does not fit.
        var mondaysOnly = studio
        mondaysOnly.hours = WeeklyHours(days: [WeeklyHours.Window(open: 0, close: 1440)] + Array(repeating: nil, count: 6))
        #expect(Self.code(Self.plan(in: mondaysOnly, "22:00", duration: "8 hours")) == "outside_opening_hours")
        #expect(Self.code(Self.plan(in: mondaysOnly, "22:00", "24:00")) == nil)
        // And in a space that closes at 22:00 it does not either.
        var evenings = studio
        evenings.hours = WeeklyHours(days: Array(repeating: WeeklyHours.Window(open: 7 * 60, close: 22 * 60), count: 7))
        #expect(Self.code(Self.plan(in: evenings, "21:00", duration: "8 hours")) == "outside_opening_hours")
        let merged = BookingPolicy.openWindows(space: studio, from: Self.monday, through: Self.monday.adding(days: 2))
        #expect(merged == [Interval(start: utc("2026-05-31T23:00:00Z"), end: utc("2026-06-03T23:00:00Z"))])
    }

    /// Event spaces are priced per hour, prorated to the minute (rounded half up to a kobo).
    @Test(arguments: [(60, 1_000_000), (61, 1_016_667), (90, 1_500_000), (119, 1_983_333), (240, 4_000_000), (1, 16_667)]
          as [(Int64, Int64)])
    func eventPricingIsProratedPerMinute(minutes: Int64, kobo: Int64) {
        let start = utc("2026-06-01T09:00:00Z")
        #expect(BookingPolicy.price(space: Self.room, range: Interval(start: start, end: start + minutes * 60)) == Money(minorUnits: kobo))
    }

    /// Coworking plans are priced per started unit of their `duration`.
    @Test(arguments: [
        (PriceUnit.day, "8 hours", 1), (.day, "24 hours", 1), (.day, "25 hours", 2), (.day, "1 week", 7),
        (.hour, "90 minutes", 2), (.hour, "60 minutes", 1), (.hour, "1 minute", 1),
        (.week, "1 week", 1), (.week, "8 days", 2), (.month, "1 month", 1), (.month, "30 days", 1), (.month, "31 days", 2),
    ] as [(PriceUnit, String, Int64)])
    func coworkingPricingPerStartedUnit(unit: PriceUnit, duration: String, units: Int64) throws {
        let plan = Space(id: "plan", kind: .coworking, name: "Plan", seats: 10, price: naira(5_000), priceUnit: unit,
                         hours: .always, minimumMinutes: 1, maximumMinutes: 366 * 1440)
        let planned = try Self.plan(in: plan, "09:00", duration: duration).get()
        #expect(planned.amount == naira(5_000 * units))
        #expect(planned.durationLabel == DurationSpec(duration)!.label)
    }

    /// Every day of a range is checked (issue 16, item 7): a booking longer than a day lies inside
    /// the opening hours as a whole, so it needs hours that run through the night; on a desk open
    /// weekdays 09:00–17:00 a week is refused, on a 24/7 desk it fits.
    @Test func multiDayBookingsAreHeldToEveryDaysHours() {
        var desk = Space(id: "desk", kind: .coworking, name: "Desk", seats: 5, price: naira(30_000), priceUnit: .week,
                         hours: .weekdays(open: 9 * 60, close: 17 * 60), minimumMinutes: 60, maximumMinutes: 8 * 7 * 1440)
        #expect(Self.code(Self.plan(in: desk, "09:00", duration: "1 week")) == "outside_opening_hours")
        #expect(Self.code(Self.plan(in: desk, "09:00", duration: "2 days")) == "outside_opening_hours")
        #expect(Self.code(Self.plan(in: desk, "08:00", duration: "8 hours")) == "outside_opening_hours")
        #expect(Self.code(Self.plan(in: desk, "09:00", duration: "8 hours")) == nil)
        desk.hours = .always
        #expect(Self.code(Self.plan(in: desk, "09:00", duration: "1 week")) == nil)
    }

    /// A blackout date anywhere inside the range refuses it, not only on its first day.
    @Test func blackoutDatesInsideAMultiDayRange() throws {
        var desk = Space(id: "desk", kind: .coworking, name: "Desk", seats: 5, price: naira(30_000), priceUnit: .week,
                         hours: .always, minimumMinutes: 60, maximumMinutes: 8 * 7 * 1440)
        desk.blackoutDates = [date("2026-06-05")]  // the Friday of the week from Monday
        let rejection = BookingPolicy.plan(space: desk, date: Self.monday, start: time("09:00"), end: nil,
                                           duration: DurationSpec("1 week"), now: Self.now, horizonDays: 365)
        guard case .failure(let refused) = rejection else { Issue.record("a week across a blackout date was accepted"); return }
        #expect(refused.code == "blackout_date" && refused.message.contains("2026-06-05"))
        // The range is half-open: one ending at the blackout day's midnight does not touch it.
        let fourDays = try Self.plan(in: desk, "00:00", duration: "4 days").get()
        #expect(fourDays.range.end == utc("2026-06-04T23:00:00Z"))
        // Across midnight into a blackout day, even when short.
        desk.blackoutDates = [date("2026-06-02")]
        #expect(Self.code(Self.plan(in: desk, "22:00", duration: "4 hours")) == "blackout_date")
    }

    @Test func openWindowsOfADay() {
        #expect(BookingPolicy.openWindows(space: Self.room, on: Self.monday)
            == [Interval(start: utc("2026-06-01T08:00:00Z"), end: utc("2026-06-01T16:00:00Z"))])
        #expect(BookingPolicy.openWindows(space: Self.room, on: date("2026-06-06")).isEmpty)
        let london = Space(id: "l", kind: .event, name: "L", price: naira(1), hours: .always, zone: Zone("Europe/London")!)
        // The spring-forward day is 23 hours long.
        #expect(BookingPolicy.openWindows(space: london, on: date("2026-03-29"))
            == [Interval(start: utc("2026-03-29T00:00:00Z"), end: utc("2026-03-29T23:00:00Z"))])
    }
}

@Suite struct DurationSpecTests {
    @Test(arguments: [
        ("8 hours", 8 * 3600, "8 hours"), ("1 hour", 3600, "1 hour"), ("1 hours", 3600, "1 hour"), ("2 h", 7200, "2 hours"),
        ("3 hrs", 3 * 3600, "3 hours"), ("90 minutes", 5400, "90 minutes"), ("1 min", 60, "1 minute"),
        ("1 day", 86_400, "1 day"), ("2 days", 2 * 86_400, "2 days"), ("2 weeks", 14 * 86_400, "2 weeks"),
        ("1 month", 30 * 86_400, "1 month"), ("12 months", 360 * 86_400, "12 months"), ("366 days", 366 * 86_400, "366 days"),
        ("8 HOURS", 8 * 3600, "8 hours"), ("8  hours", 8 * 3600, "8 hours"), (" 8 hours ", 8 * 3600, "8 hours"),
    ] as [(String, Int64, String)])
    func parses(text: String, seconds: Int64, label: String) {
        let spec = DurationSpec(text)
        #expect(spec?.seconds == seconds)
        #expect(spec?.label == label)
        #expect(spec?.description == label)
    }

    @Test(arguments: [
        "", "8", "hours", "0 hours", "-1 hours", "1.5 hours", "8 hours extra", "8 fortnights", "eight hours",
        "367 days", "53 weeks", "13 months", "8785 hours", "99999999999999999999 hours", "8hours", "1 second",
    ])
    func refuses(text: String) {
        #expect(DurationSpec(text) == nil)
    }

    @Test func labelsForRanges() {
        #expect(DurationSpec.label(seconds: 60) == "1 minute")
        #expect(DurationSpec.label(seconds: 5400) == "90 minutes")
        #expect(DurationSpec.label(seconds: 3600) == "1 hour")
        #expect(DurationSpec.label(seconds: 7200) == "2 hours")
        #expect(DurationSpec.label(seconds: 86_400) == "1 day")
        #expect(DurationSpec.label(seconds: 3 * 86_400) == "3 days")
        #expect(DurationSpec.label(seconds: 25 * 3600) == "25 hours")
    }
}
