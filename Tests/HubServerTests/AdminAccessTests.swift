import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// Who may call what, and the admin desk's own routes, in process: staff routes refused to
/// members (403) and to anonymous callers (401), super-admin routes refused to plain admins,
/// member routes refused to staff; users, live settings, the audit log, the outbox and the
/// dashboard lookup.
@Suite struct AdminAccessTests {
    /// Staff routes with a body that would be accepted from an admin.
    private func staffRoutes(_ hub: TestHub, member: TestHub.Member) -> [(String, String, JSON?)] {
        [("GET", "/api/admin/users", nil), ("GET", "/api/admin/users/\(member.id)", nil),
         ("GET", "/api/admin/analytics/overview", nil), ("GET", "/api/admin/analytics/revenue", nil),
         ("GET", "/api/admin/analytics/bookings", nil), ("GET", "/api/admin/audit-logs", nil),
         ("GET", "/api/admin/notifications/outbox", nil), ("POST", "/api/admin/notifications/outbox/1/retry", nil),
         ("GET", "/api/admin/payments", nil), ("GET", "/api/admin/dashboard/bookings?date=\(hub.date(inDays: 1))", nil),
         ("GET", "/api/admin/auth/me", nil)]
    }

    private let superRoutes: [(String, String, JSON?)] = [("GET", "/api/admin/settings", nil),
                                                          ("PUT", "/api/admin/settings", ["siteName": "Mine"])]

    @Test func membersAreRefusedStaffRoutes() throws {
        let hub = try TestHub()
        let member = hub.member()
        for (method, path, body) in staffRoutes(hub, member: member) {
            let answer = hub.request(method, path, json: body, token: member.token)
            #expect(answer.status == 403, "\(method) \(path)")
            #expect(answer.errorCode == "admin_required", "\(method) \(path)")
        }
        for (method, path, body) in superRoutes + [("PUT", "/api/admin/users/\(member.id)", ["status": "active"])] {
            let answer = hub.request(method, path, json: body, token: member.token)
            #expect(answer.status == 403, "\(method) \(path)")
            #expect(answer.errorCode == "super_admin_required", "\(method) \(path)")
        }
    }

    @Test func anonymousCallersAreAskedToSignIn() throws {
        let hub = try TestHub()
        let member = hub.member()
        for (method, path, body) in staffRoutes(hub, member: member) + superRoutes {
            let answer = hub.request(method, path, json: body)
            #expect(answer.status == 401, "\(method) \(path)")
            #expect(answer.headers["www-authenticate"] == "Bearer", "\(method) \(path)")
        }
    }

    @Test func aPlainAdminIsRefusedSuperAdminRoutesOnly() throws {
        let hub = try TestHub()
        let admin = try hub.admin(role: .admin)
        let member = hub.member()
        for (method, path, body) in staffRoutes(hub, member: member) where method == "GET" {
            #expect(hub.request(method, path, json: body, token: admin.token).status == 200, "\(method) \(path)")
        }
        for (method, path, body) in superRoutes + [("PUT", "/api/admin/users/\(member.id)", ["status": "suspended", "reason": "x"])] {
            #expect(hub.request(method, path, json: body, token: admin.token).errorCode == "super_admin_required", "\(method) \(path)")
        }
        #expect(hub.request("GET", "/api/auth/me", token: member.token).status == 200)  // not suspended
        #expect(hub.settingsSiteName != "Mine")
    }

