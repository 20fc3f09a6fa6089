import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// What `POST /api/bookings` accepts and refuses, in process with the manual clock: the body's
/// validation, the rules every booking obeys (`BookingPolicy`: past, horizon, duration, hours,
/// blackouts, local times), holds per member, idempotency keys, conflicts and buffers, prices,
/// and what a new hold publishes. The clock starts on Friday 2027-01-15, 09:00 in Lagos.
@Suite struct BookingRulesTests {
    /// A room with the default hours (Mon–Fri 08:00–20:00, Sat 09:00–17:00, closed Sundays),
    /// at least 30 minutes, at most 12 hours.
    private func standardRoom(_ hub: TestHub, admin: TestHub.Member, extra: JSONObject = [:]) -> String {
        var body: JSONObject = ["name": "Board Room", "capacity": 8, "price": 10_000]
        for member in extra { body[member.key] = member.value }
        let answer = hub.request("POST", "/api/event-spaces", json: .object(body), token: admin.token)
        #expect(answer.status == 201)
        return answer["id"]?.stringValue ?? ""
    }

    /// The first date from `inDays` on that falls on `weekday` (1 Monday … 7 Sunday).
    private func next(_ hub: TestHub, weekday: Int, from days: Int = 1) -> String {
        var date = Zone.lagos.local(hub.clock.seconds).date.adding(days: days)
        while date.weekday != weekday { date = date.adding(days: 1) }
        return date.description
    }

    private func book(_ hub: TestHub, _ member: TestHub.Member, _ body: JSONObject, headers: [(String, String)] = []) -> TestHub.Answer {
        hub.request("POST", "/api/bookings", json: .object(body), token: member.token, headers: headers)
    }

    private func event(_ room: String, _ date: String, _ from: String = "10:00", _ to: String = "11:00") -> JSONObject {
        ["type": "event", "spaceId": .string(room), "date": .string(date), "startTime": .string(from), "endTime": .string(to)]
    }

    // MARK: The body

