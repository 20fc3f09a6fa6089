import Foundation
import HubCrypto
import HubHTTP
import HubWire

/// The calendar services a member can connect (the seed's `provider` values).
enum CalendarProvider: String, Sendable, CaseIterable, Comparable {
    /// Google Calendar API v3.
    case google
    /// Outlook through Microsoft Graph v1.0.
    case outlook

    static func < (lhs: CalendarProvider, rhs: CalendarProvider) -> Bool { lhs.rawValue < rhs.rawValue }

    var displayName: String {
        switch self {
        case .google: "Google Calendar"
        case .outlook: "Outlook"
        }
    }
}

/// Where one provider lives and who we are to it. Base URLs come from config so tests run the
/// real adapters against fakes on loopback.
struct ProviderSettings: Sendable {
    let provider: CalendarProvider
    let tokenURL: String
    let apiBaseURL: String
    let clientID: String
    let clientSecret: String
    let redirectURI: String
    /// Empty when the provider has no token revocation endpoint (Microsoft's v2 endpoint has none).
    let revokeURL: String
    let timeoutSeconds: Int

    var isConfigured: Bool { !clientID.isEmpty && !clientSecret.isEmpty }

    static func all(_ config: Config.Calendar) -> [CalendarProvider: ProviderSettings] {
        [
            .google: ProviderSettings(provider: .google, tokenURL: config.googleTokenURL, apiBaseURL: trimmed(config.googleAPIBaseURL),
                                      clientID: config.googleClientID, clientSecret: config.googleClientSecret,
                                      redirectURI: config.redirectURI, revokeURL: config.googleRevokeURL,
                                      timeoutSeconds: config.timeoutSeconds),
            .outlook: ProviderSettings(provider: .outlook, tokenURL: config.outlookTokenURL, apiBaseURL: trimmed(config.outlookAPIBaseURL),
                                       clientID: config.outlookClientID, clientSecret: config.outlookClientSecret,
                                       redirectURI: config.redirectURI, revokeURL: "", timeoutSeconds: config.timeoutSeconds),
        ]
    }

    private static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}

/// A calendar operation that did not work, as the API reports it.
struct CalendarError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP status for our client: 502 when the provider failed, 400 when it refused what the
    /// member gave us, 409 when the member must reconnect.
    let status: Int
    let code: String
    let message: String
    /// The provider rejected the access token (401): refresh and try once more.
    var tokenRejected = false
    /// The refresh token is dead: the connection is deactivated and must be made again.
    var reauthorize = false

    var description: String { "\(code): \(message)" }
    var apiError: APIError { APIError(status, code, message) }

    static func unreachable(_ provider: CalendarProvider, _ what: String, _ error: OutboundError) -> CalendarError {
        CalendarError(status: 502, code: "provider_unreachable", message: "could not reach \(provider.displayName) (\(what)): \(error)")
    }

    /// A provider answer we did not expect, with the start of its body.
    static func answered(_ provider: CalendarProvider, _ what: String, _ response: OutboundResponse) -> CalendarError {
        let detail = providerMessage(response)
        var error = CalendarError(status: 502, code: "provider_error",
                                  message: "\(provider.displayName) answered \(response.status) to \(what)\(detail.isEmpty ? "" : ": \(detail)")")
        error.tokenRejected = response.status == 401
        return error
    }

    /// `error_description`, `error.message` or `error`, else the first 200 bytes of the body.
    static func providerMessage(_ response: OutboundResponse) -> String {
        if let json = response.json {
            if let text = json["error_description"]?.stringValue { return "\(json["error"]?.stringValue ?? "error"): \(text)" }
            if let text = json["error"]?["message"]?.stringValue { return text }
            if let text = json["error"]?.stringValue { return text }
        }
        return String(decoding: response.body.prefix(200), as: UTF8.self)
    }
}

/// What a token endpoint grants (RFC 6749 §5.1).
struct TokenGrant: Sendable, Equatable {
    let accessToken: String
    /// Absent on most refreshes (Google keeps the old one); Microsoft rotates it.
    let refreshToken: String?
    let expiresInSeconds: Int64
    /// OpenID Connect ID token (Google, when `openid` was in scope): names the account.
    let idToken: String?
}

/// OAuth 2.0 token endpoint calls (RFC 6749), blocking, for threadpool threads.
enum OAuthClient {
    /// Microsoft needs the scopes again on every token request; Google takes them from the grant.
    static let outlookScope = "offline_access Calendars.ReadWrite User.Read"
    /// Assumed lifetime when a token endpoint leaves out `expires_in`.
    static let defaultExpiresInSeconds: Int64 = 3600

