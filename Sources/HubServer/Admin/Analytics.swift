import HubCore
import HubWire

/// Analytics over bookings and money, as pure functions of rows read off the loop. Periods are
/// local days, ISO weeks (Monday first) and months in the building's time zone, so a booking
/// made at 00:30 Lagos time counts on the Lagos date, whatever the UTC date.
enum Analytics {
    enum Period: String, Sendable {
        case daily, weekly, monthly
    }

    /// A bucket of the series: its label and its local-date bounds `[first, last]`.
    struct Bucket: Sendable {
        let label: String
        let first: LocalDate
        let last: LocalDate
    }

    /// The buckets covering `[first, last]` (local dates, inclusive).
    static func buckets(_ period: Period, from first: LocalDate, through last: LocalDate) -> [Bucket] {
        var result: [Bucket] = []
        var cursor = start(of: first, period)
        while cursor <= last {
            let next = advance(cursor, period)
            result.append(Bucket(label: label(cursor, period), first: max(cursor, first), last: min(next.adding(days: -1), last)))
            cursor = next
        }
        return result
    }

    static func start(of date: LocalDate, _ period: Period) -> LocalDate {
        switch period {
        case .daily: date
        case .weekly: date.adding(days: -(date.weekday - 1))
        case .monthly: LocalDate(year: date.year, month: date.month, day: 1)!  // day 1 always exists
        }
    }

    /// The start of the next bucket; after December 9999, a date past the calendar's last, which
    /// only ends the loop.
    static func advance(_ date: LocalDate, _ period: Period) -> LocalDate {
        switch period {
        case .daily: date.adding(days: 1)
        case .weekly: date.adding(days: 7)
        case .monthly: date.firstOfNextMonth
        }
    }

    static func label(_ start: LocalDate, _ period: Period) -> String {
        switch period {
        case .daily: return start.description
        case .monthly: return String(start.description.prefix(7))
        case .weekly:
            // ISO week: the week belongs to the year of its Thursday.
            let thursday = start.adding(days: 3)
            let week = (thursday.dayOfYear - 1) / 7 + 1
            return "\(thursday.year)-W\(week < 10 ? "0" : "")\(week)"
        }
    }

    /// Index of the bucket holding `date`, by binary search over sorted buckets.
    static func bucketIndex(_ date: LocalDate, in buckets: [Bucket]) -> Int? {
        var low = 0
        var high = buckets.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if date < buckets[middle].first { high = middle - 1 } else if buckets[middle].last < date { low = middle + 1 } else { return middle }
        }
        return nil
    }

    // MARK: Revenue

    struct RevenueRow: Sendable {
        let label: String
        let start: LocalDate
        let end: LocalDate
        var chargedMinor: Int64 = 0
        var refundedMinor: Int64 = 0
        var payments = 0
        var netMinor: Int64 { chargedMinor - refundedMinor }
    }

    static func revenue(charges: [(minor: Int64, currency: String, at: Int64)], refunds: [(minor: Int64, at: Int64)],
                        buckets: [Bucket], zone: Zone) -> [RevenueRow] {
        var rows = buckets.map { RevenueRow(label: $0.label, start: $0.first, end: $0.last) }
        for charge in charges {
            guard let index = bucketIndex(zone.local(charge.at).date, in: buckets) else { continue }
            rows[index].chargedMinor += charge.minor
            rows[index].payments += 1
        }
        for refund in refunds {
            guard let index = bucketIndex(zone.local(refund.at).date, in: buckets) else { continue }
            rows[index].refundedMinor += refund.minor
        }
        return rows
    }

    // MARK: Bookings

    struct BookingStats: Sendable {
        var byStatus: [String: Int] = [:]
        var byType: [String: Int] = [:]
        var series: [(label: String, count: Int)] = []
        var topSpaces: [(spaceID: String, name: String, bookings: Int, hours: Double)] = []
        var total = 0
        var cancellationRate: Double { total == 0 ? 0 : Double(byStatus["cancelled", default: 0]) / Double(total) }
        var expiryRate: Double { total == 0 ? 0 : Double(byStatus["expired", default: 0]) / Double(total) }
    }

    /// Counts of bookings made in the buckets (by creation time, local).
    static func bookings(_ bookings: [Booking], buckets: [Bucket], zone: Zone, topCount: Int = 5) -> BookingStats {
        var stats = BookingStats()
        var counts = Array(repeating: 0, count: buckets.count)
        var perSpace: [String: (name: String, bookings: Int, seconds: Int64)] = [:]
        for booking in bookings {
            guard let index = bucketIndex(zone.local(booking.createdAt).date, in: buckets) else { continue }
            counts[index] += 1
            stats.total += 1
            stats.byStatus[booking.status.rawValue, default: 0] += 1
            stats.byType[booking.kind.rawValue, default: 0] += 1
            var entry = perSpace[booking.spaceID] ?? (booking.spaceName, 0, 0)
            entry.bookings += 1
            if booking.status != .cancelled && booking.status != .expired { entry.seconds += booking.range.duration }
            perSpace[booking.spaceID] = entry
        }
        stats.series = zip(buckets, counts).map { ($0.label, $1) }
        stats.topSpaces = perSpace.sorted { ($1.value.bookings, $0.key) < ($0.value.bookings, $1.key) }.prefix(topCount)
            .map { ($0.key, $0.value.name, $0.value.bookings, Double($0.value.seconds) / 3600) }
        return stats
    }

    // MARK: Occupancy

    /// Booked share of a space's open time on `date`: the open seconds covered by bookings that
    /// hold (or held) time, divided by open seconds (× seats for a coworking plan). A booking that
    /// crosses midnight counts on each day for the part it covers.
    static func occupancy(space: Space, date: LocalDate, bookings: [Booking]) -> (bookedHours: Double, openHours: Double, percent: Double) {
        let windows = BookingPolicy.openWindows(space: space, on: date)
        let openSeconds = windows.reduce(Int64(0)) { $0 + $1.duration }
        var booked: Int64 = 0
        for booking in bookings where booking.spaceID == space.id && booking.status != .cancelled && booking.status != .expired {
            for window in windows {
                booked += booking.range.clamped(to: window)?.duration ?? 0
            }
        }
        let capacity = openSeconds * Int64(max(space.seats, 1))
        let percent = capacity == 0 ? 0 : (Double(booked) / Double(capacity) * 1000).rounded() / 10
        return (Double(booked) / 3600, Double(openSeconds) / 3600, percent)
    }

    // MARK: CSV

    /// RFC 4180 CSV: CRLF line ends, fields quoted when they hold a comma, quote or line break.
    static func csv(header: [String], rows: [[String]]) -> [UInt8] {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + text.replacingAll("\"", with: "\"\"") + "\"" : text
        }
        var out = header.map(field).joined(separator: ",") + "\r\n"
        for row in rows { out += row.map(field).joined(separator: ",") + "\r\n" }
        return Array(out.utf8)
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}
