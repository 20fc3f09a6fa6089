import Foundation
import HubCore
import HubCrypto
import HubStore
import HubWire
import Testing

@testable import HubServer

/// The account and session contract of docs/API.md beyond `AuthServiceTests`: the address and
/// password rules at their edges, sign-in limits, member and admin sign-ins kept apart, token
/// lifetimes on the manual clock (access, refresh, reset), malformed and forged bearer tokens,
/// logout with an expired token, and what suspension and reinstatement leave of a session.
@Suite struct AuthSessionContractTests {
    private func register(_ hub: TestHub, email: String, password: String = "password123") -> TestHub.Answer {
        hub.request("POST", "/api/auth/register", json: [
            "email": .string(email), "password": .string(password), "firstName": "Ada", "lastName": "Obi",
        ])
    }

    private func login(_ hub: TestHub, _ email: String, _ password: String = "password123", admin: Bool = false) -> TestHub.Answer {
        hub.request("POST", admin ? "/api/admin/auth/login" : "/api/auth/login",
                    json: ["email": .string(email), "password": .string(password)])
    }

    private func refresh(_ hub: TestHub, _ token: String) -> TestHub.Answer {
        hub.request("POST", "/api/auth/refresh", json: ["refreshToken": .string(token)])
    }

    private func me(_ hub: TestHub, _ token: String) -> TestHub.Answer {
        hub.request("GET", "/api/auth/me", token: token)
    }

