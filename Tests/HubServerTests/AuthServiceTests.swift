import Foundation
import HubCore
import HubHTTP
import HubStore
import HubWire
import Testing

@testable import HubServer

/// Accounts and sessions in process: registration's validation, sign-in, refresh rotation and
/// reuse, logout, the password reset read from the outbox, the profile.
@Suite struct AuthServiceTests {
    private static func registration(_ email: String = "ada-\(UUID().uuidString.prefix(8).lowercased())@example.com") -> JSONObject {
        ["email": .string(email), "password": "password123", "firstName": "Ada", "lastName": "Obi"]
    }

    private func register(_ hub: TestHub, _ body: JSONObject) -> TestHub.Answer {
        hub.request("POST", "/api/auth/register", json: .object(body))
    }

    private func login(_ hub: TestHub, _ email: String, _ password: String = "password123") -> TestHub.Answer {
        hub.request("POST", "/api/auth/login", json: ["email": .string(email), "password": .string(password)])
    }

    // MARK: Registering

    @Test func registeringAnswersTokensAndTheMember() throws {
        let hub = try TestHub()
        var body = Self.registration("  Ada.Obi@Example.COM ")
        body["phone"] = "+2348012345678"
        let answer = register(hub, body)
        #expect(answer.status == 201)
        #expect(answer["token"] == answer["accessToken"])
        #expect(answer["refreshToken"]?.stringValue?.isEmpty == false)
        #expect(answer["tokenType"]?.stringValue == "Bearer")
        #expect(answer["expiresAt"]?.intValue != nil)
        #expect(answer["user"]?["email"]?.stringValue == "ada.obi@example.com")
        #expect(answer["user"]?["passwordHash"] == nil)
        let me = hub.request("GET", "/api/auth/me", token: answer["token"]?.stringValue)
        #expect(me.status == 200)
        #expect(me["firstName"]?.stringValue == "Ada")
    }

    @Test(arguments: [
        ("email", JSON.string("not-an-email"), "invalid_email"),
        ("email", .null, "missing_field"),
        ("password", "short", "weak_password"),
        ("password", .int(12345678), "wrong_type"),
        ("firstName", "", "invalid_name"),
        ("lastName", .string(String(repeating: "x", count: 101)), "invalid_name"),
        ("phone", "12345", "invalid_phone"),
    ])
    func registrationValidationNamesTheField(field: String, value: JSON, code: String) throws {
        let hub = try TestHub()
        var body = Self.registration()
        body[field] = value
        let answer = register(hub, body)
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
        #expect(answer.json["error"]?["field"]?.stringValue == field)
        #expect((try hub.services.storage.reader.scalar("SELECT COUNT(*) FROM users")) == 0)
    }

    @Test func anEmailIsTakenWhateverItsCase() throws {
        let hub = try TestHub()
        #expect(register(hub, Self.registration("kemi@example.com")).status == 201)
        let again = register(hub, Self.registration("KEMI@example.com"))
        #expect(again.status == 409)
        #expect(again.errorCode == "email_taken")
    }

    @Test func aBodyThatIsNotAJSONObjectIsRefused() throws {
        let hub = try TestHub()
        let answer = hub.request("POST", "/api/auth/register", json: .array([]))
        #expect(answer.status == 400)
        #expect(answer.errorCode == "invalid_json")
    }

    // MARK: Signing in

    @Test func loginWithTheRightPasswordAndNotTheWrongOne() throws {
        let hub = try TestHub()
        let body = Self.registration()
        let email = try #require(body["email"]?.stringValue)
        #expect(register(hub, body).status == 201)
        let ok = login(hub, email.uppercased())
        #expect(ok.status == 200)
        #expect(ok["user"]?["email"]?.stringValue == email)
        let wrong = login(hub, email, "password124")
        let unknown = login(hub, "nobody@example.com")
        for answer in [wrong, unknown] {
            #expect(answer.status == 401)
            #expect(answer.errorCode == "invalid_credentials")
        }
        #expect(wrong.json["error"]?["message"] == unknown.json["error"]?["message"])
    }

    @Test func aStaleTokenSentAlongDoesNotBlockSigningIn() throws {
        let hub = try TestHub()
        let body = Self.registration()
        #expect(register(hub, body).status == 201)
        let answer = hub.request("POST", "/api/auth/login", json: .object(["email": body["email"]!, "password": "password123"]),
                                 token: "not.a.token")
        #expect(answer.status == 200)
    }

