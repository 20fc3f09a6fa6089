import HubCore
import HubWire

extension BookingService {
    func bookingEvent(_ booking: Booking) -> DomainEvent {
        bookingEvent(booking, view: BookingViews.bytes(of: booking))
    }

    /// `view`: the booking's view, serialized (`BookingViews.bytes(of:)`).
    func bookingEvent(_ booking: Booking, view: [UInt8]) -> DomainEvent {
        DomainEvent(type: .bookingUpdated, channels: Channel.booking(of: booking.userID), encoded: view)
    }

    /// The most day views one change publishes: a change longer than this (a coworking plan
    /// taken for months) sends its first days; every event carries the whole `changed` range, so a
    /// client that holds a later day sees that it is covered and refetches it.
    static let changedDaysMax = 62

    /// One `space_availability_changed` for every local day of the space that `ranges` touch: a
    /// booking across midnight changes two day views, and a client holding either must hear of it.
    /// Each day is sent once, with the first of `ranges` that touches it as `changed`.
    func availabilityEvents(space: Space, changed ranges: [Interval], ignoring: Set<String> = [],
                            adding: Booking? = nil) -> [DomainEvent] {
        var seen = Set<LocalDate>()
        var events: [DomainEvent] = []
        for range in ranges {
            let first = space.zone.local(range.start).date
            let last = space.zone.local(max(range.start, range.end - 1)).date  // half-open: the end is not in it
            var date = first
            while date <= last && seen.count < Self.changedDaysMax {
                if seen.insert(date).inserted {
                    events.append(availabilityEvent(space: space, date: date, changed: range, ignoring: ignoring, adding: adding))
                }
                date = date.adding(days: 1)
            }
        }
        return events
    }

    private func availabilityEvent(space: Space, date: LocalDate, changed range: Interval, ignoring: Set<String>,
                                   adding: Booking?) -> DomainEvent {
        let payload = AvailabilityViews.day(space: space, date: date, service: self, ignoring: ignoring, adding: adding) { out in
            out.key("changed")
            BookingViews.range(range, zone: space.zone, into: &out)
            if space.kind == .coworking {
                // The index's own sweep (a booking being created or moved is in it already).
                out.key("seatsLeft")
                out.int(index.seatsLeft(on: space.id, during: range, ignoring: ignoring) ?? 0)
            }
        }
        return DomainEvent(type: .spaceAvailabilityChanged, channels: Channel.space(space.id), encoded: payload)
    }
}
