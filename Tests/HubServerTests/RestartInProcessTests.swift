import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// What a restart keeps and settles, in process: a second `TestHub` over the first one's SQLite
/// file (`TestHub(reopening:)`), its clock where the first one's stopped or later.
@Suite struct RestartInProcessTests {
    @Test func bookingsSurviveARestartAndStillHoldTheirSlots() throws {
        var room = "", booking = "", date = ""
        var member: TestHub.Member?
        let hub = try TestHub.restarted { hub in
            let admin = try hub.admin()
            room = hub.openRoom(admin: admin)
            member = hub.member()
            date = hub.date(inDays: 3)
            booking = try hub.heldID(member!, room: room, date: date)
            #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token).status == 200)
        }
        let owner = try #require(member)
        #expect(hub.booking(booking, as: owner)["status"]?.stringValue == "confirmed")  // the token outlives the restart
        #expect(hub.hold(hub.member(), room: room, date: date).errorCode == "booking_conflict")
        #expect(hub.request("GET", "/api/event-spaces/\(room)").status == 200)
    }

    @Test func aHoldThatLapsedWhileTheHubWasDownIsExpiredAtStart() throws {
        var room = "", booking = "", date = ""
        var member: TestHub.Member?
        let hub = try TestHub.restarted(after: 3600) { hub in
            room = hub.openRoom(admin: try hub.admin())
            member = hub.member()
            date = hub.date(inDays: 3)
            booking = try hub.heldID(member!, room: room, date: date)
        }
        hub.settle()
        let owner = try #require(member)
        #expect(hub.booking(booking, as: owner)["status"]?.stringValue == "expired")
        #expect(hub.outbox("hold-expired", to: hub.email(of: owner)).count == 1)
        #expect(hub.hold(hub.member(), room: room, date: date).status == 201)
    }

    @Test func aHoldStillValidAtTheRestartLapsesOnTime() throws {
        var booking = ""
        var member: TestHub.Member?
        let hub = try TestHub.restarted(after: 5 * 60) { hub in
            let room = hub.openRoom(admin: try hub.admin())
            member = hub.member()
            booking = try hub.heldID(member!, room: room, date: hub.date(inDays: 3))
        }
        let owner = try #require(member)
        #expect(hub.booking(booking, as: owner)["status"]?.stringValue == "pending")
        hub.advance(seconds: 10 * 60 - 1)
        #expect(hub.booking(booking, as: owner)["status"]?.stringValue == "pending")
        hub.advance(seconds: 1)
        #expect(hub.booking(booking, as: owner)["status"]?.stringValue == "expired")
    }

    @Test func theEventHistoryContinuesUnderTheSameEpoch() throws {
        var epoch = "", seq: Int64 = 0
        let hub = try TestHub.restarted { hub in
            hub.openRoom(admin: try hub.admin())
            epoch = hub.services.broker.epoch
            seq = hub.services.broker.lastSeq
        }
        #expect(hub.services.broker.epoch == epoch)
        #expect(hub.services.broker.lastSeq == seq)
        let page = hub.request("GET", "/api/events?since=\(seq - 1)&epoch=\(epoch)")
        #expect(page["events"]?.arrayValue?.first?["type"]?.stringValue == "space_updated")
    }

    @Test func aSuspensionSurvivesARestart() throws {
        var member: TestHub.Member?
        let hub = try TestHub.restarted { hub in
            let admin = try hub.admin()
            member = hub.member()
            #expect(hub.request("PUT", "/api/admin/users/\(member!.id)", json: ["status": "suspended", "reason": "fraud"],
                                token: admin.token).status == 200)
        }
        let suspended = try #require(member)
        #expect(hub.request("GET", "/api/auth/me", token: suspended.token).errorCode == "account_suspended")
    }

    @Test func aLiveSettingSurvivesARestart() throws {
        let hub = try TestHub.restarted { hub in
            let admin = try hub.admin()
            #expect(hub.request("PUT", "/api/admin/settings", json: ["holdMinutes": 7], token: admin.token).status == 200)
        }
        #expect(hub.services.bookings.settings.holdMinutes == 7)
        let room = hub.openRoom(admin: try hub.admin())
        let answer = hub.hold(hub.member(), room: room, date: hub.date(inDays: 2))
        #expect(answer["holdExpiresAt"]?.stringValue == UTC.iso8601(hub.clock.seconds + 7 * 60))
    }
}
