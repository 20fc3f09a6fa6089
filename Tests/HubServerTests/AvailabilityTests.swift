import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// What the availability endpoints answer, in process: a day's open, busy and free ranges, a
/// range's fit and price, coworking seats and occupancy, `check-conflicts` (which holds nothing),
/// and the grid.
@Suite struct AvailabilityTests {
    /// A 24/7 coworking plan of `seats` seats at ₦5,000 a day.
    private func plan(_ hub: TestHub, _ admin: TestHub.Member, seats: Int) -> String {
        var hours = JSONObject()
        for day in WeeklyHours.weekdayNames { hours[day] = ["open": "00:00", "close": "24:00"] }
        let answer = hub.request("POST", "/api/coworking-plans", json: [
            "name": "Desks", "price": 5_000, "duration": "day", "seats": .int(seats), "openingHours": .object(hours),
        ], token: admin.token)
        #expect(answer.status == 201)
        return answer["id"]?.stringValue ?? ""
    }

    private func desk(_ hub: TestHub, _ member: TestHub.Member, plan: String, date: String, from: String = "09:00",
                      duration: String = "8 hours") -> TestHub.Answer {
        hub.request("POST", "/api/bookings", json: [
            "type": "coworking", "spaceId": .string(plan), "date": .string(date), "startTime": .string(from), "duration": .string(duration),
        ], token: member.token)
    }

    // MARK: Event spaces

