import Foundation
import HubCore
import HubWire
import Testing

@testable import HubServer

/// The whole hub in the test's process (`TestHub`): real routes, real SQLite, a manual clock.
/// What these cover needs time to pass (holds lapsing, bookings ending) or needs to see every
/// event a change publishes; the end-to-end suite covers the same paths over sockets, waiting
/// in real time.
@Suite struct InProcessHubTests {
    @Test func aHoldLapsesWhenTheClockPassesItsExpiryAndFreesTheSlot() throws {
        let hub = try TestHub { $0.bookings.holdMinutes = 15 }
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member(), other = hub.member()
        let date = hub.date(inDays: 2)
        let held = hub.hold(member, room: room, date: date)
        #expect(held.status == 201)
        #expect(held["status"]?.stringValue == "pending")
        let id = try #require(held["id"]?.stringValue)
        #expect(hub.hold(other, room: room, date: date).errorCode == "booking_conflict")

        hub.clearEvents()
        hub.advance(seconds: 14 * 60 + 59)  // one second before the hold's end
        #expect(hub.request("GET", "/api/bookings/\(id)", token: member.token)["status"]?.stringValue == "pending")
        #expect(hub.events(.bookingHoldExpired).isEmpty)

        hub.advance(seconds: 1)  // expiry is the hold's end: [created, created + 15 min)
        #expect(hub.request("GET", "/api/bookings/\(id)", token: member.token)["status"]?.stringValue == "expired")
        let expired = hub.events(.bookingHoldExpired)
        #expect(expired.count == 1)
        #expect(expired.first.map { hub.payload($0)["bookingId"]?.stringValue } == id)
        // Kiosks hear that the day changed, with the slot free again.
        let changed = hub.events(.spaceAvailabilityChanged).map(hub.payload)
        #expect(changed.contains { $0["spaceId"]?.stringValue == room && $0["date"]?.stringValue == date })
        #expect(hub.hold(other, room: room, date: date).status == 201)
    }

    @Test func aConfirmedBookingCompletesWhenItEnds() throws {
        let hub = try TestHub { $0.auth.accessTokenSeconds = 15 * 60 }
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let held = hub.hold(member, room: room, date: hub.date(inDays: 1), from: "09:00", to: "10:00")
        let id = try #require(held["id"]?.stringValue)
        let confirmed = hub.request("PUT", "/api/bookings/\(id)/confirm", token: admin.token)
        #expect(confirmed.status == 200)
        #expect(confirmed["status"]?.stringValue == "confirmed")

        // Past the hold's 15 minutes a confirmed booking is not expired.
        hub.advance(seconds: 3600)
        // The access token has expired with the clock: it is refused, and the refresh token renews it.
        #expect(hub.request("GET", "/api/bookings/\(id)", token: member.token).errorCode == "token_expired")
        var session = hub.renewed(member)
        #expect(hub.request("GET", "/api/bookings/\(id)", token: session.token)["status"]?.stringValue == "confirmed")

        // Three days on, it has ended.
        hub.advance(seconds: 3 * 86_400)
        session = hub.renewed(session)
        let ended = hub.request("GET", "/api/bookings/\(id)", token: session.token)
        #expect(ended["status"]?.stringValue == "completed")
        #expect(hub.bookings.changeCounts[.completed] == 1)
    }

    @Test func aSandboxPaymentConfirmsTheBookingAndIsPublished() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(price: 12_000, admin: admin)
        let member = hub.member()
        let held = hub.hold(member, room: room, date: hub.date(inDays: 3))
        let id = try #require(held["id"]?.stringValue)
        #expect(held["amount"]?.stringValue == "12000" || held["amount"] == .int(12_000))

        let started = hub.request("POST", "/api/payments/initialize", json: [
            "bookingId": .string(id), "amount": 12_000, "currency": "NGN", "paymentMethod": "card",
        ], token: member.token)
        #expect(started.status == 200)
        let reference = try #require(started["reference"]?.stringValue)
        // Underpaying is refused before any payment is opened.
        let under = hub.request("POST", "/api/payments/initialize", json: [
            "bookingId": .string(id), "amount": 100, "currency": "NGN", "paymentMethod": "card",
        ], token: member.token)
        #expect(under.status == 422)

        hub.clearEvents()
        let paid = hub.request("POST", "/pay/sandbox/\(reference)/pay")
        #expect(paid.status == 303)
        hub.settle()
        let booking = hub.request("GET", "/api/bookings/\(id)", token: member.token)
        #expect(booking["status"]?.stringValue == "confirmed")
        #expect(booking["paymentStatus"]?.stringValue == "paid")
        let verified = hub.events(.paymentVerified).map(hub.payload)
        #expect(verified.count == 1)
        #expect(verified.first?["reference"]?.stringValue == reference)
        #expect(hub.events(.bookingUpdated).map(hub.payload).contains { $0["id"]?.stringValue == id && $0["status"]?.stringValue == "confirmed" })

        // A paid booking does not lapse: the hold's clock stopped when it was paid.
        hub.advance(seconds: 30 * 60)
        #expect(hub.request("GET", "/api/bookings/\(id)", token: hub.renewed(member).token)["status"]?.stringValue == "confirmed")
    }

    @Test func overlappingHoldsFromManyMembersLeaveExactlyOne() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let date = hub.date(inDays: 4)
        let members = (0..<6).map { _ in hub.member() }
        let slots = [("10:00", "11:00"), ("10:30", "11:30"), ("09:00", "10:15"), ("10:59", "12:00"), ("09:30", "12:00"), ("10:00", "10:30")]
        var accepted = 0
        for (member, slot) in zip(members, slots) {
            let answer = hub.hold(member, room: room, date: date, from: slot.0, to: slot.1)
            if answer.status == 201 { accepted += 1 } else { #expect(answer.errorCode == "booking_conflict") }
        }
        #expect(accepted == 1)
        // Half-open with the room's buffer: the slot after the first plus its buffer is free.
        #expect(hub.hold(members[0], room: room, date: date, from: "13:00", to: "14:00").status == 201)
    }
}
