import HubCore
import HubWire

/// JSON of bookings as the API and the `booking_updated` event show them.
enum BookingViews {
    /// The seed's `Booking` fields first (id, type, spaceName, date, time, duration, status,
    /// amount, paymentStatus) in the space's local time; then ours.
    static func booking(_ booking: Booking) -> JSON {
        let start = booking.zone.local(booking.range.start)
        let end = booking.zone.local(booking.range.end)
        var object: JSONObject = [
            "id": .string(booking.id),
            "type": .string(booking.kind.rawValue),
            "spaceName": .string(booking.spaceName),
            "date": .string(start.date.description),
            "time": .string(start.time.description),
            "duration": .string(booking.durationLabel),
            "status": .string(booking.status.rawValue),
            "amount": .number(booking.amount.majorText),
            "paymentStatus": .string(booking.paymentState.rawValue),
        ]
        object["spaceId"] = .string(booking.spaceID)
        object["userId"] = .string(booking.userID)
        object["endTime"] = .string(end.date == start.date ? end.time.description : "\(end.date) \(end.time)")
        object["startsAt"] = .string(booking.zone.iso8601(booking.range.start))
        object["endsAt"] = .string(booking.zone.iso8601(booking.range.end))
        object["timeZone"] = .string(booking.zone.identifier)
        object["currency"] = .string(booking.amount.currency.code)
        object["holdExpiresAt"] = booking.holdExpiresAt.map { .string(UTC.iso8601($0)) } ?? .null
        object["specialRequests"] = .optional(booking.specialRequests)
        object["paymentReference"] = .optional(booking.paymentReference)
        object["refundDue"] = .bool(booking.refundDue)
        object["cancelReason"] = .optional(booking.cancelReason)
        object["createdAt"] = .string(UTC.iso8601(booking.createdAt))
        object["updatedAt"] = .string(UTC.iso8601(booking.updatedAt))
        object["version"] = .int(booking.version)
        return .object(object)
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