    /// The reset token mailed to `email` most recently.
    private func mailedResetToken(_ hub: TestHub, to email: String) throws -> (token: String, variables: JSON) {
        let row = try #require(hub.outbox("password-reset", to: email).last)
        let variables = try JSONParser.parse(Array(row.payload.utf8))
        return (try #require(variables["token"]?.stringValue), variables)
    }

    // MARK: Registering

    @Test(arguments: ["a@b", "a b@example.com", "@example.com", "ada@-example.com", "ada@example..com", "ada@exam_ple.com",
                      "a@b@example.com", String(repeating: "a", count: 64) + "@" + String(repeating: "b", count: 190) + ".com"])
    func anAddressThatIsNotOneIsRefused(email: String) throws {
        let hub = try TestHub()
        let answer = register(hub, email: email)
        #expect(answer.status == 422)
        #expect(answer.errorCode == "invalid_email")
        #expect(answer.json["error"]?["field"]?.stringValue == "email")
    }

    /// docs/API.md `weak_password`: shorter than 8 or longer than 1024 bytes.
    @Test(arguments: [(7, false), (8, true), (1024, true), (1025, false)])
    func passwordsAreMeasuredInBytesFrom8To1024(length: Int, accepted: Bool) throws {
        let hub = try TestHub()
        let email = "len\(length)@example.com"
        let password = String(repeating: "p", count: length)
        let answer = register(hub, email: email, password: password)
        if accepted {
            #expect(answer.status == 201)
            #expect(login(hub, email, password).status == 200)
        } else {
            #expect(answer.status == 422)
            #expect(answer.errorCode == "weak_password")
        }
    }

    @Test func aRefusedRegistrationLeavesTheAddressFree() throws {
        let hub = try TestHub()
        #expect(register(hub, email: "kemi@example.com", password: "short").errorCode == "weak_password")
        #expect(register(hub, email: "kemi@example.com").status == 201)
    }

    // MARK: Signing in

    @Test func signInsAreLimitedPerEmailWhateverThePassword() throws {
        let hub = try TestHub()  // auth.loginPerMinutePerEmail: 5 (the default)
        let email = hub.email(of: hub.member())
        for _ in 0..<5 { #expect(login(hub, email, "wrong-password").errorCode == "invalid_credentials") }
        let limited = login(hub, email)
        #expect(limited.status == 429)
        #expect(limited.errorCode == "rate_limited")
        let retry = try #require(limited.headers["retry-after"].flatMap { Int($0) })
        #expect(retry >= 1)
        #expect(limited.json["error"]?["retryAfter"]?.intValue == retry)
        // Another address is not held back by this one's bucket.
        #expect(login(hub, hub.email(of: hub.member())).status == 200)
    }

    @Test func memberAndAdminCredentialsOpenOnlyTheirOwnDoor() throws {
        let hub = try TestHub()
        let member = hub.member()
        let admin = try hub.admin()
        let adminEmail = try #require(hub.request("GET", "/api/admin/auth/me", token: admin.token)["email"]?.stringValue)
        let memberAtAdminDoor = login(hub, hub.email(of: member), admin: true)
        #expect(memberAtAdminDoor.status == 401)
        #expect(memberAtAdminDoor.errorCode == "invalid_credentials")
        let adminAtMemberDoor = login(hub, adminEmail, "admin-password-1")
        #expect(adminAtMemberDoor.status == 401)
        #expect(adminAtMemberDoor.errorCode == "invalid_credentials")
        #expect(hub.request("GET", "/api/admin/auth/me", token: member.token).errorCode == "admin_required")
    }

    @Test func anAdminsRenewedSessionIsStillAnAdmins() throws {
        let hub = try TestHub()
        let admin = try hub.admin(role: .admin)
        let renewed = hub.renewed(admin)
        let me = hub.request("GET", "/api/admin/auth/me", token: renewed.token)
        #expect(me.status == 200)
        #expect(me["id"]?.stringValue == admin.id)
        #expect(hub.request("GET", "/api/admin/payments", token: renewed.token).status == 200)
        #expect(hub.request("GET", "/api/admin/settings", token: renewed.token).errorCode == "super_admin_required")
    }

    @Test func aDisabledAdminCanNeitherSignInNorRefresh() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let email = try #require(hub.request("GET", "/api/admin/auth/me", token: admin.token)["email"]?.stringValue)
        // A second session, signed out before the account is disabled.
        let signedOut = try #require(login(hub, email, "admin-password-1", admin: true)["refreshToken"]?.stringValue)
        #expect(hub.request("POST", "/api/auth/logout", json: ["refreshToken": .string(signedOut)]).status == 200)
        hub.advance(seconds: 1)
        // As `spacehub admin disable` does, on a connection of its own: disabled, sessions revoked.
        let store = try Database(hub.hub.config.store.location)
        try store.transaction { () throws(StoreError) in
            try AdminTable.setActive(admin.id, false, at: hub.clock.seconds, store)
            try TokenTable.revokeSubject(admin.id, at: hub.clock.seconds, store)
        }
        let signIn = login(hub, email, "admin-password-1", admin: true)
        #expect(signIn.status == 403)
        #expect(signIn.errorCode == "account_disabled")
        // The session the disable ended says why, as a suspended member's does; the one that had
        // already ended answers as it did before.
        let refused = refresh(hub, admin.refresh)
        #expect(refused.status == 403)
        #expect(refused.errorCode == "account_disabled")
        #expect(refresh(hub, signedOut).errorCode == "invalid_refresh_token")
        // Enabled again, the admin signs in anew: the disable ended the old sessions for good.
        try AdminTable.setActive(admin.id, true, at: hub.clock.seconds, store)
        #expect(refresh(hub, admin.refresh).errorCode == "invalid_refresh_token")
        #expect(login(hub, email, "admin-password-1", admin: true).status == 200)
    }

    // MARK: Lifetimes on the manual clock

    @Test func anAccessTokenLastsItsLifetimeAndThirtySecondsOfLeeway() throws {
        let hub = try TestHub { $0.auth.accessTokenSeconds = 900 }
        let member = hub.member()
        #expect(me(hub, member.token).status == 200)
        hub.advance(seconds: 900 + 29)
        #expect(me(hub, member.token).status == 200)
        hub.advance(seconds: 1)
        let expired = me(hub, member.token)
        #expect(expired.status == 401)
        #expect(expired.errorCode == "token_expired")
        #expect(expired.headers["www-authenticate"] == "Bearer")
        // The refresh token outlives it and starts a working access token.
        #expect(me(hub, hub.renewed(member).token).status == 200)
    }

    @Test func aRefreshTokenPastItsLifetimeIsRefused() throws {
        let hub = try TestHub { $0.auth.refreshTokenSeconds = 3600 }
        let member = hub.member()
        hub.advance(seconds: 3599)
        let rotated = hub.renewed(member)  // still valid; its successor has a lifetime of its own
        hub.advance(seconds: 3600)
        let answer = refresh(hub, rotated.refresh)
        #expect(answer.status == 401)
        #expect(answer.errorCode == "invalid_refresh_token")
    }

    @Test func aReusedTokenPresentedAgainAfterTheRevocationIsMerelyUnknown() throws {
        let hub = try TestHub()
        let member = hub.member()
        _ = hub.renewed(member)
        #expect(refresh(hub, member.refresh).errorCode == "refresh_token_reused")
        hub.settle()
        // The family is revoked now: the same token is refused as revoked, not counted as a second reuse.
        let third = refresh(hub, member.refresh)
        #expect(third.status == 401)
        #expect(third.errorCode == "invalid_refresh_token")
    }

    // MARK: Bearer headers

    @Test(arguments: ["Bearer", "Bearer ", "Bearerabc", "Token abc.def.ghi", "Bearer a.b.c", "Bearer one two", "Bearer ...."])
    func aMalformedAuthorizationHeaderIsAnInvalidToken(header: String) throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/api/auth/me", headers: [("authorization", header)])
        #expect(answer.status == 401)
        #expect(answer.errorCode == "invalid_token")
        #expect(answer.headers["www-authenticate"] == "Bearer")
    }