    @Test(arguments: [
        ("type", JSON.string("party"), "bad_type", "type"),
        ("spaceId", .string(""), "missing_space", "spaceId"),
        ("date", .string("2027-02-30"), "bad_date", "date"),
        ("date", .string("tomorrow"), "bad_date", "date"),
        ("startTime", .string("25:00"), "bad_time", "startTime"),
        ("startTime", .string("24:00"), "bad_time", "startTime"),
        ("endTime", .string("10:7"), "bad_time", "endTime"),
        ("endTime", .null, "missing_end", "endTime"),
        ("specialRequests", .int(5), "bad_special_requests", "specialRequests"),
        ("specialRequests", .string(String(repeating: "x", count: 1001)), "too_long", "specialRequests"),
    ])
    func malformedBodiesNameTheField(field: String, value: JSON, code: String, named: String) throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        var body = event(room, hub.date(inDays: 3))
        body[field] = value
        let answer = book(hub, hub.member(), body)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == named)
        #expect(hub.bookings.live.isEmpty)
    }

    @Test func aBadDurationIsRefused() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        var body = event(room, hub.date(inDays: 3))
        body["endTime"] = nil
        body["duration"] = "forever"
        #expect(book(hub, hub.member(), body).errorCode == "bad_duration")
        body["duration"] = "2 hours"
        let answer = book(hub, hub.member(), body)
        #expect(answer.status == 201)
        #expect(answer["endTime"]?.stringValue == "12:00")
        #expect(answer["duration"]?.stringValue == "2 hours")
    }

    @Test func anUnknownSpaceOrTheWrongTypeIsRefused() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        #expect(book(hub, member, event("no-such-room", hub.date(inDays: 3))).errorCode == "unknown_space")
        var coworking = event(room, hub.date(inDays: 3))
        coworking["type"] = "coworking"
        #expect(book(hub, member, coworking).errorCode == "type_mismatch")
    }

    @Test func onlySignedInMembersBook() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let body = JSON.object(event(room, hub.date(inDays: 3)))
        #expect(hub.request("POST", "/api/bookings", json: body).status == 401)
        #expect(hub.request("POST", "/api/bookings", json: body, token: admin.token).errorCode == "members_only")
    }

    // MARK: The rules

    @Test func aStartInThePastIsRefused() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let today = hub.date(inDays: 0)
        let past = book(hub, member, event(room, today, "08:00", "10:00"))  // it is 09:00
        #expect(past.errorCode == "in_the_past")
        #expect(past.json["error"]?["field"]?.stringValue == "startTime")
        #expect(book(hub, member, event(room, hub.date(inDays: -1))).errorCode == "in_the_past")
        #expect(book(hub, member, event(room, today, "09:00", "10:00")).status == 201)  // now is not the past
    }

    @Test func bookingsOpenOnlyAsFarAheadAsTheHorizon() throws {
        let hub = try TestHub { $0.bookings.horizonDays = 30 }
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let far = book(hub, member, event(room, hub.date(inDays: 31)))
        #expect(far.errorCode == "beyond_horizon")
        #expect(far.json["error"]?["field"]?.stringValue == "date")
        #expect(book(hub, member, event(room, hub.date(inDays: 29))).status == 201)
    }

    @Test func theEndMustComeAfterTheStart() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        #expect(book(hub, member, event(room, hub.date(inDays: 3), "11:00", "10:00")).errorCode == "end_before_start")
        #expect(book(hub, member, event(room, hub.date(inDays: 3), "11:00", "11:00")).errorCode == "end_before_start")
    }

    @Test func bookingsKeepToTheSpacesMinimumAndMaximum() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin(), extra: ["minDurationMinutes": 60, "maxDurationMinutes": 120])
        let member = hub.member()
        let date = hub.date(inDays: 3)
        #expect(book(hub, member, event(room, date, "10:00", "10:45")).errorCode == "too_short")
        #expect(book(hub, member, event(room, date, "10:00", "12:01")).errorCode == "too_long")
        #expect(book(hub, member, event(room, date, "10:00", "12:00")).status == 201)
        #expect(book(hub, member, event(room, date, "13:00", "14:00")).status == 201)
    }

    @Test func bookingsKeepToTheOpeningHours() throws {
        let hub = try TestHub()
        let room = standardRoom(hub, admin: try hub.admin())
        let member = hub.member()
        let monday = next(hub, weekday: 1), saturday = next(hub, weekday: 6), sunday = next(hub, weekday: 7)
        for (date, from, to) in [(sunday, "10:00", "11:00"), (monday, "07:00", "09:00"), (monday, "19:00", "21:00"),
                                 (saturday, "16:30", "17:30")] {
            let answer = book(hub, member, event(room, date, from, to))
            #expect(answer.errorCode == "outside_opening_hours", "\(date) \(from)–\(to)")
        }
        #expect(book(hub, member, event(room, monday, "08:00", "09:00")).status == 201)
        #expect(book(hub, member, event(room, monday, "19:00", "20:00")).status == 201)
        #expect(book(hub, member, event(room, saturday, "09:00", "10:00")).status == 201)
    }

    @Test func aBlackoutDateClosesTheSpaceThatDay() throws {
        let hub = try TestHub()
        let blackout = hub.date(inDays: 4)
        let room = hub.openRoom(admin: try hub.admin(), extra: ["blackoutDates": [.string(blackout)], "maxDurationMinutes": 4320])
        let member = hub.member()
        let closed = book(hub, member, event(room, blackout))
        #expect(closed.errorCode == "blackout_date")
        // A range across the blackout is refused too, though its first day is open.
        var across = event(room, hub.date(inDays: 3), "12:00", "12:00")
        across["endTime"] = nil
        across["duration"] = "2 days"
        #expect(book(hub, member, across).errorCode == "blackout_date")
        #expect(book(hub, member, event(room, hub.date(inDays: 5))).status == 201)
    }

    @Test func localTimesThatDoNotExistOrRepeatAreRefused() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin(), extra: ["timeZone": "Europe/London"])
        let member = hub.member()
        // 2027-03-28 01:00 → 02:00 in London; 2027-10-31 02:00 → 01:00.
        #expect(book(hub, member, event(room, "2027-03-28", "01:30", "03:00")).errorCode == "nonexistent_local_time")
        #expect(book(hub, member, event(room, "2027-10-31", "01:30", "03:00")).errorCode == "ambiguous_local_time")
        let fine = book(hub, member, event(room, "2027-03-28", "03:00", "04:00"))
        #expect(fine.status == 201)
        #expect(fine["startsAt"]?.stringValue == "2027-03-28T03:00:00+01:00")
        #expect(fine["timeZone"]?.stringValue == "Europe/London")
    }

    // MARK: Holds, prices, conflicts

    @Test func aHoldLastsTheConfiguredMinutesAndIsPricedToTheMinute() throws {
        let hub = try TestHub { $0.bookings.holdMinutes = 20 }
        let room = hub.openRoom(price: 10_000, admin: try hub.admin())
        let answer = book(hub, hub.member(), event(room, hub.date(inDays: 3), "10:00", "11:30"))
        #expect(answer.status == 201)
        #expect(money(answer["amount"]) == "15000")
        #expect(answer["currency"]?.stringValue == "NGN")
        #expect(answer["holdExpiresAt"]?.stringValue == UTC.iso8601(hub.clock.seconds + 20 * 60))
        #expect(answer["version"]?.intValue == 1)
        #expect(answer["paymentStatus"]?.stringValue == "pending")
    }

    @Test func aMemberHoldsAtMostTheConfiguredNumberOfUnpaidBookings() throws {
        let hub = try TestHub { $0.bookings.holdsPerMemberMax = 2 }
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let first = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        _ = try hub.heldID(member, room: room, date: hub.date(inDays: 3))
        let third = hub.hold(member, room: room, date: hub.date(inDays: 4))
        #expect(third.status == 409)
        #expect(third.errorCode == "too_many_holds")
        #expect(third.json["error"]?["holds"]?.intValue == 2)
        #expect(third.json["error"]?["holdsMax"]?.intValue == 2)
        // Another member is not counted; cancelling one frees a place.
        #expect(hub.hold(hub.member(), room: room, date: hub.date(inDays: 4)).status == 201)
        #expect(hub.request("DELETE", "/api/users/bookings/\(first)", token: member.token).status == 200)
        #expect(hub.hold(member, room: room, date: hub.date(inDays: 5)).status == 201)
    }

    @Test func aConflictListsWhatIsInTheWay() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let date = hub.date(inDays: 3)
        _ = try hub.heldID(hub.member(), room: room, date: date, from: "10:00", to: "11:00")
        let answer = hub.hold(hub.member(), room: room, date: date, from: "10:30", to: "12:00")
        #expect(answer.status == 409)
        #expect(answer.errorCode == "booking_conflict")
        let conflicts = try #require(answer.json["error"]?["conflicts"]?.arrayValue)
        #expect(conflicts.count == 1)
        #expect(conflicts.first?["start"]?.stringValue == "\(date)T10:00:00+01:00")
        #expect(conflicts.first?["end"]?.stringValue == "\(date)T11:00:00+01:00")
        // Half-open: back to back is fine.
        #expect(hub.hold(hub.member(), room: room, date: date, from: "11:00", to: "12:00").status == 201)
    }

    @Test func aRoomsBufferKeepsBookingsApart() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin(), extra: ["bufferMinutes": 30])
        let date = hub.date(inDays: 3)
        _ = try hub.heldID(hub.member(), room: room, date: date, from: "10:00", to: "11:00")
        #expect(hub.hold(hub.member(), room: room, date: date, from: "11:00", to: "12:00").errorCode == "booking_conflict")
        #expect(hub.hold(hub.member(), room: room, date: date, from: "09:00", to: "09:45").errorCode == "booking_conflict")
        #expect(hub.hold(hub.member(), room: room, date: date, from: "11:30", to: "12:30").status == 201)
    }

    @Test func aNewHoldIsPublishedToItsMemberAndToTheSpacesWatchers() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        hub.clearEvents()
        let id = try hub.heldID(member, room: room, date: hub.date(inDays: 3))
        let updated = try #require(hub.events(.bookingUpdated).first)
        #expect(Set(updated.channels) == ["bookings:\(member.id)", "admin"])
        #expect(hub.payload(updated)["id"]?.stringValue == id)
        let changed = try #require(hub.events(.spaceAvailabilityChanged).first)
        #expect(changed.channels.contains("availability"))
        #expect(changed.channels.contains("availability:\(room)"))
        let busy = hub.payload(changed)["busy"]?.arrayValue ?? []
        #expect(busy.map { $0["status"]?.stringValue } == ["held"])
    }

    // MARK: Idempotency keys

    @Test func anIdempotencyKeyReplaysTheFirstAnswer() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let body = event(room, hub.date(inDays: 3))
        let first = book(hub, member, body, headers: [("idempotency-key", "k-1")])
        #expect(first.status == 201)
        let replay = book(hub, member, body, headers: [("idempotency-key", "k-1")])
        #expect(replay.status == 201)
        #expect(replay["id"] == first["id"])
        #expect(replay.headers["idempotent-replayed"] == "true")
        #expect(hub.bookings.live.count == 1)

        var other = body
        other["startTime"] = "12:00"
        other["endTime"] = "13:00"
        let reused = book(hub, member, other, headers: [("idempotency-key", "k-1")])
        #expect(reused.status == 422)
        #expect(reused.errorCode == "idempotency_key_reused")
        // Keys belong to their member: another member's same key books anew.
        #expect(book(hub, hub.member(), other, headers: [("idempotency-key", "k-1")]).status == 201)
    }

    @Test func anEmptyOrOverlongIdempotencyKeyIsRefused() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let body = event(room, hub.date(inDays: 3))
        #expect(book(hub, member, body, headers: [("idempotency-key", "")]).errorCode == "bad_idempotency_key")
        let long = String(repeating: "k", count: 201)
        #expect(book(hub, member, body, headers: [("idempotency-key", long)]).errorCode == "bad_idempotency_key")
        #expect(hub.bookings.live.isEmpty)
    }
}

