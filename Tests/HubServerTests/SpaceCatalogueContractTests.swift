import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// The REST contract of the catalogue (`/api/event-spaces`, `/api/coworking-plans`) beyond what
/// `SpaceAdminTests` covers: unknown and wrong-kind ids answer 404 with the error shape, lists hold
/// only the active spaces of their kind in creation order, plans are managed and refused like event
/// spaces, every required field and bound of both bodies is checked, a refused update changes
/// nothing, and what is stored (prices, hours, blackout dates, time zones) reads back as sent.
@Suite struct SpaceCatalogueContractTests {
    /// A coworking plan; its id.
    private func plan(_ hub: TestHub, _ admin: TestHub.Member, extra: JSONObject = [:]) -> String {
        var body: JSONObject = ["name": "Hot Desks", "price": 5_000, "duration": "day", "seats": 4]
        for member in extra { body[member.key] = member.value }
        let answer = hub.request("POST", "/api/coworking-plans", json: .object(body), token: admin.token)
        #expect(answer.status == 201)
        return answer["id"]?.stringValue ?? ""
    }

    private func ids(_ answer: TestHub.Answer) -> [String] {
        answer.json.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }

    private func audits(_ hub: TestHub, _ id: String, _ action: String) throws -> Int64? {
        try hub.services.storage.reader.scalar("SELECT COUNT(*) FROM audit_logs WHERE resource_id = ? AND action = ?",
                                               [.text(id), .text(action)])
    }

    // MARK: Unknown ids and the other kind's path

