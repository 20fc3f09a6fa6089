import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// Money going back, in process (the sandbox refunds at once): a cancellation inside the refund
/// notice, a duplicate payment, staff refunds (partial, whole, recorded), the admin desk, and the
/// refunds a restart resumes.
@Suite struct PaymentRefundTests {
    /// A hub with a paid one-hour booking (₦10,000) three days out.
    private func paidBooking(_ configure: (inout Config) -> Void = { _ in }) throws
        -> (hub: TestHub, admin: TestHub.Member, member: TestHub.Member, booking: String, payment: String) {
        try paidBooking(on: try TestHub(configure))
    }

    /// A member's booking paid in the sandbox, on `hub`.
    private func paidBooking(on hub: TestHub) throws
        -> (hub: TestHub, admin: TestHub.Member, member: TestHub.Member, booking: String, payment: String) {
        let admin = try hub.admin()
        let room = hub.openRoom(price: 10_000, admin: admin)
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 3))
        let started = hub.initialize(member, booking: booking, amount: 10_000)
        hub.sandbox(try #require(started["reference"]?.stringValue))
        #expect(hub.booking(booking, as: member)["paymentStatus"]?.stringValue == "paid")
        return (hub, admin, member, booking, try #require(started["paymentId"]?.stringValue))
    }

    // MARK: Cancelling a paid booking

    @Test func cancellingAheadOfTheNoticeRefundsTheBooking() throws {
        let (hub, _, member, booking, payment) = try paidBooking()
        hub.clearEvents()
        let cancelled = hub.request("DELETE", "/api/users/bookings/\(booking)", token: member.token)
        #expect(cancelled.status == 200)
        #expect(cancelled["status"]?.stringValue == "cancelled")
        #expect(cancelled["refundDue"]?.boolValue == true)
        hub.run(until: { hub.payment(payment)?.status == .refunded }, "the cancellation's refund")
        let after = hub.booking(booking, as: member)
        #expect(after["paymentStatus"]?.stringValue == "refunded")
        #expect(after["refundDue"]?.boolValue == false)
        #expect(hub.payment(payment)?.refundedAmount.minorUnits == 1_000_000)
        #expect(hub.outbox("refund-issued", to: hub.email(of: member)).count == 1)
        #expect(hub.outbox("booking-cancelled", to: hub.email(of: member)).count == 1)
        let refunded = hub.events(.paymentRefunded).map(hub.payload)
        #expect(refunded.contains { $0["paymentId"]?.stringValue == payment && money($0["amount"]) == "10000" })
    }

    @Test func cancellingInsideTheNoticeRefundsNothing() throws {
        let (hub, _, member, booking, payment) = try paidBooking { $0.bookings.refundNoticeHours = 24 * 90 }
        let cancelled = hub.request("DELETE", "/api/users/bookings/\(booking)", token: member.token)
        #expect(cancelled["refundDue"]?.boolValue == false)
        hub.settle()
        #expect(hub.payment(payment)?.status == .successful)
        #expect(hub.booking(booking, as: member)["paymentStatus"]?.stringValue == "paid")
        #expect(hub.outbox("refund-issued").isEmpty)
    }

    @Test func staffCancellingAPaidBookingRefundsItToo() throws {
        let (hub, admin, member, booking, payment) = try paidBooking()
        let cancelled = hub.request("PUT", "/api/bookings/\(booking)/cancel", json: ["reason": "room flooded"], token: admin.token)
        #expect(cancelled.status == 200)
        #expect(cancelled["cancelReason"]?.stringValue == "room flooded")
        hub.run(until: { hub.payment(payment)?.status == .refunded }, "the refund")
        #expect(hub.booking(booking, as: member)["paymentStatus"]?.stringValue == "refunded")
    }

    @Test func payingForACancelledBookingGivesTheMoneyBack() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        let started = hub.initialize(member, booking: booking, amount: 10_000)
        let cancelled = hub.request("DELETE", "/api/users/bookings/\(booking)", token: member.token)
        #expect(cancelled["refundDue"]?.boolValue == false)
        hub.sandbox(try #require(started["reference"]?.stringValue))
        let id = try #require(started["paymentId"]?.stringValue)
        hub.run(until: { hub.payment(id)?.status == .refunded }, "the refund of money for a cancelled booking")
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "cancelled")
    }

    // MARK: A duplicate payment

    @Test func aDuplicateRefundedLeavesTheBookingPaidByTheChargeItKeeps() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 3))
        let first = hub.initialize(member, booking: booking, amount: 10_000)
        let firstID = try #require(first["paymentId"]?.stringValue)
        hub.sandbox(try #require(first["reference"]?.stringValue), pay: false)
        let second = hub.initialize(member, booking: booking, amount: 10_000)
        let secondID = try #require(second["paymentId"]?.stringValue)
        #expect(secondID != firstID)
        hub.sandbox(try #require(second["reference"]?.stringValue))
        #expect(hub.booking(booking, as: member)["paymentStatus"]?.stringValue == "paid")

        // The declined checkout is paid after all: a duplicate, refunded; the booking stays paid.
        hub.sandbox(try #require(first["reference"]?.stringValue))
        hub.run(until: { hub.payment(firstID)?.status == .refunded }, "the duplicate's refund")
        let held = hub.booking(booking, as: member)
        #expect(held["status"]?.stringValue == "confirmed")
        #expect(held["paymentStatus"]?.stringValue == "paid")
        #expect(hub.payment(secondID)?.status == .successful)

        // A cancel refunds the charge it kept; only then is the booking refunded.
        #expect(hub.request("DELETE", "/api/users/bookings/\(booking)", token: member.token)["refundDue"]?.boolValue == true)
        hub.run(until: { hub.payment(secondID)?.status == .refunded }, "the kept charge's refund")
        let after = hub.booking(booking, as: member)
        #expect(after["paymentStatus"]?.stringValue == "refunded")
        #expect(after["refundDue"]?.boolValue == false)
    }

    // MARK: Staff refunds

    @Test func aPartialRefundThenTheRest() throws {
        let (hub, admin, member, booking, payment) = try paidBooking()
        let part = hub.request("POST", "/api/admin/payments/\(payment)/refund", json: ["amount": 5_000, "reason": "projector broken"],
                               token: admin.token)
        #expect(part.status == 200)
        #expect(money(part["refundedAmount"]) == "5000")
        #expect(part["status"]?.stringValue == "successful")
        #expect(hub.booking(booking, as: member)["paymentStatus"]?.stringValue == "paid")

        let over = hub.request("POST", "/api/payments/\(payment)/refund", json: ["amount": "5000.01"], token: admin.token)
        #expect(over.status == 422)
        #expect(over.errorCode == "refund_exceeds_paid")
        #expect(money(over.json["error"]?["refundable"]) == "5000")

        let rest = hub.request("POST", "/api/payments/\(payment)/refund", json: [:], token: admin.token)
        #expect(rest.status == 200)
        #expect(rest["status"]?.stringValue == "refunded")
        #expect(money(rest["refundedAmount"]) == "10000")
        #expect(hub.booking(booking, as: member)["paymentStatus"]?.stringValue == "refunded")
        let shown = hub.request("GET", "/api/payments/\(payment)", token: member.token)
        #expect(shown["refunds"]?.arrayValue?.compactMap { money($0["amount"]) } == ["5000", "5000"])
        #expect(hub.outbox("refund-issued", to: hub.email(of: member)).count == 2)

        let more = hub.request("POST", "/api/admin/payments/\(payment)/refund", json: ["amount": 1], token: admin.token)
        #expect(more.status == 409)
        #expect(more.errorCode == "not_refundable")
    }

    @Test func refundsOfNothingOrNonsenseAreRefusedAndChangeNothing() throws {
        let (hub, admin, _, _, payment) = try paidBooking()
        for (amount, code) in [(JSON.int(0), "bad_amount"), (-5, "bad_amount"), ("lots", "bad_amount"), (10_001, "refund_exceeds_paid")] {
            let answer = hub.request("POST", "/api/admin/payments/\(payment)/refund", json: ["amount": amount], token: admin.token)
            #expect(answer.status == 422, "\(amount)")
            #expect(answer.errorCode == code, "\(amount)")
        }
        #expect(hub.payment(payment)?.refundedAmount.minorUnits == 0)
        #expect((try PaymentTable.refunds(paymentID: payment, hub.services.storage.reader)).isEmpty)
        #expect((try hub.services.storage.reader.scalar("SELECT COUNT(*) FROM audit_logs WHERE resource_id = ?", [.text(payment)])) == 0)
    }

    @Test func aStaffRefundIsAudited() throws {
        let (hub, admin, _, _, payment) = try paidBooking()
        #expect(hub.request("POST", "/api/admin/payments/\(payment)/refund", json: ["amount": 100], token: admin.token).status == 200)
        let rows = try hub.services.storage.reader.scalar(
            "SELECT COUNT(*) FROM audit_logs WHERE resource = 'payment' AND action = 'refund' AND resource_id = ?", [.text(payment)])
        #expect(rows == 1)
    }

    @Test func aRefundMadeElsewhereIsRecordedWithItsReason() throws {
        let (hub, admin, member, booking, payment) = try paidBooking()
        let noReason = hub.request("POST", "/api/admin/payments/\(payment)/refund", json: ["recordOnly": true], token: admin.token)
        #expect(noReason.status == 422)
        #expect(noReason.json["error"]?["field"]?.stringValue == "reason")
        let stray = hub.request("POST", "/api/admin/payments/\(payment)/refund", json: ["gatewayReference": "re_1"], token: admin.token)
        #expect(stray.errorCode == "record_only_field")

        let recorded = hub.request("POST", "/api/admin/payments/\(payment)/refund", json: [
            "recordOnly": true, "reason": "refunded in the dashboard", "gatewayReference": "re_123",
        ], token: admin.token)
        #expect(recorded.status == 200)
        #expect(recorded["status"]?.stringValue == "refunded")
        let refunds = try PaymentTable.refunds(paymentID: payment, hub.services.storage.reader)
        #expect(refunds.map(\.gatewayReference) == ["re_123"])
        #expect(refunds.first?.reason == "refunded in the dashboard")
        #expect(hub.booking(booking, as: member)["paymentStatus"]?.stringValue == "refunded")
    }

    @Test func anOpenPaymentCannotBeRefunded() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 3))
        let id = try #require(hub.initialize(member, booking: booking, amount: 10_000)["paymentId"]?.stringValue)
        let answer = hub.request("POST", "/api/admin/payments/\(id)/refund", json: [:], token: admin.token)
        #expect(answer.status == 409)
        #expect(answer.errorCode == "not_refundable")
        #expect(hub.request("POST", "/api/admin/payments/nope/refund", json: [:], token: admin.token).status == 404)
    }

    @Test func membersCannotUseTheDesk() throws {
        let (hub, _, member, _, payment) = try paidBooking()
        for (method, path) in [("POST", "/api/payments/\(payment)/refund"), ("POST", "/api/admin/payments/\(payment)/refund"),
                               ("PUT", "/api/admin/payments/\(payment)/verify"), ("GET", "/api/admin/payments")] {
            let answer = hub.request(method, path, json: method == "GET" ? nil : ["amount": 1], token: member.token)
            #expect(answer.status == 403, "\(path)")
            #expect(answer.errorCode == "admin_required", "\(path)")
            #expect(hub.request(method, path, json: method == "GET" ? nil : ["amount": 1]).status == 401, "\(path)")
        }
        #expect(hub.payment(payment)?.refundedAmount.minorUnits == 0)
    }

    // MARK: The admin desk

    @Test func anAdminVerifiesABankTransferByHand() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 3))
        let id = try #require(hub.initialize(member, booking: booking, amount: 10_000, method: "bank_transfer")["paymentId"]?.stringValue)
        let verified = hub.request("PUT", "/api/admin/payments/\(id)/verify", token: admin.token)
        #expect(verified.status == 200)
        #expect(verified["status"]?.stringValue == "successful")
        #expect(verified["verifiedBy"]?.stringValue == admin.id)
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "confirmed")
        let again = hub.request("PUT", "/api/admin/payments/\(id)/verify", token: admin.token)
        #expect(again.status == 409)
        #expect(again.errorCode == "payment_settled")
    }

    @Test func theDeskListsPaymentsByStatus() throws {
        let (hub, admin, member, _, _) = try paidBooking()
        let room = hub.openRoom(admin: admin)
        let other = try hub.heldID(member, room: room, date: hub.date(inDays: 6))
        #expect(hub.initialize(member, booking: other, amount: 10_000).status == 200)
        let all = hub.request("GET", "/api/admin/payments", token: admin.token)
        #expect(all["total"]?.intValue == 2)
        #expect(all["limit"]?.intValue == 20)
        let successful = hub.request("GET", "/api/admin/payments?status=successful", token: admin.token)
        #expect(successful["total"]?.intValue == 1)
        #expect(successful["payments"]?.arrayValue?.first?["status"]?.stringValue == "successful")
        let paged = hub.request("GET", "/api/admin/payments?limit=1&page=2", token: admin.token)
        #expect(paged["payments"]?.arrayValue?.count == 1)
        #expect(hub.request("GET", "/api/admin/payments?status=lost", token: admin.token).errorCode == "bad_status")
        #expect(hub.request("GET", "/api/admin/payments?limit=0", token: admin.token).errorCode == "bad_limit")
    }

    // MARK: Restarts

    @Test func aRefundOwedForACancellationIsMadeAfterARestart() throws {
        var payment = "", booking = ""
        let restarted = try TestHub.restarted { hub in
            let (_, _, _, paidID, paymentID) = try paidBooking(on: hub)
            // The hub stopped between the cancellation's commit and its refund.
            try hub.execute("UPDATE bookings SET status = 'cancelled', refund_due = 1, hold_expires_at = NULL WHERE id = ?", [.text(paidID)])
            payment = paymentID
            booking = paidID
        }
        restarted.run(until: { restarted.payment(payment)?.status == .refunded }, "the owed refund after the restart")
        let stored = try #require(try BookingTable.find(booking, restarted.services.storage.reader))
        #expect(stored.paymentState == .refunded)
        #expect(!stored.refundDue)
        #expect((try PaymentTable.refunds(paymentID: payment, restarted.services.storage.reader)).count == 1)
    }

    @Test func aRefundUnderWayWhenTheHubStoppedIsResumedOnce() throws {
        var payment = ""
        let restarted = try TestHub.restarted { hub in
            let (_, _, _, _, paymentID) = try paidBooking(on: hub)
            // Money the booking could not take, flagged before the gateway call that never happened.
            try hub.execute("UPDATE payments SET flagged = 'automatic refund pending: the booking was already paid', applied = 0 WHERE id = ?",
                            [.text(paymentID)])
            payment = paymentID
        }
        restarted.run(until: { restarted.payment(payment)?.status == .refunded }, "the resumed refund")
        let refunds = try PaymentTable.refunds(paymentID: payment, restarted.services.storage.reader)
        #expect(refunds.count == 1)
        #expect(refunds.first?.reason == "the booking was already paid")
        #expect(restarted.payment(payment)?.flagged == nil)
    }

    @Test func nothingIsRefundedAtARestartWhenNothingIsOwed() throws {
        var payment = ""
        let restarted = try TestHub.restarted { hub in
            payment = try paidBooking(on: hub).4
        }
        restarted.settle()
        #expect(restarted.payment(payment)?.status == .successful)
        #expect((try PaymentTable.refunds(paymentID: payment, restarted.services.storage.reader)).isEmpty)
    }
}
