import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// `ReminderScheduler` in process. It reads the wall clock (not the hub's `Clock`) and sweeps
/// when a booking is confirmed, paid or moved, so these hubs start at the real time and each
/// sweep is set off by a change, never waited for.
@Suite struct ReminderInProcessTests {
    private func hub(_ configure: (inout Config) -> Void = { _ in }) throws -> TestHub {
        try TestHub(startingAt: WallClock.milliseconds(), configure)
    }

    /// A one-hour hold starting `hours` from now (rounded up to the quarter hour), in local terms.
    private func hold(_ hub: TestHub, _ member: TestHub.Member, room: String, inHours hours: Int64) throws -> String {
        let quarter: Int64 = 15 * 60
        let start = (hub.clock.seconds + hours * 3600 + quarter - 1) / quarter * quarter
        let local = Zone.lagos.local(start)
        let answer = hub.request("POST", "/api/bookings", json: [
            "type": "event", "spaceId": .string(room), "date": .string(local.date.description), "startTime": .string(local.time.description),
            "duration": "1 hour",
        ], token: member.token)
        #expect(answer.status == 201, "\(String(decoding: answer.body, as: UTF8.self))")
        return try #require(answer["id"]?.stringValue)
    }

    private func reminders(_ hub: TestHub) -> [OutboxTable.Message] { hub.outbox("booking-reminder") }

    @Test func confirmingABookingWithinTheLeadTimeQueuesItsReminder() throws {
        let hub = try hub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let booking = try hold(hub, member, room: room, inHours: 2)
        #expect(reminders(hub).isEmpty)  // a hold is not reminded
        #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token).status == 200)
        hub.settle()
        let queued = reminders(hub)
        #expect(queued.count == 1)
        #expect(queued.first?.recipient == hub.email(of: member))
        let variables = try JSONParser.parse(Array((queued.first?.payload ?? "{}").utf8))
        #expect(variables["startsAt"]?.intValue.map(Int64.init) == hub.stored(booking)?.range.start)
    }

    @Test func aBookingBeyondTheLeadTimeIsNotRemindedYet() throws {
        let hub = try hub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let booking = try hold(hub, hub.member(), room: room, inHours: 30)
        #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token).status == 200)
        hub.settle()
        #expect(reminders(hub).isEmpty)
    }

    @Test func theLeadTimeComesFromTheConfiguration() throws {
        let hub = try hub { $0.email.reminderLeadHours = 48 }
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let booking = try hold(hub, hub.member(), room: room, inHours: 30)
        #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token).status == 200)
        hub.settle()
        #expect(reminders(hub).count == 1)
    }

    @Test func aPaidBookingIsRemindedOnceHoweverManySweepsRun() throws {
        let hub = try hub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let booking = try hold(hub, member, room: room, inHours: 3)
        hub.sandbox(try #require(hub.initialize(member, booking: booking, amount: 10_000)["reference"]?.stringValue))
        hub.settle()
        #expect(reminders(hub).count == 1)
        // Another confirmation sweeps again: the first booking's key is taken.
        let other = try hold(hub, hub.member(), room: room, inHours: 6)
        #expect(hub.request("PUT", "/api/bookings/\(other)/confirm", token: admin.token).status == 200)
        hub.settle()
        let queued = reminders(hub)
        #expect(queued.count == 2)
        #expect(Set(queued.map(\.recipient)).count == 2)
    }

    @Test func aBookingMovedToANewTimeIsRemindedForThatTime() throws {
        let hub = try hub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let booking = try hold(hub, member, room: room, inHours: 2)
        #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token).status == 200)
        hub.settle()
        let start = try #require(hub.stored(booking)?.range.start)
        let later = Zone.lagos.local(start + 2 * 3600)
        let moved = hub.request("PUT", "/api/users/bookings/\(booking)", json: [
            "date": .string(later.date.description), "startTime": .string(later.time.description),
        ], token: member.token)
        #expect(moved.status == 200)
        hub.settle()
        let starts = reminders(hub).compactMap { row in
            (try? JSONParser.parse(Array(row.payload.utf8)))?["startsAt"]?.intValue.map(Int64.init)
        }
        #expect(starts == [start, start + 2 * 3600])
    }

    @Test func aCancelledBookingIsNotReminded() throws {
        let hub = try hub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let cancelled = try hold(hub, member, room: room, inHours: 2)
        #expect(hub.request("PUT", "/api/bookings/\(cancelled)/confirm", token: admin.token).status == 200)
        #expect(hub.request("DELETE", "/api/users/bookings/\(cancelled)", token: member.token).status == 200)
        hub.settle()
        let before = reminders(hub).count  // the confirmation's sweep may have queued it before the cancel
        let other = try hold(hub, hub.member(), room: room, inHours: 5)
        #expect(hub.request("PUT", "/api/bookings/\(other)/confirm", token: admin.token).status == 200)
        hub.settle()
        let queued = reminders(hub)
        #expect(queued.count == before + 1)
        #expect(queued.last?.recipient != hub.email(of: member))
    }
}
