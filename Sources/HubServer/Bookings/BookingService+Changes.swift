import HubCore
import HubHTTP
import HubStore
import HubWire

/// Follows booking changes after their commit (reminders, calendars, the payments desk's refunds).
protocol BookingObserver: AnyObject {
    func bookingChanged(_ booking: Booking, _ change: BookingChange)
}

extension BookingService {
    /// Applies a command to a booking, one operation per booking at a time: load, decide
    /// (`BookingLifecycle`), persist with its events and emails, apply to the index, publish.
    /// `work` runs in the same transaction (a staff member's audit row).
    func perform(_ id: String, _ command: BookingCommand, events extraEvents: @escaping (Booking) -> [DomainEvent] = { _ in [] },
                 work: (@Sendable (Database, Booking) throws -> Void)? = nil,
                 completion: @escaping (Result<Booking, APIError>) -> Void) {
        serial.run(id) { [self] turn in
            let now = clock.seconds
            modifyHoldingSlot(id, events: extraEvents, work: work, decide: { current in
                BookingLifecycle.decide(current, command, now: now).mapError(APIError.init)
            }) { result in
                turn.end()
                completion(result)
            }
        }
    }

    /// Applies a decision to a booking, for a caller already inside the booking's serial turn
    /// (the payments desk, which also has a gateway call to make in the same turn). `decide` sees
    /// the current booking; the index effect runs around the commit: a release after it (until
    /// then the slot stays held, so a failed commit cannot leave a double booking), a move's new
    /// range before it under a second id (if the commit fails, nothing was given up).
    /// `loaded`: the booking as the caller already read it inside the turn (nothing changes it
    /// meanwhile), so it is not read again.
    func modifyHoldingSlot(_ id: String, loaded: Booking? = nil, events extraEvents: @escaping (Booking) -> [DomainEvent] = { _ in [] },
                           work: (@Sendable (Database, Booking) throws -> Void)? = nil,
                           decide: @escaping (Booking) -> Result<BookingDecision, APIError>,
                           completion: @escaping (Result<Booking, APIError>) -> Void) {
        let find: (@escaping (Result<Booking, APIError>) -> Void) -> Void = { [self] found in
            if let loaded { found(.success(loaded)) } else { self.find(id, completion: found) }
        }
        find { [self] found in
            let current: Booking
            switch found {
            case .success(let booking): current = booking
            case .failure(let error): return completion(.failure(error))
            }
            let decision: BookingDecision
            switch decide(current) {
            case .success(let decided): decision = decided
            case .failure(let error): return completion(.failure(error))
            }
            guard decision.supersedesOpenPayment else {
                return commit(decision, over: current, superseding: nil, events: extraEvents, work: work, completion: completion)
            }
            // Payments of this booking change only inside its serial turn, which the caller holds.
            storage.read({ try PaymentTable.open(bookingID: id, $0) }) { [self] open in
                guard case .success(let open) = open else { return completion(.failure(Storage.unavailable)) }
                commit(decision, over: current, superseding: open, events: extraEvents, work: work, completion: completion)
            }
        }
    }

    /// `modifyHoldingSlot`'s second half, once everything it needs is read.
    private func commit(_ decision: BookingDecision, over current: Booking, superseding open: Payment?,
                        events extraEvents: (Booking) -> [DomainEvent], work: (@Sendable (Database, Booking) throws -> Void)?,
                        completion: @escaping (Result<Booking, APIError>) -> Void) {
        let id = current.id
        var updated = decision.booking
        updated.version = current.version + 1
        updated.updatedAt = max(clock.seconds, current.updatedAt)
        let moveID = id + Self.moveSuffix
        if case .move(_, let to) = decision.index {
            switch index.reserve(moveID, on: updated.spaceID, during: to, ignoring: id) {
            case .reserved: break
            case .conflict(let conflicts):
                return completion(.failure(Self.conflictError(conflicts, space: catalog[updated.spaceID]!)))  // moves need a space
            case .unknownResource, .duplicateReservation:
                return completion(.failure(.internalError("availability index out of step")))
            }
        }
        let stored = updated
        let events = changeEvents(decision, stored, superseding: open) + extraEvents(stored)
        committer.commit(events: events, { db in
            guard try BookingTable.update(stored, db) else {
                throw APIError.conflict("booking_changed", "the booking changed meanwhile; reload and retry")
            }
            for email in decision.emails { try Self.enqueue(email, booking: stored, db) }
            if decision.supersedesOpenPayment { try PaymentTable.supersedeOpen(bookingID: stored.id, at: stored.updatedAt, db) }
            try work?(db, stored)
        }) { [self] result in
            switch result {
            case .success:
                apply(decision.index, to: stored)
                notify(stored, decision.change)
                completion(.success(stored))
            case .failure(let error):
                if case .move = decision.index { index.release(moveID) }
                logger.error("booking \(id) \(decision.change.rawValue) failed: \(error)")
                completion(.failure(Self.storeError(error)))
            }
        }
    }

