import HubCore
import HubCrypto
import HubHTTP
import HubStore
import HubWire

/// The seed's authentication and profile endpoints.
final class AuthRoutes {
    let auth: AuthService
    let storage: Storage
    /// The `auth` section of the configuration: token lifetimes.
    let tokens: Config.Auth
    /// Base of the links in emails (password reset).
    let links: PublicLinks

    init(auth: AuthService, storage: Storage, tokens: Config.Auth, links: PublicLinks) {
        self.auth = auth
        self.storage = storage
        self.tokens = tokens
        self.links = links
    }

    func register(_ router: Router) {
        router.post("/api/auth/register", access: .anonymous) { [self] request, responder throws(APIError) in try self.registerUser(request, responder) }
        router.post("/api/auth/login", access: .anonymous) { [self] request, responder throws(APIError) in try self.login(request, responder) }
        router.post("/api/auth/refresh", access: .anonymous) { [self] request, responder throws(APIError) in try self.refresh(request, responder) }
        // Anonymous at the router: an expired access token must not keep a client from ending
        // its session with the refresh token it still holds (see `logout`).
        router.post("/api/auth/logout", access: .anonymous) { [self] request, responder throws(APIError) in try self.logout(request, responder) }
        router.get("/api/auth/me", access: .authenticated) { [self] request, responder throws(APIError) in try self.me(request, responder) }
        router.get("/api/users/profile", access: .member) { [self] request, responder throws(APIError) in try self.me(request, responder) }
        router.put("/api/users/profile", access: .member) { [self] request, responder throws(APIError) in try self.updateProfile(request, responder) }
        router.post("/api/auth/forgot-password", access: .anonymous) { [self] request, responder throws(APIError) in try self.forgotPassword(request, responder) }
        router.post("/api/auth/reset-password", access: .anonymous) { [self] request, responder throws(APIError) in try self.resetPassword(request, responder) }
        router.post("/api/admin/auth/login", access: .anonymous) { [self] request, responder throws(APIError) in try self.adminLogin(request, responder) }
        router.get("/api/admin/auth/me", access: .admin) { [self] request, responder throws(APIError) in try self.me(request, responder) }
    }

    // MARK: Register and log in

    private func registerUser(_ request: Request, _ responder: Responder) throws(APIError) {
        try auth.limits.take(.registerPerIP, key: request.peer)
        let body = try request.jsonObject()
        let email = Validation.normalizedEmail(try Fields.string(body, "email"))
        if let problem = Validation.emailProblem(email) { throw APIError.invalid("email", "invalid_email", problem) }
        // Per email too: `email_taken` answers would otherwise let one address be probed from many IPs.
        try auth.limits.take(.registerPerEmail, key: email)
        let password = try Fields.string(body, "password")
        if let problem = Validation.passwordProblem(password) { throw APIError.invalid("password", "weak_password", problem) }
        let firstName = try Fields.name(body, "firstName")
        let lastName = try Fields.name(body, "lastName")
        let phone = try Fields.phone(body, "phone", required: false)
        storage.read(for: responder, { try UserTable.find(email: email, $0) }) { [self] existing throws(APIError) in
            guard existing == nil else { throw APIError.conflict("email_taken", "an account with this email already exists") }
            register(email: email, password: password, firstName: firstName, lastName: lastName, phone: phone, responder)
        }
    }

    private func register(email: String, password: String, firstName: String, lastName: String, phone: String?, _ responder: Responder) {
        auth.hashPassword(password) { [self] hashed in
            guard case .success(let hash) = hashed else {
                responder.fail(.internalError("could not create the account"))
                return
            }
            let now = auth.clock.seconds
            let user = User(id: SecureRandom.uuidV7(nowMs: now * 1000), email: email, passwordHash: hash, firstName: firstName,
                            lastName: lastName, phone: phone, createdAt: now, updatedAt: now)
            let tokens = auth.issue(subject: user.id, role: .member, now: now)
            storage.write({ db in
                try UserTable.insert(user, db)
                try Self.storeRefresh(tokens, subject: user.id, kind: "user", now: now, db)
            }) { result in
                switch result {
                case .success:
                    responder.json(AuthService.tokensJSON(tokens, user: UserViews.user(user)), status: 201)
                case .failure(let error as StoreError) where error.isUniqueViolation:
                    responder.fail(.conflict("email_taken", "an account with this email already exists"))
                case .failure:
                    responder.fail(.unavailable("store_unavailable", "could not create the account; retry"))
                }
            }
        }
    }

