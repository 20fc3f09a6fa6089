import Foundation
import HubCore
import HubCrypto
import HubStore
import HubWire
import Testing

@testable import HubServer

/// Paystack's webhook in process, signed with a test key (no Paystack is called: a webhook only
/// reports): the signature check, settlement of a charge, redeliveries, amount mismatches,
/// disputes, and events the hub records without acting on.
@Suite struct WebhookInProcessTests {
    private static let key = "sk_test_" + String(repeating: "k", count: 32)

    private func setUp() throws -> (hub: TestHub, member: TestHub.Member, booking: String, reference: String) {
        let hub = try TestHub { $0.payments.paystackSecretKey = Self.key }
        let room = hub.openRoom(price: 10_000, admin: try hub.admin())
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 3))
        let reference = try #require(hub.initialize(member, booking: booking, amount: 10_000)["reference"]?.stringValue)
        return (hub, member, booking, reference)
    }

    private func deliver(_ hub: TestHub, _ body: JSON, signature: String? = nil) -> TestHub.Answer {
        let signed = signature ?? Hex.encode(HMAC.sha512(key: Array(Self.key.utf8), message: body.bytes))
        return hub.request("POST", "/api/payments/webhook/paystack", json: body, headers: [("x-paystack-signature", signed)])
    }

    private func charge(_ reference: String, kobo: Int64 = 1_000_000, currency: String = "NGN", id: Int = 4_242) -> JSON {
        ["event": "charge.success", "data": ["id": .int(id), "reference": .string(reference), "status": "success",
                                             "amount": .int64(kobo), "currency": .string(currency)]]
    }

    @Test func aSignedChargeSuccessConfirmsTheBooking() throws {
        let (hub, member, booking, reference) = try setUp()
        let answer = deliver(hub, charge(reference))
        #expect(answer.status == 200)
        #expect(answer["received"]?.boolValue == true)
        #expect(answer["duplicate"]?.boolValue == false)
        hub.settle()
        let after = hub.booking(booking, as: member)
        #expect(after["status"]?.stringValue == "confirmed")
        #expect(after["paymentStatus"]?.stringValue == "paid")
    }

    @Test func aBadOrMissingSignatureChangesNothing() throws {
        let (hub, member, booking, reference) = try setUp()
        let forged = deliver(hub, charge(reference), signature: String(repeating: "ab", count: 64))
        #expect(forged.status == 401)
        #expect(forged.errorCode == "invalid_signature")
        let missing = hub.request("POST", "/api/payments/webhook/paystack", json: charge(reference))
        #expect(missing.status == 401)
        let notHex = deliver(hub, charge(reference), signature: "zz")
        #expect(notHex.status == 401)
        hub.settle()
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "pending")
        #expect((try hub.services.storage.reader.scalar("SELECT COUNT(*) FROM webhook_receipts")) == 0)
    }

    @Test func aRedeliveryIsRecognisedAndActsOnce() throws {
        let (hub, member, _, reference) = try setUp()
        #expect(deliver(hub, charge(reference))["duplicate"]?.boolValue == false)
        hub.settle()
        hub.clearEvents()
        let again = deliver(hub, charge(reference))
        #expect(again.status == 200)
        #expect(again["duplicate"]?.boolValue == true)
        hub.settle()
        #expect(hub.events(.paymentVerified).isEmpty)
        #expect(hub.outbox("payment-received", to: hub.email(of: member)).count == 1)
    }

    @Test func anAmountThatIsNotOursIsFlaggedNeverConfirmed() throws {
        let (hub, member, booking, reference) = try setUp()
        hub.clearEvents()
        #expect(deliver(hub, charge(reference, kobo: 100_000)).status == 200)
        hub.settle()
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "pending")
        let payment = try #require(try PaymentTable.find(reference: reference, hub.services.storage.reader))
        #expect(payment.status == .pending)
        #expect(payment.flagged?.contains("expected 10000 NGN") == true)
        let flagged = hub.events(.paymentFlagged)
        #expect(flagged.count == 1)
        #expect(flagged.first?.channels == ["admin"])
        // Another currency is just as wrong.
        #expect(deliver(hub, charge(reference, currency: "USD", id: 4_243)).status == 200)
        hub.settle()
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "pending")
    }

    @Test func aReferenceThatIsNotOursIsAcknowledged() throws {
        let (hub, _, _, _) = try setUp()
        let answer = deliver(hub, charge("SOMEONE-ELSES"))
        #expect(answer.status == 200)
        #expect(answer["received"]?.boolValue == true)
    }

    @Test func aChargeWithoutAReferenceIsABadEvent() throws {
        let (hub, _, _, _) = try setUp()
        let answer = deliver(hub, ["event": "charge.success", "data": ["status": "success", "amount": 100]])
        #expect(answer.status == 400)
        #expect(answer.errorCode == "bad_event")
    }

    @Test func otherEventsAreRecordedWithoutEffect() throws {
        let (hub, member, booking, _) = try setUp()
        let event: JSON = ["event": "transfer.success", "data": ["id": 77, "reference": "TR-1"]]
        #expect(deliver(hub, event)["duplicate"]?.boolValue == false)
        hub.settle()
        #expect(deliver(hub, event)["duplicate"]?.boolValue == true)
        #expect((try hub.services.storage.reader.scalar("SELECT COUNT(*) FROM webhook_receipts WHERE event = 'transfer.success'")) == 1)
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "pending")
    }

    @Test func aDisputeFlagsThePaymentForTheDesk() throws {
        let (hub, _, _, reference) = try setUp()
        #expect(deliver(hub, charge(reference)).status == 200)
        hub.settle()
        hub.clearEvents()
        let dispute: JSON = ["event": "charge.dispute.create", "data": ["id": 9, "reason": "not recognised",
                                                                          "transaction": ["reference": .string(reference)]]]
        #expect(deliver(hub, dispute).status == 200)
        hub.settle()
        let payment = try #require(try PaymentTable.find(reference: reference, hub.services.storage.reader))
        #expect(payment.flagged?.contains("dispute") == true)
        #expect(payment.status == .successful)
        #expect(hub.events(.paymentFlagged).count == 1)
    }

    @Test func withoutAPaystackKeyThereIsNoWebhook() throws {
        let hub = try TestHub()
        let answer = hub.request("POST", "/api/payments/webhook/paystack", json: ["event": "charge.success"],
                                 headers: [("x-paystack-signature", "00")])
        #expect(answer.status == 404)
    }
}