    @Test(arguments: ["bearer", "BEARER", "Bearer"])
    func theSchemeNameIsCaseInsensitive(scheme: String) throws {
        let hub = try TestHub()
        let member = hub.member()
        #expect(hub.request("GET", "/api/auth/me", headers: [("authorization", "\(scheme) \(member.token)")]).status == 200)
    }

    /// Tokens a client could not have been given: each refused with the code docs/API.md names.
    enum Forgery: String, CaseIterable, Sendable {
        case algorithmNone, otherSecret, refreshType, unknownRole, issuedInTheFuture, unknownSubject

        var code: String {
            switch self {
            case .algorithmNone: "unsupported_token_algorithm"
            case .otherSecret: "invalid_token_signature"
            case .refreshType, .unknownRole, .issuedInTheFuture: "invalid_token"
            case .unknownSubject: "unknown_subject"
            }
        }

        func token(subject: String, hub: TestHub) -> String {
            let now = hub.clock.seconds
            var claims = JWTClaims(sub: subject, role: "user", exp: now + 600, iat: now, jti: "forged.1", typ: "access")
            var secret = hub.services.auth.secret
            switch self {
            case .algorithmNone:
                let payload = (try? JSONEncoder().encode(claims)).map { Array($0) } ?? []
                return Base64URL.encode(#"{"alg":"none","typ":"JWT"}"#.utf8) + "." + Base64URL.encode(payload) + "."
            case .otherSecret: secret = Array(String(repeating: "x", count: 32).utf8)
            case .refreshType: claims.typ = "refresh"
            case .unknownRole: claims.role = "owner"
            case .issuedInTheFuture: claims.iat = now + 120
            case .unknownSubject: claims.sub = UUID().uuidString.lowercased()
            }
            return JWT.sign(claims, secret: secret)
        }
    }

    @Test(arguments: Forgery.allCases)
    func aForgedOrForeignTokenIsRefused(forgery: Forgery) throws {
        let hub = try TestHub()
        let member = hub.member()
        let answer = me(hub, forgery.token(subject: member.id, hub: hub))
        #expect(answer.status == 401)
        #expect(answer.errorCode == forgery.code)
    }

    // MARK: Logging out

    @Test func anExpiredAccessTokenWithItsRefreshTokenStillSignsOut() throws {
        let hub = try TestHub { $0.auth.accessTokenSeconds = 900 }
        let member = hub.member()
        hub.advance(seconds: 1000)
        let alone = hub.request("POST", "/api/auth/logout", token: member.token)
        #expect(alone.status == 401)
        #expect(alone.errorCode == "token_expired")
        let out = hub.request("POST", "/api/auth/logout", json: ["refreshToken": .string(member.refresh)], token: member.token)
        #expect(out.status == 200)
        #expect(refresh(hub, member.refresh).errorCode == "invalid_refresh_token")
    }

    @Test func signingOutOneSessionLeavesTheOthers() throws {
        let hub = try TestHub()
        let member = hub.member()
        let email = hub.email(of: member)
        let phone = login(hub, email)
        let phoneToken = try #require(phone["token"]?.stringValue)
        #expect(hub.request("POST", "/api/auth/logout", token: member.token).status == 200)
        #expect(me(hub, member.token).errorCode == "token_revoked")
        #expect(me(hub, phoneToken).status == 200)
        #expect(refresh(hub, try #require(phone["refreshToken"]?.stringValue)).status == 200)
        // The ended session's token cannot end anything again.
        let twice = hub.request("POST", "/api/auth/logout", token: member.token)
        #expect(twice.status == 401)
        #expect(twice.errorCode == "token_revoked")
    }

    // MARK: Password reset

    @Test func aResetLinkLapsesAfterItsLifetime() throws {
        let hub = try TestHub()  // auth.resetTokenSeconds: 3600 (the default)
        let member = hub.member()
        let email = hub.email(of: member)
        #expect(hub.request("POST", "/api/auth/forgot-password", json: ["email": .string(email)]).status == 202)
        let (token, variables) = try mailedResetToken(hub, to: email)
        #expect(variables["expiresInMinutes"]?.intValue == 60)
        hub.advance(seconds: 3600)
        let late = hub.request("POST", "/api/auth/reset-password", json: ["token": .string(token), "password": "brand-new-pass"])
        #expect(late.status == 422)
        #expect(late.errorCode == "invalid_reset_token")
        #expect(login(hub, email).status == 200)
        #expect(me(hub, member.token).status == 200)
    }

