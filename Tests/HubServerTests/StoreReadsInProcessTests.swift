import Foundation
import HubCore
import HubLoop
import HubStore
import HubWire
import Testing

@testable import HubServer

/// Every route and service that reads the store after start-up, on each store the run has:
/// SQLite answers a read on the loop's own connection at once, PostgreSQL on a read thread's
/// connection with the answer back on the loop (`Storage.read`). The same requests must give
/// the same answers on both.
@Suite struct StoreReadsInProcessTests {
    @Test(arguments: TestHub.Store.available) func aReadOnPostgreSQLNeverAnswersOnTheCallersStack(store: TestHub.Store) throws {
        let hub = try TestHub(store: store)
        var answer: Result<Int64?, any Error>?
        hub.services.storage.read({ try $0.scalar("SELECT COUNT(*) FROM users") }) { answer = $0 }
        switch store {
        case .sqlite:
            #expect(answer != nil, "SQLite answers on the loop's connection at once")
        case .postgresql:
            #expect(answer == nil, "PostgreSQL answers later, through the loop")
            #expect(hub.services.storage.pendingReads >= 1)
            hub.run(until: { answer != nil && hub.services.storage.pendingReads == 0 }, "the read threads' answers")
        }
        #expect(try answer?.get() == 0)
    }