    private func login(_ request: Request, _ responder: Responder) throws(APIError) {
        let body = try request.jsonObject()
        let email = Validation.normalizedEmail(try Fields.string(body, "email"))
        let password = try Fields.string(body, "password")
        try auth.limits.take(.loginPerIP, key: request.peer)
        try auth.limits.take(.loginPerEmail, key: email)
        storage.read(for: responder, { try UserTable.find(email: email, $0) }) { [self] user in
            login(user, password: password, responder)
        }
    }

    private func login(_ user: User?, password: String, _ responder: Responder) {
        auth.verifyPassword(password, against: user?.passwordHash) { [self] ok, needsRehash in
            guard ok, let user else {
                responder.fail(.unauthorized("invalid_credentials", "email or password is wrong"))
                return
            }
            guard user.status == .active else {
                responder.fail(.forbidden("account_suspended", "this account is suspended"))
                return
            }
            let now = auth.clock.seconds
            let tokens = auth.issue(subject: user.id, role: .member, now: now)
            storage.write({ db in try Self.storeRefresh(tokens, subject: user.id, kind: "user", now: now, db) }) { result in
                switch result {
                case .success: responder.json(AuthService.tokensJSON(tokens, user: UserViews.user(user)))
                case .failure: responder.fail(.unavailable("store_unavailable", "could not sign in; retry"))
                }
            }
            if needsRehash { rehash(password, userID: user.id) }
        }
    }

    private func adminLogin(_ request: Request, _ responder: Responder) throws(APIError) {
        let body = try request.jsonObject()
        let email = Validation.normalizedEmail(try Fields.string(body, "email"))
        let password = try Fields.string(body, "password")
        try auth.limits.take(.loginPerIP, key: request.peer)
        try auth.limits.take(.loginPerEmail, key: "admin:" + email)
        storage.read(for: responder, { try AdminTable.find(email: email, $0) }) { [self] admin in
            adminLogin(admin, password: password, responder)
        }
    }

    private func adminLogin(_ admin: AdminUser?, password: String, _ responder: Responder) {
        auth.verifyPassword(password, against: admin?.passwordHash) { [self] ok, _ in
            guard ok, let admin else {
                responder.fail(.unauthorized("invalid_credentials", "email or password is wrong"))
                return
            }
            guard admin.isActive else {
                responder.fail(.forbidden("account_disabled", "this administrator account is disabled"))
                return
            }
            let now = auth.clock.seconds
            let role: Principal.Role = admin.role == .superAdmin ? .superAdmin : .admin
            let tokens = auth.issue(subject: admin.id, role: role, now: now)
            storage.write({ db in
                try Self.storeRefresh(tokens, subject: admin.id, kind: "admin", now: now, db)
                try AdminTable.recordLogin(admin.id, at: now, db)
            }) { result in
                switch result {
                case .success:
                    var view = admin
                    view.lastLogin = now
                    responder.json(AuthService.tokensJSON(tokens, user: UserViews.admin(view)))
                case .failure: responder.fail(.unavailable("store_unavailable", "could not sign in; retry"))
                }
            }
        }
    }

    private func rehash(_ password: String, userID: String) {
        auth.hashPassword(password) { [storage, clock = auth.clock] result in
            guard case .success(let hash) = result else { return }
            let now = clock.seconds
            storage.write({ db in try UserTable.updatePassword(userID: userID, hash: hash, now: now, db) }) { _ in }
        }
    }

