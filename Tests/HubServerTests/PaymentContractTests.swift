import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// The payment contract of docs/API.md at the edges `PaymentServiceTests` and
/// `PaymentRefundTests` leave: initialize's fields and defaults, a booking already paid, the
/// payment view and who reads it, verify's refusals, and staff refunds refused before any money
/// moves (malformed amounts and fields, payments that were never taken, a second full refund).
@Suite struct PaymentContractTests {
    /// A hub, its admin, a member and their one-hour hold at ₦10,000 three days out.
    private func setUp() throws -> (hub: TestHub, admin: TestHub.Member, member: TestHub.Member, booking: String) {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(price: 10_000, admin: admin)
        let member = hub.member()
        return (hub, admin, member, try hub.heldID(member, room: room, date: hub.date(inDays: 3)))
    }

    /// `setUp` with the hold paid in the sandbox; the payment's id.
    private func paid() throws -> (hub: TestHub, admin: TestHub.Member, member: TestHub.Member, booking: String, payment: String) {
        let (hub, admin, member, booking) = try setUp()
        let started = hub.initialize(member, booking: booking, amount: 10_000)
        hub.sandbox(try #require(started["reference"]?.stringValue))
        #expect(hub.booking(booking, as: member)["paymentStatus"]?.stringValue == "paid")
        return (hub, admin, member, booking, try #require(started["paymentId"]?.stringValue))
    }

    private func refunds(_ hub: TestHub, _ payment: String) -> [PaymentTable.Refund] {
        (try? PaymentTable.refunds(paymentID: payment, hub.services.storage.reader)) ?? []
    }

    // MARK: Initialize

    static let badInitializeFields: [(String, JSON, String)] = [
        ("bookingId", .null, "missing_field"),
        ("bookingId", 42, "wrong_type"),
        ("bookingId", .string(String(repeating: "b", count: 65)), "too_long"),
        ("currency", 566, "wrong_type"),
        ("currency", "", "bad_currency"),
        ("currency", "NAIRA-NGN", "too_long"),
        ("paymentMethod", "cheque", "bad_payment_method"),
        ("paymentMethod", .string(String(repeating: "m", count: 33)), "too_long"),
    ]

    @Test(arguments: badInitializeFields)
    func initializeNamesTheFieldItRefuses(field: String, value: JSON, code: String) throws {
        let (hub, _, member, booking) = try setUp()
        var body: JSONObject = ["bookingId": .string(booking), "amount": 10_000, "currency": "NGN", "paymentMethod": "card"]
        body[field] = value
        let answer = hub.request("POST", "/api/payments/initialize", json: .object(body), token: member.token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == field)
        #expect((try PaymentTable.forBooking(booking, hub.services.storage.reader)).isEmpty)
    }

    @Test func currencyAndMethodDefaultToNairaAndCard() throws {
        let (hub, _, member, booking) = try setUp()
        let started = hub.request("POST", "/api/payments/initialize", json: ["bookingId": .string(booking), "amount": 10_000],
                                  token: member.token)
        #expect(started.status == 200)
        #expect(started["currency"]?.stringValue == "NGN")
        let id = try #require(started["paymentId"]?.stringValue)
        #expect(hub.request("GET", "/api/payments/\(id)", token: member.token)["paymentMethod"]?.stringValue == "card")
    }

    @Test func theCurrencyCodeAndTheMethodAreReadWhateverTheirCase() throws {
        let (hub, _, member, booking) = try setUp()
        let started = hub.initialize(member, booking: booking, amount: "10000.00", currency: "ngn", method: "USSD")
        #expect(started.status == 200)
        #expect(started["currency"]?.stringValue == "NGN")
        #expect(money(started["amount"]) == "10000")
        let id = try #require(started["paymentId"]?.stringValue)
        #expect(hub.request("GET", "/api/payments/\(id)", token: member.token)["paymentMethod"]?.stringValue == "ussd")
    }

    @Test func aBookingAlreadyPaidIsNotPayableAgain() throws {
        let (hub, _, member, booking, payment) = try paid()
        let again = hub.initialize(member, booking: booking, amount: 10_000)
        #expect(again.status == 409)
        #expect(again.errorCode == "booking_not_payable")
        #expect((try PaymentTable.forBooking(booking, hub.services.storage.reader)).map(\.id) == [payment])
    }

    // MARK: Reading a payment

    @Test func thePaymentViewSaysWhatWasChargedAndByWhom() throws {
        let (hub, _, member, booking) = try setUp()
        let started = hub.initialize(member, booking: booking, amount: 10_000, method: "ussd")
        let id = try #require(started["paymentId"]?.stringValue)
        let view = hub.request("GET", "/api/payments/\(id)", token: member.token)
        #expect(view["id"]?.stringValue == id)
        #expect(view["userId"]?.stringValue == member.id)
        #expect(view["reference"] == started["reference"])
        #expect(money(view["amount"]) == "10000")
        #expect(money(view["refundedAmount"]) == "0")
        #expect(view["paymentMethod"]?.stringValue == "ussd")
        #expect(view["gateway"]?.stringValue == "sandbox")
        #expect(view["status"]?.stringValue == "pending")
        #expect(view["verifiedAt"]?.isNull == true)
        hub.sandbox(try #require(started["reference"]?.stringValue))
        let settled = hub.request("GET", "/api/payments/\(id)", token: member.token)
        #expect(settled["status"]?.stringValue == "successful")
        #expect(settled["verifiedAt"]?.stringValue != nil)
    }

    @Test func anyAdminReadsAPaymentAndAnUnknownOneIsNotFound() throws {
        let (hub, _, member, booking) = try setUp()
        let id = try #require(hub.initialize(member, booking: booking, amount: 10_000)["paymentId"]?.stringValue)
        let plain = try hub.admin(role: .admin)
        #expect(hub.request("GET", "/api/payments/\(id)", token: plain.token)["bookingId"]?.stringValue == booking)
        let unknown = hub.request("GET", "/api/payments/\(UUID().uuidString.lowercased())", token: plain.token)
        #expect(unknown.status == 404)
        #expect(unknown.errorCode == "not_found")
    }

    @Test func verifyNeedsAReferenceAndASignedInCaller() throws {
        let (hub, _, member, booking) = try setUp()
        let reference = try #require(hub.initialize(member, booking: booking, amount: 10_000)["reference"]?.stringValue)
        let missing = hub.request("POST", "/api/payments/verify", json: [:], token: member.token)
        #expect(missing.status == 422)
        #expect(missing.errorCode == "missing_field")
        #expect(missing.json["error"]?["field"]?.stringValue == "reference")
        #expect(hub.request("POST", "/api/payments/verify", json: ["reference": .string(reference)]).status == 401)
    }

    // MARK: The admin desk

    @Test func theDeskVerifiesOnlyAPendingPaymentItKnows() throws {
        let (hub, admin, member, booking) = try setUp()
        #expect(hub.request("PUT", "/api/admin/payments/\(UUID().uuidString.lowercased())/verify", token: admin.token).status == 404)
        let started = hub.initialize(member, booking: booking, amount: 10_000)
        hub.sandbox(try #require(started["reference"]?.stringValue), pay: false)
        let declined = hub.request("PUT", "/api/admin/payments/\(try #require(started["paymentId"]?.stringValue))/verify", token: admin.token)
        #expect(declined.status == 409)
        #expect(declined.errorCode == "payment_settled")
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "pending")
    }

    @Test func theDeskListRefusesAPageBelowOneAndIsEmptyPastTheEnd() throws {
        let (hub, admin, _, _, _) = try paid()
        #expect(hub.request("GET", "/api/admin/payments?page=0", token: admin.token).errorCode == "bad_page")
        let past = hub.request("GET", "/api/admin/payments?page=5", token: admin.token)
        #expect(past.status == 200)
        #expect(past["payments"] == [])
        #expect(past["total"]?.intValue == 1)
        #expect(past["page"]?.intValue == 5)
    }

    // MARK: Refunds refused before any money moves

    static let badRefundBodies: [(JSON, String)] = [
        (["amount": "100.001"], "bad_amount"),
        (["amount": true], "wrong_type"),
        (["amount": "10000.01"], "refund_exceeds_paid"),
        (["amount": "-0.5"], "bad_amount"),
        (["recordOnly": "yes", "reason": "dashboard"], "wrong_type"),
        (.object(["reason": .string(String(repeating: "r", count: 501))]), "too_long"),
        (["recordOnly": true, "reason": "dashboard", "amount": 10_001], "refund_exceeds_paid"),
    ]

    @Test(arguments: badRefundBodies)
    func aRefundTheDeskRefusesChangesNothing(body: JSON, code: String) throws {
        let (hub, admin, member, booking, payment) = try paid()
        let answer = hub.request("POST", "/api/admin/payments/\(payment)/refund", json: body, token: admin.token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(hub.payment(payment)?.refundedAmount.minorUnits == 0)
        #expect(refunds(hub, payment).isEmpty)
        #expect(hub.booking(booking, as: member)["paymentStatus"]?.stringValue == "paid")
    }

    @Test func aPaymentThatWasNeverTakenCannotBeRefunded() throws {
        let (hub, admin, member, booking) = try setUp()
        let declined = hub.initialize(member, booking: booking, amount: 10_000)
        hub.sandbox(try #require(declined["reference"]?.stringValue), pay: false)
        let id = try #require(declined["paymentId"]?.stringValue)
        let answer = hub.request("POST", "/api/admin/payments/\(id)/refund", json: ["amount": 1_000], token: admin.token)
        #expect(answer.status == 409)
        #expect(answer.errorCode == "not_refundable")
        #expect(refunds(hub, id).isEmpty)
    }

    @Test func aNullAmountRefundsEverythingAndASecondFullRefundIsRefused() throws {
        let (hub, _, member, booking, payment) = try paid()
        let plain = try hub.admin(role: .admin)
        let whole = hub.request("POST", "/api/payments/\(payment)/refund", json: ["amount": .null], token: plain.token)
        #expect(whole.status == 200)
        #expect(whole["status"]?.stringValue == "refunded")
        #expect(money(whole["refundedAmount"]) == "10000")
        let again = hub.request("POST", "/api/payments/\(payment)/refund", json: [:], token: plain.token)
        #expect(again.status == 409)
        #expect(again.errorCode == "not_refundable")
        let shown = hub.request("GET", "/api/payments/\(payment)", token: member.token)["refunds"]?.arrayValue ?? []
        #expect(shown.count == 1)
        #expect(shown.first?["reason"]?.stringValue == "refunded by staff")
        #expect(shown.first?["requestedBy"]?.stringValue == plain.id)
        #expect(hub.booking(booking, as: member)["paymentStatus"]?.stringValue == "refunded")
    }
}
