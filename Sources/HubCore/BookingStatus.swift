/// A booking's lifecycle (the seed's `status`, plus `expired`).
///
/// ```
/// pending ──confirm──▶ confirmed ──complete──▶ completed
///    │ └──expire──▶ expired   │
///    └──cancel──▶ cancelled ◀─┘
/// ```
/// A `pending` booking holds its slot until its hold expires; `confirmed` holds it for good.
/// `reinstate` is the one way back: a payment that succeeds after the hold lapsed confirms an
/// `expired` booking when its slot is still free (the payments desk checks the slot).
public enum BookingStatus: String, Sendable, CaseIterable {
    case pending, confirmed, completed, cancelled, expired

    public enum Transition: String, Sendable {
        case confirm, complete, cancel, expire, reinstate
    }

    /// The status after `transition`, or an error naming the illegal move (the API's 409).
    public func applying(_ transition: Transition) -> Result<BookingStatus, IllegalTransition> {
        switch (self, transition) {
        case (.pending, .confirm): .success(.confirmed)
        case (.confirmed, .complete): .success(.completed)
        case (.pending, .cancel), (.confirmed, .cancel): .success(.cancelled)
        case (.pending, .expire): .success(.expired)
        case (.expired, .reinstate): .success(.confirmed)
        default: .failure(IllegalTransition(from: rawValue, action: transition.rawValue))
        }
    }

    /// Whether a booking in this status occupies its slot in the availability index.
    public var holdsTime: Bool { self == .pending || self == .confirmed }
    public var isFinal: Bool { self == .completed || self == .cancelled || self == .expired }
}

/// Whether a booking has been paid for (the seed's `paymentStatus`, plus `refunded`).
///
/// `pending → paid → refunded`, `pending → failed`, and `failed → paid` when a retry succeeds.
public enum PaymentState: String, Sendable, CaseIterable {
    case pending, paid, failed, refunded

    public enum Transition: String, Sendable {
        case pay, fail, refund
    }

    public func applying(_ transition: Transition) -> Result<PaymentState, IllegalTransition> {
        switch (self, transition) {
        case (.pending, .pay), (.failed, .pay): .success(.paid)
        case (.pending, .fail): .success(.failed)
        case (.paid, .refund): .success(.refunded)
        default: .failure(IllegalTransition(from: rawValue, action: transition.rawValue))
        }
    }
}

extension PaymentState {
    /// A booking's payment status, from the payments made for it: it follows the money actually
    /// held for the booking, payment by payment, and is never set by hand.
    ///
    /// - `paid` while an applied payment (one that paid the booking) is `successful`: its money is
    ///   held, in whole or in part, or its refund is still on its way;
    /// - else `refunded` when an applied payment was refunded in full, or when the booking is over
    ///   (`bookingIsFinal`) and money that came for it went back;
    /// - else `failed` when an attempt failed; else `pending`.
    ///
    /// Money that came and must go back (a duplicate charge, one opened before the booking's
    /// price changed) is not applied: its refund never makes a booking that is paid by another
    /// charge read `refunded`, and it never makes an unpaid booking read `paid`.
    public static func of(_ payments: some Sequence<Payment>, bookingIsFinal: Bool) -> PaymentState {
        var refunded = false, returned = false, failed = false
        for payment in payments {
            switch payment.status {
            case .successful where payment.applied: return .paid
            case .refunded where payment.applied: refunded = true
            case .refunded: returned = true
            case .failed: failed = true
            case .successful, .pending, .cancelled: break
            }
        }
        if refunded || (returned && bookingIsFinal) { return .refunded }
        return failed ? .failed : .pending
    }
}

/// An attempt to move a state machine along an edge it does not have.
public struct IllegalTransition: Error, Equatable, Sendable, CustomStringConvertible {
    public let from: String
    public let action: String
    public var description: String { "cannot \(action) a booking that is \(from)" }
}

/// A payment attempt's status (the seed's `payments.status`), plus refund bookkeeping.
public enum PaymentStatus: String, Sendable, CaseIterable {
    case pending, successful, failed, cancelled, refunded

    public var isOpen: Bool { self == .pending }
}