    @Test func staffAreRefusedMemberRoutes() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        for (method, path) in [("GET", "/api/users/profile"), ("GET", "/api/users/bookings"), ("POST", "/api/calendar/feeds")] {
            let answer = hub.request(method, path, json: method == "POST" ? [:] : nil, token: admin.token)
            #expect(answer.status == 403, "\(method) \(path)")
            #expect(answer.errorCode == "members_only", "\(method) \(path)")
        }
    }

    @Test func unknownRoutesAndMethodsAreTold() throws {
        let hub = try TestHub()
        #expect(hub.request("GET", "/api/nothing-here").status == 404)
        let wrong = hub.request("DELETE", "/api/event-spaces")
        #expect(wrong.status == 405)
        #expect(wrong.headers["allow"]?.contains("POST") == true)
        let options = hub.request("OPTIONS", "/api/event-spaces")
        #expect(options.status == 204)
        #expect(options.headers["allow"]?.contains("GET") == true)
    }

    // MARK: Users

    @Test func theUserListSearchesAndCounts() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        _ = hub.member()
        _ = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        let all = hub.request("GET", "/api/admin/users?limit=1", token: admin.token)
        #expect(all["total"]?.intValue == 2)
        #expect(all["users"]?.arrayValue?.count == 1)
        let email = hub.email(of: member)
        let found = hub.request("GET", "/api/admin/users?search=\(email)", token: admin.token)
        #expect(found["users"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [member.id])
        let shown = hub.request("GET", "/api/admin/users/\(member.id)", token: admin.token)
        #expect(shown.status == 200)
        #expect(shown["bookings"]?.arrayValue?.count == 1)
        #expect(hub.request("GET", "/api/admin/users/nobody", token: admin.token).status == 404)
    }

    @Test func aStatusChangeIsValidated() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let member = hub.member()
        let path = "/api/admin/users/\(member.id)"
        #expect(hub.request("PUT", path, json: ["status": "banished"], token: admin.token).errorCode == "bad_status")
        #expect(hub.request("PUT", path, json: ["email": "x@example.com"], token: admin.token).errorCode == "unknown_field")
        #expect(hub.request("PUT", "/api/admin/users/nobody", json: ["status": "active"], token: admin.token).status == 404)
        #expect(hub.request("GET", "/api/auth/me", token: member.token).status == 200)
    }

    // MARK: Settings

    @Test func aSettingChangeIsLiveAuditedAndPublished() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        hub.clearEvents()
        let changed = hub.request("PUT", "/api/admin/settings", json: ["holdMinutes": 5, "siteName": "Lagos Hub"], token: admin.token)
        #expect(changed.status == 200)
        #expect(changed["holdMinutes"]?.intValue == 5)
        #expect(hub.request("GET", "/api/admin/settings", token: admin.token)["siteName"]?.stringValue == "Lagos Hub")
        let event = try #require(hub.events(.settingsUpdated).first)
        #expect(event.channels == ["admin"])
        #expect(hub.payload(event)["holdMinutes"]?.intValue == 5)
        let logs = hub.request("GET", "/api/admin/audit-logs?resource=settings", token: admin.token)
        #expect(logs["total"]?.intValue == 1)
        #expect(logs["logs"]?.arrayValue?.first?["newValues"]?["siteName"]?.stringValue == "Lagos Hub")
        // The next hold lapses after five minutes.
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        hub.advance(seconds: 5 * 60)
        #expect(hub.booking(booking, as: member)["status"]?.stringValue == "expired")
    }

    @Test func badSettingsChangeNothing() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let unknown = hub.request("PUT", "/api/admin/settings", json: ["holdMinutes": 5, "favouriteColour": "red"], token: admin.token)
        #expect(unknown.status == 422)
        #expect(unknown.errorCode == "unknown_setting")
        let invalid = hub.request("PUT", "/api/admin/settings", json: ["holdMinutes": 0], token: admin.token)
        #expect(invalid.errorCode == "invalid_setting")
        #expect(hub.request("PUT", "/api/admin/settings", json: [:], token: admin.token).errorCode == "nothing_to_change")
        #expect(hub.services.bookings.settings.holdMinutes == 15)
        #expect(hub.request("GET", "/api/admin/settings?describe=maybe", token: admin.token).errorCode == "bad_flag")
        let described = hub.request("GET", "/api/admin/settings?describe=true", token: admin.token)
        #expect(described["descriptions"]?["holdMinutes"]?.stringValue?.isEmpty == false)
    }

    // MARK: Audit log, outbox, dashboard

    @Test func theAuditLogFiltersByResourceAndActor() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        #expect(hub.request("PUT", "/api/event-spaces/\(room)", json: ["price": 1], token: admin.token).status == 200)
        let spaces = hub.request("GET", "/api/admin/audit-logs?resource=event_space", token: admin.token)
        #expect(spaces["logs"]?.arrayValue?.compactMap { $0["action"]?.stringValue } == ["update", "create"])
        #expect(hub.request("GET", "/api/admin/audit-logs?actor=\(admin.id)", token: admin.token)["total"]?.intValue == 2)
        #expect(hub.request("GET", "/api/admin/audit-logs?actor=someone-else", token: admin.token)["total"]?.intValue == 0)
        #expect(hub.request("GET", "/api/admin/audit-logs?from=yesterday", token: admin.token).errorCode == "bad_date")
    }

    @Test func theOutboxListsQueuedEmails() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let member = hub.member()
        hub.request("POST", "/api/auth/forgot-password", json: ["email": .string(hub.email(of: member))])
        let outbox = hub.request("GET", "/api/admin/notifications/outbox", token: admin.token)
        #expect(outbox.status == 200)
        #expect(hub.request("GET", "/api/admin/notifications/outbox?status=lost", token: admin.token).errorCode == "bad_status")
        // Only dead letters can be retried.
        let row = try #require(hub.outbox("password-reset").first)
        let retry = hub.request("POST", "/api/admin/notifications/outbox/\(row.id)/retry", token: admin.token)
        #expect(retry.status == 409)
        #expect(retry.errorCode == "not_dead")
    }

    @Test func theDashboardListsTheDaysBookingsWithTheirMembers() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let date = hub.date(inDays: 2)
        let later = try hub.heldID(member, room: room, date: date, from: "14:00", to: "15:00")
        let earlier = try hub.heldID(hub.member(), room: room, date: date, from: "09:00", to: "10:00")
        let answer = hub.request("GET", "/api/admin/dashboard/bookings?date=\(date)&spaceId=\(room)", token: admin.token)
        let bookings = try #require(answer["bookings"]?.arrayValue)
        #expect(bookings.compactMap { $0["id"]?.stringValue } == [earlier, later])
        #expect(bookings.last?["member"]?["email"]?.stringValue == hub.email(of: member))
        #expect(hub.request("GET", "/api/admin/dashboard/bookings?date=\(hub.date(inDays: 3))", token: admin.token)["bookings"]?
            .arrayValue?.isEmpty == true)
        #expect(hub.request("GET", "/api/admin/dashboard/bookings", token: admin.token).errorCode == "bad_date")
        #expect(hub.request("GET", "/api/admin/dashboard/bookings?date=\(date)&spaceId=nope", token: admin.token).errorCode
                == "unknown_space")
    }
}

extension TestHub {
    fileprivate var settingsSiteName: String { services.bookings.settings.siteName }
}
