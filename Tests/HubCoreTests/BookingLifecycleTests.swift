import Testing

@testable import HubCore

/// `BookingLifecycle.decide`: every command from every status, with `now` as a parameter.
@Suite struct BookingLifecycleTests {
    static let now: Int64 = 1_800_000_000
    static let member = BookingActor(id: "u1", isStaff: false)
    static let stranger = BookingActor(id: "u2", isStaff: false)
    static let staff = BookingActor(id: "a1", isStaff: true)
    static let day: Int64 = 86_400

    static func booking(_ status: BookingStatus = .pending, payment: PaymentState = .pending, startsIn: Int64 = 3 * day,
                        holdExpiresAt: Int64? = now + 900) -> Booking {
        Booking(id: "b1", userID: "u1", kind: .event, spaceID: "room", spaceName: "Room",
                range: Interval(start: now + startsIn, end: now + startsIn + 3600), zone: .lagos, durationLabel: "1 hour",
                amount: Money(minorUnits: 1_000_000, currency: .ngn), status: status, paymentState: payment,
                holdExpiresAt: status == .pending ? holdExpiresAt : nil, createdAt: now - 60, updatedAt: now - 60)
    }

    static func plan(hours: Int64, startsIn: Int64 = 4 * day, naira: Int64 = 10_000) -> PlannedBooking {
        PlannedBooking(range: Interval(start: now + startsIn, end: now + startsIn + hours * 3600),
                       amount: Money(minorUnits: naira * 100 * hours, currency: .ngn), durationLabel: "\(hours) hours")
    }

    static func decide(_ booking: Booking, _ command: BookingCommand) -> Result<BookingDecision, BookingRefusal> {
        BookingLifecycle.decide(booking, command, now: now)
    }

