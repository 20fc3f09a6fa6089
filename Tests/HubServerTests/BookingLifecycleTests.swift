import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// What happens to a booking after it is made, in process: who may see and change it,
/// cancellation, confirmation, rescheduling, special requests, and the member's list.
@Suite struct BookingLifecycleTests {
    // MARK: Who sees what

    @Test func othersCannotSeeChangeOrCancelABooking() throws {
        let (hub, admin, _, member, booking) = try TestHub.withHold()
        let stranger = hub.member()
        #expect(hub.request("GET", "/api/bookings/\(booking)", token: stranger.token).status == 404)
        #expect(hub.request("GET", "/api/users/bookings/\(booking)", token: stranger.token).status == 404)
        #expect(hub.request("PUT", "/api/users/bookings/\(booking)", json: ["startTime": "15:00"], token: stranger.token).status == 404)
        #expect(hub.request("PUT", "/api/users/bookings/\(booking)", json: ["specialRequests": "x"], token: stranger.token).status == 404)
        #expect(hub.request("DELETE", "/api/users/bookings/\(booking)", token: stranger.token).status == 404)
        #expect(hub.request("PUT", "/api/bookings/\(booking)/cancel", token: stranger.token).status == 404)
        #expect(hub.request("GET", "/api/bookings/\(booking)").status == 401)
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "pending")
        #expect(hub.request("GET", "/api/bookings/\(booking)", token: admin.token)["userId"]?.stringValue == member.id)
    }

    @Test func anUnknownBookingIsNotFound() throws {
        let (hub, admin, _, member, _) = try TestHub.withHold()
        let id = UUID().uuidString.lowercased()
        #expect(hub.request("GET", "/api/users/bookings/\(id)", token: member.token).status == 404)
        #expect(hub.request("PUT", "/api/bookings/\(id)/confirm", token: admin.token).status == 404)
        #expect(hub.request("PUT", "/api/bookings/\(id)/cancel", token: admin.token).status == 404)
    }

    // MARK: Cancelling

    @Test func cancellingFreesTheSlotAndIsPublished() throws {
        let (hub, _, room, member, booking) = try TestHub.withHold()
        hub.clearEvents()
        let cancelled = hub.request("DELETE", "/api/users/bookings/\(booking)", json: ["reason": "plans changed"], token: member.token)
        #expect(cancelled.status == 200)
        #expect(cancelled["status"]?.stringValue == "cancelled")
        #expect(cancelled["cancelReason"]?.stringValue == "plans changed")
        #expect(cancelled["holdExpiresAt"]?.isNull == true)
        #expect(cancelled["version"]?.intValue == 2)
        #expect(hub.events(.bookingUpdated).map(hub.payload).contains { $0["status"]?.stringValue == "cancelled" })
        #expect(hub.events(.spaceAvailabilityChanged).map(hub.payload).contains { ($0["busy"]?.arrayValue ?? []).isEmpty })
        #expect(hub.outbox("booking-cancelled", to: hub.email(of: member)).count == 1)
        #expect(hub.hold(hub.member(), room: room, date: hub.date(inDays: 3)).status == 201)
    }

    @Test func cancellingTwiceIsAnIllegalTransition() throws {
        let (hub, _, _, member, booking) = try TestHub.withHold()
        #expect(hub.request("PUT", "/api/bookings/\(booking)/cancel", token: member.token).status == 200)
        let again = hub.request("DELETE", "/api/users/bookings/\(booking)", token: member.token)
        #expect(again.status == 409)
        #expect(again.errorCode == "illegal_transition")
        #expect(hub.outbox("booking-cancelled").count == 1)
    }

    @Test func staffCancellingSaysSo() throws {
        let (hub, admin, _, _, booking) = try TestHub.withHold()
        let cancelled = hub.request("PUT", "/api/bookings/\(booking)/cancel", token: admin.token)
        #expect(cancelled["cancelReason"]?.stringValue == "cancelled by staff")
        let audits = try hub.services.storage.reader.scalar(
            "SELECT COUNT(*) FROM audit_logs WHERE resource = 'booking' AND action = 'cancel' AND resource_id = ?", [.text(booking)])
        #expect(audits == 1)
    }

    @Test func anExpiredHoldCannotBeCancelledOrConfirmed() throws {
        let (hub, admin, _, member, booking) = try TestHub.withHold()
        hub.advance(seconds: 15 * 60)
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "expired")
        #expect(hub.outbox("hold-expired", to: hub.email(of: member)).count == 1)
        #expect(hub.request("DELETE", "/api/users/bookings/\(booking)", token: member.token).errorCode == "illegal_transition")
        #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token).errorCode == "illegal_transition")
        #expect(hub.request("PUT", "/api/users/bookings/\(booking)", json: ["startTime": "12:00"], token: member.token).errorCode
                == "not_changeable")
    }

    // MARK: Confirming

    @Test func confirmingIsForAdminsAndHappensOnce() throws {
        let (hub, admin, _, member, booking) = try TestHub.withHold()
        #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm", token: member.token).errorCode == "admin_required")
        hub.clearEvents()
        let confirmed = hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token)
        #expect(confirmed.status == 200)
        #expect(confirmed["holdExpiresAt"]?.isNull == true)
        // The kiosk's block turns from held to booked.
        let day = hub.events(.spaceAvailabilityChanged).map(hub.payload).last
        #expect(day?["busy"]?.arrayValue?.map { $0["status"]?.stringValue } == ["booked"])
        #expect(hub.outbox("booking-confirmation", to: hub.email(of: member)).count == 1)
        let again = hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token)
        #expect(again.status == 409)
        #expect(again.errorCode == "illegal_transition")
    }

    @Test func aConfirmedBookingCanStillBeCancelledButNotAfterItEnded() throws {
        let (hub, admin, _, member, booking) = try TestHub.withHold()
        #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token).status == 200)
        hub.advance(seconds: 4 * 86_400)
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "completed")
        #expect(hub.request("DELETE", "/api/users/bookings/\(booking)", token: member.token).errorCode == "illegal_transition")
    }

    // MARK: Rescheduling

    @Test func aMoveToAFreeSlotReleasesTheOldOne() throws {
        let (hub, _, room, member, booking) = try TestHub.withHold()
        let moved = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["startTime": "14:00", "endTime": "15:00"], token: member.token)
        #expect(moved.status == 200)
        #expect(moved["time"]?.stringValue == "14:00")
        #expect(moved["version"]?.intValue == 2)
        #expect(hub.bookings.changeCounts[.rescheduled] == 1)
        let date = hub.date(inDays: 3)
        #expect(hub.hold(hub.member(), room: room, date: date, from: "10:00", to: "11:00").status == 201)
        #expect(hub.hold(hub.member(), room: room, date: date, from: "14:00", to: "15:00").errorCode == "booking_conflict")
    }

    @Test func aMoveIntoAConflictKeepsTheOldSlot() throws {
        let (hub, _, room, member, booking) = try TestHub.withHold()
        let date = hub.date(inDays: 3)
        _ = try hub.heldID(hub.member(), room: room, date: date, from: "14:00", to: "15:00")
        let refused = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["startTime": "14:30"], token: member.token)
        #expect(refused.status == 409)
        #expect(refused.errorCode == "booking_conflict")
        let kept = hub.booking(booking, as: member)
        #expect(kept["time"]?.stringValue == "10:00")
        #expect(kept["version"]?.intValue == 1)
        #expect(hub.hold(hub.member(), room: room, date: date).errorCode == "booking_conflict")
    }

    @Test func aMoveOnlyOfTheDateKeepsTheTimesAndLength() throws {
        let (hub, _, _, member, booking) = try TestHub.withHold()
        let moved = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["date": .string(hub.date(inDays: 6))], token: member.token)
        #expect(moved.status == 200)
        #expect(moved["date"]?.stringValue == hub.date(inDays: 6))
        #expect(moved["time"]?.stringValue == "10:00")
        #expect(moved["endTime"]?.stringValue == "11:00")
    }

    @Test func aMoveKeepsToTheRulesAndToItsSpace() throws {
        let (hub, admin, _, member, booking) = try TestHub.withHold()
        let path = "/api/users/bookings/\(booking)"
        #expect(hub.request("PUT", path, json: ["date": .string(hub.date(inDays: -1))], token: member.token).errorCode == "in_the_past")
        #expect(hub.request("PUT", path, json: ["endTime": "09:00"], token: member.token).errorCode == "end_before_start")
        let other = hub.openRoom(admin: admin)
        let elsewhere = hub.request("PUT", path, json: ["spaceId": .string(other), "startTime": "12:00"], token: member.token)
        #expect(elsewhere.errorCode == "space_change_not_allowed")
        #expect(hub.request("PUT", path, json: [:], token: member.token).errorCode == "nothing_to_change")
        #expect(hub.booking(booking, as: member)["version"]?.intValue == 1)
    }

    @Test func specialRequestsChangeWithoutMovingAndCanBeCleared() throws {
        let (hub, _, _, member, booking) = try TestHub.withHold()
        let set = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["specialRequests": "a projector"], token: member.token)
        #expect(set.status == 200)
        #expect(set["specialRequests"]?.stringValue == "a projector")
        #expect(set["time"]?.stringValue == "10:00")
        #expect(hub.bookings.changeCounts[.updated] == 1)
        let cleared = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["specialRequests": .null], token: member.token)
        #expect(cleared["specialRequests"]?.isNull == true)
        let bad = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["specialRequests": 3], token: member.token)
        #expect(bad.errorCode == "bad_special_requests")
    }

    @Test func aBookingThatHasStartedCannotMove() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 0), from: "09:30", to: "12:00")
        #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token).status == 200)
        hub.advance(seconds: 3600)  // 10:00: under way
        let answer = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["startTime": "11:00"], token: member.token)
        #expect(answer.status == 409)
        #expect(answer.errorCode == "not_changeable")
    }

    // MARK: The member's list

    @Test func theListPagesNewestFirstAndFiltersByStatus() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        var ids: [String] = []
        for day in 1...5 {
            ids.append(try hub.heldID(member, room: room, date: hub.date(inDays: day)))
            hub.clock.advance(seconds: 1)  // distinct creation times
        }
        _ = try hub.heldID(hub.member(), room: room, date: hub.date(inDays: 6))
        #expect(hub.request("DELETE", "/api/users/bookings/\(ids[0])", token: member.token).status == 200)

        let first = hub.request("GET", "/api/users/bookings?limit=2", token: member.token)
        #expect(first["total"]?.intValue == 5)
        #expect(first["pages"]?.intValue == 3)
        #expect(first["page"]?.intValue == 1)
        #expect(first["bookings"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [ids[4], ids[3]])
        let last = hub.request("GET", "/api/users/bookings?limit=2&page=3", token: member.token)
        #expect(last["bookings"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [ids[0]])
        let beyond = hub.request("GET", "/api/users/bookings?limit=2&page=4", token: member.token)
        #expect(beyond["bookings"]?.arrayValue?.isEmpty == true)

        let cancelled = hub.request("GET", "/api/users/bookings?status=cancelled", token: member.token)
        #expect(cancelled["total"]?.intValue == 1)
        #expect(cancelled["bookings"]?.arrayValue?.first?["id"]?.stringValue == ids[0])
        #expect(hub.request("GET", "/api/users/bookings", token: member.token)["limit"]?.intValue == 10)
    }

    @Test(arguments: [("page=0", "bad_page"), ("page=x", "bad_page"), ("limit=0", "bad_limit"), ("limit=101", "bad_limit"),
                      ("status=lost", "bad_status")])
    func badListQueriesAreRefused(query: String, code: String) throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/api/users/bookings?\(query)", token: hub.member().token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
    }
}
