import Testing

@testable import HubCore

@Suite struct BookingStatusTests {
    /// The whole graph: every (status, transition) pair not listed here is illegal.
    static let legal: [BookingStatus: [BookingStatus.Transition: BookingStatus]] = [
        .pending: [.confirm: .confirmed, .cancel: .cancelled, .expire: .expired],
        .confirmed: [.complete: .completed, .cancel: .cancelled],
        .expired: [.reinstate: .confirmed],
        .completed: [:],
        .cancelled: [:],
    ]
    static let transitions: [BookingStatus.Transition] = [.confirm, .complete, .cancel, .expire, .reinstate]

    @Test(arguments: BookingStatus.allCases)
    func everyTransitionFrom(status: BookingStatus) {
        for transition in Self.transitions {
            let result = status.applying(transition)
            if let next = Self.legal[status]?[transition] {
                #expect(result == .success(next), "\(status) \(transition)")
            } else {
                #expect(result == .failure(IllegalTransition(from: status.rawValue, action: transition.rawValue)),
                        "\(status) \(transition) should be illegal")
            }
        }
    }

    @Test func legalEdgeCount() {
        var count = 0
        for status in BookingStatus.allCases {
            for transition in Self.transitions where (try? status.applying(transition).get()) != nil { count += 1 }
        }
        #expect(count == 6)
    }

    @Test func holdsTimeAndFinality() {
        #expect(BookingStatus.allCases.filter(\.holdsTime) == [.pending, .confirmed])
        #expect(BookingStatus.allCases.filter(\.isFinal) == [.completed, .cancelled, .expired])
        // Final statuses have no way out but reinstating an expired hold.
        for status in BookingStatus.allCases where status.isFinal {
            let exits = Self.transitions.filter { (try? status.applying($0).get()) != nil }
            #expect(exits == (status == .expired ? [.reinstate] : []))
        }
    }

    @Test func illegalTransitionDescribesItself() {
        let error = IllegalTransition(from: "cancelled", action: "confirm")
        #expect(error.description == "cannot confirm a booking that is cancelled")
        #expect(BookingStatus.cancelled.applying(.confirm) == .failure(error))
    }

    /// A pending booking holds its slot until the hold's deadline, exclusive.
    @Test func bookingHoldsTimeUntilItsHoldExpires() {
        var booking = Booking(id: "b", userID: "u", kind: .event, spaceID: "s", spaceName: "S",
                              range: Interval(start: 10_000, end: 13_600), zone: .lagos, durationLabel: "1 hour",
                              amount: Money(minorUnits: 100), holdExpiresAt: 1_000, createdAt: 0, updatedAt: 0)
        #expect(booking.holdsTime(at: 999))
        #expect(!booking.holdsTime(at: 1_000))
        booking.holdExpiresAt = nil
        #expect(booking.holdsTime(at: .max - 1))
        booking.status = .confirmed
        booking.holdExpiresAt = 5
        #expect(booking.holdsTime(at: 1_000_000))
        for status in [BookingStatus.cancelled, .expired, .completed] {
            booking.status = status
            #expect(!booking.holdsTime(at: 0))
        }
    }
}

@Suite struct PaymentStateTests {
    static let legal: [PaymentState: [PaymentState.Transition: PaymentState]] = [
        .pending: [.pay: .paid, .fail: .failed],
        .failed: [.pay: .paid],
        .paid: [.refund: .refunded],
        .refunded: [:],
    ]

