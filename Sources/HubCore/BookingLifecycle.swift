/// What may be done to a booking.
public enum BookingCommand: Sendable, Equatable {
    /// By its member or by staff. `refundNoticeSeconds`: a paid booking cancelled at least this
    /// long before its start is owed a refund.
    case cancel(by: BookingActor, reason: String?, refundNoticeSeconds: Int64)
    /// Staff confirm a pending booking (paid offline).
    case confirm
    /// The hold lapsed unpaid.
    case expire
    /// A confirmed booking's time is over.
    case complete
    /// A move to a new range (the rules already accepted it: `BookingPolicy.plan`) and/or new
    /// special requests (`.some(nil)` clears them).
    case change(to: PlannedBooking?, specialRequests: String??, by: BookingActor)
}

/// Who asks for a change: the member who owns the booking, or staff.
public struct BookingActor: Sendable, Equatable {
    public let id: String
    public let isStaff: Bool

    public init(id: String, isStaff: Bool) {
        self.id = id
        self.isStaff = isStaff
    }

    func mayChange(_ booking: Booking) -> Bool { isStaff || booking.userID == id }
}

/// What a command does to the availability index.
public enum IndexEffect: Sendable, Equatable {
    case none
    /// The booking stops holding time: release its reservation after the commit (until then the
    /// slot stays held, so a failed commit cannot leave a double booking).
    case release
    /// The booking moves: hold `to` under a second id before the commit, then swap.
    case move(from: Interval, to: Interval)
    /// The booking holds time again (a late payment reinstating a lapsed hold): the caller
    /// reserved it before the commit; confirm it after.
    case claim
}

/// An email a change sends (`Outbox` templates).
public enum BookingEmail: String, Sendable, Equatable {
    case cancelled = "booking-cancelled"
    case confirmed = "booking-confirmation"
    case holdExpired = "hold-expired"
}

/// Which kind of change happened, for the services that follow bookings (reminders, calendars,
/// the payments desk's refunds).
public enum BookingChange: String, Sendable, Equatable {
    case created, cancelled, confirmed, expired, rescheduled, completed, paid, refunded, updated

    /// The change that took a booking from `before` (nil: this hub did not hold it) to `after`,
    /// read from the store after another hub made it: the status says most, then the time, then
    /// the payment. Changes another hub made in quick succession read as their sum.
    public static func between(_ before: Booking?, _ after: Booking) -> BookingChange {
        if before?.status != after.status {
            switch after.status {
            case .pending: return before == nil ? .created : .updated
            case .confirmed: return after.paymentState == .paid && before?.paymentState != .paid ? .paid : .confirmed
            case .cancelled: return .cancelled
            case .expired: return .expired
            case .completed: return .completed
            }
        }
        guard let before else { return .updated }
        if before.range != after.range { return .rescheduled }
        if before.paymentState != after.paymentState {
            switch after.paymentState {
            case .paid: return .paid
            case .refunded: return .refunded
            default: return .updated
            }
        }
        return .updated
    }
}

/// Everything a command decides, before anything is stored or published.
public struct BookingDecision: Sendable, Equatable {
    /// The booking after the change (its version and `updatedAt` are the store's to set).
    public var booking: Booking
    public var change: BookingChange
    public var index: IndexEffect
    public var emails: [BookingEmail]
    /// Local days whose availability view changes (day views are published for each): empty when
    /// nothing a grid shows changed.
    public var changedRanges: [Interval]
    /// Whether an open payment must be cancelled with the change: the price changed under it.
    public var supersedesOpenPayment: Bool
}

/// Why a command is refused. Routes map each to its HTTP answer in one place (`APIError`).
public enum BookingRefusal: Error, Sendable, Equatable {
    /// Not the actor's booking: answered as not found, so ids cannot be probed.
    case notFound
    case illegalTransition(IllegalTransition)
    /// Expiry asked of a hold that is still valid (a stale timer entry).
    case holdStillValid
    /// Completion asked of a booking that is not confirmed.
    case notConfirmed
    /// Only pending or confirmed bookings that have not started may change.
    case notChangeable
    /// A paid booking may only move to a time with the same price.
    case amountWouldChange
}

