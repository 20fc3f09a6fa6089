import HubCore
import HubWire

/// JSON of availability: what a dashboard row or a kiosk draws for one space on one day.
enum AvailabilityViews {
    /// One space's local day: opening windows, busy ranges (with "held" for pending holds and
    /// "booked" for confirmed bookings), free slots, and seats for coworking plans. `adding` is a
    /// booking whose commit is under way: it is in the index but not yet tracked as live.
    /// `committedOnly` leaves out reservations whose commit is still under way: a snapshot is
    /// stamped with the last published `seq`, and those reservations arrive as events after it
    /// (or never, if their commit fails). `extra` writes the caller's own members last.
    ///
    /// Written as JSON text, not built as `JSON` values: every booking publishes one of these
    /// per day it touches, and a busy day has dozens of ranges, each two dates.
    static func day(space: Space, date: LocalDate, service: BookingService, ignoring: Set<String> = [],
                    adding: Booking? = nil, committedOnly: Bool = false,
                    extra: (inout JSONWriter) -> Void = { _ in }) -> [UInt8] {
        let zone = space.zone
        let dayWindow = Interval(start: zone.startOfDay(date), end: zone.startOfDay(date.adding(days: 1)))
        let open = BookingPolicy.openWindows(space: space, on: date)
        var ignoring = ignoring
        var reservations = service.index.reservations(on: space.id, overlapping: dayWindow)
        if committedOnly {
            for reservation in reservations where reservation.isTentative { ignoring.insert(reservation.id) }
        }
        if !ignoring.isEmpty { reservations.removeAll { ignoring.contains($0.id) } }
        reservations.sort { $0.interval.start < $1.interval.start }
        let free = service.index.freeSlots(on: space.id, openWindows: open, minimumSeconds: Int64(space.minimumMinutes) * 60,
                                           ignoring: ignoring)

        var out = JSONWriter(reservingCapacity: 512 + 128 * (reservations.count + free.count))
        out.beginObject()
        out.member("spaceId", space.id)
        out.member("spaceName", space.name)
        out.member("type", space.kind.rawValue)
        out.member("date", date.description)
        out.member("timeZone", zone.identifier)
        out.key("open")
        ranges(open, zone: zone, into: &out)
        out.key("free")
        ranges(free, zone: zone, into: &out)
        switch space.kind {
        case .event:
            out.key("busy")
            out.beginArray()
            for reservation in reservations {
                BookingViews.range(reservation.interval, zone: zone, into: &out) { out in
                    let booking = reservation.id == adding?.id ? adding : service.holder(of: reservation.id)
                    out.member("status", holdState(booking))
                }
            }
            out.endArray()
        case .coworking:
            let steps = occupancy(reservations.map(\.interval), within: dayWindow)
            out.key("seats")
            out.int(space.seats)
            out.key("busy")
            ranges(fullRanges(steps, seats: space.seats), zone: zone, into: &out)
            out.key("occupancy")
            out.beginArray()
            for step in steps {
                BookingViews.range(step.range, zone: zone, into: &out) { out in
                    out.key("taken")
                    out.int(min(step.taken, space.seats))
                }
            }
            out.endArray()
            out.key("bookings")
            out.int(reservations.count)
        }
        extra(&out)
        out.endObject()
        return out.bytes
    }

    private static func ranges(_ intervals: [Interval], zone: Zone, into out: inout JSONWriter) {
        out.beginArray()
        for interval in intervals { BookingViews.range(interval, zone: zone, into: &out) }
        out.endArray()
    }

    /// "held" for a pending hold, "booked" otherwise: the kiosk's HELD / BUSY.
    static func holdState(_ booking: Booking?) -> String {
        booking?.status == .pending ? "held" : "booked"
    }

    /// How many intervals overlap over `window`, as consecutive ranges of constant count above
    /// zero (a coworking plan's seats taken through the day), in order.
    static func occupancy(_ intervals: [Interval], within window: Interval) -> [(range: Interval, taken: Int)] {
        var points: [(Int64, Int)] = []
        for interval in intervals {
            guard let clipped = interval.clamped(to: window) else { continue }
            points.append((clipped.start, 1))
            points.append((clipped.end, -1))
        }
        points.sort { $0.0 < $1.0 }
        var steps: [(range: Interval, taken: Int)] = []
        var depth = 0
        var index = 0
        while index < points.count {
            let time = points[index].0
            while index < points.count && points[index].0 == time {
                depth += points[index].1
                index += 1
            }
            guard index < points.count, depth > 0 else { continue }
            let next = points[index].0
            if let last = steps.last, last.taken == depth, last.range.end == time {
                steps[steps.count - 1].range = Interval(start: last.range.start, end: next)
            } else {
                steps.append((Interval(start: time, end: next), depth))
            }
        }
        return steps
    }

    /// The ranges of `occupancy` where at least `seats` are taken (the plan is full), merged.
    static func fullRanges(_ occupancy: [(range: Interval, taken: Int)], seats: Int) -> [Interval] {
        var result: [Interval] = []
        for step in occupancy where step.taken >= seats {
            if let last = result.last, last.end == step.range.start {
                result[result.count - 1] = Interval(start: last.start, end: step.range.end)
            } else {
                result.append(step.range)
            }
        }
        return result
    }

    /// The grid for `days` local days from `date`: every active space with its day views.
    static func grid(catalog: SpaceCatalog, service: BookingService, date: LocalDate, days: Int, committedOnly: Bool = false) -> JSON {
        let spaces = catalog.active()
        return [
            "date": .string(date.description),
            "days": .int(days),
            "spaces": .array(spaces.map { space in
                [
                    "spaceId": .string(space.id),
                    "name": .string(space.name),
                    "type": .string(space.kind.rawValue),
                    "capacity": .int(space.capacity),
                    "seats": .int(space.seats),
                    "timeZone": .string(space.zone.identifier),
                    "days": .array((0..<days).map { offset in
                        .raw(day(space: space, date: date.adding(days: offset), service: service, committedOnly: committedOnly))
                    }),
                ]
            }),
        ]
    }
}
