import HubCore
import HubStore
import HubWire

extension BookingService {
    /// Cancels a pending or confirmed booking. A paid booking cancelled at least the refund
    /// notice before its start is marked `refundDue`; the payments desk carries the refund out.
    /// `extraWork` runs in the same transaction (a staff member's audit row).
    func cancel(_ id: String, by principal: Principal, reason: String?, extraWork: (@Sendable (Database, Booking) throws -> Void)? = nil,
                completion: @escaping (Result<Booking, APIError>) -> Void) {
        let noticeSeconds = Int64(settings.refundNoticeHours) * 3600
        modify(id, change: .cancelled, work: { db, booking in
            try Outbox.enqueue(.bookingCancelled, booking: booking, extra: [
                "refundDue": .bool(booking.refundDue), "reason": .string(booking.cancelReason ?? ""),
            ], db)
            try extraWork?(db, booking)
        }, decide: { booking in
            guard principal.isAdmin || booking.userID == principal.id else { return .failure(.notFound("booking")) }
            if case .failure(let illegal) = booking.status.applying(.cancel) {
                return .failure(.conflict("illegal_transition", illegal.description))
            }
            let now = WallClock.seconds()
            var next = booking
            next.status = .cancelled
            next.holdExpiresAt = nil
            next.cancelReason = reason ?? (principal.isAdmin && booking.userID != principal.id ? "cancelled by staff" : "cancelled by member")
            next.refundDue = booking.paymentState == .paid && booking.range.start - now >= noticeSeconds
            return .success(next)
        }, completion: completion)
    }

    /// Confirms a pending booking (an admin who took payment offline, or a settled payment).
    func confirm(_ id: String, paid: Bool, reference: String? = nil, extraWork: (@Sendable (Database, Booking) throws -> Void)? = nil,
                 completion: @escaping (Result<Booking, APIError>) -> Void) {
        modify(id, change: paid ? .paid : .confirmed, work: { db, booking in
            try Outbox.enqueue(.bookingConfirmation, booking: booking, db)
            try extraWork?(db, booking)
        }, decide: { booking in
            if case .failure(let illegal) = booking.status.applying(.confirm) {
                return .failure(.conflict("illegal_transition", illegal.description))
            }
            var next = booking
            next.status = .confirmed
            next.holdExpiresAt = nil
            if paid {
                next.paymentState = .paid
                next.paymentReference = reference ?? booking.paymentReference
            }
            return .success(next)
        }, completion: completion)
    }

    /// Changes what a member may change while the booking has not started: the time (checked and
    /// swapped atomically: the old slot is kept if the new one does not fit) and special requests.
    ///
    /// A move that changes the price of an unpaid booking cancels its open payment in the same
    /// transaction (`payment_cancelled`): that payment was opened for the old price, and a payment
    /// settles a booking only for its price at settlement time. The member opens a new one; money
    /// that still arrives for the old one is refunded. A paid booking may only move to a time with
    /// the same price (`amount_would_change`).
    func update(_ id: String, by principal: Principal, draft: BookingDraft?, specialRequests: String??,
                completion: @escaping (Result<Booking, APIError>) -> Void) {
        serial.run(id) { [self] done in
            guard let current = find(id), principal.isAdmin || current.userID == principal.id else {
                done()
                completion(.failure(.notFound("booking")))
                return
            }
            let now = WallClock.seconds()
            guard current.status.holdsTime, current.range.start > now else {
                done()
                completion(.failure(.conflict("not_changeable", "only pending or confirmed bookings that have not started can change")))
                return
            }
            var next = current
            if let specialRequests { next.specialRequests = specialRequests }
            var moving = false
            if let draft {
                guard let space = catalog[current.spaceID] else {
                    done()
                    completion(.failure(.unavailable("space_missing", "the space of this booking is gone")))
                    return
                }
                switch BookingPolicy.plan(space: space, date: draft.date, start: draft.start, end: draft.end, duration: draft.duration,
                                          now: now, horizonDays: settings.horizonDays) {
                case .failure(let rejection):
                    done()
                    completion(.failure(.invalid(rejection.field, rejection.code, rejection.message)))
                    return
                case .success(let plan):
                    if current.paymentState == .paid && plan.amount != current.amount {
                        done()
                        completion(.failure(.invalid("endTime", "amount_would_change",
                                                     "a paid booking can only move to a time with the same price; cancel and book again")))
                        return
                    }
                    moving = plan.range != current.range
                    next.range = plan.range
                    next.amount = plan.amount
                    next.durationLabel = plan.durationLabel
                }
            }
            // Payments of this booking change only inside its serial slot, which we hold.
            let superseded = next.amount != current.amount ? try? PaymentTable.open(bookingID: id, storage.reader) : nil
            if superseded != nil { next.paymentReference = nil }
            let moveID = id + Self.moveSuffix
            if moving {
                // Hold the new range under a second id while keeping the old one: if the commit
                // fails, nothing was given up.
                switch index.reserve(moveID, on: next.spaceID, during: next.range, ignoring: id) {
                case .reserved: break
                case .conflict(let conflicts):
                    done()
                    completion(.failure(Self.conflictError(conflicts, space: catalog[next.spaceID]!)))  // checked above
                    return
                case .unknownResource, .duplicateReservation:
                    done()
                    completion(.failure(.internalError("availability index out of step")))
                    return
                }
            }
            next.version = current.version + 1
            next.updatedAt = max(now, current.updatedAt)
            var events = [bookingEvent(next)]
            if moving, let space = catalog[next.spaceID] {
                events += availabilityEvents(space: space, changed: [current.range, next.range], ignoring: [id])
            }
            if var cancelled = superseded {
                cancelled.status = .cancelled
                cancelled.updatedAt = max(now, cancelled.updatedAt)
                events.append(DomainEvent(type: "payment_cancelled", channels: PaymentService.paymentChannels(next.userID), payload: [
                    "payment": PaymentViews.payment(cancelled), "bookingId": .string(id),
                    "reason": .string("the booking's price changed from \(current.amount.display) to \(next.amount.display)"),
                ]))
            }
            let stored = next
            committer.commit(events: events, { db in
                guard try BookingTable.update(stored, db) else {
                    throw APIError.conflict("booking_changed", "the booking changed meanwhile; reload and retry")
                }
                if superseded != nil { try PaymentTable.supersedeOpen(bookingID: stored.id, at: now, db) }
            }) { [self] result in
                defer { done() }
                switch result {
                case .success:
                    if moving {
                        index.release(moveID)
                        index.release(id)
                        _ = index.reserve(id, on: stored.spaceID, during: stored.range, tentative: false)  // just freed by moveID
                    }
                    track(stored)
                    notify(stored, moving ? .rescheduled : .updated)
                    completion(.success(stored))
                case .failure(let error):
                    if moving { index.release(moveID) }
                    completion(.failure(Self.storeError(error)))
                }
            }
        }
    }
}
