import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// ICS feeds in process: a member's feed URL (created, rotated, revoked) and a space's public
/// busy feed. Feeds choose bookings by the wall clock, so these hubs start at the real time.
@Suite struct CalendarFeedInProcessTests {
    private func setUp() throws -> (hub: TestHub, room: String, member: TestHub.Member, booking: String) {
        let hub = try TestHub(startingAt: WallClock.milliseconds())
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        return (hub, room, member, booking)
    }

    private func text(_ answer: TestHub.Answer) -> String { String(decoding: answer.body, as: UTF8.self) }

    @Test func aMembersFeedListsTheirBookings() throws {
        let (hub, _, member, booking) = try setUp()
        let created = hub.request("POST", "/api/calendar/feeds", token: member.token)
        #expect(created.status == 201)
        let token = try #require(created["token"]?.stringValue)
        #expect(created["url"]?.stringValue?.hasSuffix("/api/calendar/feeds/\(token).ics") == true)
        #expect(created["webcalUrl"]?.stringValue?.hasPrefix("webcal://") == true)
        let feed = hub.request("GET", "/api/calendar/feeds/\(token).ics")
        #expect(feed.status == 200)
        #expect(feed.headers["content-type"]?.hasPrefix("text/calendar") == true)
        #expect(feed.headers["x-robots-tag"] == "noindex")
        let ics = text(feed)
        #expect(ics.hasPrefix("BEGIN:VCALENDAR"))
        #expect(ics.contains("UID:\(booking)@spacehub"))
        #expect(ics.contains("STATUS:TENTATIVE"))
    }

    @Test func rotatingAFeedRetiresTheOldURLAndRevokingEndsIt() throws {
        let (hub, _, member, _) = try setUp()
        let first = try #require(hub.request("POST", "/api/calendar/feeds", token: member.token)["token"]?.stringValue)
        let second = try #require(hub.request("POST", "/api/calendar/feeds", token: member.token)["token"]?.stringValue)
        #expect(first != second)
        #expect(hub.request("GET", "/api/calendar/feeds/\(first).ics").status == 404)
        #expect(hub.request("GET", "/api/calendar/feeds/\(second).ics").status == 200)
        let revoked = hub.request("DELETE", "/api/calendar/feeds", token: member.token)
        #expect(revoked["success"]?.boolValue == true)
        #expect(hub.request("GET", "/api/calendar/feeds/\(second).ics").status == 404)
        #expect(hub.request("GET", "/api/calendar/feeds/made-up.ics").status == 404)
    }

    @Test func aSpacesFeedShowsBusyTimesWithoutMembers() throws {
        let (hub, room, member, booking) = try setUp()
        let feed = hub.request("GET", "/api/calendar/spaces/\(room).ics")
        #expect(feed.status == 200)
        let ics = text(feed)
        #expect(ics.contains("SUMMARY:Held"))
        #expect(!ics.contains(booking))
        #expect(!ics.contains(hub.email(of: member)))
        #expect(hub.request("GET", "/api/calendar/spaces/nope.ics").status == 404)
    }

    @Test func aCancelledBookingStaysInTheFeedAsCancelled() throws {
        let (hub, _, member, booking) = try setUp()
        let token = try #require(hub.request("POST", "/api/calendar/feeds", token: member.token)["token"]?.stringValue)
        #expect(hub.request("DELETE", "/api/users/bookings/\(booking)", token: member.token).status == 200)
        let ics = text(hub.request("GET", "/api/calendar/feeds/\(token).ics"))
        #expect(ics.contains("STATUS:CANCELLED"))
        #expect(ics.contains("SEQUENCE:2"))
    }

    @Test func calendarConnectionsNeedAKey() throws {
        let (hub, _, member, _) = try setUp()
        let answer = hub.request("POST", "/api/calendar/connect", json: ["provider": "google", "authCode": "x"], token: member.token)
        #expect(answer.status == 503)
        #expect(answer.errorCode == "calendar_not_configured")
    }
}
