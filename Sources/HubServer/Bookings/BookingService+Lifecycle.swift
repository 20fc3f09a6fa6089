import HubCore
import HubHTTP
import HubStore
import HubWire

/// The commands routes give bookings. Each is `BookingLifecycle.decide` run in the booking's
/// serial turn (`perform`); the rules live in HubCore, not here.
extension BookingService {
    /// Cancels a pending or confirmed booking. A paid booking cancelled at least the refund
    /// notice before its start is marked `refundDue`; the payments desk carries the refund out
    /// (`BookingObserver`). `extraWork` runs in the same transaction (a staff member's audit row).
    func cancel(_ id: String, by principal: Principal, reason: String?, extraWork: (@Sendable (Database, Booking) throws -> Void)? = nil,
                completion: @escaping (Result<Booking, APIError>) -> Void) {
        let notice = Int64(settings.refundNoticeHours) * 3600
        perform(id, .cancel(by: Self.actor(principal), reason: reason, refundNoticeSeconds: notice), work: extraWork,
                completion: completion)
    }

    /// Confirms a pending booking: an admin who took payment offline.
    func confirm(_ id: String, extraWork: (@Sendable (Database, Booking) throws -> Void)? = nil,
                 completion: @escaping (Result<Booking, APIError>) -> Void) {
        perform(id, .confirm, work: extraWork, completion: completion)
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
        // Someone else's booking is not found before its new time is even looked at: a refusal
        // of the time would tell a stranger the booking exists.
        find(id, where: { principal.isAdmin || $0.userID == principal.id }) { [self] found in
            let current: Booking
            switch found {
            case .success(let booking): current = booking
            case .failure(let error): return completion(.failure(error))
            }
            var plan: PlannedBooking?
            if let draft {
                guard let space = catalog[current.spaceID] else {
                    return completion(.failure(.unavailable("space_missing", "the space of this booking is gone")))
                }
                switch BookingPolicy.plan(space: space, date: draft.date, start: draft.start, end: draft.end, duration: draft.duration,
                                          now: clock.seconds, horizonDays: settings.horizonDays) {
                case .success(let planned): plan = planned
                case .failure(let rejection): return completion(.failure(.invalid(rejection.field, rejection.code, rejection.message)))
                }
            }
            perform(id, .change(to: plan, specialRequests: specialRequests, by: Self.actor(principal)), completion: completion)
        }
    }

    static func actor(_ principal: Principal) -> BookingActor {
        BookingActor(id: principal.id, isStaff: principal.isAdmin)
    }
}
