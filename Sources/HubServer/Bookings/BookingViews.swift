import HubCore
import HubWire

/// JSON of bookings as the API and the `booking_updated` event show them.
enum BookingViews {
    /// The seed's `Booking` fields first (id, type, spaceName, date, time, duration, status,
    /// amount, paymentStatus) in the space's local time; then ours; then what `extra` writes.
    ///
    /// Written as JSON text (`JSONWriter`), carried as `JSON.raw`: every booking created
    /// serializes one for its event and its 201, and lists hold dozens.
    static func booking(_ booking: Booking) -> JSON {
        .raw(bytes(of: booking))
    }

    static func booking(_ booking: Booking, extra: (inout JSONWriter) -> Void) -> JSON {
        .raw(bytes(of: booking, extra: extra))
    }

    static func bytes(of booking: Booking, extra: (inout JSONWriter) -> Void = { _ in }) -> [UInt8] {
        let zone = booking.zone
        let start = zone.local(booking.range.start)
        let end = zone.local(booking.range.end)
        var out = JSONWriter(reservingCapacity: 768)
        out.beginObject()
        out.member("id", booking.id)
        out.member("type", booking.kind.rawValue)
        out.member("spaceName", booking.spaceName)
        out.member("date", start.date.description)
        out.member("time", start.time.description)
        out.member("duration", booking.durationLabel)
        out.member("status", booking.status.rawValue)
        out.member("amount", .number(booking.amount.majorText))
        out.member("paymentStatus", booking.paymentState.rawValue)
        out.member("spaceId", booking.spaceID)
        out.member("userId", booking.userID)
        out.member("endTime", end.date == start.date ? end.time.description : "\(end.date) \(end.time)")
        out.key("startsAt")
        out.string(unescaped: { zone.appendISO8601(booking.range.start, to: &$0) })
        out.key("endsAt")
        out.string(unescaped: { zone.appendISO8601(booking.range.end, to: &$0) })
        out.member("timeZone", zone.identifier)
        out.member("currency", booking.amount.currency.code)
        out.member("holdExpiresAt", booking.holdExpiresAt.map { .string(UTC.iso8601($0)) } ?? .null)
        out.member("specialRequests", .optional(booking.specialRequests))
        out.member("paymentReference", .optional(booking.paymentReference))
        out.member("refundDue", .bool(booking.refundDue))
        out.member("cancelReason", .optional(booking.cancelReason))
        out.member("createdAt", UTC.iso8601(booking.createdAt))
        out.member("updatedAt", UTC.iso8601(booking.updatedAt))
        out.key("version")
        out.int(booking.version)
        extra(&out)
        out.endObject()
        return out.bytes
    }

    static func range(_ interval: Interval, zone: Zone) -> JSON {
        ["start": .string(zone.iso8601(interval.start)), "end": .string(zone.iso8601(interval.end))]
    }

    /// `range(interval, zone:)` written as text, with the members `extra` writes after `end`.
    static func range(_ interval: Interval, zone: Zone, into out: inout JSONWriter,
                      extra: (inout JSONWriter) -> Void = { _ in }) {
        out.beginObject()
        out.key("start")
        out.string(unescaped: { zone.appendISO8601(interval.start, to: &$0) })
        out.key("end")
        out.string(unescaped: { zone.appendISO8601(interval.end, to: &$0) })
        extra(&out)
        out.endObject()
    }

    /// `{"bookings": [...], "total": N, "page": P}`: the seed's list shape, plus `limit` and `pages`.
    static func page(_ bookings: [Booking], total: Int, page: Int, limit: Int) -> JSON {
        [
            "bookings": .array(bookings.map(booking)),
            "total": .int(total),
            "page": .int(page),
            "limit": .int(limit),
            "pages": .int(limit > 0 ? (total + limit - 1) / limit : 0),
        ]
    }
}
