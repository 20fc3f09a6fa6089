/// What a payment gateway says about a charge.
public enum ChargeStatus: String, Sendable, Equatable {
    case success, failed, abandoned, pending, reversed
}

/// How money that a gateway reports is settled: pure decisions of (payment, report, booking,
/// now). The payments desk loads, decides, persists, applies and publishes; it decides nothing.
public enum Settlement {
    /// What to do with a gateway's report about a payment.
    public enum Step: Sendable, Equatable {
        /// Nothing changes (a report about a payment already settled; an unfinished charge,
        /// which the member can still complete: Paystack calls it `abandoned`).
        case keep
        /// The charge failed: the payment fails, the booking keeps its hold.
        case fail
        /// The money arrived for the payment's amount: settle it against the booking (`verdict`).
        case settle
        /// Never confirmed by itself: an admin must look (the reason).
        case flag(String)
    }

    /// The step for `report` (with the amount the gateway reported, if any) about `payment`.
    /// `byAdmin`: an admin checked the money by hand (a bank transfer), which stands for an amount.
    public static func step(_ payment: Payment, report: ChargeStatus, reportedAmount: Money?, byAdmin: Bool) -> Step {
        if payment.status == .successful && report == .reversed {
            // Money taken back after it was settled (a chargeback): the booking still reads paid.
            return payment.flagged == nil ? .flag("the gateway reports this charge reversed after it was settled (a chargeback?)") : .keep
        }
        // Money that arrived is never ignored: a success settles a payment we had marked failed
        // (completed on a retry of the gateway's page) or cancelled (superseded: it is refunded).
        let reopened = payment.status == .failed || payment.status == .cancelled
        guard payment.status == .pending || (reopened && report == .success) else { return .keep }
        switch report {
        case .pending, .abandoned:
            return .keep
        case .failed, .reversed:
            return .fail
        case .success:
            if let reportedAmount, reportedAmount != payment.amount {
                return .flag("gateway reported \(reportedAmount.majorText) \(reportedAmount.currency.code), "
                             + "expected \(payment.amount.majorText) \(payment.amount.currency.code)")
            }
            if reportedAmount == nil && !byAdmin { return .flag("gateway reported no amount") }
            return .settle
        }
    }

    /// Whether a booking can take money that arrived for it.
    public enum Verdict: Sendable, Equatable {
        /// It pays the booking; `reinstate`: an expired booking whose slot is still free is
        /// confirmed again (the caller reserves the slot before the commit).
        case apply(reinstate: Bool)
        /// It goes back, for this reason.
        case refund(String)
    }

    /// `slotFree` is asked only for an expired booking whose time has not begun; the caller
    /// reserves the slot when it answers yes (check and reserve are one step on the loop).
    public static func verdict(_ payment: Payment, previousStatus: PaymentStatus, booking: Booking, now: Int64,
                               slotFree: () -> Bool) -> Verdict {
        if booking.paymentState == .paid || booking.paymentState == .refunded { return .refund("the booking was already paid") }
        if previousStatus == .cancelled || payment.amount != booking.amount {
            // A payment settles a booking only for the booking's price at settlement time.
            return .refund("the booking's price changed to \(booking.amount.display) after this payment of \(payment.amount.display) was opened")
        }
        switch booking.status {
        case .pending, .confirmed, .completed:
            return .apply(reinstate: false)  // confirmed or completed: confirmed by staff before the money came
        case .expired where booking.range.start <= now:
            return .refund("the hold expired and the booked time has already begun")
        case .expired:
            return slotFree() ? .apply(reinstate: true) : .refund("the hold expired and the slot was booked by someone else")
        case .cancelled:
            return .refund("the booking was cancelled before the payment arrived")
        }
    }
}

extension BookingLifecycle {
    /// The booking once `payment` (now successful and applied) paid it: confirmed (or confirmed
    /// again when `reinstate`), no longer held, paid by that payment. `payments` are all of the
    /// booking's payments with `payment` as it will be stored.
    public static func paid(_ booking: Booking, by payment: Payment, payments: [Payment], reinstate: Bool)
        -> Result<BookingDecision, BookingRefusal> {
        var next = booking
        if reinstate {
            switch booking.status.applying(.reinstate) {
            case .success(let status): next.status = status
            case .failure(let illegal): return .failure(.illegalTransition(illegal))
            }
        } else if booking.status == .pending {
            next.status = .confirmed
        }
        next.holdExpiresAt = nil
        next.paymentReference = payment.reference
        next.paymentState = PaymentState.of(payments, bookingIsFinal: next.status.isFinal)
        // A hold that becomes a booking changes what a kiosk shows (HELD → BUSY).
        let shown = next.status != booking.status ? [booking.range] : []
        return .success(BookingDecision(booking: next, change: .paid, index: reinstate ? .claim : .none, emails: [],
                                        changedRanges: shown, supersedesOpenPayment: false))
    }

    /// The booking with its payment status derived again from `payments` (a failed attempt, a
    /// refund made or settled). A booking that holds no money any more owes no refund.
    public static func paymentsChanged(_ booking: Booking, payments: [Payment], change: BookingChange) -> BookingDecision {
        var next = booking
        next.paymentState = PaymentState.of(payments, bookingIsFinal: booking.status.isFinal)
        if next.paymentState != .paid { next.refundDue = false }
        return BookingDecision(booking: next, change: change, index: .none, emails: [], changedRanges: [], supersedesOpenPayment: false)
    }
}
