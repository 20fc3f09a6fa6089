import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// The real-time side without sockets: who may read which channel (`Channel.access`), the
/// snapshots `GET /api/events/snapshot` answers, and long-poll pages of history that already
/// exist (`GET /api/events?since=`), which answer at once.
@Suite struct RealtimeInProcessTests {
    private func principal(_ id: String, _ role: Principal.Role) -> Principal {
        Principal(id: id, role: role, tokenID: "family.token", expiresAt: .max, issuedAt: 0)
    }

    // MARK: Channel rules

    @Test func channelNamesRoundTrip() {
        for channel in [Channel.availability, .admin, .space("room-1"), .bookings(userID: "u1"), .payments(userID: "u1")] {
            #expect(Channel(name: channel.name) == channel)
        }
        for bad in ["", "bookings", "bookings:", "payments:", "whatever:1", "admin:1:2x", "availabilities"] {
            #expect(Channel(name: bad) == nil, "\(bad)")
        }
        #expect(Channel(name: "availability:a:b") == .space("a:b"))
    }

    @Test func whoMayReadWhichChannel() {
        let member = principal("u1", .member), admin = principal("a1", .admin)
        let exists: (String) -> Bool = { $0 == "room-1" }
        #expect(Channel.access("availability", principal: nil, spaceExists: exists) == .allowed)
        #expect(Channel.access("availability:room-1", principal: nil, spaceExists: exists) == .allowed)
        #expect(Channel.access("availability:room-2", principal: nil, spaceExists: exists) == .unknown)
        #expect(Channel.access("admin", principal: nil, spaceExists: exists) == .forbidden)
        #expect(Channel.access("admin", principal: member, spaceExists: exists) == .forbidden)
        #expect(Channel.access("admin", principal: admin, spaceExists: exists) == .allowed)
        #expect(Channel.access("bookings:u1", principal: member, spaceExists: exists) == .allowed)
        #expect(Channel.access("payments:u1", principal: member, spaceExists: exists) == .allowed)
        #expect(Channel.access("bookings:u2", principal: member, spaceExists: exists) == .forbidden)
        #expect(Channel.access("payments:u1", principal: nil, spaceExists: exists) == .forbidden)
        #expect(Channel.access("bookings:u2", principal: admin, spaceExists: exists) == .allowed)
        #expect(Channel.access("nonsense", principal: admin, spaceExists: exists) == .unknown)
    }

    @Test func defaultChannelsFollowThePrincipal() {
        #expect(Channel.defaults(for: nil) == [.availability])
        #expect(Channel.defaults(for: principal("u1", .member)) == [.availability, .bookings(userID: "u1"), .payments(userID: "u1")])
        #expect(Channel.defaults(for: principal("a1", .superAdmin)) == [.availability, .admin])
        #expect(Channel.space("r").map(\.name) == ["availability", "availability:r", "admin"])
        #expect(!Channel.bookings(userID: "u").isPublic)
        #expect(Channel.space("r").allSatisfy { $0 == .admin || $0.isPublic })
    }

    // MARK: Snapshots