    @Test func aCancelReleasesTheSlotAndOwesARefundOnlyWhenPaidAndInTime() throws {
        let cancel = BookingCommand.cancel(by: Self.member, reason: nil, refundNoticeSeconds: Self.day)
        let unpaid = try Self.decide(Self.booking(), cancel).get()
        #expect(unpaid.booking.status == .cancelled && unpaid.booking.holdExpiresAt == nil && !unpaid.booking.refundDue)
        #expect(unpaid.index == .release && unpaid.change == .cancelled && unpaid.emails == [.cancelled])
        #expect(unpaid.booking.cancelReason == "cancelled by member" && unpaid.changedRanges == [Self.booking().range])
        let paid = try Self.decide(Self.booking(.confirmed, payment: .paid), cancel).get()
        #expect(paid.booking.refundDue)
        let late = try Self.decide(Self.booking(.confirmed, payment: .paid, startsIn: Self.day - 1), cancel).get()
        #expect(!late.booking.refundDue, "inside the notice: no refund")
        let byStaff = try Self.decide(Self.booking(), .cancel(by: Self.staff, reason: nil, refundNoticeSeconds: 0)).get()
        #expect(byStaff.booking.cancelReason == "cancelled by staff")
        #expect(try Self.decide(Self.booking(), .cancel(by: Self.member, reason: "rain", refundNoticeSeconds: 0)).get()
            .booking.cancelReason == "rain")
    }

    @Test func someoneElsesBookingIsNotFound() {
        #expect(Self.decide(Self.booking(), .cancel(by: Self.stranger, reason: nil, refundNoticeSeconds: 0)) == .failure(.notFound))
        #expect(Self.decide(Self.booking(), .change(to: nil, specialRequests: "x", by: Self.stranger)) == .failure(.notFound))
    }

    @Test(arguments: BookingStatus.allCases)
    func everyCommandFromEveryStatus(status: BookingStatus) {
        let booking = Self.booking(status, holdExpiresAt: Self.now - 1)
        let cancel = Self.decide(booking, .cancel(by: Self.member, reason: nil, refundNoticeSeconds: 0))
        #expect(((try? cancel.get()) != nil) == status.holdsTime)
        let confirm = Self.decide(booking, .confirm)
        #expect(((try? confirm.get()) != nil) == (status == .pending))
        let expire = Self.decide(booking, .expire)
        #expect(((try? expire.get()) != nil) == (status == .pending))
        let complete = Self.decide(booking, .complete)
        #expect(((try? complete.get()) != nil) == (status == .confirmed))
        if case .failure(let refusal) = confirm, status != .pending {
            #expect(refusal == .illegalTransition(IllegalTransition(from: status.rawValue, action: "confirm")))
        }
    }

    @Test func anExpiryOfAValidHoldIsRefused() throws {
        #expect(Self.decide(Self.booking(holdExpiresAt: Self.now + 1), .expire) == .failure(.holdStillValid))
        let lapsed = try Self.decide(Self.booking(holdExpiresAt: Self.now), .expire).get()
        #expect(lapsed.booking.status == .expired && lapsed.index == .release && lapsed.emails == [.holdExpired])
    }

    @Test func confirmingAndCompletingKeepTheSlot() throws {
        let confirmed = try Self.decide(Self.booking(), .confirm).get()
        #expect(confirmed.index == .none && confirmed.booking.holdExpiresAt == nil && confirmed.emails == [.confirmed])
        #expect(!confirmed.changedRanges.isEmpty, "a kiosk shows HELD → BUSY")
        let completed = try Self.decide(Self.booking(.confirmed), .complete).get()
        #expect(completed.index == .none && completed.changedRanges.isEmpty && completed.booking.status == .completed)
    }

    @Test func aMoveHoldsTheNewRangeAndSupersedesAPaymentOfTheOldPrice() throws {
        var held = Self.booking()
        held.paymentReference = "SH-OLD"
        let longer = try Self.decide(held, .change(to: Self.plan(hours: 4), specialRequests: nil, by: Self.member)).get()
        #expect(longer.index == .move(from: held.range, to: Self.plan(hours: 4).range) && longer.change == .rescheduled)
        #expect(longer.supersedesOpenPayment && longer.booking.paymentReference == nil)
        #expect(longer.booking.amount == Money(minorUnits: 4_000_000, currency: .ngn))
        #expect(longer.changedRanges == [held.range, Self.plan(hours: 4).range])
        let samePrice = try Self.decide(held, .change(to: Self.plan(hours: 1), specialRequests: nil, by: Self.member)).get()
        #expect(!samePrice.supersedesOpenPayment && samePrice.booking.paymentReference == "SH-OLD")
        let notes = try Self.decide(held, .change(to: nil, specialRequests: .some("projector"), by: Self.member)).get()
        #expect(notes.index == .none && notes.change == .updated && notes.booking.specialRequests == "projector")
    }

    @Test func changesAreRefusedWhenStartedFinalOrPaidForAnotherPrice() {
        let started = Self.booking(.confirmed, startsIn: 0)
        #expect(Self.decide(started, .change(to: nil, specialRequests: "x", by: Self.member)) == .failure(.notChangeable))
        #expect(Self.decide(Self.booking(.cancelled), .change(to: nil, specialRequests: "x", by: Self.member)) == .failure(.notChangeable))
        let paid = Self.booking(.confirmed, payment: .paid)
        #expect(Self.decide(paid, .change(to: Self.plan(hours: 2), specialRequests: nil, by: Self.member)) == .failure(.amountWouldChange))
        #expect((try? Self.decide(paid, .change(to: Self.plan(hours: 1), specialRequests: nil, by: Self.member)).get()) != nil)
    }

    /// A change another hub made, named from the rows before and after (what a leader's
    /// observers are told): the status first, then the time, then the payment.
    @Test func aFollowedChangeIsNamedFromTheRowsBeforeAndAfter() {
        let held = Self.booking()
        var paid = held
        paid.status = .confirmed
        paid.paymentState = .paid
        var confirmedOffline = held
        confirmedOffline.status = .confirmed
        var cancelled = paid
        cancelled.status = .cancelled
        var moved = paid
        moved.range = Interval(start: paid.range.start + 3600, end: paid.range.end + 3600)
        var refunded = cancelled
        refunded.paymentState = .refunded
        var expired = held
        expired.status = .expired
        var completed = paid
        completed.status = .completed
        var noted = paid
        noted.specialRequests = "a projector"
        #expect(BookingChange.between(nil, held) == .created)
        #expect(BookingChange.between(held, paid) == .paid)
        #expect(BookingChange.between(held, confirmedOffline) == .confirmed)
        #expect(BookingChange.between(nil, paid) == .paid, "created and paid before this hub saw it")
        #expect(BookingChange.between(paid, cancelled) == .cancelled)
        #expect(BookingChange.between(nil, cancelled) == .cancelled)
        #expect(BookingChange.between(paid, moved) == .rescheduled)
        #expect(BookingChange.between(cancelled, refunded) == .refunded)
        #expect(BookingChange.between(held, expired) == .expired)
        #expect(BookingChange.between(paid, completed) == .completed)
        #expect(BookingChange.between(paid, noted) == .updated)
    }
}