/// U+0000 in text: PostgreSQL's text cannot hold it, so both stores refuse it alike (422), or drop
/// it where the input is lenient (a cancellation's reason).
@Suite struct NulCharacterTests {
    @Test func textFieldsWithUPlus0000AreRefusedOrCleaned() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let date = hub.date(inDays: 3)
        let register = hub.request("POST", "/api/auth/register", json: [
            "email": "nul@example.com", "password": "password123", "firstName": "A\u{0}da", "lastName": "Obi",
            "phone": "+2348012345678",
        ])
        #expect(register.status == 422 && register.errorCode == "invalid_character")
        let booked = hub.request("POST", "/api/bookings", json: [
            "type": "event", "spaceId": .string(room), "date": .string(date), "startTime": "10:00", "endTime": "11:00",
            "specialRequests": "tea\u{0}please",
        ], token: member.token)
        #expect(booked.status == 422 && booked.errorCode == "invalid_character")
        let id = try hub.heldID(member, room: room, date: date)
        let cancelled = hub.request("PUT", "/api/bookings/\(id)/cancel", json: ["reason": "plans\u{0} changed"], token: member.token)
        #expect(cancelled.status == 200)
        hub.settle()
        let database = try Database(hub.hub.config.store.location)
        #expect(try BookingTable.find(id, database)?.cancelReason == "plans changed")
    }
}
