import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// The REST contract of reading and changing bookings beyond `BookingLifecycleTests`: the member's
/// list (its shape, the bounds of `page` and `limit`, every status filter, only one's own
/// bookings), one booking's JSON on both paths, who may use the member routes, cancellation
/// reasons, what a move does to price, hold and published days, confirmation's audit, and the
/// parameters of `check-conflicts`, `/api/spaces/availability` and its grid. The clock starts on
/// Friday 2027-01-15, 09:00 in Lagos.
@Suite struct BookingReadsContractTests {
    private func ids(_ answer: TestHub.Answer) -> [String] {
        answer["bookings"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }

    // MARK: The member's list

    @Test func anEmptyListStillHasItsWholeShape() throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/api/users/bookings", token: hub.member().token)
        #expect(answer.status == 200)
        #expect(answer["bookings"]?.arrayValue?.isEmpty == true)
        #expect(answer["total"]?.intValue == 0)
        #expect(answer["page"]?.intValue == 1)
        #expect(answer["limit"]?.intValue == 10)
        #expect(answer["pages"]?.intValue == 0)
    }

    @Test(arguments: [("limit=1", 1, 1), ("limit=100", 1, 100), ("page=1000000", 1_000_000, 10), ("page=2&limit=5", 2, 5)])
    func pagesAndLimitsWithinTheirBoundsAreEchoed(query: String, page: Int, limit: Int) throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/api/users/bookings?\(query)", token: hub.member().token)
        #expect(answer.status == 200)
        #expect(answer["page"]?.intValue == page)
        #expect(answer["limit"]?.intValue == limit)
    }

    @Test(arguments: [("page=1000001", "bad_page", "page"), ("page=-1", "bad_page", "page"), ("page=", "bad_page", "page"),
                      ("limit=-5", "bad_limit", "limit"), ("limit=1.5", "bad_limit", "limit"), ("limit=", "bad_limit", "limit")])
    func pagesAndLimitsOutsideTheirBoundsAreRefusedNotClamped(query: String, code: String, field: String) throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/api/users/bookings?\(query)", token: hub.member().token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == field)
    }

    @Test func everyStatusFilterFindsItsBookings() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let lapsing = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        hub.advance(seconds: 600)
        let cancelled = try hub.heldID(member, room: room, date: hub.date(inDays: 3))
        let confirmed = try hub.heldID(member, room: room, date: hub.date(inDays: 4))
        #expect(hub.request("DELETE", "/api/users/bookings/\(cancelled)", token: member.token).status == 200)
        #expect(hub.request("PUT", "/api/bookings/\(confirmed)/confirm", token: admin.token).status == 200)
        let pending = try hub.heldID(member, room: room, date: hub.date(inDays: 5))
        hub.advance(seconds: 360)  // the first hold lapses, the last one does not
        let expected = ["pending": [pending], "confirmed": [confirmed], "cancelled": [cancelled], "expired": [lapsing], "completed": []]
        for (status, wanted) in expected {
            let answer = hub.request("GET", "/api/users/bookings?status=\(status)", token: member.token)
            #expect(ids(answer) == wanted, "\(status)")
            #expect(answer["total"]?.intValue == wanted.count, "\(status)")
        }
        // An empty filter is no filter.
        #expect(hub.request("GET", "/api/users/bookings?status=", token: member.token)["total"]?.intValue == 4)
    }

    @Test func theListHoldsOnlyTheCallersOwnBookings() throws {
        let (hub, _, room, member, booking) = try TestHub.withHold()
        let other = hub.member()
        let theirs = try hub.heldID(other, room: room, date: hub.date(inDays: 4))
        #expect(ids(hub.request("GET", "/api/users/bookings", token: member.token)) == [booking])
        #expect(ids(hub.request("GET", "/api/users/bookings", token: other.token)) == [theirs])
        #expect(hub.request("GET", "/api/users/bookings").status == 401)
    }

    // MARK: One booking

    @Test func oneBookingReadsTheSameOnBothPathsAndInTheList() throws {
        let (hub, _, room, member, booking) = try TestHub.withHold()
        let date = hub.date(inDays: 3)
        let shown = hub.request("GET", "/api/users/bookings/\(booking)", token: member.token)
        #expect(shown.status == 200)
        let expected: [String: JSON] = [
            "id": .string(booking), "type": "event", "date": .string(date), "time": "10:00", "duration": "1 hour",
            "status": "pending", "paymentStatus": "pending", "spaceId": .string(room), "userId": .string(member.id), "endTime": "11:00",
            "startsAt": .string("\(date)T10:00:00+01:00"), "endsAt": .string("\(date)T11:00:00+01:00"), "timeZone": "Africa/Lagos",
            "currency": "NGN", "specialRequests": .null, "paymentReference": .null, "refundDue": false, "cancelReason": .null,
            "createdAt": .string(UTC.iso8601(hub.clock.seconds)), "version": 1,
        ]
        for (field, value) in expected { #expect(shown[field] == value, "\(field)") }
        #expect(money(shown["amount"]) == "10000")
        #expect(shown["spaceName"]?.stringValue == hub.services.catalog[room]?.name)
        #expect(shown["holdExpiresAt"]?.stringValue == UTC.iso8601(hub.clock.seconds + 15 * 60))
        #expect(hub.request("GET", "/api/bookings/\(booking)", token: member.token).json == shown.json)
        #expect(hub.request("GET", "/api/users/bookings", token: member.token)["bookings"]?.arrayValue?.first == shown.json)
    }

    @Test func staffReadAnyBookingButNotThroughTheMemberRoutes() throws {
        let (hub, admin, _, member, booking) = try TestHub.withHold()
        #expect(hub.request("GET", "/api/bookings/\(booking)", token: admin.token)["userId"]?.stringValue == member.id)
        for (method, body) in [("GET", JSON?.none), ("PUT", ["specialRequests": "from the desk"]), ("DELETE", nil)] {
            let answer = hub.request(method, "/api/users/bookings/\(booking)", json: body, token: admin.token)
            #expect(answer.status == 403, "\(method)")
            #expect(answer.errorCode == "members_only", "\(method)")
        }
        let kept = hub.booking(booking, as: member)
        #expect(kept["status"]?.stringValue == "pending")
        #expect(kept["specialRequests"]?.isNull == true)
    }

    // MARK: Cancelling

    @Test func aMemberCancellingWithoutAReasonIsSaidToHaveCancelled() throws {
        let (hub, _, _, member, booking) = try TestHub.withHold()
        let cancelled = hub.request("PUT", "/api/bookings/\(booking)/cancel", token: member.token)
        #expect(cancelled.status == 200)
        #expect(cancelled["cancelReason"]?.stringValue == "cancelled by member")
        // A member's own cancellation is not a staff action: nothing is audited.
        let audits = try hub.services.storage.reader.scalar("SELECT COUNT(*) FROM audit_logs WHERE resource_id = ?", [.text(booking)])
        #expect(audits == 0)
    }

    @Test(arguments: [JSON.int(5), .string("x"), .object(["reason": .int(7)])])
    func aCancelBodyThatIsNotAReasonIsIgnored(body: JSON) throws {
        let (hub, _, _, member, booking) = try TestHub.withHold()
        let cancelled = hub.request("DELETE", "/api/users/bookings/\(booking)", json: body, token: member.token)
        #expect(cancelled.status == 200)
        #expect(cancelled["status"]?.stringValue == "cancelled")
        #expect(cancelled["cancelReason"]?.stringValue == "cancelled by member")
    }

    @Test func aLongCancelReasonIsCutTo500Characters() throws {
        let (hub, _, _, member, booking) = try TestHub.withHold()
        let reason = String(repeating: "é", count: 600)
        let cancelled = hub.request("PUT", "/api/bookings/\(booking)/cancel", json: ["reason": .string(reason)], token: member.token)
        #expect(cancelled["cancelReason"]?.stringValue == String(repeating: "é", count: 500))
        #expect(hub.stored(booking)?.cancelReason?.count == 500)
    }

    // MARK: Moving

    @Test func aLongerMoveIsRepricedAndKeepsItsHoldExpiry() throws {
        let (hub, _, _, member, booking) = try TestHub.withHold()
        let before = hub.booking(booking, as: member)
        hub.clock.advance(seconds: 60)
        let moved = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["endTime": "12:00"], token: member.token)
        #expect(moved.status == 200)
        #expect(money(moved["amount"]) == "20000")
        #expect(moved["duration"]?.stringValue == "2 hours")
        #expect(moved["endTime"]?.stringValue == "12:00")
        #expect(moved["status"]?.stringValue == "pending")
        #expect(moved["holdExpiresAt"] == before["holdExpiresAt"])  // a move does not extend the hold
        #expect(moved["updatedAt"]?.stringValue == UTC.iso8601(hub.clock.seconds))
        #expect(moved["createdAt"] == before["createdAt"])
    }

    @Test func aMoveToAnotherDayPublishesBothDays() throws {
        let (hub, _, room, member, booking) = try TestHub.withHold()
        let from = hub.date(inDays: 3), to = hub.date(inDays: 5)
        hub.clearEvents()
        #expect(hub.request("PUT", "/api/users/bookings/\(booking)", json: ["date": .string(to)], token: member.token).status == 200)
        let days = hub.events(.spaceAvailabilityChanged).map(hub.payload).filter { $0["spaceId"]?.stringValue == room }
        let byDate = Dictionary(days.compactMap { day in day["date"]?.stringValue.map { ($0, day) } }, uniquingKeysWith: { $1 })
        #expect(Set(byDate.keys) == [from, to])
        #expect(byDate[from]?["busy"]?.arrayValue?.isEmpty == true)
        #expect(byDate[to]?["busy"]?.arrayValue?.first?["start"]?.stringValue == "\(to)T10:00:00+01:00")
        #expect(hub.events(.bookingUpdated).map(hub.payload).last?["date"]?.stringValue == to)
    }

    @Test func aConfirmedBookingMovesAndStaysConfirmed() throws {
        let (hub, admin, room, member, booking) = try TestHub.withHold()
        #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token).status == 200)
        let moved = hub.request("PUT", "/api/users/bookings/\(booking)", json: ["startTime": "15:00"], token: member.token)
        #expect(moved.status == 200)
        #expect(moved["status"]?.stringValue == "confirmed")
        #expect(moved["time"]?.stringValue == "15:00")
        #expect(moved["endTime"]?.stringValue == "16:00")
        let day = hub.request("GET", "/api/spaces/availability?spaceId=\(room)&date=\(hub.date(inDays: 3))")
        #expect(day["busy"]?.arrayValue?.map { $0["status"]?.stringValue } == ["booked"])
    }

    // MARK: Confirming

    @Test func aConfirmationIsAuditedWithTheStatusBeforeAndAfter() throws {
        let (hub, admin, _, _, booking) = try TestHub.withHold()
        #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm").status == 401)
        #expect(hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token).status == 200)
        let logs = hub.request("GET", "/api/admin/audit-logs?resource=booking", token: admin.token)
        let entry = try #require(logs["logs"]?.arrayValue?.first)
        #expect(entry["action"]?.stringValue == "confirm")
        #expect(entry["resourceId"]?.stringValue == booking)
        #expect(entry["adminId"]?.stringValue == admin.id)
        #expect(entry["oldValues"]?["status"]?.stringValue == "pending")
        #expect(entry["newValues"]?["status"]?.stringValue == "confirmed")
    }

    @Test func aCancelledBookingCannotBeConfirmed() throws {
        let (hub, admin, _, member, booking) = try TestHub.withHold()
        #expect(hub.request("DELETE", "/api/users/bookings/\(booking)", token: member.token).status == 200)
        let answer = hub.request("PUT", "/api/bookings/\(booking)/confirm", token: admin.token)
        #expect(answer.status == 409)
        #expect(answer.errorCode == "illegal_transition")
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "cancelled")
    }

    // MARK: check-conflicts and availability parameters

    @Test(arguments: [("type", "bad_type"), ("spaceId", "missing_space"), ("endTime", "missing_end"), ("startTime", "bad_time")])
    func checkConflictsNamesWhatTheBodyLacks(missing: String, code: String) throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        var body: JSONObject = ["type": "event", "spaceId": .string(room), "date": .string(hub.date(inDays: 3)),
                                "startTime": "10:00", "endTime": "11:00"]
        body[missing] = nil
        let answer = hub.request("POST", "/api/bookings/check-conflicts", json: .object(body))
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == missing)
    }

    @Test(arguments: [(3, "10:00", "10:30", "too_short"), (3, "11:00", "10:00", "end_before_start"),
                      (400, "10:00", "11:00", "beyond_horizon")])
    func checkConflictsAnswersARangeTheRulesRefuseAsUnavailable(days: Int, from: String, to: String, code: String) throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin(), extra: ["minDurationMinutes": 60])
        let answer = hub.request("POST", "/api/bookings/check-conflicts", json: [
            "type": "event", "spaceId": .string(room), "date": .string(hub.date(inDays: days)), "startTime": .string(from),
            "endTime": .string(to),
        ])
        #expect(answer.status == 200)
        #expect(answer["available"]?.boolValue == false)
        #expect(answer["hasConflicts"]?.boolValue == false)
        #expect(answer["reason"]?["code"]?.stringValue == code)
        #expect(hub.bookings.live.isEmpty)
    }

    @Test func checkConflictsPricesAFreeRangeAndCountsTheCallersOwnHold() throws {
        let (hub, _, room, member, _) = try TestHub.withHold()
        let date = hub.date(inDays: 3)
        let body: JSON = ["type": "event", "spaceId": .string(room), "date": .string(date), "startTime": "13:00", "endTime": "15:30"]
        let free = hub.request("POST", "/api/bookings/check-conflicts", json: body)
        #expect(money(free["amount"]) == "25000")
        #expect(free["currency"]?.stringValue == "NGN")
        #expect(free["requested"]?["start"]?.stringValue == "\(date)T13:00:00+01:00")
        #expect(free["conflicts"]?.arrayValue?.isEmpty == true)
        let own = hub.request("POST", "/api/bookings/check-conflicts", json: [
            "type": "event", "spaceId": .string(room), "date": .string(date), "startTime": "10:30", "endTime": "11:30",
        ], token: member.token)
        #expect(own["available"]?.boolValue == false)
        #expect(own["conflicts"]?.arrayValue?.first?["start"]?.stringValue == "\(date)T10:00:00+01:00")
        let notAnObject = hub.request("POST", "/api/bookings/check-conflicts", json: .string("x"))
        #expect(notAnObject.status == 400)
        #expect(notAnObject.errorCode == "invalid_json")
    }

    @Test(arguments: [("", "bad_date"), ("&date=DATE&startTime=10:00&duration=forever", "bad_duration"),
                      ("&date=DATE&startTime=10:00", "missing_end"), ("&date=DATE&startTime=10:00&endTime=25:00", "bad_time")])
    func availabilityQueriesAreChecked(suffix: String, code: String) throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let query = suffix.replacingOccurrences(of: "DATE", with: hub.date(inDays: 3))
        let answer = hub.request("GET", "/api/spaces/availability?spaceId=\(room)\(query)")
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
    }

    @Test func theGridCoversUpToFourteenDaysAndRefusesAnEmptyDate() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let grid = hub.request("GET", "/api/spaces/availability/grid?date=\(hub.date(inDays: 1))&days=14")
        #expect(grid.status == 200)
        let ours = grid["spaces"]?.arrayValue?.first { $0["spaceId"]?.stringValue == room }
        let dates = ours?["days"]?.arrayValue?.compactMap { $0["date"]?.stringValue } ?? []
        #expect(dates.count == 14)
        #expect(dates.last == hub.date(inDays: 14))
        #expect(hub.request("GET", "/api/spaces/availability/grid")["days"]?.intValue == 1)
        #expect(hub.request("GET", "/api/spaces/availability/grid?date=").errorCode == "bad_date")
    }
}
