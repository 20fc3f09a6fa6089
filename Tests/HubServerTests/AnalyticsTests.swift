import Foundation
import HubCore
import HubTestSupport
import Testing

@testable import HubServer

@Suite struct AnalyticsTests {
    static let lagos = Zone.lagos

    static func date(_ text: String) -> LocalDate { LocalDate(text)! }

    /// `hours` after local midnight of `date` in Lagos.
    static func lagosInstant(_ date: String, hours: Int64) -> Int64 { lagos.startOfDay(Self.date(date)) + hours * 3600 }

    static let studio = Space(id: "studio", kind: .event, name: "Night Studio", price: Money(minorUnits: 1_000_000, currency: .ngn),
                              hours: .always, zone: lagos)

    static func booking(_ id: String, _ range: Interval, status: BookingStatus = .confirmed) -> Booking {
        Booking(id: id, userID: "u", kind: .event, spaceID: studio.id, spaceName: studio.name, range: range, zone: lagos,
                durationLabel: "", amount: Money(minorUnits: 0, currency: .ngn), status: status, createdAt: range.start, updatedAt: range.start)
    }

    /// Every Monday from 1990 to 2100 against Foundation's ISO 8601 calendar (years of 52 and 53
    /// weeks, and Mondays that belong to the previous or the next year).
    @Test func weeklyLabelsAreISOWeeks() {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var monday = Analytics.start(of: Self.date("1990-01-03"), .weekly)
        #expect(monday == Self.date("1990-01-01"))
        var mismatches: [String] = []
        while monday <= Self.date("2100-12-31") {
            let parts = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear],
                                                from: Date(timeIntervalSince1970: TimeInterval(monday.daysSinceEpoch * 86_400)))
            let week = parts.weekOfYear!
            let expected = "\(parts.yearForWeekOfYear!)-W\(week < 10 ? "0" : "")\(week)"
            let label = Analytics.label(monday, .weekly)
            if label != expected { mismatches.append("\(monday): \(label) != \(expected)") }
            monday = monday.adding(days: 7)
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        #expect(Analytics.label(Self.date("2020-12-28"), .weekly) == "2020-W53")
        #expect(Analytics.label(Self.date("2024-12-30"), .weekly) == "2025-W01")
    }

    /// Random ranges: the buckets tile the range exactly, in order, and every date finds its own.
    @Test func bucketsTileTheRange() {
        var random = SeededRandom.fromEnvironment()
        for _ in 0..<300 {
            let first = Self.date("2000-01-01").adding(days: Int.random(in: 0...10_000, using: &random))
            let last = first.adding(days: Int.random(in: 0...800, using: &random))
            for period in [Analytics.Period.daily, .weekly, .monthly] {
                let buckets = Analytics.buckets(period, from: first, through: last)
                #expect(buckets.first?.first == first && buckets.last?.last == last, "\(random.replay)")
                for (previous, next) in zip(buckets, buckets.dropFirst()) {
                    #expect(next.first == previous.last.adding(days: 1), "\(random.replay)")
                    #expect(Analytics.start(of: next.first, period) == next.first, "\(random.replay)")
                }
                #expect(Set(buckets.map(\.label)).count == buckets.count, "\(random.replay)")
                let probe = first.adding(days: Int.random(in: 0...Int(last.daysSinceEpoch - first.daysSinceEpoch), using: &random))
                let index = Analytics.bucketIndex(probe, in: buckets)
                #expect(index.map { buckets[$0].first <= probe && probe <= buckets[$0].last } == true, "\(random.replay)")
                #expect(Analytics.bucketIndex(last.adding(days: 1), in: buckets) == nil, "\(random.replay)")
                #expect(Analytics.bucketIndex(first.adding(days: -1), in: buckets) == nil, "\(random.replay)")
            }
        }
    }

    /// 22:00–02:00 Lagos is 21:00–01:00 UTC: two hours on each Lagos date, not three and one.
    /// The calendar's last month and week: the bucket after them lies past 9999-12-31 and only
    /// ends the series (it crashed the hub once, found by schemathesis).
    @Test(arguments: [Analytics.Period.daily, .weekly, .monthly])
    func theSeriesEndsAtTheCalendarsLastDay(period: Analytics.Period) {
        let buckets = Analytics.buckets(period, from: Self.date("9999-11-15"), through: Self.date("9999-12-31"))
        #expect(buckets.last?.last == Self.date("9999-12-31"))
        #expect(buckets.first?.first == Self.date("9999-11-15"))
    }

    @Test func aRevenueSeriesToTheCalendarsLastDayIsAnswered() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        for period in ["daily", "weekly", "monthly"] {
            let answer = hub.request("GET", "/api/admin/analytics/revenue?period=\(period)&startDate=9999-12-01&endDate=9999-12-31",
                                     token: admin.token)
            #expect(answer.status == 200, "\(period)")
        }
    }

    @Test func overnightBookingCountsOnBothLocalDays() {
        let overnight = Self.booking("a", Interval(start: Self.lagosInstant("2026-03-10", hours: 22), end: Self.lagosInstant("2026-03-11", hours: 2)))
        let cancelled = Self.booking("b", Interval(start: Self.lagosInstant("2026-03-11", hours: 9), end: Self.lagosInstant("2026-03-11", hours: 12)),
                                     status: .cancelled)
        let first = Analytics.occupancy(space: Self.studio, date: Self.date("2026-03-10"), bookings: [overnight, cancelled])
        let second = Analytics.occupancy(space: Self.studio, date: Self.date("2026-03-11"), bookings: [overnight, cancelled])
        #expect(first.bookedHours == 2 && first.openHours == 24 && first.percent == 8.3)
        #expect(second.bookedHours == 2 && second.openHours == 24)
        #expect(Analytics.occupancy(space: Self.studio, date: Self.date("2026-03-12"), bookings: [overnight]).bookedHours == 0)
    }

    /// A charge at 23:30 UTC is paid at 00:30 the next day in Lagos; the series says so.
    @Test func revenueBucketsOnTheLocalDateOfPayment() {
        let buckets = Analytics.buckets(.daily, from: Self.date("2026-03-10"), through: Self.date("2026-03-11"))
        let lateCharge = Self.lagosInstant("2026-03-11", hours: 0) + 30 * 60  // 2026-03-10T23:30Z
        let refund = Self.lagosInstant("2026-03-10", hours: 23)  // 2026-03-10T22:00Z
        let rows = Analytics.revenue(charges: [(minor: 500_000, currency: "NGN", at: lateCharge)], refunds: [(minor: 1_000, at: refund)],
                                     buckets: buckets, zone: Self.lagos)
        #expect(rows.map(\.chargedMinor) == [0, 500_000])
        #expect(rows.map(\.refundedMinor) == [1_000, 0])
        #expect(rows.map(\.netMinor) == [-1_000, 500_000])
        #expect(rows.map(\.payments) == [0, 1])
    }

    @Test func csvQuotesOnlyWhatNeedsIt() {
        let bytes = Analytics.csv(header: ["period", "name"], rows: [["2026-W01", "Hall, \"Main\"\nfloor"], ["2026-W02", "plain"]])
        #expect(String(decoding: bytes, as: UTF8.self)
            == "period,name\r\n2026-W01,\"Hall, \"\"Main\"\"\nfloor\"\r\n2026-W02,plain\r\n")
    }
}
