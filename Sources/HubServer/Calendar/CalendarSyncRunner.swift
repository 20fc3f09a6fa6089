import HubCore
import HubCrypto
import HubStore

/// Seals and opens OAuth tokens at rest with AES-256-GCM (`CALENDAR_TOKEN_KEY`). Each token is
/// bound to its row and role through the associated data, so a sealed token copied onto another
/// member's row, or an access token swapped for a refresh token, fails to open.
struct TokenVault: Sendable {
    let key: [UInt8]

    enum Role: String { case access, refresh }

    func seal(_ token: String, integrationID: String, role: Role) throws(CryptoError) -> [UInt8] {
        try AESGCM.seal(Array(token.utf8), key: key, associatedData: Self.associatedData(integrationID, role))
    }

    func open(_ sealed: [UInt8], integrationID: String, role: Role) throws(CryptoError) -> String {
        String(decoding: try AESGCM.open(sealed, key: key, associatedData: Self.associatedData(integrationID, role)), as: UTF8.self)
    }

    private static func associatedData(_ integrationID: String, _ role: Role) -> [UInt8] {
        Array("spacehub-calendar:\(integrationID):\(role.rawValue)".utf8)
    }
}

/// Tokens replaced during a sync (a refresh), sealed, for the loop to store.
struct SealedTokens: Sendable, Equatable {
    let access: [UInt8]
    let refresh: [UInt8]?
    let expiresAt: Int64
}

/// One sync of one booking with one connection, as decided and done on a worker thread.
struct SyncResult: Sendable {
    enum Action: String, Sendable { case created, updated, deleted, unchanged, failed }
    enum LinkChange: Sendable, Equatable {
        case keep
        case set(CalendarEventTable.Link)
        case remove(bookingID: String)
    }

    let integrationID: String
    let provider: CalendarProvider
    var action: Action = .unchanged
    var externalID: String?
    var error: CalendarError?
    var tokens: SealedTokens?
    var link: LinkChange = .keep
}

/// The blocking half of calendar sync: token refresh and provider calls, on a threadpool thread.
/// Gets everything it needs as values and returns what the loop must store; touches no database.
enum CalendarSyncRunner {
    /// Refresh an access token this long before it lapses, so a call never races its expiry.
    static let refreshSkewSeconds: Int64 = 60

    struct Target: Sendable {
        let integration: CalendarIntegrationTable.Integration
        let link: CalendarEventTable.Link?
    }

    struct Task: Sendable {
        let booking: Booking
        let targets: [Target]
        /// Write the event even when the stored version says it is current (an explicit sync).
        let force: Bool
        let vault: TokenVault
        let settings: [CalendarProvider: ProviderSettings]
        /// The hub's clock: when an access token counts as lapsed.
        let clock: any Clock
    }

    static func run(_ task: Task) -> [SyncResult] {
        task.targets.map { sync(task, $0) }
    }

    private static func sync(_ task: Task, _ target: Target) -> SyncResult {
        let integration = target.integration
        let provider = CalendarProvider(rawValue: integration.provider) ?? .google
        var result = SyncResult(integrationID: integration.id, provider: provider)
        let booking = task.booking
        guard let settings = task.settings[provider] else { return result }

        enum Operation { case upsert, delete(String) }
        let operation: Operation
        switch booking.status {
        case .confirmed, .completed, .pending:
            if booking.status == .pending && target.link == nil && !task.force { return result }  // holds are not calendar events
            if !task.force, let link = target.link, link.syncedVersion >= booking.version { return result }
            operation = .upsert
        case .cancelled, .expired:
            guard let link = target.link else { return result }
            operation = .delete(link.externalID)
        }

        var tokens = TokenSession(integration: integration, vault: task.vault, settings: settings, clock: task.clock)
        let content = CalendarEventContent(booking)
        switch operation {
        case .upsert:
            let outcome = tokens.withAccessToken { token in
                CalendarEventsAPI.upsert(content, existingID: target.link?.externalID, settings: settings, accessToken: token)
            }
            switch outcome {
            case .success(.created(let id)), .success(.updated(let id)):
                if case .success(.created) = outcome { result.action = .created } else { result.action = .updated }
                result.externalID = id
                result.link = .set(CalendarEventTable.Link(bookingID: booking.id, integrationID: integration.id, externalID: id,
                                                           syncedVersion: booking.version))
            case .failure(let error):
                result.action = .failed
                result.error = error
            }
        case .delete(let externalID):
            switch tokens.withAccessToken({ token in CalendarEventsAPI.delete(eventID: externalID, settings: settings, accessToken: token) }) {
            case .success:
                result.action = .deleted
                result.externalID = externalID
                result.link = .remove(bookingID: booking.id)
            case .failure(let error):
                result.action = .failed
                result.error = error
            }
        }
        result.tokens = tokens.refreshed
        return result
    }

