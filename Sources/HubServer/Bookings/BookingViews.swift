import HubCore
import HubWire

/// JSON of bookings as the API and the `booking_updated` event show them.
enum BookingViews {
    /// The seed's `Booking` fields first (id, type, spaceName, date, time, duration, status,
    /// amount, paymentStatus) in the space's local time; then ours; then what `extra` writes.
    ///
    /// Written as JSON text (`JSONWriter`), carried as `JSON.raw`: every booking created
    /// serializes one for its event and its 201, and lists hold dozens.
    static func booking(_ booking: Booking, extra: (inout JSONWriter) -> Void = { _ in }) -> JSON {
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
        instant("startsAt", booking.range.start, zone: zone, into: &out)
        instant("endsAt", booking.range.end, zone: zone, into: &out)
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

    /// `{"start": …, "end": …}` in the zone's local time with its offset.
    static func range(_ interval: Interval, zone: Zone) -> JSON {
        var out = JSONWriter(reservingCapacity: 64)
        range(interval, zone: zone, into: &out)
        return .raw(out.bytes)
    }

    /// `range(interval, zone:)` written into `out`, with the members `extra` writes after `end`.
    static func range(_ interval: Interval, zone: Zone, into out: inout JSONWriter,
                      extra: (inout JSONWriter) -> Void = { _ in }) {
        out.beginObject()
        instant("start", interval.start, zone: zone, into: &out)
        instant("end", interval.end, zone: zone, into: &out)
        extra(&out)
        out.endObject()
    }

    /// A member whose value is `instant` as ISO 8601 text with the zone's offset.
    private static func instant(_ name: StaticString, _ instant: Int64, zone: Zone, into out: inout JSONWriter) {
        out.key(name)
        out.string(unescaped: { zone.appendISO8601(instant, to: &$0) })
    }

    /// `{"bookings": [...], "total": N, "page": P}`: the seed's list shape, plus `limit` and `pages`.
    static func page(_ bookings: [Booking], total: Int, page: Int, limit: Int) -> JSON {
        [
            "bookings": .array(bookings.map { booking($0) }),
            "total": .int(total),
            "page": .int(page),
            "limit": .int(limit),
            "pages": .int(limit > 0 ? (total + limit - 1) / limit : 0),
        ]
    }
}
