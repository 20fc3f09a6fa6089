import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// The REST contract of the member's profile and the admin desk beyond `AdminAccessTests`: the
/// profile's shape and validation; the user list (summary shape, newest first, search that
/// escapes wildcards), one member's record and suspension; the settings object, every bound it
/// keeps and what a change does next; the audit log's shape, pages and day bounds; the payments
/// list; the dashboard's day lookup; and the analytics reports (overview, revenue, bookings: query
/// validation, shapes, CSV). The clock starts on Friday 2027-01-15, 09:00 in Lagos.
@Suite struct AdminContractTests {
    /// A member's hold of `room` paid through the sandbox checkout; the booking's id.
    private func paidBooking(_ hub: TestHub, _ member: TestHub.Member, room: String, days: Int = 3, from: String = "10:00",
                             to: String = "11:00", amount: Int = 10_000) throws -> String {
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: days), from: from, to: to)
        let started = hub.initialize(member, booking: booking, amount: .int(amount))
        hub.sandbox(try #require(started["reference"]?.stringValue))
        return booking
    }

    private func ids(_ value: JSON?, _ key: String) -> [String] {
        value?[key]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }

    // MARK: The member's profile

    @Test func theProfileShowsTheMemberAndNoSecrets() throws {
        let hub = try TestHub()
        let member = hub.member()
        let profile = hub.request("GET", "/api/users/profile", token: member.token)
        #expect(profile.status == 200)
        #expect(Set(profile.json.objectValue?.keys ?? []) == ["id", "email", "firstName", "lastName", "phone", "emailVerified", "status",
                                                              "role", "createdAt", "updatedAt"])
        #expect([profile["id"], profile["email"], profile["firstName"], profile["status"], profile["role"]].map { $0?.stringValue }
                == [member.id, hub.email(of: member), "Ada", "active", "user"])
        #expect(profile["phone"]?.isNull == true && profile["emailVerified"]?.boolValue == false)
    }

    @Test(arguments: [
        ("firstName", JSON.string(""), "invalid_name"), ("firstName", .int(5), "wrong_type"), ("lastName", .null, "missing_field"),
        ("lastName", .string(String(repeating: "o", count: 101)), "invalid_name"), ("phone", .string("+0801234567"), "invalid_phone"),
        ("phone", .int(2_348_012_345), "wrong_type"), ("role", .string("admin"), "unknown_field"),
        ("status", .string("active"), "unknown_field"),
    ])
    func aRefusedProfileChangeNamesTheFieldAndChangesNothing(field: String, value: JSON, code: String) throws {
        let hub = try TestHub()
        let member = hub.member()
        let before = hub.request("GET", "/api/users/profile", token: member.token).json
        hub.clock.advance(seconds: 60)
        var body: JSONObject = ["firstName": "Kemi"]
        body[field] = value
        let answer = hub.request("PUT", "/api/users/profile", json: .object(body), token: member.token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == field)
        #expect(hub.request("GET", "/api/users/profile", token: member.token).json == before)
    }

    @Test func anEmptyProfileChangeIsRefused() throws {
        let hub = try TestHub()
        let member = hub.member()
        let before = hub.request("GET", "/api/users/profile", token: member.token).json
        hub.clock.advance(seconds: 60)
        let answer = hub.request("PUT", "/api/users/profile", json: [:], token: member.token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == "nothing_to_change")
        #expect(hub.request("GET", "/api/users/profile", token: member.token).json == before)
    }

    @Test func aPhoneIsStoredCompactAndCanBeCleared() throws {
        let hub = try TestHub()
        let member = hub.member()
        let path = "/api/users/profile"
        let compact = hub.request("PUT", path, json: ["phone": "+234 801-234-5678"], token: member.token)
        #expect(compact["phone"]?.stringValue == "+2348012345678")
        #expect(hub.request("GET", path, token: member.token)["phone"]?.stringValue == "+2348012345678")
        #expect(hub.request("PUT", path, json: ["phone": ""], token: member.token)["phone"]?.isNull == true)
        #expect(hub.request("PUT", path, json: ["phone": "+2348012345678"], token: member.token).status == 200)
        #expect(hub.request("PUT", path, json: ["phone": .null], token: member.token)["phone"]?.isNull == true)
        #expect(hub.request("GET", path, token: member.token)["phone"]?.isNull == true)
        #expect(hub.request("PUT", path, json: ["firstName": "Kemi"], token: try hub.admin().token).errorCode == "members_only")
        #expect(hub.request("PUT", path, json: ["firstName": "Kemi"]).status == 401)
    }

    // MARK: Users

    @Test func theUserListSummarisesEachMemberNewestFirst() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let first = hub.member()
        hub.clock.advance(seconds: 1)
        let second = hub.member()
        let list = hub.request("GET", "/api/admin/users", token: admin.token)
        #expect(list.status == 200)
        #expect(ids(list.json, "users") == [second.id, first.id])
        #expect([list["total"], list["page"], list["limit"]].map { $0?.intValue } == [2, 1, 20])
        let row = try #require(list["users"]?.arrayValue?.last)
        #expect(row["email"]?.stringValue == hub.email(of: first))
        #expect(row["bookingCount"]?.intValue == 0 && money(row["totalPaid"]) == "0")
        #expect(row["suspendedReason"]?.isNull == true && row["status"]?.stringValue == "active")
        #expect(row["passwordHash"] == nil)
    }

    @Test func theUserSearchMatchesWholeNamesAnyCaseAndEscapesWildcards() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let ada = hub.member()
        let kemi = hub.member()
        let renamed = hub.request("PUT", "/api/users/profile", json: ["firstName": "Kemi", "lastName": "Adeyemi"], token: kemi.token)
        #expect(renamed.status == 200)
        let search = { (text: String) in ids(hub.request("GET", "/api/admin/users?search=\(text)", token: admin.token).json, "users") }
        #expect(search("kemi%20ade") == [kemi.id])
        #expect(search("KEMI") == [kemi.id])
        #expect(search("obi") == [ada.id])
        #expect(search("%25").isEmpty)  // a literal %, not a wildcard
        #expect(search("_").isEmpty)
        #expect(Set(search("%20%20")) == [ada.id, kemi.id])  // blank: no filter
    }

    @Test(arguments: [("/api/admin/users", "limit=101", "bad_limit"), ("/api/admin/users", "page=x", "bad_page"),
                      ("/api/admin/audit-logs", "page=0", "bad_page"), ("/api/admin/audit-logs", "limit=101", "bad_limit"),
                      ("/api/admin/payments", "page=-2", "bad_page")])
    func adminListsRefusePagesAndLimitsOutOfBounds(path: String, query: String, code: String) throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "\(path)?\(query)", token: try hub.admin().token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
    }

    @Test func oneMembersRecordCountsBookingsAndWhatTheyPaid() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let booking = try paidBooking(hub, member, room: room)
        let record = hub.request("GET", "/api/admin/users/\(member.id)", token: admin.token)
        #expect(record.status == 200)
        #expect(record["bookingCount"]?.intValue == 1)
        #expect(money(record["totalPaid"]) == "10000")
        #expect(ids(record.json, "bookings") == [booking])
        #expect(record["bookings"]?.arrayValue?.first?["paymentStatus"]?.stringValue == "paid")
        #expect(record["payments"]?.arrayValue?.map { $0["status"]?.stringValue } == ["successful"])
        let row = hub.request("GET", "/api/admin/users", token: admin.token)["users"]?.arrayValue?.first
        #expect(money(row?["totalPaid"]) == "10000")
        #expect(record["currency"]?.stringValue == "NGN" && row?["currency"]?.stringValue == "NGN")
        // After the hub's currency changes, naira paid is not counted as cedis.
        #expect(hub.request("PUT", "/api/admin/settings", json: ["currency": "GHS"], token: admin.token).status == 200)
        let after = hub.request("GET", "/api/admin/users/\(member.id)", token: admin.token)
        #expect(money(after["totalPaid"]) == "0" && after["currency"]?.stringValue == "GHS")
    }

    @Test func aSuspensionIsShownAuditedAndUndone() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let member = hub.member()
        let path = "/api/admin/users/\(member.id)"
        hub.clearEvents()
        let suspended = hub.request("PUT", path, json: ["status": "suspended", "reason": "fraud"], token: admin.token)
        #expect(suspended.status == 200)
        #expect(suspended["status"]?.stringValue == "suspended")
        #expect(suspended["suspendedReason"]?.stringValue == "fraud")
        let shown = hub.request("GET", path, token: admin.token)
        #expect(shown["status"]?.stringValue == "suspended" && shown["suspendedReason"]?.stringValue == "fraud")
        let event = try #require(hub.events(.userUpdated).first)
        #expect(event.channels == ["admin"])
        #expect(hub.payload(event)["status"]?.stringValue == "suspended")
        #expect(hub.request("PUT", path, json: ["status": "active"], token: admin.token).status == 200)
        let back = hub.request("GET", path, token: admin.token)
        #expect(back["status"]?.stringValue == "active" && back["suspendedReason"]?.isNull == true)
        let logs = hub.request("GET", "/api/admin/audit-logs?resource=user", token: admin.token)["logs"]?.arrayValue ?? []
        #expect(logs.compactMap { $0["action"]?.stringValue } == ["reactivate", "suspend"])
        #expect(logs.last?["resourceId"]?.stringValue == member.id)
    }

    @Test(arguments: [
        (JSON.object(["reason": "x"]), "missing_field", "status"), (JSON.object(["status": 5]), "wrong_type", "status"),
        (JSON.object(["status": "suspended", "reason": "   "]), "missing_field", "reason"),
        (JSON.object(["status": "suspended", "reason": JSON.string(String(repeating: "r", count: 501))]), "too_long", "reason"),
    ])
    func aStatusChangeNeedsAStatusAndAReasonToSuspend(body: JSON, code: String, field: String) throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let member = hub.member()
        let answer = hub.request("PUT", "/api/admin/users/\(member.id)", json: body, token: admin.token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == field)
        #expect(hub.request("GET", "/api/admin/users/\(member.id)", token: admin.token)["status"]?.stringValue == "active")
    }

    // MARK: Settings

    @Test func theSettingsAreOneFlatObjectOfTypedValues() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let settings = hub.request("GET", "/api/admin/settings", token: admin.token)
        #expect(Set(settings.json.objectValue?.keys ?? []) == ["siteName", "contactEmail", "paymentGateway", "emailProvider", "holdMinutes",
                                                               "refundNoticeHours", "bookingHorizonDays", "currency", "timeZone"])
        #expect([settings["holdMinutes"], settings["refundNoticeHours"], settings["bookingHorizonDays"]].map { $0?.intValue }
                == [15, 24, 365])
        #expect(settings["currency"]?.stringValue == "NGN")
        #expect(settings["timeZone"]?.stringValue == "Africa/Lagos")
        #expect(settings["paymentGateway"]?.stringValue == "sandbox")
        for flag in ["1", ""] {
            let described = hub.request("GET", "/api/admin/settings?describe=\(flag)", token: admin.token)
            #expect(described["settings"]?.objectValue != nil && described["descriptions"]?.objectValue != nil, "\(flag)")
        }
        #expect(hub.request("GET", "/api/admin/settings?describe=0", token: admin.token).json == settings.json)
    }

    @Test(arguments: [
        ("siteName", JSON.string("")), ("siteName", .string(String(repeating: "s", count: 201))), ("contactEmail", .string("nope")),
        ("paymentGateway", .string("paystack")), ("paymentGateway", .string("stripe")), ("emailProvider", .string("sendgrid")),
        ("holdMinutes", .int(1441)), ("holdMinutes", .string("5")), ("refundNoticeHours", .int(-1)), ("bookingHorizonDays", .int(1826)),
        ("currency", .string("EUR")), ("timeZone", .string("Mars/Base")),
    ])
    func aSettingOutsideItsBoundsIsRefusedAndNothingChanges(key: String, value: JSON) throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let before = hub.request("GET", "/api/admin/settings", token: admin.token).json
        hub.clearEvents()
        var body: JSONObject = ["siteName": "Fine Name"]
        body[key] = value
        let answer = hub.request("PUT", "/api/admin/settings", json: .object(body), token: admin.token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == "invalid_setting")
        #expect(answer.json["error"]?["field"]?.stringValue == key)
        #expect(hub.request("GET", "/api/admin/settings", token: admin.token).json == before)
        #expect(hub.events(.settingsUpdated).isEmpty)
        #expect(hub.request("GET", "/api/admin/audit-logs?resource=settings", token: admin.token)["total"]?.intValue == 0)
    }

    @Test func newSettingsApplyToTheNextRequest() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let changed = hub.request("PUT", "/api/admin/settings", json: [
            "currency": "USD", "bookingHorizonDays": 10, "timeZone": "Europe/London", "refundNoticeHours": 48,
        ], token: admin.token)
        #expect(changed.status == 200)
        #expect(changed["refundNoticeHours"]?.intValue == 48)
        let room = hub.openRoom(admin: admin)
        #expect(hub.request("GET", "/api/event-spaces/\(room)")["currency"]?.stringValue == "USD")
        let member = hub.member()
        #expect(hub.hold(member, room: room, date: hub.date(inDays: 11)).errorCode == "beyond_horizon")
        #expect(hub.hold(member, room: room, date: hub.date(inDays: 9)).status == 201)
        #expect(hub.request("GET", "/api/admin/analytics/overview", token: admin.token)["timeZone"]?.stringValue == "Europe/London")
    }

    // MARK: Audit log, payments, dashboard

    @Test func anAuditEntryHasItsWholeShape() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let created = hub.request("POST", "/api/event-spaces", json: ["name": "Hall", "capacity": 9, "price": 1], token: admin.token,
                                  headers: [("user-agent", "desk/1.0")])
        let room = try #require(created["id"]?.stringValue)
        let logs = hub.request("GET", "/api/admin/audit-logs?resource=event_space", token: admin.token)
        #expect([logs["page"], logs["limit"], logs["total"]].map { $0?.intValue } == [1, 50, 1])
        let entry = try #require(logs["logs"]?.arrayValue?.first)
        #expect(entry["id"]?.stringValue?.isEmpty == false)
        #expect([entry["adminId"], entry["action"], entry["resourceId"]].map { $0?.stringValue } == [admin.id, "create", room])
        #expect(entry["oldValues"]?.isNull == true)
        #expect(entry["newValues"]?["id"]?.stringValue == room && entry["newValues"]?["capacity"]?.intValue == 9)
        #expect(entry["ipAddress"]?.stringValue == "127.0.0.1" && entry["userAgent"]?.stringValue == "desk/1.0")
        #expect(entry["createdAt"]?.stringValue.flatMap(UTC.parse) != nil)
    }

    /// Audit rows are stamped with the hub's clock (`Audit.entry`): the bounds are the manual
    /// clock's days and hours.
    @Test func theAuditLogPagesNewestFirstAndKeepsToItsBounds() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let rooms = (0..<3).map { _ in hub.openRoom(admin: admin) }
        let query = { (text: String) in hub.request("GET", "/api/admin/audit-logs?resource=event_space&\(text)", token: admin.token) }
        #expect(query("limit=1&page=2")["logs"]?.arrayValue?.first?["resourceId"]?.stringValue == rooms[1])
        #expect(query("limit=2&page=2")["logs"]?.arrayValue?.compactMap { $0["resourceId"]?.stringValue } == [rooms[0]])
        let now = hub.clock.seconds
        let today = Zone.lagos.local(now).date
        #expect(query("from=\(today.adding(days: -2))&to=\(today.adding(days: 2))")["total"]?.intValue == 3)
        #expect(query("to=\(today.adding(days: -2))")["total"]?.intValue == 0)
        #expect(query("from=\(today.adding(days: 2))")["total"]?.intValue == 0)
        #expect(query("from=\(UTC.iso8601(now - 3600))")["total"]?.intValue == 3)
        #expect(query("from=\(UTC.iso8601(now + 3600))")["total"]?.intValue == 0)
        #expect(query("to=\(UTC.iso8601(now - 3600))")["total"]?.intValue == 0)
        #expect(query("to=soon").errorCode == "bad_date")
    }

    @Test func thePaymentsDeskListsOpenPaymentsWithTheirShape() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let member = hub.member()
        let booking = try hub.heldID(member, room: hub.openRoom(admin: admin), date: hub.date(inDays: 3))
        let reference = hub.initialize(member, booking: booking, amount: 10_000)["reference"]?.stringValue
        let list = hub.request("GET", "/api/admin/payments", token: admin.token)
        #expect([list["limit"], list["page"], list["total"]].map { $0?.intValue } == [20, 1, 1])
        let payment = try #require(list["payments"]?.arrayValue?.first)
        #expect([payment["bookingId"], payment["userId"], payment["reference"], payment["status"]].map { $0?.stringValue }
                == [booking, member.id, reference, "pending"])
        #expect(money(payment["amount"]) == "10000")
        #expect(payment["gateway"]?.stringValue == "sandbox")
        #expect(hub.request("GET", "/api/admin/payments?status=pending", token: admin.token)["total"]?.intValue == 1)
        #expect(hub.request("GET", "/api/admin/payments?status=successful", token: admin.token)["total"]?.intValue == 0)
    }

    @Test func theDashboardSpansEverySpaceAndLeavesOutCancelledBookings() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let hall = hub.openRoom(admin: admin), studio = hub.openRoom(admin: admin)
        let date = hub.date(inDays: 2)
        let afternoon = try hub.heldID(hub.member(), room: hall, date: date, from: "14:00", to: "15:00")
        let morning = try hub.heldID(hub.member(), room: studio, date: date, from: "09:00", to: "10:00")
        let dropped = hub.member()
        let cancelled = try hub.heldID(dropped, room: hall, date: date, from: "11:00", to: "12:00")
        #expect(hub.request("DELETE", "/api/users/bookings/\(cancelled)", token: dropped.token).status == 200)
        #expect(hub.request("PUT", "/api/bookings/\(afternoon)/confirm", token: admin.token).status == 200)
        for query in ["date=\(date)", "date=\(date)&spaceId="] {
            let answer = hub.request("GET", "/api/admin/dashboard/bookings?\(query)", token: admin.token)
            #expect(answer["date"]?.stringValue == date && answer["spaceId"]?.isNull == true)
            #expect(ids(answer.json, "bookings") == [morning, afternoon], "\(query)")
            #expect(answer["bookings"]?.arrayValue?.last?["status"]?.stringValue == "confirmed")
        }
    }

    // MARK: Analytics

    @Test(arguments: [
        ("overview", "date=soon", "bad_date", "date"), ("overview", "currency=EUR", "bad_currency", "currency"),
        ("revenue", "period=hourly", "bad_period", "period"), ("revenue", "year=twenty", "bad_year", "year"),
        ("revenue", "startDate=2027-02-01&endDate=2027-01-01", "bad_range", "endDate"),
        ("revenue", "startDate=2020-01-01&endDate=2027-01-01", "range_too_long", "startDate"),
        ("revenue", "currency=XYZ", "bad_currency", "currency"), ("bookings", "startDate=soon", "bad_date", "startDate"),
        ("bookings", "period=yearly", "bad_period", "period"),
    ])
    func analyticsQueriesAreChecked(report: String, query: String, code: String, field: String) throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/api/admin/analytics/\(report)?\(query)", token: try hub.admin().token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == field)
    }

    @Test func theOverviewCountsTodaysBookingsRevenueAndOccupancy() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        _ = try paidBooking(hub, member, room: room, days: 0, from: "10:00", to: "12:00", amount: 20_000)
        let open = try hub.heldID(member, room: room, date: hub.date(inDays: 4))
        #expect(hub.initialize(member, booking: open, amount: 10_000).status == 200)
        let overview = hub.request("GET", "/api/admin/analytics/overview", token: admin.token)
        #expect(overview.status == 200)
        #expect([overview["date"], overview["timeZone"], overview["currency"]].map { $0?.stringValue }
                == [hub.date(inDays: 0), "Africa/Lagos", "NGN"])
        for window in ["today", "month"] {
            #expect(overview[window]?["bookings"]?.intValue == 2 && money(overview[window]?["revenue"]) == "20000", "\(window)")
        }
        #expect(overview["pendingPayments"]?.intValue == 1)
        #expect(overview["liveConnections"]?["total"]?.intValue == 0)
        let ours = try #require(overview["occupancy"]?.arrayValue?.first { $0["spaceId"]?.stringValue == room })
        #expect([ours["bookedHours"], ours["openHours"], ours["occupancyPercent"]].map(money) == ["2", "24", "8.3"])
        let yesterday = hub.request("GET", "/api/admin/analytics/overview?date=\(hub.date(inDays: -1))", token: admin.token)
        #expect(yesterday["today"]?["bookings"]?.intValue == 0)
        #expect(money(yesterday["month"]?["revenue"]) == "0")
    }

    @Test func revenueSeriesCoverTheRequestedRangeAndExportAsCSV() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        _ = try paidBooking(hub, hub.member(), room: hub.openRoom(admin: admin))
        let current = hub.request("GET", "/api/admin/analytics/revenue", token: admin.token)
        #expect([current["period"], current["startDate"], current["endDate"]].map { $0?.stringValue }
                == ["monthly", "2027-01-01", hub.date(inDays: 0)])
        #expect(money(current["total"]) == "10000")
        let row = try #require(current["series"]?.arrayValue?.first)
        #expect(current["series"]?.arrayValue?.count == 1)
        #expect(row["period"]?.stringValue == "2027-01")
        #expect(row["payments"]?.intValue == 1 && money(row["charged"]) == "10000" && money(row["revenue"]) == "10000")
        let lastYear = hub.request("GET", "/api/admin/analytics/revenue?year=2026", token: admin.token)
        let months = lastYear["series"]?.arrayValue?.compactMap { $0["period"]?.stringValue }
        #expect(months == (1...12).map { String(format: "2026-%02d", $0) })
        #expect(money(lastYear["total"]) == "0")
        for (query, headers) in [("?format=csv", [(String, String)]()), ("", [("accept", "text/csv")])] {
            let csv = hub.request("GET", "/api/admin/analytics/revenue\(query)", token: admin.token, headers: headers)
            #expect(csv.headers["content-type"]?.hasPrefix("text/csv") == true)
            #expect(csv.headers["content-disposition"]?.contains("revenue.csv") == true)
            let lines = String(decoding: csv.body, as: UTF8.self).components(separatedBy: "\r\n")
            #expect(lines.first == "period,start,end,payments,charged,refunded,net,currency")
            #expect(lines.dropFirst().first?.hasPrefix("2027-01,2027-01-01,\(hub.date(inDays: 0)),1,10000,0,10000,NGN") == true)
        }
    }

    @Test func bookingStatisticsCountWhatWasBookedInTheRange() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        _ = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        let cancelled = try hub.heldID(member, room: room, date: hub.date(inDays: 3))
        #expect(hub.request("DELETE", "/api/users/bookings/\(cancelled)", token: member.token).status == 200)
        let stats = hub.request("GET", "/api/admin/analytics/bookings", token: admin.token)
        #expect(stats["period"]?.stringValue == "daily")
        #expect(stats["startDate"]?.stringValue == hub.date(inDays: -29))
        #expect(stats["series"]?.arrayValue?.count == 30)
        #expect(stats["series"]?.arrayValue?.last?["bookings"]?.intValue == 2)
        #expect(stats["total"]?.intValue == 2)
        #expect(stats["byStatus"] == ["cancelled": 1, "pending": 1])
        #expect(stats["byType"] == ["event": 2])
        #expect(money(stats["cancellationRate"]) == "0.5" && money(stats["expiryRate"]) == "0")
        let top = try #require(stats["topSpaces"]?.arrayValue?.first)
        #expect(top["spaceId"]?.stringValue == room && top["bookings"]?.intValue == 2)
        #expect(money(top["hours"]) == "1")  // a cancelled booking holds no hours
        let weekly = hub.request("GET", "/api/admin/analytics/bookings?period=weekly&startDate=2027-01-04&endDate=2027-01-17",
                                 token: admin.token)
        #expect(weekly["series"]?.arrayValue?.compactMap { $0["period"]?.stringValue } == ["2027-W01", "2027-W02"])
        let csv = hub.request("GET", "/api/admin/analytics/bookings?format=csv", token: admin.token)
        let lines = String(decoding: csv.body, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.first == "period,bookings")
        #expect(lines.count == 31)
        #expect(lines.last == "\(hub.date(inDays: 0)),2")
    }
}
