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
            object["seats"] = .int(space.seats)
            object["busy"] = .array(fullRanges(reservations.map(\.interval), seats: space.seats, within: dayWindow)
                .map { BookingViews.range($0, zone: zone) })
            object["bookings"] = .int(reservations.count)
        }
        return .object(object)
    }

    /// "held" for a pending hold, "booked" otherwise: the kiosk's HELD / BUSY.
    static func holdState(_ booking: Booking?) -> String {
        booking?.status == .pending ? "held" : "booked"
    }

    /// Ranges where at least `seats` intervals overlap (a coworking plan is full).
    static func fullRanges(_ intervals: [Interval], seats: Int, within window: Interval) -> [Interval] {
        var points: [(Int64, Int)] = []
        for interval in intervals {
            guard let clipped = interval.clamped(to: window) else { continue }
            points.append((clipped.start, 1))
            points.append((clipped.end, -1))
        }
        points.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var result: [Interval] = []
        var depth = 0
        var fullSince: Int64?
        for (time, delta) in points {
            depth += delta
            if depth >= seats, fullSince == nil {
                fullSince = time
            } else if depth < seats, let since = fullSince {
                if since < time { result.append(Interval(start: since, end: time)) }
                fullSince = nil
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
