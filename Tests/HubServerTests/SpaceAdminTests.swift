import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// The catalogue in process: admins create, change and deactivate event spaces and coworking
/// plans (validated, audited, published as `space_updated`); the public reads the active ones.
@Suite struct SpaceAdminTests {
    private func create(_ hub: TestHub, _ admin: TestHub.Member, _ body: JSONObject, path: String = "/api/event-spaces") -> TestHub.Answer {
        hub.request("POST", path, json: .object(body), token: admin.token)
    }

    private func audits(_ hub: TestHub, _ id: String, _ action: String) throws -> Int64? {
        try hub.services.storage.reader.scalar("SELECT COUNT(*) FROM audit_logs WHERE resource_id = ? AND action = ?",
                                               [.text(id), .text(action)])
    }

    @Test func anAdminCreatesAnEventSpaceAndItIsPublished() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        hub.clearEvents()
        let answer = create(hub, admin, ["name": "Hall", "capacity": 40, "price": "2500.50", "features": ["wifi", "stage"],
                                         "bufferMinutes": 15])
        #expect(answer.status == 201)
        let id = try #require(answer["id"]?.stringValue)
        #expect(answer["type"]?.stringValue == "event")
        #expect(money(answer["price"]) == "2500.5")
        #expect(answer["priceUnit"]?.stringValue == "hour")
        #expect(answer["bufferMinutes"]?.intValue == 15)
        #expect(answer["maxDurationMinutes"]?.intValue == 720)
        #expect(answer["isActive"]?.boolValue == true)
        #expect(answer["openingHours"]?["sunday"]?.isNull == true)
        #expect(answer["openingHours"]?["monday"]?["open"]?.stringValue == "08:00")
        let published = try #require(hub.events(.spaceUpdated).first)
        #expect(Set(published.channels) == ["availability", "availability:\(id)", "admin"])
        #expect(hub.payload(published)["name"]?.stringValue == "Hall")
        #expect(try audits(hub, id, "create") == 1)
        let listed = hub.request("GET", "/api/event-spaces").json.arrayValue ?? []
        #expect(listed.contains { $0["id"]?.stringValue == id })
        #expect(hub.request("GET", "/api/event-spaces/\(id)")["capacity"]?.intValue == 40)
    }

    @Test func anAdminCreatesACoworkingPlan() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let answer = create(hub, admin, ["name": "Hot Desk", "price": 5_000, "duration": "per day", "seats": 12,
                                                                  "popular": true], path: "/api/coworking-plans")
        #expect(answer.status == 201)
        let id = try #require(answer["id"]?.stringValue)
        #expect(answer["seats"]?.intValue == 12)
        #expect(answer["duration"]?.stringValue == "day")
        #expect(answer["popular"]?.boolValue == true)
        #expect(hub.request("GET", "/api/coworking-plans/\(id)").status == 200)
        // A plan is not an event space, and the other way round.
        #expect(hub.request("GET", "/api/event-spaces/\(id)").status == 404)
        #expect(hub.request("PUT", "/api/event-spaces/\(id)", json: ["name": "x"], token: admin.token).status == 404)
        let defaults = create(hub, admin, ["name": "Flex", "price": 1_000, "duration": "monthly"], path: "/api/coworking-plans")
        #expect(defaults["seats"]?.intValue == 10)
        #expect(defaults["duration"]?.stringValue == "month")
    }

    @Test(arguments: [
        ("name", JSON.string(""), "invalid_name"),
        ("name", .null, "missing_field"),
        ("price", .int(-1), "bad_price"),
        ("price", .string("1.234"), "bad_price"),
        ("price", .string("1e3"), "bad_price"),
        ("price", .bool(true), "wrong_type"),
        ("capacity", .int(0), "out_of_range"),
        ("bufferMinutes", .int(721), "out_of_range"),
        ("features", .string("wifi"), "wrong_type"),
        ("openingHours", .object(["funday": .object(["open": "08:00", "close": "10:00"])]), "bad_weekday"),
        ("openingHours", .object(["monday": .object(["open": "18:00", "close": "08:00"])]), "bad_hours"),
        ("timeZone", .string("Mars/Olympus"), "unknown_time_zone"),
        ("blackoutDates", .array(["2027-13-01"]), "bad_date"),
        ("isActive", .string("yes"), "wrong_type"),
        ("colour", .string("red"), "unknown_field"),
    ])
    func eventSpaceValidationNamesTheField(field: String, value: JSON, code: String) throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let spacesBefore = hub.services.catalog.all.count
        var body: JSONObject = ["name": "Room", "capacity": 4, "price": 1_000]
        body[field] = value
        let answer = create(hub, admin, body)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == field)
        #expect(hub.services.catalog.all.count == spacesBefore)
    }

    @Test func aMaximumBelowTheMinimumIsRefused() throws {
        let hub = try TestHub()
        let answer = create(hub, try hub.admin(), ["name": "Room", "capacity": 4, "price": 1, "minDurationMinutes": 90,
                                                   "maxDurationMinutes": 60])
        #expect(answer.errorCode == "bad_duration_range")
    }

    @Test func aPlanNeedsAKnownPriceUnitAndSeatsInRange() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let unit = create(hub, admin, ["name": "Desk", "price": 1, "duration": "fortnight"], path: "/api/coworking-plans")
        #expect(unit.errorCode == "bad_duration")
        let seats = create(hub, admin, ["name": "Desk", "price": 1, "duration": "day", "seats": 0], path: "/api/coworking-plans")
        #expect(seats.errorCode == "out_of_range")
    }

    @Test func serverOwnedFieldsAreIgnored() throws {
        let hub = try TestHub()
        let answer = create(hub, try hub.admin(), ["name": "Room", "capacity": 4, "price": 1, "id": "chosen-id", "version": 99])
        #expect(answer.status == 201)
        #expect(answer["id"]?.stringValue != "chosen-id")
        #expect(answer["version"]?.intValue == 1)
    }

    @Test func anUpdateChangesOnlyWhatItSendsAndIsAuditedAndPublished() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let id = hub.openRoom(price: 3_000, admin: admin)
        hub.clearEvents()
        let updated = hub.request("PUT", "/api/event-spaces/\(id)", json: ["price": 4_000, "description": "now with a view"],
                                  token: admin.token)
        #expect(updated.status == 200)
        #expect(money(updated["price"]) == "4000")
        #expect(updated["description"]?.stringValue == "now with a view")
        #expect(updated["capacity"]?.intValue == 6)
        #expect(updated["version"]?.intValue == 2)
        #expect(hub.events(.spaceUpdated).map(hub.payload).first?["version"]?.intValue == 2)
        #expect(try audits(hub, id, "update") == 1)
        // New bookings take the new price.
        let booked = hub.hold(hub.member(), room: id, date: hub.date(inDays: 2))
        #expect(money(booked["amount"]) == "4000")
        let bad = hub.request("PUT", "/api/event-spaces/\(id)", json: ["capacity": -3], token: admin.token)
        #expect(bad.errorCode == "out_of_range")
        #expect(hub.request("GET", "/api/event-spaces/\(id)")["version"]?.intValue == 2)
    }

    @Test func newHoursApplyToTheNextBooking() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let id = hub.openRoom(admin: admin)
        var hours = JSONObject()
        for day in WeeklyHours.weekdayNames { hours[day] = ["open": "12:00", "close": "18:00"] }
        #expect(hub.request("PUT", "/api/event-spaces/\(id)", json: ["openingHours": .object(hours)], token: admin.token).status == 200)
        let member = hub.member()
        #expect(hub.hold(member, room: id, date: hub.date(inDays: 2)).errorCode == "outside_opening_hours")
        #expect(hub.hold(member, room: id, date: hub.date(inDays: 2), from: "12:00", to: "13:00").status == 201)
    }

    @Test func deletingDeactivatesAndKeepsBookings() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let id = hub.openRoom(admin: admin)
        let member = hub.member()
        let booking = try hub.heldID(member, room: id, date: hub.date(inDays: 2))
        let deleted = hub.request("DELETE", "/api/event-spaces/\(id)", token: admin.token)
        #expect(deleted.status == 200)
        #expect(deleted["isActive"]?.boolValue == false)
        #expect(try audits(hub, id, "deactivate") == 1)
        #expect(hub.request("GET", "/api/event-spaces/\(id)").status == 404)
        #expect(hub.request("GET", "/api/event-spaces/\(id)", token: admin.token)["isActive"]?.boolValue == false)
        #expect(!(hub.request("GET", "/api/event-spaces").json.arrayValue ?? []).contains { $0["id"]?.stringValue == id })
        #expect(hub.hold(hub.member(), room: id, date: hub.date(inDays: 3)).errorCode == "unknown_space")
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "pending")
        // Reactivated, it is bookable again.
        #expect(hub.request("PUT", "/api/event-spaces/\(id)", json: ["isActive": true], token: admin.token).status == 200)
        #expect(hub.hold(hub.member(), room: id, date: hub.date(inDays: 3)).status == 201)
    }

    @Test func membersAndAnonymousCannotChangeSpaces() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let id = hub.openRoom(admin: admin)
        let member = hub.member()
        let calls: [(String, String, JSON?)] = [("POST", "/api/event-spaces", ["name": "x", "capacity": 1, "price": 1]),
                                                ("PUT", "/api/event-spaces/\(id)", ["name": "x"]),
                                                ("DELETE", "/api/event-spaces/\(id)", nil),
                                                ("POST", "/api/coworking-plans", ["name": "x", "price": 1, "duration": "day"])]
        for (method, path, body) in calls {
            #expect(hub.request(method, path, json: body, token: member.token).errorCode == "admin_required", "\(method) \(path)")
            #expect(hub.request(method, path, json: body).status == 401, "\(method) \(path)")
        }
        #expect(hub.services.catalog[id]?.name.hasPrefix("Room") == true)
        #expect(hub.services.catalog[id]?.isActive == true)
    }

    @Test func theDemoCatalogueIsServedWithSeedFields() throws {
        let hub = try TestHub()
        let plans = hub.request("GET", "/api/coworking-plans").json.arrayValue ?? []
        let rooms = hub.request("GET", "/api/event-spaces").json.arrayValue ?? []
        #expect(!plans.isEmpty)
        #expect(!rooms.isEmpty)
        for plan in plans {
            for field in ["id", "name", "price", "duration", "features", "popular", "seats"] { #expect(plan[field] != nil, "\(field)") }
        }
        for room in rooms {
            for field in ["id", "name", "capacity", "price", "features", "images", "availability"] { #expect(room[field] != nil, "\(field)") }
        }
    }
}