    @Test func aMembersBookingsSnapshotHoldsTheirLiveBookingsOnly() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member(), other = hub.member()
        let mine = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        _ = try hub.heldID(other, room: room, date: hub.date(inDays: 3))
        let snapshot = hub.request("GET", "/api/events/snapshot?channel=bookings:\(member.id)", token: member.token)
        #expect(snapshot.status == 200)
        #expect(snapshot["channel"]?.stringValue == "bookings:\(member.id)")
        #expect(snapshot["seq"]?.intValue == Int(hub.services.broker.lastSeq))
        #expect(snapshot["epoch"]?.stringValue == hub.services.broker.epoch)
        #expect(snapshot["payload"]?["bookings"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [mine])
        #expect(snapshot.headers["cache-control"] == "no-store")
    }

    @Test func privateSnapshotsAreRefusedToOthers() throws {
        let hub = try TestHub()
        let member = hub.member(), other = hub.member()
        let theirs = hub.request("GET", "/api/events/snapshot?channel=payments:\(member.id)", token: other.token)
        #expect(theirs.status == 403)
        #expect(theirs.errorCode == "forbidden_channel")
        #expect(hub.request("GET", "/api/events/snapshot?channel=admin").errorCode == "forbidden_channel")
        #expect(hub.request("GET", "/api/events/snapshot?channel=bogus").errorCode == "unknown_channel")
        #expect(hub.request("GET", "/api/events/snapshot?channel=availability:nope").errorCode == "unknown_channel")
        // The token may come in the query, as EventSource sends it.
        let byQuery = hub.request("GET", "/api/events/snapshot?channel=payments:\(member.id)&token=\(member.token)")
        #expect(byQuery.status == 200)
        #expect(byQuery["payload"]?["payments"]?.arrayValue?.isEmpty == true)
    }

    @Test func aPaymentsSnapshotListsTheMembersPayments() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        let started = hub.initialize(member, booking: booking, amount: 10_000)
        let snapshot = hub.request("GET", "/api/events/snapshot?channel=payments:\(member.id)", token: member.token)
        #expect(snapshot["payload"]?["payments"]?.arrayValue?.map { $0["id"] } == [started["paymentId"]])
    }

    @Test func aSpaceSnapshotShowsItsDays() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let date = hub.date(inDays: 2)
        _ = try hub.heldID(hub.member(), room: room, date: date)
        let snapshot = hub.request("GET", "/api/events/snapshot?channel=availability:\(room)&date=\(date)&days=2")
        #expect(snapshot.status == 200)
        let payload = snapshot["payload"] ?? .null
        #expect(payload["space"]?["id"]?.stringValue == room)
        let days = payload["days"]?.arrayValue ?? []
        #expect(days.compactMap { $0["date"]?.stringValue } == [date, hub.date(inDays: 3)])
        #expect(days.first?["busy"]?.arrayValue?.count == 1)
        #expect(hub.request("GET", "/api/events/snapshot?channel=availability&days=15").errorCode == "bad_days")
        #expect(hub.request("GET", "/api/events/snapshot?channel=availability&date=x").errorCode == "bad_date")
    }

    @Test func theAvailabilitySnapshotIsTheGridForThatDate() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let date = hub.date(inDays: 2)
        let snapshot = hub.request("GET", "/api/events/snapshot?channel=availability&date=\(date)")
        let grid = hub.request("GET", "/api/spaces/availability/grid?date=\(date)")
        #expect(snapshot["payload"]?["date"]?.stringValue == date)
        #expect(snapshot["payload"]?["spaces"] == grid["spaces"])
        #expect(snapshot["payload"]?["spaces"]?.arrayValue?.contains { $0["spaceId"]?.stringValue == room } == true)
    }

    @Test func withoutAChannelTheSnapshotIsWhereHistoryStands() throws {
        let hub = try TestHub()
        let before = hub.request("GET", "/api/events/snapshot")
        #expect(before["payload"] == nil)
        let seq = try #require(before["seq"]?.intValue)
        hub.openRoom(admin: try hub.admin())
        #expect(hub.request("GET", "/api/events/snapshot")["seq"]?.intValue == seq + 1)
    }

    // MARK: Long-poll over history that exists

    @Test func aLongPollSinceASeqAnswersTheEventsAfterIt() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let since = hub.services.broker.lastSeq
        let room = hub.openRoom(admin: admin)
        _ = try hub.heldID(hub.member(), room: room, date: hub.date(inDays: 2))
        let page = hub.request("GET", "/api/events?channels=availability:\(room)&since=\(since)")
        #expect(page.status == 200)
        let events = try #require(page["events"]?.arrayValue)
        #expect(events.compactMap { $0["type"]?.stringValue } == ["space_updated", "space_availability_changed"])
        #expect(events.allSatisfy { $0["channel"]?.stringValue == "availability:\(room)" })
        #expect(page["next"]?.intValue == events.last?["seq"]?.intValue)
        #expect(page["epoch"]?.stringValue == hub.services.broker.epoch)
    }

    @Test func anAnonymousLongPollNeverCarriesPrivateEvents() throws {
        let hub = try TestHub()
        let since = hub.services.broker.lastSeq
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        hub.initialize(member, booking: booking, amount: 10_000)
        let page = hub.request("GET", "/api/events?since=\(since)")
        let types = Set(page["events"]?.arrayValue?.compactMap { $0["type"]?.stringValue } ?? [])
        #expect(types.contains("space_availability_changed"))
        #expect(!types.contains("booking_updated"))
        // The member's own default channels carry their booking.
        let own = hub.request("GET", "/api/events?since=\(since)", token: member.token)
        let bookingEvents = (own["events"]?.arrayValue ?? []).filter { $0["type"]?.stringValue == "booking_updated" }
        #expect(bookingEvents.first?["channel"]?.stringValue == "bookings:\(member.id)")
        #expect(bookingEvents.first?["payload"]?["id"]?.stringValue == booking)
    }

    @Test func badLongPollsAreRefused() throws {
        let hub = try TestHub()
        let member = hub.member()
        #expect(hub.request("GET", "/api/events?since=-1").errorCode == "bad_since")
        #expect(hub.request("GET", "/api/events?since=abc").errorCode == "bad_since")
        #expect(hub.request("GET", "/api/events?since=0&timeout=0").errorCode == "bad_timeout")
        #expect(hub.request("GET", "/api/events?channels=bookings:\(member.id)").errorCode == "forbidden_channel")
        #expect(hub.request("GET", "/api/events?channels=nope", token: member.token).errorCode == "unknown_channel")
        let stale = hub.request("GET", "/api/events?since=0&epoch=another-epoch")
        #expect(stale.status == 410)
        #expect(stale.errorCode == "resync_required")
        #expect(stale.json["error"]?["epoch"]?.stringValue == hub.services.broker.epoch)
    }
}
