import HubCore
import HubCrypto
import HubHTTP
import HubLoop
import HubStore
import HubWire
import Logging

/// Tokens, passwords and who is allowed in.
///
/// Access tokens are HS256 JWTs (`sub`, `role`, `exp`, `iat`, `jti`, `typ: "access"`). Their
/// `jti` is `<session>.<random>`, where the session is the refresh-token family, so logout can
/// end the session the access token belongs to. Refresh tokens are random, stored hashed, and
/// rotate on every use; presenting a used one revokes its whole family (RFC 9700 §4.14.2).
/// Revocations (logout, password reset, suspension) are kept in memory for the per-request
/// check and in SQLite so they survive a restart.
final class AuthService {
    let loop: Loop
    let storage: Storage
    let config: Config.Auth
    /// Where token lifetimes and revocations are measured (a manual clock in tests).
    let clock: any Clock
    let logger: Logger
    let hasher: PasswordHasher
    let secret: [UInt8]
    let limits: RateLimits
    private var revokedJTIs: [String: Int64] = [:]
    private var revokedBefore: [String: Int64] = [:]
    /// Per revoked subject, its sessions begun since the revocation (`TokenTable.Revocations`),
    /// kept up to date as sessions begin: a token issued in the revocation's own second is
    /// told apart by its session without reading the store.
    private var sessionsSinceRevocation: [String: Set<String>] = [:]
    private(set) var suspended: Set<String> = []
    /// While `reloadRevocations` reads: suspensions changed here meanwhile, replayed over what
    /// the read found (it may predate them).
    private var suspensionsDuringReload: [(userID: String, isSuspended: Bool)]?
    private var reloadTimer: Timer?
    /// Told when sessions of a subject end, so live sockets and streams end with them (Realtime).
    weak var sessionWatcher: (any SessionWatcher)?
    /// Access tokens whose signature and claims were verified, by their exact text. A hit skips
    /// base64, HMAC and two JSON decoders (most of a request's authentication cost); expiry and
    /// every revocation and suspension check still run on each request.
    private var verified: [String: JWTClaims] = [:]
    /// Verified tokens remembered at most (about 2 MiB); on breach the memo is emptied and refills.
    static let verifiedTokensMax = 4096
    /// Clock skew tolerated on `exp` and `iat`, in seconds.
    static let leewaySeconds: Int64 = 30
    /// A hash verified when the email is unknown, so a login for a missing account takes as long
    /// as one for an existing account (no enumeration by timing).
    private let decoyHash: String

    init(loop: Loop, storage: Storage, config: Config.Auth, secret: [UInt8], limits: RateLimits, clock: any Clock,
         logger: Logger) throws {
        self.loop = loop
        self.clock = clock
        self.limits = limits
        self.storage = storage
        self.config = config
        self.secret = secret
        self.logger = logger
        hasher = PasswordHasher(cost: .init(logN: config.passwordCostLog2, blockSize: 8, parallelism: 1))
        decoyHash = try hasher.hash(SecureRandom.token())
        let now = clock.seconds
        let revocations = try TokenTable.loadRevocations(now: now, storage.reader)  // at start, before the loop runs
        revokedJTIs = revocations.jtis
        revokedBefore = revocations.subjects
        sessionsSinceRevocation = revocations.liveSessions
        suspended = revocations.suspended
    }

    // MARK: Verifying requests

