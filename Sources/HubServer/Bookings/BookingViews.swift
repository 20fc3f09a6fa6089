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
        out.key("id")
        out.string(booking.id)
        out.key("type")
        out.string(booking.kind.rawValue)
        out.key("spaceName")
        out.string(booking.spaceName)
        out.key("date")
        out.string(start.date.description)
        out.key("time")
        out.string(start.time.description)
        out.key("duration")
        out.string(booking.durationLabel)
        out.key("status")
        out.string(booking.status.rawValue)
        out.key("amount")
        out.value(.number(booking.amount.majorText))
        out.key("paymentStatus")
        out.string(booking.paymentState.rawValue)
        out.key("spaceId")
        out.string(booking.spaceID)
        out.key("userId")
        out.string(booking.userID)
        out.key("endTime")
        out.string(end.date == start.date ? end.time.description : "\(end.date) \(end.time)")
        out.key("startsAt")
        out.string(unescaped: { zone.appendISO8601(booking.range.start, to: &$0) })
        out.key("endsAt")
        out.string(unescaped: { zone.appendISO8601(booking.range.end, to: &$0) })
        out.key("timeZone")
        out.string(zone.identifier)
        out.key("currency")
        out.string(booking.amount.currency.code)
        out.key("holdExpiresAt")
        out.value(booking.holdExpiresAt.map { .string(UTC.iso8601($0)) } ?? .null)
        out.key("specialRequests")
        out.value(.optional(booking.specialRequests))
        out.key("paymentReference")
        out.value(.optional(booking.paymentReference))
        out.key("refundDue")
        out.value(.bool(booking.refundDue))
        out.key("cancelReason")
        out.value(.optional(booking.cancelReason))
        out.key("createdAt")
        out.string(UTC.iso8601(booking.createdAt))
        out.key("updatedAt")
        out.string(UTC.iso8601(booking.updatedAt))
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