    static func storeRefresh(_ tokens: AuthService.IssuedTokens, subject: String, kind: String, now: Int64, _ db: Database) throws {
        try TokenTable.insertRefresh(hash: tokens.refreshHash, subjectID: subject, subjectKind: kind, familyID: tokens.family,
                                     expiresAt: tokens.refreshExpiresAt, at: now, db)
    }

    // MARK: Refresh and log out

    private enum RefreshOutcome: Sendable {
        case rotated(subject: String, kind: String, role: Principal.Role)
        case invalid
        case reused(subject: String)
        case suspended
        case disabled
    }

    private func refresh(_ request: Request, _ responder: Responder) throws(APIError) {
        let body = try request.jsonObject()
        let presented = try Fields.string(body, "refreshToken")
        guard presented.utf8.count <= 256 else { throw APIError.unauthorized("invalid_refresh_token", "unknown refresh token") }
        let hash = AuthService.hashToken(presented)
        let now = auth.clock.seconds
        // Decided inside one writer job, so two concurrent uses of one token cannot both win.
        let next = SecureRandom.token()
        let nextHash = AuthService.hashToken(next)
        let refreshSeconds = tokens.refreshTokenSeconds
        storage.write({ db -> (RefreshOutcome, String) in
            guard let row = try TokenTable.findRefresh(hash: hash, db) else { return (.invalid, "") }
            // Suspension revokes the member's refresh tokens too; say why rather than "unknown".
            if row.subjectKind == "user", row.expiresAt > now, let user = try UserTable.find(row.subjectID, db), user.status != .active {
                return (.suspended, "")
            }
            // Likewise a disabled administrator's (`spacehub admin disable` revokes their tokens),
            // as their sign-in does: for a token that was live when the account was disabled. One
            // already used, or revoked before (a logout), answers as it would have.
            let admin = row.subjectKind == "admin" ? try AdminTable.find(row.subjectID, db) : nil
            if let admin, !admin.isActive, row.expiresAt > now, row.usedAt == nil,
               (row.revokedAt ?? .max) >= admin.updatedAt {
                return (.disabled, "")
            }
            guard row.revokedAt == nil, row.expiresAt > now else { return (.invalid, "") }
            if row.usedAt != nil {
                try TokenTable.revokeFamily(row.familyID, at: now, db)
                return (.reused(subject: row.subjectID), row.familyID)
            }
            var role = Principal.Role.member
            if row.subjectKind == "admin" {
                guard let admin, admin.isActive else { return (.invalid, "") }
                role = admin.role == .superAdmin ? .superAdmin : .admin
            } else {
                guard let user = try UserTable.find(row.subjectID, db) else { return (.invalid, "") }
                if user.status != .active { return (.suspended, "") }
            }
            try TokenTable.markUsed(hash: hash, at: now, db)
            try TokenTable.insertRefresh(hash: nextHash, subjectID: row.subjectID, subjectKind: row.subjectKind,
                                         familyID: row.familyID, expiresAt: now + refreshSeconds, at: now, db)
            return (.rotated(subject: row.subjectID, kind: row.subjectKind, role: role), row.familyID)
        }) { [self] result in
            switch result {
            case .success((.rotated(let subject, _, let role), let family)):
                var tokens = auth.issue(subject: subject, role: role, family: family, now: now)
                tokens = AuthService.IssuedTokens(access: tokens.access, refresh: next, refreshHash: nextHash, family: family,
                                                  expiresAtMs: tokens.expiresAtMs, refreshExpiresAt: now + refreshSeconds)
                responder.json(AuthService.tokensJSON(tokens, user: .null))
            case .success((.reused(let subject), let family)):
                // The session's access tokens die with it, and its live sockets and streams.
                auth.revokeAccess(jti: family, expiresAt: now + tokens.accessTokenSeconds, subject: subject)
                let expiresAt = now + tokens.accessTokenSeconds
                storage.write({ db in try TokenTable.revokeAccess(jti: family, expiresAt: expiresAt, subject: subject, db) }) { _ in }
                responder.fail(.unauthorized("refresh_token_reused", "this refresh token was already used; the session is revoked"))
            case .success((.suspended, _)):
                responder.fail(.forbidden("account_suspended", "this account is suspended"))
            case .success((.disabled, _)):
                responder.fail(.forbidden("account_disabled", "this administrator account is disabled"))
            case .success((.invalid, _)):
                responder.fail(.unauthorized("invalid_refresh_token", "unknown, expired or revoked refresh token"))
            case .failure:
                responder.fail(.unavailable("store_unavailable", "could not refresh; retry"))
            }
        }
    }

