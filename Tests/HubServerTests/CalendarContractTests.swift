import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// The calendar contract of docs/API.md beyond `CalendarFeedInProcessTests`: who may make and
/// end a feed URL, how a feed URL may be written and what it shows, the feed answers' headers,
/// the providers list and disconnecting, and what `POST /api/calendar/sync-event` and
/// `POST /api/calendar/connect` refuse. No provider is called: a connection is a row put in
/// the store, and its calendar API is a closed port.
@Suite struct CalendarContractTests {
    /// A 32-byte `calendar.tokenKey`, hex.
    static let tokenKey = String(repeating: "0123456789abcdef", count: 4)

    /// A hub at the real time (feeds choose bookings by it), with calendar connections on when
    /// `calendars` is set: the key, an Outlook client whose API is a closed local port.
    private func makeHub(calendars: Bool = false, _ configure: @escaping (inout Config) -> Void = { _ in }) throws -> TestHub {
        try TestHub(startingAt: WallClock.milliseconds()) { config in
            if calendars {
                config.calendar.tokenKey = Self.tokenKey
                config.calendar.outlookClientID = "client"
                config.calendar.outlookClientSecret = "secret"
                config.calendar.outlookAPIBaseURL = "http://127.0.0.1:9/v1.0"
                config.calendar.outlookTokenURL = "http://127.0.0.1:9/token"
                config.calendar.timeoutSeconds = 2
            }
            configure(&config)
        }
    }