    @Test(arguments: TestHub.Store.available) func accountsAndProfiles(store: TestHub.Store) throws {
        let hub = try TestHub(store: store)
        let register: JSON = ["email": "reader@example.com", "password": "password123", "firstName": "Ada", "lastName": "Obi"]
        #expect(hub.request("POST", "/api/auth/register", json: register).status == 201)
        #expect(hub.request("POST", "/api/auth/register", json: register).errorCode == "email_taken")
        let login = hub.request("POST", "/api/auth/login", json: ["email": "reader@example.com", "password": "password123"])
        #expect(login.status == 200)
        let token = try #require(login["token"]?.stringValue)
        #expect(hub.request("POST", "/api/auth/login", json: ["email": "nobody@example.com", "password": "password123"])
            .errorCode == "invalid_credentials")
        #expect(hub.request("GET", "/api/auth/me", token: token)["email"]?.stringValue == "reader@example.com")
        let renamed = hub.request("PUT", "/api/users/profile", json: ["firstName": "Adaeze"], token: token)
        #expect(renamed["firstName"]?.stringValue == "Adaeze")
        #expect(hub.request("GET", "/api/auth/me", token: token)["firstName"]?.stringValue == "Adaeze")
        let admin = try hub.admin()
        #expect(hub.request("GET", "/api/auth/me", token: admin.token)["role"]?.stringValue == "super_admin")
    }

    @Test(arguments: TestHub.Store.available) func bookingsReadBackFromTheStore(store: TestHub.Store) throws {
        let hub = try TestHub(store: store)
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let date = hub.date(inDays: 2)
        let body: JSON = ["type": "event", "spaceId": .string(room), "date": .string(date), "startTime": "10:00", "endTime": "11:00"]
        let first = hub.request("POST", "/api/bookings", json: body, token: member.token, headers: [("idempotency-key", "k-1")])
        #expect(first.status == 201)
        let replay = hub.request("POST", "/api/bookings", json: body, token: member.token, headers: [("idempotency-key", "k-1")])
        #expect(replay.status == 201)
        #expect(replay.headers["idempotent-replayed"] == "true")
        #expect(replay["id"] == first["id"])
        let id = try #require(first["id"]?.stringValue)

        let moved = hub.request("PUT", "/api/users/bookings/\(id)", json: ["startTime": "12:00"], token: member.token)
        #expect(moved["time"]?.stringValue == "12:00", "moved: \(String(decoding: moved.body, as: UTF8.self))")
        let cancelled = hub.request("PUT", "/api/bookings/\(id)/cancel", json: ["reason": "plans changed"], token: admin.token)
        #expect(cancelled["status"]?.stringValue == "cancelled")
        // Cancelled, it is no longer in memory: read from the store.
        #expect(hub.bookings.live[id] == nil)
        #expect(hub.booking(id, as: member)["status"]?.stringValue == "cancelled")
        #expect(hub.request("GET", "/api/bookings/\(id)", token: hub.member().token).status == 404)
        #expect(hub.request("GET", "/api/users/bookings?status=cancelled", token: member.token)["total"] == .int(1))
        let audit = hub.request("GET", "/api/admin/audit-logs?resource=booking", token: admin.token)
        let entry = try #require(audit["logs"]?.arrayValue?.first)
        #expect(entry["action"]?.stringValue == "cancel")
        #expect(entry["oldValues"]?["status"]?.stringValue == "pending", "the audit row keeps the booking as it was")

        let kept = try hub.heldID(member, room: room, date: date, from: "15:00", to: "16:00")
        let dashboard = hub.request("GET", "/api/admin/dashboard/bookings?date=\(date)", token: admin.token)
        let shown = try #require(dashboard["bookings"]?.arrayValue?.first { $0["id"]?.stringValue == kept })
        #expect(shown["member"]?["name"]?.stringValue == "Ada Obi")
        let user = hub.request("GET", "/api/admin/users/\(member.id)", token: admin.token)
        #expect(user["bookings"]?.arrayValue?.count == 2)
        #expect(hub.request("GET", "/api/admin/users?search=example.com", token: admin.token)["total"]?.intValue ?? 0 >= 1)
    }

    @Test(arguments: TestHub.Store.available) func paymentsRefundsAndTheirViews(store: TestHub.Store) throws {
        let hub = try TestHub(store: store)
        let admin = try hub.admin()
        let room = hub.openRoom(price: 10_000, admin: admin)
        let member = hub.member()
        let id = try hub.heldID(member, room: room, date: hub.date(inDays: 3))
        let started = hub.initialize(member, booking: id, amount: 10_000)
        #expect(started.status == 200)
        let reference = try #require(started["reference"]?.stringValue)
        #expect(hub.initialize(member, booking: id, amount: 10_000)["reference"]?.stringValue == reference, "a repeat returns the open payment")
        let page = hub.request("GET", "/pay/sandbox/\(reference)")
        #expect(page.status == 200)
        #expect(String(decoding: page.body, as: UTF8.self).contains("Amount due"))
        #expect(hub.sandbox(reference).status == 303)
        let verified = hub.request("POST", "/api/payments/verify", json: ["reference": .string(reference)], token: member.token)
        #expect(verified["status"]?.stringValue == "successful")
        let paymentID = try #require(verified["id"]?.stringValue ?? started["paymentId"]?.stringValue)
        #expect(hub.booking(id, as: member)["paymentStatus"]?.stringValue == "paid")

        let refund = hub.request("POST", "/api/admin/payments/\(paymentID)/refund", json: ["amount": 4_000], token: admin.token)
        #expect(refund.status == 200, "refund: \(String(decoding: refund.body, as: UTF8.self))")
        let shown = hub.request("GET", "/api/payments/\(paymentID)", token: member.token)
        #expect(shown["refunds"]?.arrayValue?.count == 1)
        #expect(hub.request("GET", "/api/payments/\(paymentID)", token: hub.member().token).status == 404)
        #expect(hub.request("GET", "/api/admin/payments?status=successful", token: admin.token)["total"] == .int(1))

        let snapshot = hub.request("GET", "/api/events/snapshot?channel=payments:\(member.id)", token: member.token)
        #expect(snapshot["payload"]?["payments"]?.arrayValue?.first?["reference"]?.stringValue == reference)
        #expect(hub.request("GET", "/api/admin/notifications/outbox", token: admin.token)["total"]?.intValue ?? 0 >= 2)

        var metrics: [UInt8]?
        hub.hub.metricsText { metrics = $0 }
        hub.run(until: { metrics != nil }, "the metrics' counts")
        #expect(String(decoding: metrics ?? [], as: UTF8.self).contains("spacehub_payments_pending 0"))
    }

    @Test(arguments: TestHub.Store.available) func suspendingAMemberReadsThemFirst(store: TestHub.Store) throws {
        let hub = try TestHub(store: store)
        let admin = try hub.admin()
        let member = hub.member()
        #expect(hub.request("PUT", "/api/admin/users/nobody", json: ["status": "suspended", "reason": "x"], token: admin.token).status == 404)
        let suspended = hub.request("PUT", "/api/admin/users/\(member.id)", json: ["status": "suspended", "reason": "unpaid"],
                                    token: admin.token)
        #expect(suspended["status"]?.stringValue == "suspended")
        #expect(hub.request("GET", "/api/auth/me", token: member.token).errorCode == "account_suspended")
    }
}