    /// Ends a session: the one of the access token presented, and the one of `refreshToken` when
    /// the body gives it. Either suffices, so a client whose access token has expired still signs
    /// out (its refresh token's family is revoked, and with it every access token of that
    /// session); with neither, the access token's error (401) stands.
    private func logout(_ request: Request, _ responder: Responder) throws(APIError) {
        let body = request.body.isEmpty ? [:] : try request.jsonObject()
        let presented = try Fields.optionalString(body, "refreshToken", maxBytes: 256)
        let now = auth.clock.seconds
        let access: (jti: String, session: String, expiresAt: Int64, subject: String)?
        switch auth.authenticate(request) {
        case .success(let principal?):
            access = (principal.tokenID, AuthService.session(of: principal.tokenID) ?? principal.tokenID, principal.expiresAt,
                      principal.id)
        case .success(nil):
            guard presented != nil else { throw APIError.unauthorized() }
            access = nil
        case .failure(let error):
            guard presented != nil else { throw error }
            access = nil
        }
        if let access {
            auth.revokeAccess(jti: access.jti, expiresAt: access.expiresAt, subject: access.subject)
            auth.revokeAccess(jti: access.session, expiresAt: access.expiresAt, subject: access.subject)
        }
        let refreshHash = presented.map(AuthService.hashToken)
        // Access tokens of the refresh token's session live at most this long from now.
        let sessionExpiry = now + tokens.accessTokenSeconds
        storage.write({ db -> (family: String, subject: String)? in
            if let access {
                try TokenTable.revokeAccess(jti: access.jti, expiresAt: access.expiresAt, subject: access.subject, db)
                try TokenTable.revokeAccess(jti: access.session, expiresAt: access.expiresAt, subject: access.subject, db)
                try TokenTable.revokeFamily(access.session, at: now, db)
            }
            guard let refreshHash, let row = try TokenTable.findRefresh(hash: refreshHash, db) else { return nil }
            try TokenTable.revokeFamily(row.familyID, at: now, db)
            try TokenTable.revokeAccess(jti: row.familyID, expiresAt: sessionExpiry, subject: row.subjectID, db)
            return (row.familyID, row.subjectID)
        }) { [auth] result in
            switch result {
            case .success(let ended):
                if let ended { auth.revokeAccess(jti: ended.family, expiresAt: sessionExpiry, subject: ended.subject) }
                if access == nil && ended == nil {
                    responder.fail(.unauthorized("invalid_refresh_token", "unknown refresh token"))
                } else {
                    responder.json(["message": "signed out"])
                }
            case .failure:
                responder.fail(.unavailable("store_unavailable", "could not sign out; retry"))
            }
        }
    }

    // MARK: Profile

    private func me(_ request: Request, _ responder: Responder) throws(APIError) {
        let principal = request.requirePrincipal
        if principal.isAdmin {
            storage.read(for: responder, { try AdminTable.find(principal.id, $0) }) { admin throws(APIError) in
                guard let admin else { throw APIError.unauthorized("unknown_subject") }
                responder.json(UserViews.admin(admin))
            }
        } else {
            storage.read(for: responder, { try UserTable.find(principal.id, $0) }) { user throws(APIError) in
                guard let user else { throw APIError.unauthorized("unknown_subject") }
                responder.json(UserViews.user(user))
            }
        }
    }