    /// The principal of a request's bearer token; nil when it sent none.
    func authenticate(_ request: Request) -> Result<Principal?, APIError> {
        guard let header = request.header("authorization") else { return .success(nil) }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return .failure(.unauthorized("invalid_token", "Authorization must be \"Bearer <token>\""))
        }
        return principal(token: String(parts[1]), now: clock.seconds).map { Optional($0) }
    }

    /// Verifies an access token: signature, algorithm, expiry, revocation, suspension.
    func principal(token: String, now: Int64) -> Result<Principal, APIError> {
        let claims: JWTClaims
        // Exactly JWT.verify's time checks; outside them the full verification reports why.
        if let known = verified[token], now - Self.leewaySeconds < known.exp, known.iat <= now + Self.leewaySeconds {
            claims = known
        } else {
            switch verifyToken(token, now: now) {
            case .success(let fresh): claims = fresh
            case .failure(let error): return .failure(error)
            }
        }
        guard claims.typ == "access", let role = Principal.Role(rawValue: claims.role) else {
            return .failure(.unauthorized("invalid_token", "not an access token"))
        }
        let principal = Principal(id: claims.sub, role: role, tokenID: claims.jti, expiresAt: claims.exp, issuedAt: claims.iat)
        if let ended = revocation(of: principal) { return .failure(ended) }
        return .success(principal)
    }

    /// Whether the principal's token is past its expiry as the request check sees it (`exp` with
    /// the clock-skew leeway): a socket or stream stops trusting a token exactly when a request
    /// with it would be refused.
    static func hasExpired(_ principal: Principal, now: Int64) -> Bool {
        now - leewaySeconds >= principal.expiresAt
    }

    /// Why a verified principal may no longer act (suspended, its token or session revoked), or
    /// nil. Asked on every request, and of every live socket and stream when a session ends.
    func revocation(of principal: Principal) -> APIError? {
        // Suspension first: a suspended member learns why, whatever else was revoked with it.
        if principal.role == .member && suspended.contains(principal.id) {
            return .forbidden("account_suspended", "this account is suspended")
        }
        if revokedJTIs[principal.tokenID] != nil { return .unauthorized("token_revoked", "this session has ended") }
        if let session = Self.session(of: principal.tokenID), revokedJTIs[session] != nil {
            return .unauthorized("token_revoked", "this session has ended")
        }
        // `iat` has whole seconds: a token of the revocation's own second may come from before
        // it (its session's refresh tokens were revoked with the subject) or from a sign-in just
        // after it (a password reset, then logging in), which must work.
        if let before = revokedBefore[principal.id], principal.issuedAt <= before,
           principal.issuedAt < before || !sessionBegunSinceRevocation(principal) {
            return .unauthorized("token_revoked", "this session has ended; sign in again")
        }
        return nil
    }

    /// Whether the principal's session began after its subject's latest revocation: asked only
    /// of tokens issued in the revocation's own second.
    private func sessionBegunSinceRevocation(_ principal: Principal) -> Bool {
        guard let session = Self.session(of: principal.tokenID) else { return false }
        return sessionsSinceRevocation[principal.id]?.contains(session) ?? false
    }

    /// Signature, algorithm and claims, remembered in `verified` when they pass.
    private func verifyToken(_ token: String, now: Int64) -> Result<JWTClaims, APIError> {
        switch JWT.verify(token, secret: secret, now: now, leewaySeconds: Self.leewaySeconds) {
        case .success(let claims):
            if verified.count >= Self.verifiedTokensMax { verified.removeAll(keepingCapacity: true) }
            verified[token] = claims
            return .success(claims)
        case .failure(.expired): return .failure(.unauthorized("token_expired", "the access token has expired; refresh it"))
        case .failure(.unsupportedAlgorithm):
            return .failure(.unauthorized("unsupported_token_algorithm", "only HS256 access tokens are accepted"))
        case .failure(.badSignature): return .failure(.unauthorized("invalid_token_signature", "the token signature is not valid"))
        case .failure: return .failure(.unauthorized("invalid_token", "the token is malformed"))
        }
    }

    static func session(of jti: String) -> String? {
        jti.split(separator: ".", maxSplits: 1).first.map(String.init)
    }

    // MARK: Issuing

    struct IssuedTokens: Sendable {
        let access: String
        let refresh: String
        let refreshHash: String
        let family: String
        let expiresAtMs: Int64
        let refreshExpiresAt: Int64
    }

    /// New access and refresh tokens for `subject` in session `family` (a new one when nil). The
    /// caller stores the refresh hash (in its own transaction) before handing the tokens out.
    func issue(subject: String, role: Principal.Role, family: String? = nil, now: Int64) -> IssuedTokens {
        let family = family ?? SecureRandom.token(byteCount: 16)
        // Only a token of the revocation's own second needs its session told apart.
        if revokedBefore[subject] == now { sessionsSinceRevocation[subject, default: []].insert(family) }
        let expires = now + config.accessTokenSeconds
        let claims = JWTClaims(sub: subject, role: role.rawValue, exp: expires, iat: now,
                               jti: family + "." + SecureRandom.token(byteCount: 16), typ: "access")
        let refresh = SecureRandom.token()
        return IssuedTokens(access: JWT.sign(claims, secret: secret), refresh: refresh, refreshHash: Self.hashToken(refresh),
                            family: family, expiresAtMs: expires * 1000, refreshExpiresAt: now + config.refreshTokenSeconds)
    }

    static func hashToken(_ token: String) -> String { Hex.encode(SHA256.hash(Array(token.utf8))) }

    static func tokensJSON(_ tokens: IssuedTokens, user: JSON) -> JSON {
        // `token` + `user` for the seed's ApiClient.login; `accessToken`, `refreshToken` and
        // `expiresAt` (Unix ms) for its AuthManager.
        [
            "token": .string(tokens.access),
            "accessToken": .string(tokens.access),
            "refreshToken": .string(tokens.refresh),
            "expiresAt": .int64(tokens.expiresAtMs),
            "tokenType": "Bearer",
            "user": user,
        ]
    }

    // MARK: Revoking

    /// Revokes an access token, or a whole session when `jti` is a session id, of `subject`: its
    /// live sockets and streams are told at once (`sessionWatcher`), not when the token expires.
    func revokeAccess(jti: String, expiresAt: Int64, subject: String) {
        revokedJTIs[jti] = expiresAt
        sessionWatcher?.sessionsMayHaveEnded(subject: subject)
    }

    /// Ends every session of `subject` issued up to `now` (password reset, suspension); the caller
    /// has revoked the subject's refresh tokens in the store (`TokenTable.revokeSubject`).
    func revokeSubject(_ subject: String, now: Int64) {
        revokedBefore[subject] = now
        sessionsSinceRevocation[subject] = []
        sessionWatcher?.sessionsMayHaveEnded(subject: subject)
    }

    /// Takes in revocations made in the store while the hub ran (`spacehub admin disable` and
    /// `set-password` revoke an administrator's sessions from the command line); SIGHUP calls it.
    /// Ends the live connections of every subject whose revocation is new. Returns that count.
    func reloadRevocations(completion: @escaping (Result<Int, any Error>) -> Void) {
        let now = clock.seconds
        suspensionsDuringReload = suspensionsDuringReload ?? []
        storage.read({ try TokenTable.loadRevocations(now: now, $0) }) { [self] read in
            let meanwhile = suspensionsDuringReload ?? []
            suspensionsDuringReload = nil
            completion(read.map { takeIn($0, suspensionsMeanwhile: meanwhile) })
        }
    }

    /// Hubs sharing a database: `reloadRevocations` every `everyMs`, so a logout or a password
    /// reset on another hub (rows, not events) ends sessions here within that time.
    func reloadRevocations(everyMs: UInt64) {
        let timer = Timer(loop: loop)
        timer.start(afterMs: everyMs, repeatMs: everyMs) { [unowned self] in
            // One read at a time: an older read completing last would undo a newer suspension.
            guard suspensionsDuringReload == nil else { return }
            reloadRevocations { [logger] result in
                if case .failure(let error) = result { logger.debug("reading revocations failed: \(error)") }
            }
        }
        timer.unref()
        reloadTimer = timer
    }

    func stopReloading() {
        reloadTimer?.close()
        reloadTimer = nil
    }

    private func takeIn(_ loaded: TokenTable.Revocations, suspensionsMeanwhile: [(userID: String, isSuspended: Bool)]) -> Int {
        var changed: [String] = []
        // A logout another hub recorded: its member's sockets and streams here are looked at too.
        var signedOut = Set<String>()
        for (jti, expiresAt) in loaded.jtis where revokedJTIs[jti] == nil {
            revokedJTIs[jti] = expiresAt
            if let subject = loaded.jtiSubjects[jti] { signedOut.insert(subject) }
        }
        for (subject, before) in loaded.subjects where revokedBefore[subject].map({ $0 < before }) ?? true {
            revokedBefore[subject] = before
            sessionsSinceRevocation[subject] = loaded.liveSessions[subject] ?? []
            changed.append(subject)
        }
        suspended = loaded.suspended
        for change in suspensionsMeanwhile { apply(suspension: change.isSuspended, to: change.userID) }
        for subject in signedOut.union(changed) { sessionWatcher?.sessionsMayHaveEnded(subject: subject) }
        return changed.count
    }

    func setSuspended(_ userID: String, _ isSuspended: Bool) {
        apply(suspension: isSuspended, to: userID)
        suspensionsDuringReload?.append((userID, isSuspended))
    }

    private func apply(suspension isSuspended: Bool, to userID: String) {
        if isSuspended { suspended.insert(userID) } else { suspended.remove(userID) }
    }

    /// Forgets denylist entries of tokens that have expired anyway.
    func pruneRevocations(now: Int64) {
        revokedJTIs = revokedJTIs.filter { $0.value > now }
    }

    // MARK: Passwords (threadpool)

    /// Hashes on libuv's threadpool: scrypt takes ~100 ms and must never run on the loop.
    func hashPassword(_ password: String, completion: @escaping (Result<String, APIError>) -> Void) {
        let hasher = self.hasher
        WorkQueue.submit(on: loop, work: { () -> Result<String, APIError> in
            do throws(CryptoError) {
                return .success(try hasher.hash(password))
            } catch {
                return .failure(.internalError("password hashing failed"))
            }
        }, completion: completion)
    }

    /// Verifies on the threadpool; `encoded` nil verifies against a decoy and fails.
    func verifyPassword(_ password: String, against encoded: String?, completion: @escaping (_ ok: Bool, _ needsRehash: Bool) -> Void) {
        let hasher = self.hasher
        let target = encoded ?? decoyHash
        let real = encoded != nil
        WorkQueue.submit(on: loop, work: { () -> (Bool, Bool) in
            let ok = hasher.verify(password, against: target) && real
            return (ok, ok && hasher.needsRehash(target))
        }, completion: { completion($0.0, $0.1) })
    }

}

@available(*, unavailable) extension AuthService: Sendable {}

/// Learns that sessions of a subject may have ended (logout, a password reset, a reused refresh
/// token, a suspension) and re-checks what it keeps open for them (`AuthService.revocation(of:)`).
protocol SessionWatcher: AnyObject {
    func sessionsMayHaveEnded(subject: String)
}