    /// §4.1.3: exchanges an authorization code.
    static func exchange(code: String, redirectURI: String, _ settings: ProviderSettings) -> Result<TokenGrant, CalendarError> {
        var form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
                    ("client_id", settings.clientID), ("client_secret", settings.clientSecret)]
        if settings.provider == .outlook { form.append(("scope", outlookScope)) }
        return tokenRequest(form, settings, what: "the authorization code exchange")
    }

    /// §6: a new access token from the refresh token.
    static func refresh(refreshToken: String, _ settings: ProviderSettings) -> Result<TokenGrant, CalendarError> {
        var form = [("grant_type", "refresh_token"), ("refresh_token", refreshToken),
                    ("client_id", settings.clientID), ("client_secret", settings.clientSecret)]
        if settings.provider == .outlook { form.append(("scope", outlookScope)) }
        return tokenRequest(form, settings, what: "the token refresh").mapError { error in
            var mapped = error
            // §5.2: invalid_grant means the refresh token is revoked or expired: reconnect.
            if error.code == "authorization_failed" {
                mapped = CalendarError(status: 409, code: "reauthorization_required",
                                       message: "\(settings.provider.displayName) no longer accepts this connection (\(error.message)); connect again")
                mapped.reauthorize = true
            }
            return mapped
        }
    }

    /// Best effort (RFC 7009): tells the provider to forget a token. Google only.
    static func revoke(token: String, _ settings: ProviderSettings) -> Bool {
        guard !settings.revokeURL.isEmpty else { return false }
        let request = OutboundRequest(method: "POST", url: settings.revokeURL,
                                      headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                      body: formEncoded([("token", token)]), timeoutSeconds: settings.timeoutSeconds)
        if case .success(let response) = OutboundHTTP.hub.send(request), response.isSuccess { return true }
        return false
    }

    private static func tokenRequest(_ form: [(String, String)], _ settings: ProviderSettings,
                                     what: String) -> Result<TokenGrant, CalendarError> {
        // Retried after a lost answer: a second grant of the same code or refresh token is refused
        // (`invalid_grant`) rather than granted twice, so repeating it changes nothing.
        let request = OutboundRequest(method: "POST", url: settings.tokenURL,
                                      headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                                      body: formEncoded(form), timeoutSeconds: settings.timeoutSeconds, isIdempotent: true)
        let response: OutboundResponse
        switch OutboundHTTP.hub.send(request, retries: 1) {
        case .success(let answer): response = answer
        case .failure(let error): return .failure(.unreachable(settings.provider, "token endpoint", error))
        }
        guard response.isSuccess else {
            if response.status == 400 || response.status == 401 {
                return .failure(CalendarError(status: 400, code: "authorization_failed",
                                              message: "\(settings.provider.displayName) refused \(what): \(CalendarError.providerMessage(response))"))
            }
            return .failure(.answered(settings.provider, what, response))
        }
        guard let json = response.json, let accessToken = json["access_token"]?.stringValue, !accessToken.isEmpty else {
            return .failure(CalendarError(status: 502, code: "provider_error",
                                          message: "\(settings.provider.displayName) sent no access_token in \(what)"))
        }
        let expiresIn = json["expires_in"]?.intValue.map(Int64.init)
            ?? json["expires_in"]?.stringValue.flatMap { Int64($0) } ?? defaultExpiresInSeconds
        return .success(TokenGrant(accessToken: accessToken, refreshToken: json["refresh_token"]?.stringValue,
                                   expiresInSeconds: max(0, expiresIn), idToken: json["id_token"]?.stringValue))
    }

    /// `application/x-www-form-urlencoded` (WHATWG URL §5.2): everything but unreserved
    /// characters percent-encoded, spaces as "+".
    static func formEncoded(_ pairs: [(String, String)]) -> [UInt8] {
        Array(pairs.map { "\(formComponent($0.0))=\(formComponent($0.1))" }.joined(separator: "&").utf8)
    }

    static func formComponent(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2D, 0x2E, 0x5F, 0x2A: output.unicodeScalars.append(UnicodeScalar(byte))
            case 0x20: output += "+"
            default: output += String(format: "%%%02X", byte)
            }
        }
        return output
    }

    /// The `email` (else `sub`) claim of an ID token that came straight from the token endpoint
    /// over TLS; OpenID Connect Core §3.1.3.7 lets TLS stand in for the signature check there.
    static func accountName(idToken: String?) -> String? {
        guard let idToken else { return nil }
        let parts = idToken.split(separator: ".")
        guard parts.count == 3, let payload = Base64URL.decode(parts[1].replacingOccurrences(of: "=", with: "")),
              let claims = try? JSONParser.parse(payload)
        else { return nil }
        return claims["email"]?.stringValue ?? claims["sub"]?.stringValue
    }
}