    private func updateProfile(_ request: Request, _ responder: Responder) throws(APIError) {
        let body = try Fields.changes(request, send: "firstName, lastName or phone")
        for key in body.keys where !["firstName", "lastName", "phone"].contains(key) {
            throw APIError.invalid(key, "unknown_field", "\(key) cannot be changed here")
        }
        let firstName = body["firstName"] == nil ? nil : try Fields.name(body, "firstName")
        let lastName = body["lastName"] == nil ? nil : try Fields.name(body, "lastName")
        let phone: String?? = body["phone"] == nil ? nil : .some(try Fields.phone(body, "phone", required: false))
        let userID = request.requirePrincipal.id
        storage.read(for: responder, { try UserTable.find(userID, $0) }) { [self] user throws(APIError) in
            guard var user else { throw APIError.unauthorized("unknown_subject") }
            if let firstName { user.firstName = firstName }
            if let lastName { user.lastName = lastName }
            if let phone { user.phone = phone }
            user.updatedAt = auth.clock.seconds
            save(user, responder)
        }
    }

    private func save(_ updated: User, _ responder: Responder) {
        storage.write({ db in try UserTable.updateProfile(updated, db) }) { result in
            switch result {
            case .success: responder.json(UserViews.user(updated))
            case .failure: responder.fail(.unavailable("store_unavailable", "could not save the profile; retry"))
            }
        }
    }

    // MARK: Password reset

    private func forgotPassword(_ request: Request, _ responder: Responder) throws(APIError) {
        let body = try request.jsonObject()
        let email = Validation.normalizedEmail(try Fields.string(body, "email"))
        try auth.limits.take(.forgotPerIP, key: request.peer)
        try auth.limits.take(.forgotPerEmail, key: email)
        let token = SecureRandom.token()
        let hash = AuthService.hashToken(token)
        let now = auth.clock.seconds
        let expiresAt = now + tokens.resetTokenSeconds
        let link = "\(links.base(for: request))/reset-password?token=\(token)"
        // The same transaction runs whether or not the account exists, and the answer is the
        // same: the response reveals nothing about which addresses are registered.
        storage.write({ db in
            guard let user = try UserTable.find(email: email, db), user.status == .active else { return }
            try TokenTable.insertReset(hash: hash, userID: user.id, expiresAt: expiresAt, at: now, db)
            try Outbox.enqueue(.passwordReset, to: user.email, variables: [
                "userName": .string(user.fullName), "resetLink": .string(link), "token": .string(token),
                "expiresInMinutes": .int(Int((expiresAt - now) / 60)),
            ], at: now, db)
        }) { _ in
            responder.json(["message": "If an account exists for that email, a reset link is on its way."], status: 202)
        }
    }

    private func resetPassword(_ request: Request, _ responder: Responder) throws(APIError) {
        let body = try request.jsonObject()
        let token = try Fields.string(body, "token")
        let password = try Fields.string(body, "password")
        if let problem = Validation.passwordProblem(password) { throw APIError.invalid("password", "weak_password", problem) }
        guard token.utf8.count <= 256 else { throw APIError.invalid("token", "invalid_reset_token", "the reset link is invalid or expired") }
        let hash = AuthService.hashToken(token)
        auth.hashPassword(password) { [self] hashed in
            guard case .success(let passwordHash) = hashed else {
                responder.fail(.internalError("could not reset the password"))
                return
            }
            let now = auth.clock.seconds
            storage.write({ db -> String? in
                guard let userID = try TokenTable.consumeReset(hash: hash, at: now, db) else { return nil }
                try UserTable.updatePassword(userID: userID, hash: passwordHash, now: now, db)
                try TokenTable.revokeSubject(userID, at: now, db)
                return userID
            }) { [self] result in
                switch result {
                case .success(let userID?):
                    auth.revokeSubject(userID, now: now)
                    responder.json(["message": "password changed; sign in again"])
                case .success(nil):
                    responder.fail(.invalid("token", "invalid_reset_token", "the reset link is invalid, used or expired"))
                case .failure:
                    responder.fail(.unavailable("store_unavailable", "could not reset the password; retry"))
                }
            }
        }
    }
}

@available(*, unavailable) extension AuthRoutes: Sendable {}
