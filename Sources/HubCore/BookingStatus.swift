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
