import HubCore
import HubHTTP
import HubWire

extension BookingService {
    /// Expires lapsed holds and completes bookings that ended: on the leader (`Leadership`), which
    /// holds every booking as the others do. The others look again a second later, in case the
    /// leader has not (it died, and the next one is not chosen yet); the change itself reaches
    /// them through the event log.
    func sweep(now: Int64) {
        let leading = leadership.isLeader
        for (_, id) in holds.popDue(now: now, limit: Self.expiriesPerSweepMax) {
            guard let booking = live[id], booking.status == .pending, let expiry = booking.holdExpiresAt, expiry <= now else {
                continue  // confirmed, cancelled or rescheduled since: a stale entry
            }
            guard leading else {
                holds.push(now + 1, id)
                continue
            }
            perform(onTimer: id, .expire) { booking in
                [DomainEvent(type: .bookingHoldExpired, channels: Channel.booking(of: booking.userID),
                             payload: ["bookingId": .string(booking.id), "spaceId": .string(booking.spaceID),
                                       "booking": BookingViews.booking(booking)])]
            }
        }
        for (_, id) in endings.popDue(now: now, limit: Self.expiriesPerSweepMax) {
            guard let booking = live[id] else { continue }
            if booking.status == .confirmed && booking.range.end <= now {
                if leading { perform(onTimer: id, .complete) } else { endings.push(now + 1, id) }
            } else if booking.status == .completed && booking.range.end + Self.completedRetentionSeconds <= now {
                index.release(id)
                replaceLive(id, with: nil)
                released.record(booking)
            }
        }
        placeUnplaced()
    }

    /// A timer's command: by the time its turn comes the booking may have moved on (paid,
    /// cancelled), which refuses the command quietly; a failed commit is worth a log line (the
    /// next sweep does not retry it: the deadline was taken off the queue).
    private func perform(onTimer id: String, _ command: BookingCommand,
                         events: @escaping (Booking) -> [DomainEvent] = { _ in [] }) {
        var refused = false
        serial.run(id) { [self] turn in
            modifyHoldingSlot(id, events: events, decide: { [clock] current in
                BookingLifecycle.decide(current, command, now: clock.seconds).mapError { refusal in
                    refused = true
                    return APIError(refusal)
                }
            }) { [logger] result in
                turn.end()
                if case .failure(let error) = result, !refused {
                    logger.warning("booking \(id): \(command) on its timer failed: \(error.message)")
                }
            }
        }
    }
}