    @Test func aDayShowsOpenBusyAndFreeRanges() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let date = hub.date(inDays: 3)
        _ = try hub.heldID(hub.member(), room: room, date: date, from: "10:00", to: "12:00")
        let day = hub.request("GET", "/api/spaces/availability?spaceId=\(room)&date=\(date)")
        #expect(day.status == 200)
        #expect(day["type"]?.stringValue == "event")
        #expect(day["open"]?.arrayValue?.count == 1)
        let busy = try #require(day["busy"]?.arrayValue)
        #expect(busy.count == 1)
        #expect(busy.first?["start"]?.stringValue == "\(date)T10:00:00+01:00")
        #expect(busy.first?["status"]?.stringValue == "held")
        let free = day["free"]?.arrayValue?.compactMap { $0["start"]?.stringValue } ?? []
        #expect(free == ["\(date)T00:00:00+01:00", "\(date)T12:00:00+01:00"])
    }

    @Test func aRangeAnswersItsFitAndPrice() throws {
        let hub = try TestHub()
        let room = hub.openRoom(price: 8_000, admin: try hub.admin())
        let date = hub.date(inDays: 3)
        _ = try hub.heldID(hub.member(), room: room, date: date, from: "10:00", to: "12:00")
        let taken = hub.request("GET", "/api/spaces/availability?type=event&spaceId=\(room)&date=\(date)&startTime=11:00&endTime=13:00")
        #expect(taken["available"]?.boolValue == false)
        #expect(taken["conflicts"]?.arrayValue?.count == 1)
        let free = hub.request("GET", "/api/spaces/availability?spaceId=\(room)&date=\(date)&startTime=13:00&duration=90%20minutes")
        #expect(free["available"]?.boolValue == true)
        #expect(money(free["amount"]) == "12000")
        #expect(free["requested"]?["end"]?.stringValue == "\(date)T14:30:00+01:00")
        #expect(free["seatsLeft"] == nil)
        // A range the rules refuse is not available, and says why.
        let past = hub.request("GET", "/api/spaces/availability?spaceId=\(room)&date=\(hub.date(inDays: -1))&startTime=10:00&endTime=11:00")
        #expect(past["available"]?.boolValue == false)
        #expect(past["reason"]?["code"]?.stringValue == "in_the_past")
    }

    @Test func badAvailabilityQueriesAreRefused() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let date = hub.date(inDays: 3)
        #expect(hub.request("GET", "/api/spaces/availability?spaceId=nope&date=\(date)").errorCode == "unknown_space")
        #expect(hub.request("GET", "/api/spaces/availability?date=\(date)").errorCode == "unknown_space")
        #expect(hub.request("GET", "/api/spaces/availability?type=coworking&spaceId=\(room)&date=\(date)").errorCode == "type_mismatch")
        #expect(hub.request("GET", "/api/spaces/availability?spaceId=\(room)&date=2027-1-5").errorCode == "bad_date")
        #expect(hub.request("GET", "/api/spaces/availability?spaceId=\(room)&date=\(date)&startTime=9").errorCode == "bad_time")
    }

    @Test func checkConflictsReportsWithoutHolding() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let date = hub.date(inDays: 3)
        let body: JSON = ["type": "event", "spaceId": .string(room), "date": .string(date), "startTime": "10:00", "endTime": "11:00"]
        let free = hub.request("POST", "/api/bookings/check-conflicts", json: body)
        #expect(free.status == 200)
        #expect(free["available"]?.boolValue == true)
        #expect(free["hasConflicts"]?.boolValue == false)
        #expect(hub.bookings.live.isEmpty)
        _ = try hub.heldID(hub.member(), room: room, date: date)
        let taken = hub.request("POST", "/api/bookings/check-conflicts", json: body)
        #expect(taken["available"]?.boolValue == false)
        #expect(taken["hasConflicts"]?.boolValue == true)
        #expect(hub.request("POST", "/api/bookings/check-conflicts", json: ["type": "event", "spaceId": "nope", "date": .string(date),
                                                                             "startTime": "10:00", "endTime": "11:00"]).errorCode
                == "unknown_space")
    }

    // MARK: Coworking seats

    @Test func aPlanSeatsAsManyAsItHasAndNoMore() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let desks = plan(hub, admin, seats: 3)
        let date = hub.date(inDays: 2)
        for _ in 0..<3 { #expect(desk(hub, hub.member(), plan: desks, date: date).status == 201) }
        let full = desk(hub, hub.member(), plan: desks, date: date, from: "16:00", duration: "2 hours")
        #expect(full.status == 409)
        #expect(full.errorCode == "booking_conflict")
        // After the eight hours a seat is free again.
        #expect(desk(hub, hub.member(), plan: desks, date: date, from: "17:00", duration: "2 hours").status == 201)
    }

    @Test func seatsLeftCountsTheBusiestMomentOfTheRange() throws {
        let hub = try TestHub()
        let desks = plan(hub, try hub.admin(), seats: 3)
        let date = hub.date(inDays: 2)
        #expect(desk(hub, hub.member(), plan: desks, date: date, from: "09:00", duration: "2 hours").status == 201)
        #expect(desk(hub, hub.member(), plan: desks, date: date, from: "10:00", duration: "2 hours").status == 201)
        let path = "/api/spaces/availability?spaceId=\(desks)&date=\(date)&startTime="
        #expect(hub.request("GET", path + "09:00&duration=4%20hours")["seatsLeft"]?.intValue == 1)
        #expect(hub.request("GET", path + "11:00&duration=1%20hour")["seatsLeft"]?.intValue == 2)
        #expect(hub.request("GET", path + "13:00&duration=1%20hour")["seatsLeft"]?.intValue == 3)

        let day = hub.request("GET", "/api/spaces/availability?spaceId=\(desks)&date=\(date)")
        #expect(day["seats"]?.intValue == 3)
        #expect(day["bookings"]?.intValue == 2)
        #expect(day["busy"]?.arrayValue?.isEmpty == true)  // never full
        let taken = day["occupancy"]?.arrayValue?.compactMap { $0["taken"]?.intValue }
        #expect(taken == [1, 2, 1])
    }

    @Test func aFullPlanShowsItsFullRangesAndNoSeatsLeft() throws {
        let hub = try TestHub()
        let desks = plan(hub, try hub.admin(), seats: 1)
        let date = hub.date(inDays: 2)
        #expect(desk(hub, hub.member(), plan: desks, date: date).status == 201)
        let check = hub.request("GET", "/api/spaces/availability?spaceId=\(desks)&date=\(date)&startTime=10:00&duration=1%20hour")
        #expect(check["available"]?.boolValue == false)
        #expect(check["seatsLeft"]?.intValue == 0)
        let busy = hub.request("GET", "/api/spaces/availability?spaceId=\(desks)&date=\(date)")["busy"]?.arrayValue ?? []
        #expect(busy.map { $0["start"]?.stringValue } == ["\(date)T09:00:00+01:00"])
        #expect(busy.map { $0["end"]?.stringValue } == ["\(date)T17:00:00+01:00"])
    }

    @Test func aPlanIsPricedPerStartedUnit() throws {
        let hub = try TestHub()
        let desks = plan(hub, try hub.admin(), seats: 5)
        let date = hub.date(inDays: 2)
        #expect(money(desk(hub, hub.member(), plan: desks, date: date, duration: "8 hours")["amount"]) == "5000")
        #expect(money(desk(hub, hub.member(), plan: desks, date: date, duration: "25 hours")["amount"]) == "10000")
        #expect(money(desk(hub, hub.member(), plan: desks, date: date, duration: "2 days")["amount"]) == "10000")
    }

    // MARK: The grid

    @Test func theGridListsEveryActiveSpaceForEachDay() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let date = hub.date(inDays: 1)
        let grid = hub.request("GET", "/api/spaces/availability/grid?date=\(date)&days=3")
        #expect(grid.status == 200)
        #expect(grid["days"]?.intValue == 3)
        let spaces = try #require(grid["spaces"]?.arrayValue)
        #expect(spaces.count == hub.services.catalog.active().count)
        let ours = try #require(spaces.first { $0["spaceId"]?.stringValue == room })
        #expect(ours["days"]?.arrayValue?.compactMap { $0["date"]?.stringValue } == [date, hub.date(inDays: 2), hub.date(inDays: 3)])
        // Without a date it is today on the hub's clock.
        #expect(hub.request("GET", "/api/spaces/availability/grid")["date"]?.stringValue == hub.date(inDays: 0))
        #expect(hub.request("DELETE", "/api/event-spaces/\(room)", token: admin.token).status == 200)
        let after = hub.request("GET", "/api/spaces/availability/grid?date=\(date)")["spaces"]?.arrayValue ?? []
        #expect(!after.contains { $0["spaceId"]?.stringValue == room })
    }

    @Test(arguments: ["days=0", "days=15", "days=x", "date=soon"])
    func badGridQueriesAreRefused(query: String) throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/api/spaces/availability/grid?\(query)")
        #expect(answer.status == 422)
        #expect(answer.errorCode == (query.hasPrefix("days") ? "bad_days" : "bad_date"))
    }
}