/// The booking state machine as pure functions of (booking, command, now): what a cancel, a
/// confirmation, an expiry, a completion or a change does — next state, index effect, emails,
/// changed days. The services load, decide, persist, apply and publish; they decide nothing.
public enum BookingLifecycle {
    public static func decide(_ booking: Booking, _ command: BookingCommand, now: Int64) -> Result<BookingDecision, BookingRefusal> {
        switch command {
        case .cancel(let actor, let reason, let notice):
            guard actor.mayChange(booking) else { return .failure(.notFound) }
            return transition(booking, .cancel).map { status in
                var next = booking
                next.status = status
                next.holdExpiresAt = nil
                next.cancelReason = reason ?? (actor.isStaff && booking.userID != actor.id ? "cancelled by staff" : "cancelled by member")
                next.refundDue = booking.paymentState == .paid && booking.range.start - now >= notice
                return BookingDecision(booking: next, change: .cancelled, index: .release, emails: [.cancelled],
                                       changedRanges: [booking.range], supersedesOpenPayment: false)
            }
        case .confirm:
            return transition(booking, .confirm).map { status in
                var next = booking
                next.status = status
                next.holdExpiresAt = nil
                // A hold that becomes a booking changes what a kiosk shows (HELD → BUSY).
                return BookingDecision(booking: next, change: .confirmed, index: .none, emails: [.confirmed],
                                       changedRanges: [booking.range], supersedesOpenPayment: false)
            }
        case .expire:
            guard booking.status == .pending, let expiry = booking.holdExpiresAt, expiry <= now else {
                return .failure(.holdStillValid)
            }
            var next = booking
            next.status = .expired
            return .success(BookingDecision(booking: next, change: .expired, index: .release, emails: [.holdExpired],
                                            changedRanges: [booking.range], supersedesOpenPayment: false))
        case .complete:
            guard booking.status == .confirmed else { return .failure(.notConfirmed) }
            var next = booking
            next.status = .completed
            // Completed bookings stay drawn on today's grid: nothing a view shows changes.
            return .success(BookingDecision(booking: next, change: .completed, index: .none, emails: [],
                                            changedRanges: [], supersedesOpenPayment: false))
        case .change(let plan, let specialRequests, let actor):
            return change(booking, to: plan, specialRequests: specialRequests, by: actor, now: now)
        }
    }

    private static func change(_ booking: Booking, to plan: PlannedBooking?, specialRequests: String??, by actor: BookingActor,
                               now: Int64) -> Result<BookingDecision, BookingRefusal> {
        guard actor.mayChange(booking) else { return .failure(.notFound) }
        guard booking.status.holdsTime, booking.range.start > now else { return .failure(.notChangeable) }
        var next = booking
        if let specialRequests { next.specialRequests = specialRequests }
        var index = IndexEffect.none
        var changed: [Interval] = []
        var supersedes = false
        if let plan {
            if booking.paymentState == .paid && plan.amount != booking.amount { return .failure(.amountWouldChange) }
            if plan.range != booking.range {
                index = .move(from: booking.range, to: plan.range)
                changed = [booking.range, plan.range]
            }
            // A payment settles a booking only for its price at settlement: an open payment of
            // the old price is cancelled with the move (the booking is unpaid, or the move refused).
            supersedes = plan.amount != booking.amount
            if supersedes { next.paymentReference = nil }
            next.range = plan.range
            next.amount = plan.amount
            next.durationLabel = plan.durationLabel
        }
        return .success(BookingDecision(booking: next, change: index == .none ? .updated : .rescheduled, index: index,
                                        emails: [], changedRanges: changed, supersedesOpenPayment: supersedes))
    }

    private static func transition(_ booking: Booking, _ transition: BookingStatus.Transition)
        -> Result<BookingStatus, BookingRefusal> {
        booking.status.applying(transition).mapError { .illegalTransition($0) }
    }
}