    @Test func tokensThatAreNotOursAreRefusedWithDistinctCodes() throws {
        let hub = try TestHub()
        let member = hub.member()
        #expect(hub.request("GET", "/api/auth/me").errorCode == "unauthorized")
        #expect(hub.request("GET", "/api/auth/me", token: "garbage").errorCode == "invalid_token")
        // Another token's signature: well formed, but not over these claims.
        let parts = member.token.split(separator: "."), others = hub.member().token.split(separator: ".")
        let tampered = parts[0] + "." + parts[1] + "." + others[2]
        #expect(hub.request("GET", "/api/auth/me", token: String(tampered)).errorCode == "invalid_token_signature")
        let basic = hub.request("GET", "/api/auth/me", headers: [("authorization", "Basic abc")])
        #expect(basic.status == 401)
        #expect(basic.errorCode == "invalid_token")
        // A public route answers as to anyone, and says why the token did not count.
        let open = hub.request("GET", "/api/event-spaces", token: "garbage")
        #expect(open.status == 200)
        #expect(open.headers.values(Router.tokenIgnoredHeader) == ["invalid_token"])
    }

    @Test func anAdminSignsInAndReadsItsOwnProfile() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let me = hub.request("GET", "/api/admin/auth/me", token: admin.token)
        #expect(me.status == 200)
        #expect(me["id"]?.stringValue == admin.id)
        #expect(hub.request("GET", "/api/auth/me", token: admin.token).status == 200)
        let wrong = hub.request("POST", "/api/admin/auth/login", json: ["email": "nobody@example.com", "password": "admin-password-1"])
        #expect(wrong.errorCode == "invalid_credentials")
    }

    // MARK: Refreshing

    @Test func refreshRotatesTheRefreshToken() throws {
        let hub = try TestHub()
        let member = hub.member()
        let first = hub.request("POST", "/api/auth/refresh", json: ["refreshToken": .string(member.refresh)])
        #expect(first.status == 200)
        let next = try #require(first["refreshToken"]?.stringValue)
        #expect(next != member.refresh)
        #expect(hub.request("GET", "/api/auth/me", token: first["token"]?.stringValue).status == 200)
        let second = hub.request("POST", "/api/auth/refresh", json: ["refreshToken": .string(next)])
        #expect(second.status == 200)
    }

    @Test func reusingARefreshTokenRevokesItsWholeSession() throws {
        let hub = try TestHub()
        let member = hub.member()
        let rotated = hub.request("POST", "/api/auth/refresh", json: ["refreshToken": .string(member.refresh)])
        let next = try #require(rotated["refreshToken"]?.stringValue)
        let access = try #require(rotated["token"]?.stringValue)

        let reused = hub.request("POST", "/api/auth/refresh", json: ["refreshToken": .string(member.refresh)])
        #expect(reused.status == 401)
        #expect(reused.errorCode == "refresh_token_reused")
        hub.settle()
        // Everything of that session is dead: the rotated refresh token and both access tokens.
        #expect(hub.request("POST", "/api/auth/refresh", json: ["refreshToken": .string(next)]).errorCode == "invalid_refresh_token")
        #expect(hub.request("GET", "/api/auth/me", token: access).errorCode == "token_revoked")
        #expect(hub.request("GET", "/api/auth/me", token: member.token).errorCode == "token_revoked")
    }

    @Test func anotherSessionSurvivesAReuse() throws {
        let hub = try TestHub()
        let body = Self.registration()
        let registered = register(hub, body)
        let other = login(hub, try #require(body["email"]?.stringValue))
        let refresh = try #require(registered["refreshToken"]?.stringValue)
        hub.request("POST", "/api/auth/refresh", json: ["refreshToken": .string(refresh)])
        #expect(hub.request("POST", "/api/auth/refresh", json: ["refreshToken": .string(refresh)]).errorCode == "refresh_token_reused")
        #expect(hub.request("GET", "/api/auth/me", token: other["token"]?.stringValue).status == 200)
    }

    @Test func unknownRefreshTokensAreRefused() throws {
        let hub = try TestHub()
        for token in ["nope", String(repeating: "a", count: 300)] {
            let answer = hub.request("POST", "/api/auth/refresh", json: ["refreshToken": .string(token)])
            #expect(answer.status == 401)
            #expect(answer.errorCode == "invalid_refresh_token")
        }
        #expect(hub.request("POST", "/api/auth/refresh", json: [:]).errorCode == "missing_field")
    }

    // MARK: Logging out

    @Test func logoutEndsTheAccessTokenAndItsSession() throws {
        let hub = try TestHub()
        let member = hub.member()
        let out = hub.request("POST", "/api/auth/logout", token: member.token)
        #expect(out.status == 200)
        #expect(hub.request("GET", "/api/auth/me", token: member.token).errorCode == "token_revoked")
        #expect(hub.request("POST", "/api/auth/refresh", json: ["refreshToken": .string(member.refresh)]).errorCode == "invalid_refresh_token")
    }

    @Test func logoutWithOnlyTheRefreshTokenEndsThatSession() throws {
        let hub = try TestHub()
        let member = hub.member()
        let out = hub.request("POST", "/api/auth/logout", json: ["refreshToken": .string(member.refresh)])
        #expect(out.status == 200)
        #expect(hub.request("GET", "/api/auth/me", token: member.token).errorCode == "token_revoked")
        #expect(hub.request("POST", "/api/auth/logout", json: ["refreshToken": "unknown"]).errorCode == "invalid_refresh_token")
        #expect(hub.request("POST", "/api/auth/logout").status == 401)
    }

    // MARK: Password reset

    @Test func forgotPasswordAnswersTheSameForEveryAddress() throws {
        let hub = try TestHub()
        let member = hub.member()
        let known = hub.request("POST", "/api/auth/forgot-password", json: ["email": .string(hub.email(of: member))])
        let unknown = hub.request("POST", "/api/auth/forgot-password", json: ["email": "nobody@example.com"])
        #expect(known.status == 202)
        #expect(unknown.status == 202)
        #expect(known.body == unknown.body)
        #expect(hub.outbox("password-reset").map(\.recipient) == [hub.email(of: member)])
    }

    @Test func aResetChangesThePasswordOnceAndEndsEverySession() throws {
        let hub = try TestHub()
        let member = hub.member()
        let email = hub.email(of: member)
        hub.request("POST", "/api/auth/forgot-password", json: ["email": .string(email)])
        let row = try #require(hub.outbox("password-reset", to: email).last)
        let variables = try JSONParser.parse(Array(row.payload.utf8))
        let token = try #require(variables["token"]?.stringValue)
        #expect(variables["resetLink"]?.stringValue?.hasSuffix("/reset-password?token=\(token)") == true)

        let weak = hub.request("POST", "/api/auth/reset-password", json: ["token": .string(token), "password": "short"])
        #expect(weak.errorCode == "weak_password")
        let reset = hub.request("POST", "/api/auth/reset-password", json: ["token": .string(token), "password": "brand-new-pass"])
        #expect(reset.status == 200)
        #expect(hub.request("GET", "/api/auth/me", token: member.token).errorCode == "token_revoked")
        #expect(hub.request("POST", "/api/auth/refresh", json: ["refreshToken": .string(member.refresh)]).status == 401)
        #expect(login(hub, email).errorCode == "invalid_credentials")
        // Signing in with the new password works at once, in the reset's own second.
        let fresh = login(hub, email, "brand-new-pass")
        #expect(fresh.status == 200)
        #expect(hub.request("GET", "/api/auth/me", token: fresh["token"]?.stringValue).status == 200)

        let again = hub.request("POST", "/api/auth/reset-password", json: ["token": .string(token), "password": "another-pass-1"])
        #expect(again.status == 422)
        #expect(again.errorCode == "invalid_reset_token")
    }

    @Test func aResetWithAnUnknownTokenIsRefused() throws {
        let hub = try TestHub()
        let answer = hub.request("POST", "/api/auth/reset-password", json: ["token": "made-up", "password": "brand-new-pass"])
        #expect(answer.status == 422)
        #expect(answer.errorCode == "invalid_reset_token")
    }

    // MARK: Profile

    @Test func theProfileChangesOnlyItsOwnFields() throws {
        let hub = try TestHub()
        let member = hub.member()
        let changed = hub.request("PUT", "/api/users/profile", json: ["firstName": "Kemi", "phone": "+2348012345678"], token: member.token)
        #expect(changed.status == 200)
        #expect(changed["firstName"]?.stringValue == "Kemi")
        #expect(hub.request("GET", "/api/users/profile", token: member.token)["phone"]?.stringValue == "+2348012345678")
        let email = hub.request("PUT", "/api/users/profile", json: ["email": "evil@example.com"], token: member.token)
        #expect(email.errorCode == "unknown_field")
        #expect(hub.request("PUT", "/api/users/profile", json: ["phone": "call me"], token: member.token).errorCode == "invalid_phone")
        #expect(hub.request("GET", "/api/users/profile", token: member.token)["firstName"]?.stringValue == "Kemi")
    }

    // MARK: Suspension

    @Test func aSuspendedMemberIsCutOffAndLosesTheirHolds() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        let noReason = hub.request("PUT", "/api/admin/users/\(member.id)", json: ["status": "suspended"], token: admin.token)
        #expect(noReason.errorCode == "missing_field")
        let suspended = hub.request("PUT", "/api/admin/users/\(member.id)", json: ["status": "suspended", "reason": "fraud"],
                                    token: admin.token)
        #expect(suspended.status == 200)
        hub.settle()
        #expect(hub.request("GET", "/api/auth/me", token: member.token).errorCode == "account_suspended")
        #expect(login(hub, hub.email(of: member)).errorCode == "account_suspended")
        #expect(hub.request("POST", "/api/auth/refresh", json: ["refreshToken": .string(member.refresh)]).errorCode == "account_suspended")
        #expect(hub.stored(booking)?.status == .cancelled)

        let back = hub.request("PUT", "/api/admin/users/\(member.id)", json: ["status": "active"], token: admin.token)
        #expect(back.status == 200)
        #expect(login(hub, hub.email(of: member)).status == 200)
    }
}
