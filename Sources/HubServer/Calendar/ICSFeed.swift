import HubCore
import HubCrypto

/// Bookings as iCalendar feeds (RFC 5545): a member's own bookings, or a space's busy times.
///
/// Every booking is one VEVENT whose UID never changes, whose SEQUENCE is the booking's version
/// (bumped on every change, §3.8.7.4), and whose STATUS follows the booking: CONFIRMED
/// (confirmed, completed), TENTATIVE (a pending hold), CANCELLED (cancelled, expired). Times
/// carry the space's TZID with a matching VTIMEZONE.
enum ICSFeed {
    static let productID = "-//SpaceHub//Bookings 1.0//EN"

    enum Audience {
        /// The member's own feed: names, amounts, references.
        case member
        /// A space's public feed: busy or not, nothing about who.
        case publicBusy
    }

    static func calendar(name: String, bookings: [Booking], audience: Audience) -> [UInt8] {
        var ics = ICSWriter()
        ics.line("BEGIN", "VCALENDAR")
        ics.line("VERSION", "2.0")
        ics.line("PRODID", productID)
        ics.line("CALSCALE", "GREGORIAN")
        ics.line("METHOD", "PUBLISH")
        ics.line("X-WR-CALNAME", ICSWriter.text(name))
        // RFC 7986 §5.7 and its widespread predecessor: ask clients to refetch every 15 minutes.
        ics.line("REFRESH-INTERVAL;VALUE=DURATION", "PT15M")
        ics.line("X-PUBLISHED-TTL", "PT15M")
        var zones: [Zone: (start: Int64, end: Int64)] = [:]
        for booking in bookings {
            let span = zones[booking.zone] ?? (booking.range.start, booking.range.end)
            zones[booking.zone] = (min(span.start, booking.range.start), max(span.end, booking.range.end))
        }
        for zone in zones.keys.sorted(by: { $0.identifier < $1.identifier }) {
            let span = zones[zone]!  // iterating its keys
            ICSTimeZone.write(zone, from: span.start, to: span.end, into: &ics)
        }
        for booking in bookings {
            event(booking, audience: audience, into: &ics)
        }
        ics.line("END", "VCALENDAR")
        return ics.bytes
    }

    static func uid(_ booking: Booking, audience: Audience) -> String {
        switch audience {
        case .member: "\(booking.id)@spacehub"
        // Booking ids are not public: the busy feed's UID is derived from the id, stable but opaque.
        case .publicBusy: "busy-\(Hex.encode(SHA256.hash(Array(booking.id.utf8)).prefix(12)))@spacehub"
        }
    }

    static func status(_ booking: Booking) -> String {
        switch booking.status {
        case .confirmed, .completed: "CONFIRMED"
        case .pending: "TENTATIVE"
        case .cancelled, .expired: "CANCELLED"
        }
    }

    private static func event(_ booking: Booking, audience: Audience, into ics: inout ICSWriter) {
        ics.line("BEGIN", "VEVENT")
        ics.line("UID", uid(booking, audience: audience))
        ics.line("DTSTAMP", ICSWriter.utc(booking.updatedAt))
        ics.line("CREATED", ICSWriter.utc(booking.createdAt))
        ics.line("LAST-MODIFIED", ICSWriter.utc(booking.updatedAt))
        ics.line("SEQUENCE", String(booking.version))
        dateTime("DTSTART", booking.range.start, zone: booking.zone, into: &ics)
        dateTime("DTEND", booking.range.end, zone: booking.zone, into: &ics)
        ics.line("STATUS", status(booking))
        ics.line("TRANSP", booking.status == .cancelled || booking.status == .expired ? "TRANSPARENT" : "OPAQUE")
        switch audience {
        case .member:
            ics.line("SUMMARY", ICSWriter.text(booking.spaceName))
            ics.line("LOCATION", ICSWriter.text(booking.spaceName))
            ics.line("DESCRIPTION", ICSWriter.text(description(booking)))
            ics.line("CATEGORIES", ICSWriter.text(booking.kind == .event ? "Event space" : "Coworking"))
        case .publicBusy:
            ics.line("SUMMARY", booking.status == .pending ? "Held" : "Busy")
            ics.line("CLASS", "PUBLIC")
        }
        ics.line("END", "VEVENT")
    }

    /// `DTSTART;TZID=Africa/Lagos:20250115T090000`, or UTC when the local time is ambiguous or
    /// skipped (a DST change): a TZID time there would name another instant (§3.3.5).
    private static func dateTime(_ name: String, _ instant: Int64, zone: Zone, into ics: inout ICSWriter) {
        let local = zone.local(instant)
        if zone.localSeconds(of: instant) % 60 == 0, case .unique(let resolved) = zone.resolve(local.date, local.time),
           resolved == instant {
            ics.line("\(name);TZID=\(zone.identifier)", ICSWriter.local(instant, zone: zone))
        } else {
            ics.line(name, ICSWriter.utc(instant))
        }
    }

    static func description(_ booking: Booking) -> String {
        var lines = [
            "Booking \(booking.id)",
            "Status: \(booking.status.rawValue)",
            "Duration: \(booking.durationLabel)",
            "Amount: \(booking.amount.display) (\(booking.paymentState.rawValue))",
        ]
        if let requests = booking.specialRequests, !requests.isEmpty { lines.append("Special requests: \(requests)") }
        if let reason = booking.cancelReason, booking.status == .cancelled { lines.append("Cancelled: \(reason)") }
        return lines.joined(separator: "\n")
    }
}