    /// An active Outlook connection of `member`, as `connect` would have stored it (sealed tokens
    /// that do not lapse for a day), put in the store directly; its id.
    private func connectOutlook(_ hub: TestHub, _ member: TestHub.Member) throws -> String {
        let id = UUID().uuidString.lowercased()
        let vault = TokenVault(key: try #require(ConfigLoader.decodeKey(Self.tokenKey)))
        let now = hub.clock.seconds
        let integration = CalendarIntegrationTable.Integration(
            id: id, userID: member.id, provider: "outlook", providerUserID: "ada@outlook.example",
            accessToken: try vault.seal("access-token", integrationID: id, role: .access),
            refreshToken: try vault.seal("refresh-token", integrationID: id, role: .refresh),
            tokenExpiresAt: now + 86_400, calendarID: "primary", createdAt: now, updatedAt: now)
        try CalendarIntegrationTable.insert(integration, try Database(hub.hub.config.store.location))
        return id
    }

    private func feedToken(_ hub: TestHub, _ member: TestHub.Member) throws -> String {
        try #require(hub.request("POST", "/api/calendar/feeds", token: member.token)["token"]?.stringValue)
    }

    private func text(_ answer: TestHub.Answer) -> String { String(decoding: answer.body, as: UTF8.self) }

    // MARK: Feed URLs

    @Test func onlyASignedInMemberMakesOrEndsAFeed() throws {
        let hub = try makeHub()
        let admin = try hub.admin()
        for method in ["POST", "DELETE"] {
            let anonymous = hub.request(method, "/api/calendar/feeds")
            #expect(anonymous.status == 401, "\(method)")
            #expect(anonymous.headers["www-authenticate"] == "Bearer", "\(method)")
        }
        #expect(hub.request("DELETE", "/api/calendar/feeds", token: admin.token).errorCode == "members_only")
    }

    @Test func endingAFeedThatWasNeverMadeSucceeds() throws {
        let hub = try makeHub()
        let member = hub.member()
        for _ in 0..<2 {
            let answer = hub.request("DELETE", "/api/calendar/feeds", token: member.token)
            #expect(answer.status == 200)
            #expect(answer.json == ["success": true])
        }
    }

    @Test func theFeedURLIsBuiltOnThePublicURL() throws {
        let hub = try makeHub { $0.server.publicURL = "https://hub.example.com" }
        let created = hub.request("POST", "/api/calendar/feeds", token: hub.member().token)
        let token = try #require(created["token"]?.stringValue)
        #expect(token.count >= 32)
        #expect(created["url"]?.stringValue == "https://hub.example.com/api/calendar/feeds/\(token).ics")
        #expect(created["webcalUrl"]?.stringValue == "webcal://hub.example.com/api/calendar/feeds/\(token).ics")
    }

    @Test(arguments: ["", ".ics", ".ICS"])
    func aFeedIsFoundWithOrWithoutItsSuffix(suffix: String) throws {
        let hub = try makeHub()
        let token = try feedToken(hub, hub.member())
        let feed = hub.request("GET", "/api/calendar/feeds/\(token)\(suffix)")
        #expect(feed.status == 200)
        #expect(text(feed).hasPrefix("BEGIN:VCALENDAR"))
    }

    /// A suspended member's feed answers 404 like an unknown one, and serves again on reinstatement.
    @Test func aSuspendedMembersFeedIsNotServed() throws {
        let hub = try makeHub()
        let admin = try hub.admin()
        let member = hub.member()
        let token = try feedToken(hub, member)
        #expect(hub.request("PUT", "/api/admin/users/\(member.id)", json: ["status": "suspended", "reason": "fraud"], token: admin.token).status == 200)
        #expect(hub.request("GET", "/api/calendar/feeds/\(token).ics").status == 404)
        #expect(hub.request("PUT", "/api/admin/users/\(member.id)", json: ["status": "active"], token: admin.token).status == 200)
        #expect(hub.request("GET", "/api/calendar/feeds/\(token).ics").status == 200)
    }

    @Test(arguments: [String(repeating: "A", count: 43), String(repeating: "b", count: 129), "x"])
    func aFeedTokenThatWasNeverIssuedIsNotFound(token: String) throws {
        let hub = try makeHub()
        _ = try feedToken(hub, hub.member())
        let answer = hub.request("GET", "/api/calendar/feeds/\(token).ics")
        #expect(answer.status == 404)
        #expect(answer.errorCode == "not_found")
    }

    @Test func aFeedShowsItsOwnersBookingsAndNoOneElses() throws {
        let hub = try makeHub()
        let room = hub.openRoom(admin: try hub.admin())
        let ada = hub.member(), ben = hub.member()
        let adas = try hub.heldID(ada, room: room, date: hub.date(inDays: 2))
        let bens = try hub.heldID(ben, room: room, date: hub.date(inDays: 3))
        let adaFeed = text(hub.request("GET", "/api/calendar/feeds/\(try feedToken(hub, ada)).ics"))
        let benFeed = text(hub.request("GET", "/api/calendar/feeds/\(try feedToken(hub, ben)).ics"))
        #expect(adaFeed.contains("UID:\(adas)@spacehub"))
        #expect(!adaFeed.contains(bens))
        #expect(benFeed.contains("UID:\(bens)@spacehub"))
        #expect(!benFeed.contains(adas))
    }

    @Test func aMembersFeedIsPrivateAndASpacesPublicInCaches() throws {
        let hub = try makeHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let own = hub.request("GET", "/api/calendar/feeds/\(try feedToken(hub, member)).ics")
        #expect(own.headers["cache-control"] == "private, max-age=300")
        #expect(own.headers["content-disposition"] == "inline; filename=\"spacehub.ics\"")
        let space = hub.request("GET", "/api/calendar/spaces/\(room).ics")
        #expect(space.headers["cache-control"] == "public, max-age=300")
        #expect(space.headers["content-type"] == "text/calendar; charset=utf-8")
        #expect(space.headers["x-robots-tag"] == "noindex")
    }

    // MARK: Providers

    @Test func withoutAKeyTheProvidersListIsEmptyAndOff() throws {
        let hub = try makeHub()
        let answer = hub.request("GET", "/api/calendar/providers", token: hub.member().token)
        #expect(answer.status == 200)
        #expect(answer.json == ["providers": [], "available": [], "enabled": false])
        #expect(hub.request("GET", "/api/calendar/providers").status == 401)
        #expect(hub.request("GET", "/api/calendar/providers", token: try hub.admin().token).errorCode == "members_only")
    }

    @Test func theProvidersListShowsConnectionsWithoutTheirTokens() throws {
        let hub = try makeHub(calendars: true)
        let member = hub.member()
        let id = try connectOutlook(hub, member)
        let answer = hub.request("GET", "/api/calendar/providers", token: member.token)
        #expect(answer["enabled"]?.boolValue == true)
        #expect(answer["available"] == ["outlook"])
        let connections = try #require(answer["providers"]?.arrayValue)
        #expect(connections.count == 1)
        let connection = try #require(connections.first?.objectValue)
        #expect(connection["id"]?.stringValue == id)
        #expect(connection["provider"]?.stringValue == "outlook")
        #expect(connection["isActive"]?.boolValue == true)
        #expect(connection.keys.allSatisfy { !$0.lowercased().contains("token") || $0 == "tokenExpiresAt" })
        // Someone else's list does not show it.
        #expect(hub.request("GET", "/api/calendar/providers", token: hub.member().token)["providers"] == [])
    }

    @Test func disconnectingIsForTheOwnerAndOnce() throws {
        let hub = try makeHub(calendars: true)
        let member = hub.member()
        let id = try connectOutlook(hub, member)
        #expect(hub.request("DELETE", "/api/calendar/providers/\(UUID().uuidString.lowercased())", token: member.token).status == 404)
        let stranger = hub.request("DELETE", "/api/calendar/providers/\(id)", token: hub.member().token)
        #expect(stranger.status == 404)
        #expect(stranger.errorCode == "not_found")
        let gone = hub.request("DELETE", "/api/calendar/providers/\(id)", token: member.token)
        #expect(gone.status == 200)
        #expect(gone["id"]?.stringValue == id)
        #expect(gone["isActive"]?.boolValue == false)
        #expect(hub.request("GET", "/api/calendar/providers", token: member.token)["providers"] == [])
        #expect(hub.request("DELETE", "/api/calendar/providers/\(id)", token: member.token).status == 404)
    }

    // MARK: Connect and sync-event refusals

    static let badConnects: [(JSON, String, String)] = [
        (["provider": "yahoo", "authCode": "x"], "provider", "bad_provider"),
        (["authCode": "x"], "provider", "bad_provider"),
        (["provider": "google"], "authCode", "missing_auth_code"),
        (["provider": "google", "authCode": ""], "authCode", "missing_auth_code"),
        (.object(["provider": "outlook", "authCode": .string(String(repeating: "c", count: 4097))]), "authCode", "missing_auth_code"),
    ]

    @Test(arguments: badConnects)
    func aConnectWithoutAProviderOrCodeIsRefused(body: JSON, field: String, code: String) throws {
        let hub = try makeHub()
        let answer = hub.request("POST", "/api/calendar/connect", json: body, token: hub.member().token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == field)
    }

    @Test func connectingToAProviderThisHubHasNoClientForIsUnavailable() throws {
        let hub = try makeHub(calendars: true)
        let answer = hub.request("POST", "/api/calendar/connect", json: ["provider": "google", "authCode": "x"], token: hub.member().token)
        #expect(answer.status == 503)
        #expect(answer.errorCode == "provider_not_configured")
    }

    static let badSyncs: [(JSON, String, String)] = [
        ([:], "bookingId", "missing_booking"),
        (["bookingId": ""], "bookingId", "missing_booking"),
        (.object(["bookingId": .string(String(repeating: "b", count: 65))]), "bookingId", "missing_booking"),
        (["bookingId": "b1", "providers": "google"], "providers", "bad_providers"),
        (["bookingId": "b1", "providers": ["google", "yahoo"]], "providers", "bad_provider"),
        (["bookingId": "b1", "providers": [1]], "providers", "bad_provider"),
    ]

    @Test(arguments: badSyncs)
    func aSyncEventWithoutABookingOrWithBadProvidersIsRefused(body: JSON, field: String, code: String) throws {
        let hub = try makeHub()
        let answer = hub.request("POST", "/api/calendar/sync-event", json: body, token: hub.member().token)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == field)
    }

