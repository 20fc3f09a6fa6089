import HubCore
import HubWire

/// JSON of availability: what a dashboard row or a kiosk draws for one space on one day.
enum AvailabilityViews {
    /// One space's local day: opening windows, busy ranges (with "held" for pending holds and
    /// "booked" for confirmed bookings), free slots, and seats for coworking plans. `adding` is a
    /// booking whose commit is under way: it is in the index but not yet tracked as live.
    /// `committedOnly` leaves out reservations whose commit is still under way: a snapshot is
    /// stamped with the last published `seq`, and those reservations arrive as events after it
    /// (or never, if their commit fails).
    static func day(space: Space, date: LocalDate, service: BookingService, ignoring: Set<String> = [],
                    adding: Booking? = nil, committedOnly: Bool = false) -> JSON {
        let zone = space.zone
        let dayWindow = Interval(start: zone.startOfDay(date), end: zone.startOfDay(date.adding(days: 1)))
        let open = BookingPolicy.openWindows(space: space, on: date)
        var ignoring = ignoring
        if committedOnly {
            for reservation in service.index.reservations(on: space.id, overlapping: dayWindow) where reservation.isTentative {
                ignoring.insert(reservation.id)
            }
        }
        let reservations = service.index.reservations(on: space.id, overlapping: dayWindow)
            .filter { !ignoring.contains($0.id) }
            .sorted { $0.interval.start < $1.interval.start }
        var object: JSONObject = [
            "spaceId": .string(space.id),
            "spaceName": .string(space.name),
            "type": .string(space.kind.rawValue),
            "date": .string(date.description),
            "timeZone": .string(zone.identifier),
            "open": .array(open.map { BookingViews.range($0, zone: zone) }),
        ]
        let free = service.index.freeSlots(on: space.id, openWindows: open, minimumSeconds: Int64(space.minimumMinutes) * 60,
                                           ignoring: ignoring)
        object["free"] = .array(free.map { BookingViews.range($0, zone: zone) })
        switch space.kind {
        case .event:
            object["busy"] = .array(reservations.map { reservation in
                var range = BookingViews.range(reservation.interval, zone: zone).objectValue ?? [:]
                let booking = reservation.id == adding?.id ? adding : service.holder(of: reservation.id)
                range["status"] = .string(holdState(booking))
                return .object(range)
            })
        case .coworking:
            let steps = occupancy(reservations.map(\.interval), within: dayWindow)
            object["seats"] = .int(space.seats)
            object["busy"] = .array(fullRanges(steps, seats: space.seats).map { BookingViews.range($0, zone: zone) })
            object["occupancy"] = .array(steps.map { step in
                var range = BookingViews.range(step.range, zone: zone).objectValue ?? [:]
                range["taken"] = .int(min(step.taken, space.seats))
                return .object(range)
            })
            object["bookings"] = .int(reservations.count)
        }
        return .object(object)
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
                        day(space: space, date: date.adding(days: offset), service: service, committedOnly: committedOnly)
                    }),
                ]
            }),
        ]
    }
}