    /// An access token that is valid now: the stored one, or a refreshed one when it lapses
    /// within `refreshSkewSeconds` or the provider rejected it (401, once).
    struct TokenSession {
        let integration: CalendarIntegrationTable.Integration
        let vault: TokenVault
        let settings: ProviderSettings
        let clock: any Clock
        private var access: String?
        private var refreshToken: String?
        private var expiresAt: Int64
        private(set) var refreshed: SealedTokens?
        private var unreadable = false

        init(integration: CalendarIntegrationTable.Integration, vault: TokenVault, settings: ProviderSettings, clock: any Clock) {
            self.integration = integration
            self.vault = vault
            self.settings = settings
            self.clock = clock
            expiresAt = integration.tokenExpiresAt ?? 0
            do {
                access = try integration.accessToken.map { sealed throws(CryptoError) in
                    try vault.open(sealed, integrationID: integration.id, role: .access)
                }
                refreshToken = try integration.refreshToken.map { sealed throws(CryptoError) in
                    try vault.open(sealed, integrationID: integration.id, role: .refresh)
                }
            } catch {
                unreadable = true  // CALENDAR_TOKEN_KEY changed: the member must connect again
            }
        }

        mutating func withAccessToken<T>(_ call: (String) -> Result<T, CalendarError>) -> Result<T, CalendarError> {
            let first: String
            switch token(forceRefresh: false) {
            case .success(let token): first = token
            case .failure(let error): return .failure(error)
            }
            let result = call(first)
            guard case .failure(let error) = result, error.tokenRejected, refreshed == nil else { return result }
            switch token(forceRefresh: true) {
            case .success(let token): return call(token)
            case .failure(let error): return .failure(error)
            }
        }

        private mutating func token(forceRefresh: Bool) -> Result<String, CalendarError> {
            if unreadable {
                var error = CalendarError(status: 409, code: "reauthorization_required",
                                          message: "the stored tokens cannot be opened with the current CALENDAR_TOKEN_KEY; connect again")
                error.reauthorize = true
                return .failure(error)
            }
            let now = clock.seconds
            if !forceRefresh, let access, expiresAt - now > CalendarSyncRunner.refreshSkewSeconds { return .success(access) }
            guard let refreshToken else {
                var error = CalendarError(status: 409, code: "reauthorization_required",
                                          message: "the access token expired and \(settings.provider.displayName) gave no refresh token; connect again")
                error.reauthorize = true
                return .failure(error)
            }
            switch OAuthClient.refresh(refreshToken: refreshToken, settings) {
            case .failure(let error):
                return .failure(error)
            case .success(let grant):
                do {
                    let sealedAccess = try vault.seal(grant.accessToken, integrationID: integration.id, role: .access)
                    let sealedRefresh = try grant.refreshToken.map { token throws(CryptoError) in
                        try vault.seal(token, integrationID: integration.id, role: .refresh)
                    }
                    access = grant.accessToken
                    if let rotated = grant.refreshToken { self.refreshToken = rotated }
                    expiresAt = now + grant.expiresInSeconds
                    refreshed = SealedTokens(access: sealedAccess, refresh: sealedRefresh, expiresAt: expiresAt)
                    return .success(grant.accessToken)
                } catch {
                    return .failure(CalendarError(status: 500, code: "internal_error", message: "sealing tokens failed: \(error.message)"))
                }
            }
        }
    }
}

/// The blocking half of `POST /api/calendar/connect`: code exchange and sealing.
enum CalendarConnector {
    struct Connection: Sendable {
        let integrationID: String
        let tokens: SealedTokens
        let accountName: String?
    }

    static func connect(code: String, redirectURI: String, integrationID: String, settings: ProviderSettings,
                        vault: TokenVault, now: Int64) -> Result<Connection, CalendarError> {
        switch OAuthClient.exchange(code: code, redirectURI: redirectURI, settings) {
        case .failure(let error):
            return .failure(error)
        case .success(let grant):
            do {
                let access = try vault.seal(grant.accessToken, integrationID: integrationID, role: .access)
                let refresh = try grant.refreshToken.map { token throws(CryptoError) in
                    try vault.seal(token, integrationID: integrationID, role: .refresh)
                }
                return .success(Connection(integrationID: integrationID,
                                           tokens: SealedTokens(access: access, refresh: refresh, expiresAt: now + grant.expiresInSeconds),
                                           accountName: OAuthClient.accountName(idToken: grant.idToken)))
            } catch {
                return .failure(CalendarError(status: 500, code: "internal_error", message: "sealing tokens failed: \(error.message)"))
            }
        }
    }

    /// Best effort: opens the stored refresh (else access) token and asks the provider to revoke it.
    static func revoke(_ integration: CalendarIntegrationTable.Integration, settings: ProviderSettings, vault: TokenVault) -> Bool {
        if let sealed = integration.refreshToken, let token = try? vault.open(sealed, integrationID: integration.id, role: .refresh) {
            return OAuthClient.revoke(token: token, settings)
        }
        if let sealed = integration.accessToken, let token = try? vault.open(sealed, integrationID: integration.id, role: .access) {
            return OAuthClient.revoke(token: token, settings)
        }
        return false
    }
}