    @Test func aSyncEventWithNothingConnectedNamesWhatIsNot() throws {
        let hub = try makeHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        let both = hub.request("POST", "/api/calendar/sync-event", json: ["bookingId": .string(booking), "providers": ["google", "outlook"]],
                               token: member.token)
        #expect(both.status == 409)
        #expect(both.errorCode == "not_connected")
        let results = both.json["error"]?["results"]?.arrayValue ?? []
        #expect(results.compactMap { $0["provider"]?.stringValue } == ["google", "outlook"])
        #expect(results.allSatisfy { $0["error"]?["code"]?.stringValue == "not_connected" })
        let unnamed = hub.request("POST", "/api/calendar/sync-event", json: ["bookingId": .string(booking)], token: member.token)
        #expect(unnamed.errorCode == "not_connected")
        #expect(unnamed.json["error"]?["results"] == [])
    }

    @Test func aSyncEventForSomeoneElsesBookingIsNotFound() throws {
        let hub = try makeHub(calendars: true)
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        _ = try connectOutlook(hub, member)
        let theirs = try hub.heldID(hub.member(), room: room, date: hub.date(inDays: 2))
        let answer = hub.request("POST", "/api/calendar/sync-event", json: ["bookingId": .string(theirs)], token: member.token)
        #expect(answer.status == 404)
        #expect(answer.errorCode == "not_found")
    }

    @Test func aProviderThatCannotBeReachedFailsTheSyncAndIsRecorded() throws {
        let hub = try makeHub(calendars: true)
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let id = try connectOutlook(hub, member)
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        let answer = hub.request("POST", "/api/calendar/sync-event", json: ["bookingId": .string(booking), "providers": ["google", "outlook"]],
                                 token: member.token)
        #expect(answer.status == 502)
        #expect(answer.errorCode == "provider_unreachable")
        let results = answer.json["error"]?["results"]?.arrayValue ?? []
        let outlook = results.first { $0["provider"]?.stringValue == "outlook" }
        #expect(outlook?["integrationId"]?.stringValue == id)
        #expect(outlook?["status"]?.stringValue == "error")
        #expect(results.first { $0["provider"]?.stringValue == "google" }?["error"]?["code"]?.stringValue == "not_connected")
        let listed = hub.request("GET", "/api/calendar/providers", token: member.token)["providers"]?.arrayValue?.first
        #expect(listed?["lastError"]?.stringValue?.isEmpty == false)
        #expect(listed?["isActive"]?.boolValue == true)
    }
}
