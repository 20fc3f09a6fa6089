import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// Opening payments and settling them through the sandbox checkout, in process: what
/// `POST /api/payments/initialize` refuses and why, Pay and Decline, a second initialize, a
/// reschedule while a payment is open, late money. Refunds: `PaymentRefundTests`.
@Suite struct PaymentServiceTests {
    /// A hub, its admin, a 24/7 room at ₦10,000 an hour, a member and their one-hour hold three days out.
    private func setUp(_ configure: (inout Config) -> Void = { _ in }) throws
        -> (hub: TestHub, admin: TestHub.Member, room: String, member: TestHub.Member, booking: String) {
        let hub = try TestHub(configure)
        let admin = try hub.admin()
        let room = hub.openRoom(price: 10_000, admin: admin)
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 3))
        return (hub, admin, room, member, booking)
    }

    // MARK: Initialize: what it refuses

    @Test func initializeOpensAPendingSandboxPaymentForTheBookingsPrice() throws {
        let (hub, _, _, member, booking) = try setUp()
        let started = hub.initialize(member, booking: booking, amount: 10_000)
        #expect(started.status == 200)
        let reference = try #require(started["reference"]?.stringValue)
        #expect(reference.hasPrefix("SH-"))
        #expect(started["authorizationUrl"]?.stringValue?.hasSuffix("/pay/sandbox/\(reference)") == true)
        #expect(money(started["amount"]) == "10000")
        #expect(started["currency"]?.stringValue == "NGN")
        #expect(started["status"]?.stringValue == "pending")
        let id = try #require(started["paymentId"]?.stringValue)
        #expect(hub.payment(id)?.status == .pending)
        #expect(hub.booking(booking, as: member)["paymentReference"]?.stringValue == reference)
    }

    @Test func anAmountOtherThanThePriceIsRefusedWithTheExpectedAmount() throws {
        let (hub, _, _, member, booking) = try setUp()
        for amount: JSON in [9_999, 10_001, "10000.01", 0] {
            let answer = hub.initialize(member, booking: booking, amount: amount)
            #expect(answer.status == 422)
            #expect(answer.errorCode == "amount_mismatch")
            #expect(money(answer.json["error"]?["expected"]) == "10000")
        }
        #expect((try PaymentTable.forBooking(booking, hub.services.storage.reader)).isEmpty)
    }

    @Test func theAmountMayComeAsANumericString() throws {
        let (hub, _, _, member, booking) = try setUp()
        #expect(hub.initialize(member, booking: booking, amount: "10000").status == 200)
    }

    @Test func anotherCurrencyIsNotTheBookingsPrice() throws {
        let (hub, _, _, member, booking) = try setUp()
        let usd = hub.initialize(member, booking: booking, amount: 10_000, currency: "USD")
        #expect(usd.status == 422)
        #expect(usd.errorCode == "amount_mismatch")
        let unknown = hub.initialize(member, booking: booking, amount: 10_000, currency: "XYZ")
        #expect(unknown.errorCode == "bad_currency")
        #expect(unknown.json["error"]?["field"]?.stringValue == "currency")
    }

    @Test func malformedAmountsAndMethodsNameTheField() throws {
        let (hub, _, _, member, booking) = try setUp()
        let cases: [(JSON, String)] = [("lots", "bad_amount"), (-5, "bad_amount"), ("10000.001", "bad_amount"), (true, "wrong_type"),
                                       (.null, "missing_field")]
        for (amount, code) in cases {
            let answer = hub.initialize(member, booking: booking, amount: amount)
            #expect(answer.status == 422, "\(amount)")
            #expect(answer.errorCode == code, "\(amount)")
            #expect(answer.json["error"]?["field"]?.stringValue == "amount")
        }
        let method = hub.initialize(member, booking: booking, amount: 10_000, method: "cheque")
        #expect(method.errorCode == "bad_payment_method")
        for accepted in ["bank_transfer", "ussd"] {
            #expect(hub.initialize(member, booking: booking, amount: 10_000, method: accepted).status == 200)
        }
    }

    @Test func anUnknownBookingAndSomeoneElsesAreNotFound() throws {
        let (hub, _, _, _, booking) = try setUp()
        let stranger = hub.member()
        let unknown = hub.initialize(stranger, booking: UUID().uuidString.lowercased(), amount: 10_000)
        #expect(unknown.status == 404)
        let theirs = hub.initialize(stranger, booking: booking, amount: 10_000)
        #expect(theirs.status == 404)
        #expect(theirs.errorCode == "not_found")
        #expect((try PaymentTable.forBooking(booking, hub.services.storage.reader)).isEmpty)
    }

    @Test func onlyMembersInitialize() throws {
        let (hub, admin, _, _, booking) = try setUp()
        let anonymous = hub.request("POST", "/api/payments/initialize", json: ["bookingId": .string(booking), "amount": 10_000])
        #expect(anonymous.status == 401)
        #expect(anonymous.headers["www-authenticate"] == "Bearer")
        let staff = hub.initialize(admin, booking: booking, amount: 10_000)
        #expect(staff.status == 403)
        #expect(staff.errorCode == "members_only")
    }

    @Test func aSecondInitializeReturnsTheOpenPayment() throws {
        let (hub, _, _, member, booking) = try setUp()
        let first = hub.initialize(member, booking: booking, amount: 10_000)
        let second = hub.initialize(member, booking: booking, amount: 10_000, method: "ussd")
        #expect(second.status == 200)
        #expect(second["paymentId"] == first["paymentId"])
        #expect(second["reference"] == first["reference"])
        #expect((try PaymentTable.forBooking(booking, hub.services.storage.reader)).count == 1)
    }

    @Test func aLapsedHoldCannotBePaid() throws {
        let (hub, _, _, member, booking) = try setUp { $0.bookings.holdMinutes = 15 }
        hub.advance(seconds: 15 * 60)
        let answer = hub.initialize(member, booking: booking, amount: 10_000)
        #expect(answer.status == 409)
        #expect(answer.errorCode == "hold_expired" || answer.errorCode == "booking_not_payable")
    }

    @Test func aHoldPastItsExpiryIsNotPaidEvenBeforeTheSweepExpiresIt() throws {
        let (hub, _, _, member, booking) = try setUp { $0.bookings.holdMinutes = 15 }
        hub.clock.advance(seconds: 15 * 60)  // the clock only: no sweep has run, the booking is still pending
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "pending")
        let answer = hub.initialize(member, booking: booking, amount: 10_000)
        #expect(answer.status == 409)
        #expect(answer.errorCode == "hold_expired")
        #expect((try PaymentTable.forBooking(booking, hub.services.storage.reader)).isEmpty)
    }

    @Test func aConfirmedOrCancelledBookingIsNotPayable() throws {
        let (hub, admin, room, member, booking) = try setUp()
        #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token).status == 200)
        let confirmed = hub.initialize(member, booking: booking, amount: 10_000)
        #expect(confirmed.status == 409)
        #expect(confirmed.errorCode == "booking_not_payable")

        let other = try hub.heldID(member, room: room, date: hub.date(inDays: 4))
        #expect(hub.request("DELETE", "/api/users/bookings/\(other)", token: member.token).status == 200)
        #expect(hub.initialize(member, booking: other, amount: 10_000).errorCode == "booking_not_payable")
    }

    // MARK: The sandbox checkout

    @Test func payConfirmsTheBookingAndQueuesTheEmails() throws {
        let (hub, _, _, member, booking) = try setUp()
        let reference = try #require(hub.initialize(member, booking: booking, amount: 10_000)["reference"]?.stringValue)
        let paid = hub.sandbox(reference)
        #expect(paid.status == 303)
        #expect(paid.headers["location"] == "/pay/callback?reference=\(reference)")
        let after = hub.booking(booking, as: member)
        #expect(after["status"]?.stringValue == "confirmed")
        #expect(after["paymentStatus"]?.stringValue == "paid")
        #expect(after["holdExpiresAt"]?.isNull == true)
        let email = hub.email(of: member)
        #expect(hub.outbox("payment-received", to: email).count == 1)
        #expect(hub.outbox("booking-confirmation", to: email).count == 1)
        let payment = try #require(try PaymentTable.find(reference: reference, hub.services.storage.reader))
        #expect(payment.status == .successful)
        #expect(payment.applied)
        #expect(payment.verifiedAt == hub.clock.seconds)
    }

    @Test func thePaymentEventGoesToTheMembersPaymentChannelAndAdmins() throws {
        let (hub, _, _, member, booking) = try setUp()
        let reference = try #require(hub.initialize(member, booking: booking, amount: 10_000)["reference"]?.stringValue)
        hub.clearEvents()
        hub.sandbox(reference)
        let verified = try #require(hub.events(.paymentVerified).first)
        #expect(Set(verified.channels) == ["payments:\(member.id)", "admin"])
        let payload = hub.payload(verified)
        #expect(payload["bookingId"]?.stringValue == booking)
        #expect(payload["status"]?.stringValue == "successful")
        #expect(payload["booking"]?["paymentStatus"]?.stringValue == "paid")
        let updated = hub.events(.bookingUpdated).first { $0.channels.contains("bookings:\(member.id)") }
        #expect(updated != nil)
    }

    @Test func payingTwiceOnTheCheckoutSettlesOnce() throws {
        let (hub, _, _, member, booking) = try setUp()
        let reference = try #require(hub.initialize(member, booking: booking, amount: 10_000)["reference"]?.stringValue)
        hub.sandbox(reference)
        hub.clearEvents()
        #expect(hub.sandbox(reference).status == 303)
        #expect(hub.events(.paymentVerified).isEmpty)
        #expect(hub.outbox("payment-received", to: hub.email(of: member)).count == 1)
        let payment = try #require(try PaymentTable.find(reference: reference, hub.services.storage.reader))
        #expect(payment.refundedAmount.minorUnits == 0)
        #expect(payment.status == .successful)
    }

    @Test func declineFailsThePaymentAndKeepsTheHold() throws {
        let (hub, _, _, member, booking) = try setUp()
        let started = hub.initialize(member, booking: booking, amount: 10_000)
        let reference = try #require(started["reference"]?.stringValue)
        hub.clearEvents()
        #expect(hub.sandbox(reference, pay: false).status == 303)
        #expect(hub.payment(try #require(started["paymentId"]?.stringValue))?.status == .failed)
        let after = hub.booking(booking, as: member)
        #expect(after["status"]?.stringValue == "pending")
        #expect(after["paymentStatus"]?.stringValue == "failed")  // derived from its payments
        #expect(after["holdExpiresAt"]?.stringValue != nil)
        let failed = hub.events(.paymentFailed).map(hub.payload)
        #expect(failed.count == 1)
        #expect(failed.first?["bookingId"]?.stringValue == booking)

        // A declined payment is not open: the next initialize opens another.
        let again = hub.initialize(member, booking: booking, amount: 10_000)
        #expect(again.status == 200)
        #expect(again["paymentId"] != started["paymentId"])
    }

    @Test func theCheckoutPageShowsTheAmountAndUnknownReferencesAreNotFound() throws {
        let (hub, _, _, member, booking) = try setUp()
        let reference = try #require(hub.initialize(member, booking: booking, amount: 10_000)["reference"]?.stringValue)
        let page = hub.request("GET", "/pay/sandbox/\(reference)")
        #expect(page.status == 200)
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(html.contains("id=\"pay\""))
        #expect(html.contains("10,000") || html.contains("10000"))
        #expect(hub.request("GET", "/pay/sandbox/SH-NOPE").status == 404)
        #expect(hub.request("POST", "/pay/sandbox/SH-NOPE/pay").status == 404)
        #expect(hub.request("GET", "/pay/callback").errorCode == "missing_reference")
    }

    @Test func theCallbackPageSaysWhatHappened() throws {
        let (hub, _, _, member, booking) = try setUp()
        let reference = try #require(hub.initialize(member, booking: booking, amount: 10_000)["reference"]?.stringValue)
        let pending = String(decoding: hub.request("GET", "/pay/callback?reference=\(reference)").body, as: UTF8.self)
        #expect(pending.contains("Payment pending"))
        hub.sandbox(reference)
        let done = String(decoding: hub.request("GET", "/pay/callback?reference=\(reference)").body, as: UTF8.self)
        #expect(done.contains("booking confirmed"))
        #expect(done.contains("class=\"ok\""))
    }

    @Test func verifyIsForTheOwnerOrAnAdminAndKeepsAnUnpaidChargeOpen() throws {
        let (hub, admin, _, member, booking) = try setUp()
        let reference = try #require(hub.initialize(member, booking: booking, amount: 10_000)["reference"]?.stringValue)
        let stranger = hub.member()
        #expect(hub.request("POST", "/api/payments/verify", json: ["reference": .string(reference)], token: stranger.token).status == 404)
        let own = hub.request("POST", "/api/payments/verify", json: ["reference": .string(reference)], token: member.token)
        #expect(own.status == 200)
        #expect(own["status"]?.stringValue == "pending")
        let staff = hub.request("POST", "/api/payments/verify", json: ["reference": .string(reference)], token: admin.token)
        #expect(staff["status"]?.stringValue == "pending")
        #expect(hub.request("POST", "/api/payments/verify", json: ["reference": "SH-UNKNOWN"], token: member.token).status == 404)
    }

    @Test func aPaymentIsReadByItsOwnerAndAdminsOnly() throws {
        let (hub, admin, _, member, booking) = try setUp()
        let id = try #require(hub.initialize(member, booking: booking, amount: 10_000)["paymentId"]?.stringValue)
        let own = hub.request("GET", "/api/payments/\(id)", token: member.token)
        #expect(own.status == 200)
        #expect(own["bookingId"]?.stringValue == booking)
        #expect(own["refunds"]?.arrayValue?.isEmpty == true)
        #expect(hub.request("GET", "/api/payments/\(id)", token: admin.token).status == 200)
        #expect(hub.request("GET", "/api/payments/\(id)", token: hub.member().token).status == 404)
        #expect(hub.request("GET", "/api/payments/\(id)").status == 401)
    }

    // MARK: Rescheduling while a payment is open (docs/threat_model.md: the underpayment attack)

    @Test func aMoveThatChangesThePriceCancelsTheOpenPayment() throws {
        let (hub, _, _, member, booking) = try setUp()
        let old = hub.initialize(member, booking: booking, amount: 10_000)
        let oldID = try #require(old["paymentId"]?.stringValue)
        hub.clearEvents()
        let moved = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["startTime": "09:00", "endTime": "13:00"], token: member.token)
        #expect(moved.status == 200)
        #expect(money(moved["amount"]) == "40000")
        #expect(moved["paymentReference"]?.isNull == true)
        #expect(hub.payment(oldID)?.status == .cancelled)
        let cancelled = hub.events(.paymentCancelled).map(hub.payload)
        #expect(cancelled.count == 1)
        #expect(cancelled.first?["payment"]?["id"]?.stringValue == oldID)

        // The old amount is refused now; the new price opens a new payment.
        #expect(hub.initialize(member, booking: booking, amount: 10_000).errorCode == "amount_mismatch")
        let new = hub.initialize(member, booking: booking, amount: 40_000)
        #expect(new.status == 200)
        #expect(new["paymentId"]?.stringValue != oldID)
    }

    @Test func paidAnywayTheOldCheckoutIsRefundedAndNeverConfirms() throws {
        let (hub, _, _, member, booking) = try setUp()
        let old = hub.initialize(member, booking: booking, amount: 10_000)
        let oldID = try #require(old["paymentId"]?.stringValue)
        #expect(hub.request("PUT", "/api/users/bookings/\(booking)", json: ["endTime": "14:00"], token: member.token).status == 200)
        hub.sandbox(try #require(old["reference"]?.stringValue))
        hub.run(until: { hub.payment(oldID)?.status == .refunded }, "the superseded payment's refund")
        #expect(hub.payment(oldID)?.refundedAmount.minorUnits == 1_000_000)
        #expect(hub.payment(oldID)?.applied == false)
        let after = hub.booking(booking, as: member)
        #expect(after["status"]?.stringValue == "pending")
        #expect(after["paymentStatus"]?.stringValue == "pending")

        // The new price, paid, confirms it.
        let new = try #require(hub.initialize(member, booking: booking, amount: 40_000)["reference"]?.stringValue)
        hub.sandbox(new)
        let paid = hub.booking(booking, as: member)
        #expect(paid["status"]?.stringValue == "confirmed")
        #expect(paid["paymentReference"]?.stringValue == new)
    }

    @Test func aMoveAtTheSamePriceKeepsTheOpenPayment() throws {
        let (hub, _, _, member, booking) = try setUp()
        let started = hub.initialize(member, booking: booking, amount: 10_000)
        let id = try #require(started["paymentId"]?.stringValue)
        hub.clearEvents()
        let moved = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["startTime": "15:00"], token: member.token)
        #expect(moved.status == 200)
        #expect(moved["time"]?.stringValue == "15:00")
        #expect(moved["endTime"]?.stringValue == "16:00")
        #expect(hub.payment(id)?.status == .pending)
        #expect(hub.events(.paymentCancelled).isEmpty)
        hub.sandbox(try #require(started["reference"]?.stringValue))
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "confirmed")
    }

    @Test func aPaidBookingMovesOnlyToATimeWithTheSamePrice() throws {
        let (hub, _, _, member, booking) = try setUp()
        hub.sandbox(try #require(hub.initialize(member, booking: booking, amount: 10_000)["reference"]?.stringValue))
        let longer = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["endTime": "12:00"], token: member.token)
        #expect(longer.status == 422)
        #expect(longer.errorCode == "amount_would_change")
        let same = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["date": .string(hub.date(inDays: 5))], token: member.token)
        #expect(same.status == 200)
        #expect(same["paymentStatus"]?.stringValue == "paid")
        #expect(same["date"]?.stringValue == hub.date(inDays: 5))
    }

    // MARK: Late money

    @Test func latePaymentWithTheSlotStillFreeReinstatesTheBooking() throws {
        let (hub, _, _, member, booking) = try setUp { $0.bookings.holdMinutes = 15 }
        let reference = try #require(hub.initialize(member, booking: booking, amount: 10_000)["reference"]?.stringValue)
        hub.advance(seconds: 16 * 60)
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "expired")
        hub.sandbox(reference)
        let after = hub.booking(booking, as: member)
        #expect(after["status"]?.stringValue == "confirmed")
        #expect(after["paymentStatus"]?.stringValue == "paid")
    }

    @Test func latePaymentWithTheSlotTakenIsRefunded() throws {
        let (hub, _, room, member, booking) = try setUp { $0.bookings.holdMinutes = 15 }
        let started = hub.initialize(member, booking: booking, amount: 10_000)
        hub.advance(seconds: 16 * 60)
        let rival = hub.member()
        #expect(hub.hold(rival, room: room, date: hub.date(inDays: 3)).status == 201)
        hub.sandbox(try #require(started["reference"]?.stringValue))
        let id = try #require(started["paymentId"]?.stringValue)
        hub.run(until: { hub.payment(id)?.status == .refunded }, "the late payment's refund")
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "expired")
        #expect(hub.payment(id)?.flagged == nil)
    }
}