    /// After the commit: the index and `live` follow the stored booking.
    private func apply(_ effect: IndexEffect, to booking: Booking) {
        switch effect {
        case .release:
            index.release(booking.id)
            replaceLive(booking.id, with: nil)
            released.record(booking)
        case .claim:
            index.confirm(booking.id)  // the caller reserved it before the commit
            track(booking)
        case .move(_, let to):
            index.release(booking.id + Self.moveSuffix)
            index.release(booking.id)
            _ = index.reserve(booking.id, on: booking.spaceID, during: to, tentative: false)  // just freed by the move's id
            track(booking)
        case .none:
            if booking.status.holdsTime || booking.status == .completed { track(booking) }
        }
    }

    /// `booking_updated`, a day view for every local day the change touches, and the cancelled
    /// open payment when the price changed under it.
    private func changeEvents(_ decision: BookingDecision, _ booking: Booking, superseding open: Payment?) -> [DomainEvent] {
        var events = [bookingEvent(booking)]
        if !decision.changedRanges.isEmpty, let space = catalog[booking.spaceID] {
            let drawn = decision.index != .release
            let leaving: Set<String> = drawn && decision.index == .none ? [] : [booking.id]
            events += availabilityEvents(space: space, changed: decision.changedRanges, ignoring: leaving,
                                         adding: drawn ? booking : nil)
        }
        if decision.supersedesOpenPayment, var open {
            open.status = .cancelled
            open.updatedAt = booking.updatedAt
            events.append(DomainEvent(type: .paymentCancelled, channels: Channel.payment(of: booking.userID), payload: [
                "payment": PaymentViews.payment(open), "bookingId": .string(booking.id),
                "reason": .string("the booking's price changed to \(booking.amount.display)"),
            ]))
        }
        return events
    }

    private static func enqueue(_ email: BookingEmail, booking: Booking, _ db: Database) throws {
        switch email {
        case .cancelled:
            try Outbox.enqueue(.bookingCancelled, booking: booking, extra: [
                "refundDue": .bool(booking.refundDue), "reason": .string(booking.cancelReason ?? ""),
            ], db)
        case .confirmed: try Outbox.enqueue(.bookingConfirmation, booking: booking, db)
        case .holdExpired: try Outbox.enqueue(.holdExpired, booking: booking, db)
        }
    }

    /// The reference of the payment just opened for a booking (the payments desk writes it with the
    /// payment row), so the copy in memory says what the row says.
    func recordPaymentReference(_ reference: String, of id: String) {
        live.setPaymentReference(reference, of: id)
    }

    /// Counts a committed change, and on the leader tells the observers (a refund, a reminder, a
    /// calendar write happen once, on the leader, for changes made on any hub: `Leadership`).
    func notify(_ booking: Booking, _ change: BookingChange, counted: Bool = true) {
        if counted { changeCounts[change, default: 0] += 1 }
        guard leadership.isLeader else { return }
        for observer in observers { observer.bookingChanged(booking, change) }
    }
}

extension APIError {
    /// The one place a refused booking command becomes an HTTP answer.
    init(_ refusal: BookingRefusal) {
        switch refusal {
        case .notFound: self = .notFound("booking")
        case .illegalTransition(let illegal): self = .conflict("illegal_transition", illegal.description)
        case .holdStillValid: self = .conflict("not_expired", "the hold is still valid")
        case .notConfirmed: self = .conflict("not_confirmed", "only a confirmed booking completes")
        case .notChangeable: self = .conflict("not_changeable", "only pending or confirmed bookings that have not started can change")
        case .amountWouldChange:
            self = .invalid("endTime", "amount_would_change", "a paid booking can only move to a time with the same price; cancel and book again")
        }
    }
}