    @Test(arguments: [("GET", "event-spaces"), ("PUT", "event-spaces"), ("DELETE", "event-spaces"),
                      ("GET", "coworking-plans"), ("PUT", "coworking-plans"), ("DELETE", "coworking-plans")])
    func anUnknownIdIsNotFoundWithTheErrorShape(method: String, collection: String) throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let spaces = hub.services.catalog.all.count
        let answer = hub.request(method, "/api/\(collection)/\(UUID().uuidString.lowercased())",
                                 json: method == "PUT" ? ["name": "Renamed"] : nil, token: admin.token)
        #expect(answer.status == 404)
        #expect(answer.errorCode == "not_found")
        #expect(answer.json["error"]?["message"]?.stringValue?.isEmpty == false)
        #expect(hub.services.catalog.all.count == spaces)
    }

    @Test func aSpaceIsNotFoundUnderTheOtherKindsPath() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let desks = plan(hub, admin)
        #expect(hub.request("GET", "/api/coworking-plans/\(room)").status == 404)
        #expect(hub.request("GET", "/api/coworking-plans/\(room)", token: admin.token).status == 404)
        #expect(hub.request("DELETE", "/api/coworking-plans/\(room)", token: admin.token).status == 404)
        #expect(hub.request("PUT", "/api/event-spaces/\(desks)", json: ["capacity": 3], token: admin.token).status == 404)
        #expect(hub.request("DELETE", "/api/event-spaces/\(desks)", token: admin.token).status == 404)
        #expect(hub.services.catalog[room]?.isActive == true)
        #expect(hub.services.catalog[desks]?.isActive == true)
        #expect(hub.services.catalog[desks]?.version == 1)
    }

    // MARK: Lists

    @Test func eachListHoldsOnlyActiveSpacesOfItsKind() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let desks = plan(hub, admin)
        let gone = hub.openRoom(admin: admin)
        #expect(hub.request("DELETE", "/api/event-spaces/\(gone)", token: admin.token).status == 200)
        let rooms = hub.request("GET", "/api/event-spaces")
        let plans = hub.request("GET", "/api/coworking-plans")
        #expect(rooms.status == 200 && plans.status == 200)
        #expect(rooms.json.arrayValue?.allSatisfy { $0["type"]?.stringValue == "event" && $0["isActive"]?.boolValue == true } == true)
        #expect(plans.json.arrayValue?.allSatisfy { $0["type"]?.stringValue == "coworking" && $0["isActive"]?.boolValue == true } == true)
        #expect(ids(rooms).contains(room) && !ids(rooms).contains(desks) && !ids(rooms).contains(gone))
        #expect(ids(plans).contains(desks) && !ids(plans).contains(room))
        #expect(Set(ids(rooms)).count == ids(rooms).count)
        // An admin's token does not bring deactivated spaces into the list.
        #expect(!ids(hub.request("GET", "/api/event-spaces", token: admin.token)).contains(gone))
    }

    @Test func newSpacesAreListedAfterOlderOnesAndKeepTheirPlace() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let first = hub.openRoom(admin: admin)
        hub.clock.advance(seconds: 1)
        let second = hub.openRoom(admin: admin)
        let listed = { ids(hub.request("GET", "/api/event-spaces")).filter { [first, second].contains($0) } }
        #expect(listed() == [first, second])
        hub.clock.advance(seconds: 1)
        #expect(hub.request("PUT", "/api/event-spaces/\(first)", json: ["name": "Renamed Room"], token: admin.token).status == 200)
        #expect(listed() == [first, second])
    }

    // MARK: Plans are managed like rooms

    @Test func aDeactivatedPlanIsHiddenFromThePublicButNotFromAdmins() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let desks = plan(hub, admin)
        let deleted = hub.request("DELETE", "/api/coworking-plans/\(desks)", token: admin.token)
        #expect(deleted.status == 200)
        #expect(deleted["isActive"]?.boolValue == false)
        #expect(deleted["version"]?.intValue == 2)
        #expect(hub.request("GET", "/api/coworking-plans/\(desks)").status == 404)
        #expect(hub.request("GET", "/api/coworking-plans/\(desks)", token: hub.member().token).status == 404)
        #expect(hub.request("GET", "/api/coworking-plans/\(desks)", token: admin.token)["isActive"]?.boolValue == false)
        #expect(!ids(hub.request("GET", "/api/coworking-plans")).contains(desks))
        let logs = hub.request("GET", "/api/admin/audit-logs?resource=coworking_plan", token: admin.token)
        #expect(logs["logs"]?.arrayValue?.compactMap { $0["action"]?.stringValue } == ["deactivate", "create"])
    }

    @Test func aDeactivatedSpaceHasNoAvailabilityAndNoConflictCheck() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let date = hub.date(inDays: 2)
        #expect(hub.request("GET", "/api/spaces/availability?spaceId=\(room)&date=\(date)").status == 200)
        hub.clearEvents()
        #expect(hub.request("DELETE", "/api/event-spaces/\(room)", token: admin.token).status == 200)
        let published = try #require(hub.events(.spaceUpdated).first)
        #expect(published.channels.contains("availability:\(room)"))
        #expect(hub.payload(published)["isActive"]?.boolValue == false)
        #expect(hub.request("GET", "/api/spaces/availability?spaceId=\(room)&date=\(date)").errorCode == "unknown_space")
        let check = hub.request("POST", "/api/bookings/check-conflicts", json: [
            "type": "event", "spaceId": .string(room), "date": .string(date), "startTime": "10:00", "endTime": "11:00",
        ])
        #expect(check.status == 422)
        #expect(check.errorCode == "unknown_space")
    }

    @Test func aPlainAdminManagesTheCatalogue() throws {
        let hub = try TestHub()
        let admin = try hub.admin(role: .admin)
        let desks = plan(hub, admin)
        #expect(!desks.isEmpty)
        #expect(hub.request("PUT", "/api/coworking-plans/\(desks)", json: ["seats": 6], token: admin.token)["seats"]?.intValue == 6)
        #expect(hub.request("DELETE", "/api/coworking-plans/\(desks)", token: admin.token).status == 200)
        #expect(hub.services.catalog[desks]?.isActive == false)
    }

    @Test(arguments: ["PUT", "DELETE"])
    func membersAndAnonymousCannotChangeAPlan(method: String) throws {
        let hub = try TestHub()
        let desks = plan(hub, try hub.admin())
        let path = "/api/coworking-plans/\(desks)"
        let body: JSON? = method == "PUT" ? ["name": "Mine Now"] : nil
        let member = hub.request(method, path, json: body, token: hub.member().token)
        #expect(member.status == 403)
        #expect(member.errorCode == "admin_required")
        let anonymous = hub.request(method, path, json: body)
        #expect(anonymous.status == 401)
        #expect(anonymous.headers["www-authenticate"] == "Bearer")
        #expect(hub.services.catalog[desks]?.name == "Hot Desks")
        #expect(hub.services.catalog[desks]?.isActive == true)
    }

    // MARK: Validation

    @Test(arguments: [
        ("name", JSON?.none, "missing_field"),
        ("price", nil, "missing_field"),
        ("duration", nil, "missing_field"),
        ("price", .int(-500), "bad_price"),
        ("price", .string("12,000"), "bad_price"),
        ("seats", .int(10_001), "out_of_range"),
        ("seats", .string("ten"), "wrong_type"),
        ("popular", .string("yes"), "wrong_type"),
        ("minDurationMinutes", .int(0), "out_of_range"),
        ("openingHours", .object(["monday": .object(["open": "08:00"])]), "bad_hours"),
        ("openingHours", .string("weekdays"), "wrong_type"),
        ("description", .string(String(repeating: "d", count: 4001)), "too_long"),
        ("features", .array(Array(repeating: "wifi", count: 51)), "too_many"),
    ])
    func planValidationNamesTheField(field: String, value: JSON?, code: String) throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let spaces = hub.services.catalog.all.count
        var body: JSONObject = ["name": "Desks", "price": 1_000, "duration": "day"]
        body[field] = value
        let answer = hub.request("POST", "/api/coworking-plans", json: .object(body), token: admin.token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == field)
        #expect(hub.services.catalog.all.count == spaces)
    }

    @Test(arguments: [
        ("name", JSON?.none, "missing_field"),
        ("price", nil, "missing_field"),
        ("capacity", nil, "missing_field"),
        ("capacity", .int(100_001), "out_of_range"),
        ("capacity", .string("big"), "wrong_type"),
        ("name", .string(String(repeating: "n", count: 101)), "invalid_name"),
        ("images", .array(Array(repeating: "https://example.com/a.jpg", count: 21)), "too_many"),
        ("images", .array([""]), "wrong_type"),
        ("openingHours", .object(["monday": .object(["open": "09:00", "close": "09:00"])]), "bad_hours"),
        ("openingHours", .object(["monday": .object(["open": "09:00", "close": "24:30"])]), "bad_hours"),
        ("maxDurationMinutes", .int(366 * 1440 + 1), "out_of_range"),
    ])
    func eventSpaceRequiredFieldsAndBoundsAreChecked(field: String, value: JSON?, code: String) throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let spaces = hub.services.catalog.all.count
        var body: JSONObject = ["name": "Room", "capacity": 4, "price": 1_000]
        body[field] = value
        let answer = hub.request("POST", "/api/event-spaces", json: .object(body), token: admin.token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == field)
        #expect(hub.services.catalog.all.count == spaces)
    }

    @Test(arguments: [
        ("price", JSON.int(-5), "bad_price", "price"),
        ("name", .string(""), "invalid_name", "name"),
        ("openingHours", .object(["monday": .object(["open": "9", "close": "10:00"])]), "bad_hours", "openingHours"),
        ("minDurationMinutes", .int(2_000), "bad_duration_range", "maxDurationMinutes"),
        ("colour", .string("red"), "unknown_field", "colour"),
    ])
    func aRefusedUpdateChangesNothing(field: String, value: JSON, code: String, named: String) throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)  // 15 to 1440 minutes
        hub.clearEvents()
        let answer = hub.request("PUT", "/api/event-spaces/\(room)", json: .object([field: value]), token: admin.token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == named)
        let now = hub.request("GET", "/api/event-spaces/\(room)")
        #expect(now["version"]?.intValue == 1)
        #expect(money(now["price"]) == "10000")
        #expect(now["minDurationMinutes"]?.intValue == 15)
        #expect(hub.events(.spaceUpdated).isEmpty)
        #expect(try audits(hub, room, "update") == 0)
    }

    /// A field of the other kind is refused, not silently ignored.
    @Test(arguments: [
        ("coworking-plans", "capacity", JSON.int(50)), ("coworking-plans", "bufferMinutes", .int(30)),
        ("coworking-plans", "images", .array(["x"])), ("event-spaces", "seats", .int(3)),
        ("event-spaces", "popular", .bool(true)), ("event-spaces", "duration", .string("day")),
    ])
    func aFieldOfTheOtherKindIsRefused(path: String, field: String, value: JSON) throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let id = path == "coworking-plans" ? plan(hub, admin) : hub.openRoom(admin: admin)
        let answer = hub.request("PUT", "/api/\(path)/\(id)", json: .object([field: value]), token: admin.token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == "unknown_field")
        #expect(answer.json["error"]?["field"]?.stringValue == field)
        #expect(hub.request("GET", "/api/\(path)/\(id)")["version"]?.intValue == 1)
    }

    @Test(arguments: ["coworking-plans", "event-spaces"])
    func anEmptyUpdateIsRefusedAndChangesNothing(path: String) throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let id = path == "coworking-plans" ? plan(hub, admin) : hub.openRoom(admin: admin)
        hub.clearEvents()
        let answer = hub.request("PUT", "/api/\(path)/\(id)", json: [:], token: admin.token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == "nothing_to_change")
        #expect(hub.request("GET", "/api/\(path)/\(id)")["version"]?.intValue == 1)
        #expect(hub.events(.spaceUpdated).isEmpty)
        #expect(try audits(hub, id, "update") == 0)
    }

    /// DELETE again on an inactive space answers it as it is: no new version, event or audit row.
    @Test func deactivatingTwiceChangesNothingTheSecondTime() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let first = hub.request("DELETE", "/api/event-spaces/\(room)", token: admin.token)
        #expect(first.status == 200)
        #expect(first["version"]?.intValue == 2)
        hub.clearEvents()
        let second = hub.request("DELETE", "/api/event-spaces/\(room)", token: admin.token)
        #expect(second.status == 200)
        #expect(second["version"]?.intValue == 2)
        #expect(second["isActive"]?.boolValue == false)
        #expect(hub.events(.spaceUpdated).isEmpty)
        #expect(try audits(hub, room, "deactivate") == 1)
    }

    /// The conflict check names a space of the other type as `POST /api/bookings` does.
    @Test func aConflictCheckOfTheOtherTypeIsATypeMismatch() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let answer = hub.request("POST", "/api/bookings/check-conflicts", json: [
            "type": "coworking", "spaceId": .string(room), "date": .string(hub.date(inDays: 3)), "startTime": "10:00", "endTime": "11:00",
        ], token: hub.member().token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == "type_mismatch")
        #expect(answer.json["error"]?["field"]?.stringValue == "type")
    }

    // MARK: What is stored reads back

    @Test func pricesKeepTheirExactDecimals() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let cents = hub.request("POST", "/api/event-spaces", json: ["name": "Studio", "capacity": 2, "price": .number("4999.99")],
                                token: admin.token)
        #expect(cents.status == 201)
        #expect(money(cents["price"]) == "4999.99")
        let id = try #require(cents["id"]?.stringValue)
        #expect(money(hub.request("GET", "/api/event-spaces/\(id)")["price"]) == "4999.99")
        let free = hub.request("POST", "/api/coworking-plans", json: ["name": "Open Bench", "price": 0, "duration": "hour"],
                               token: admin.token)
        #expect(free.status == 201)
        #expect(money(free["price"]) == "0")
        #expect(free["duration"]?.stringValue == "hour")
    }

    @Test func openingHoursAndTheSeedsAvailabilityLinesReadBack() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let hours: JSON = ["monday": ["open": "09:00", "close": "17:00"], "tuesday": ["open": "09:00", "close": "17:00"],
                           "saturday": ["open": "10:00", "close": "14:00"], "sunday": .null]
        let answer = hub.request("POST", "/api/event-spaces", json: ["name": "Lab", "capacity": 3, "price": 1, "openingHours": hours],
                                 token: admin.token)
        #expect(answer.status == 201)
        #expect(answer["openingHours"]?["monday"]?["close"]?.stringValue == "17:00")
        #expect(answer["openingHours"]?["wednesday"]?.isNull == true)  // a day left out is closed
        #expect(answer["openingHours"]?["saturday"]?["open"]?.stringValue == "10:00")
        #expect(answer["availability"]?.arrayValue?.compactMap(\.stringValue) == ["Mon–Tue 09:00–17:00", "Sat 10:00–14:00"])
        let room = hub.openRoom(admin: admin)
        #expect(hub.request("GET", "/api/event-spaces/\(room)")["availability"]?.arrayValue?.compactMap(\.stringValue)
                == ["Mon–Sun 24 hours"])
    }

    @Test func blackoutDatesAreSortedWithoutRepeats() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin, extra: ["blackoutDates": ["2027-03-02", "2027-03-01", "2027-03-02"]])
        let shown = hub.request("GET", "/api/event-spaces/\(room)")["blackoutDates"]?.arrayValue?.compactMap(\.stringValue)
        #expect(shown == ["2027-03-01", "2027-03-02"])
        let cleared = hub.request("PUT", "/api/event-spaces/\(room)", json: ["blackoutDates": []], token: admin.token)
        #expect(cleared["blackoutDates"]?.arrayValue?.isEmpty == true)
    }

    @Test func aSpaceTakesTheTimeZoneItIsGivenOrTheBuildings() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let local = hub.request("POST", "/api/event-spaces", json: ["name": "Here", "capacity": 2, "price": 1], token: admin.token)
        #expect(local["timeZone"]?.stringValue == "Africa/Lagos")
        #expect(local["currency"]?.stringValue == "NGN")
        let away = hub.request("POST", "/api/event-spaces", json: ["name": "There", "capacity": 2, "price": 1, "timeZone": "Europe/London"],
                               token: admin.token)
        #expect(away["timeZone"]?.stringValue == "Europe/London")
        let id = try #require(away["id"]?.stringValue)
        #expect(hub.request("GET", "/api/event-spaces/\(id)")["timeZone"]?.stringValue == "Europe/London")
    }

    @Test func anUpdateOfAPlanChangesItsSeatsAndPriceUnit() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let desks = plan(hub, admin)
        let updated = hub.request("PUT", "/api/coworking-plans/\(desks)", json: ["seats": 20, "duration": "weekly"], token: admin.token)
        #expect(updated.status == 200)
        #expect(updated["seats"]?.intValue == 20)
        #expect(updated["duration"]?.stringValue == "week")
        #expect(updated["name"]?.stringValue == "Hot Desks")
        #expect(updated["version"]?.intValue == 2)
        #expect(try audits(hub, desks, "update") == 1)
        let day = hub.request("GET", "/api/spaces/availability?spaceId=\(desks)&date=\(hub.date(inDays: 3))")
        #expect(day["seats"]?.intValue == 20)
    }
}