    @Test(arguments: PaymentState.allCases)
    func everyTransitionFrom(state: PaymentState) {
        for transition in [PaymentState.Transition.pay, .fail, .refund] {
            let result = state.applying(transition)
            if let next = Self.legal[state]?[transition] {
                #expect(result == .success(next), "\(state) \(transition)")
            } else {
                #expect(result == .failure(IllegalTransition(from: state.rawValue, action: transition.rawValue)),
                        "\(state) \(transition) should be illegal")
            }
        }
    }

    @Test func paymentStatusOpenness() {
        #expect(PaymentStatus.allCases.filter(\.isOpen) == [.pending])
        #expect(PaymentStatus(rawValue: "successful") == .successful)
        #expect(PaymentState(rawValue: "paid") == .paid)
        #expect(PaymentState(rawValue: "successful") == nil)
    }

    @Test func refundableAmount() {
        var payment = Payment(id: "p", bookingID: "b", userID: "u", amount: Money(minorUnits: 10_000), method: "card",
                              gateway: "sandbox", reference: "ref", createdAt: 0, updatedAt: 0)
        #expect(payment.refundable == .zero())
        payment.status = .successful
        #expect(payment.refundable == Money(minorUnits: 10_000))
        payment.refundedAmount = Money(minorUnits: 2_500)
        #expect(payment.refundable == Money(minorUnits: 7_500))
        payment.status = .failed
        #expect(payment.refundable == .zero())
    }
}

/// `PaymentState.of`: a booking's payment status follows the money held for it, payment by payment.
@Suite struct DerivedPaymentStateTests {
    static func payment(_ status: PaymentStatus, applied: Bool = false, at createdAt: Int64 = 0) -> Payment {
        Payment(id: "p\(createdAt)-\(status)", bookingID: "b", userID: "u", amount: Money(minorUnits: 1_000_000, currency: .ngn),
                method: "card", gateway: "sandbox", reference: "R\(createdAt)", status: status, createdAt: createdAt,
                updatedAt: createdAt, applied: applied)
    }

    @Test func nothingPaidIsPendingAndAFailureIsFailed() {
        #expect(PaymentState.of([], bookingIsFinal: false) == .pending)
        #expect(PaymentState.of([Self.payment(.pending)], bookingIsFinal: false) == .pending)
        #expect(PaymentState.of([Self.payment(.failed)], bookingIsFinal: false) == .failed)
        #expect(PaymentState.of([Self.payment(.failed), Self.payment(.pending, at: 1)], bookingIsFinal: false) == .failed)
    }

    @Test func theAppliedChargeDecidesPaidAndRefunded() {
        #expect(PaymentState.of([Self.payment(.successful, applied: true)], bookingIsFinal: false) == .paid)
        #expect(PaymentState.of([Self.payment(.refunded, applied: true)], bookingIsFinal: true) == .refunded)
    }

    /// Issue 16, defect 2: P2 kept, a declined P1 completed later and refunded as a duplicate.
    @Test func aDuplicateRefundedLeavesTheBookingPaid() {
        let kept = Self.payment(.successful, applied: true, at: 2)
        for duplicate in [Self.payment(.successful, at: 1), Self.payment(.refunded, at: 1)] {
            #expect(PaymentState.of([duplicate, kept], bookingIsFinal: false) == .paid)
        }
    }

    /// Issue 16, defect 1: money for a payment opened before the price changed is not the booking's.
    @Test func moneyThatMustGoBackNeverPaysAnOpenBooking() {
        #expect(PaymentState.of([Self.payment(.successful), Self.payment(.pending, at: 1)], bookingIsFinal: false) == .pending)
        #expect(PaymentState.of([Self.payment(.refunded), Self.payment(.cancelled, at: 1)], bookingIsFinal: false) == .pending)
        // A booking that is over (a late payment for a lapsed hold) reads refunded once it went back.
        #expect(PaymentState.of([Self.payment(.successful)], bookingIsFinal: true) == .pending)
        #expect(PaymentState.of([Self.payment(.refunded)], bookingIsFinal: true) == .refunded)
    }

    @Test func orderDoesNotMatter() {
        let payments = [Self.payment(.failed, at: 0), Self.payment(.refunded, at: 1), Self.payment(.successful, applied: true, at: 2),
                        Self.payment(.cancelled, at: 3)]
        for permutation in [payments, payments.reversed(), [payments[2], payments[0], payments[3], payments[1]]] {
            #expect(PaymentState.of(permutation, bookingIsFinal: false) == .paid)
        }
    }
}