    @Test func theResetLinkPointsAtThePublicURL() throws {
        let hub = try TestHub { $0.server.publicURL = "https://hub.example.com" }
        let email = hub.email(of: hub.member())
        hub.request("POST", "/api/auth/forgot-password", json: ["email": .string(email.uppercased())])
        let (token, variables) = try mailedResetToken(hub, to: email)
        #expect(variables["resetLink"]?.stringValue == "https://hub.example.com/reset-password?token=\(token)")
    }

    @Test func forgotPasswordIsLimitedPerAddressKnownOrNot() throws {
        // auth.forgotPerMinutePerEmail: 3 (the default); the per-address bucket is not what is tested.
        let hub = try TestHub { $0.auth.forgotPerMinutePerIP = 1000 }
        let known = hub.email(of: hub.member())
        for email in [known, "nobody@example.com"] {
            for _ in 0..<3 { #expect(hub.request("POST", "/api/auth/forgot-password", json: ["email": .string(email)]).status == 202) }
            let limited = hub.request("POST", "/api/auth/forgot-password", json: ["email": .string(email)])
            #expect(limited.status == 429)
            #expect(limited.errorCode == "rate_limited")
        }
        #expect(hub.outbox("password-reset", to: known).count == 3)
    }

    /// A reset ends every other link mailed before it: an older one no longer works.
    @Test func aResetVoidsTheOtherLinksMailedBeforeIt() throws {
        let hub = try TestHub()
        let email = hub.email(of: hub.member())
        hub.request("POST", "/api/auth/forgot-password", json: ["email": .string(email)])
        let (first, _) = try mailedResetToken(hub, to: email)
        hub.request("POST", "/api/auth/forgot-password", json: ["email": .string(email)])
        let (second, _) = try mailedResetToken(hub, to: email)
        #expect(first != second)
        #expect(hub.request("POST", "/api/auth/reset-password", json: ["token": .string(second), "password": "brand-new-pass"]).status == 200)
        let older = hub.request("POST", "/api/auth/reset-password", json: ["token": .string(first), "password": "another-new-pass"])
        #expect(older.errorCode == "invalid_reset_token")
        #expect(login(hub, email, "brand-new-pass").status == 200)
    }

    // MARK: Suspension

    @Test func aSuspendedMemberIsSentNoResetLink() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let member = hub.member()
        let email = hub.email(of: member)
        #expect(hub.request("PUT", "/api/admin/users/\(member.id)", json: ["status": "suspended", "reason": "fraud"], token: admin.token).status == 200)
        let answer = hub.request("POST", "/api/auth/forgot-password", json: ["email": .string(email)])
        #expect(answer.status == 202)
        #expect(hub.outbox("password-reset", to: email).isEmpty)
    }

    /// A link mailed before a suspension does not work during it, nor after reinstatement.
    @Test func aSuspensionVoidsResetLinksMailedBefore() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let member = hub.member()
        let email = hub.email(of: member)
        hub.request("POST", "/api/auth/forgot-password", json: ["email": .string(email)])
        let (token, _) = try mailedResetToken(hub, to: email)
        #expect(hub.request("PUT", "/api/admin/users/\(member.id)", json: ["status": "suspended", "reason": "fraud"], token: admin.token).status == 200)
        let during = hub.request("POST", "/api/auth/reset-password", json: ["token": .string(token), "password": "brand-new-pass"])
        #expect(during.errorCode == "invalid_reset_token")
        #expect(hub.request("PUT", "/api/admin/users/\(member.id)", json: ["status": "active"], token: admin.token).status == 200)
        let after = hub.request("POST", "/api/auth/reset-password", json: ["token": .string(token), "password": "brand-new-pass"])
        #expect(after.errorCode == "invalid_reset_token")
        #expect(login(hub, email, "brand-new-pass").status == 401)
    }

    @Test func reinstatementDoesNotReviveTheSessionsSuspensionEnded() throws {
        let hub = try TestHub()
        let admin = try hub.admin()
        let member = hub.member()
        #expect(hub.request("PUT", "/api/admin/users/\(member.id)", json: ["status": "suspended", "reason": "fraud"], token: admin.token).status == 200)
        hub.advance(seconds: 60)
        #expect(hub.request("PUT", "/api/admin/users/\(member.id)", json: ["status": "active"], token: admin.token).status == 200)
        hub.settle()
        #expect(me(hub, member.token).errorCode == "token_revoked")
        #expect(refresh(hub, member.refresh).errorCode == "invalid_refresh_token")
        let fresh = login(hub, hub.email(of: member))
        #expect(fresh.status == 200)
        #expect(me(hub, try #require(fresh["token"]?.stringValue)).status == 200)
    }

}
