import HubHTTP

/// The authenticated caller of a request.
public struct Principal: RequestPrincipal, Equatable {
    public enum Role: String, Sendable {
        case member = "user"
        case admin
        case superAdmin = "super_admin"

        public var isAdmin: Bool { self != .member }
    }

    public let id: String
    public let role: Role
    /// The access token's `jti`, for logout.
    public let tokenID: String
    /// Unix seconds when the access token expires.
    public let expiresAt: Int64
    /// Unix seconds when the access token was issued (`iat`), for revocations by instant.
    public let issuedAt: Int64

    public init(id: String, role: Role, tokenID: String, expiresAt: Int64, issuedAt: Int64 = 0) {
        self.id = id
        self.role = role
        self.tokenID = tokenID
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
    }

    public var isAdmin: Bool { role.isAdmin }
}

/// The hub's access rules beyond HubHTTP's `open`, `anonymous` and `authenticated`: each needs a
/// token, and `Principal.admit` checks the role it names.
extension Access {
    /// Members only (the `/api/users/...` area).
    public static let member = Access("member", token: .required)
    public static let admin = Access("admin", token: .required)
    public static let superAdmin = Access("superAdmin", token: .required)
}

extension Principal {
    /// The router's role check (`Router.admit`): what `access` asks of a signed-in principal.
    static func admit(_ principal: any RequestPrincipal, to access: Access) throws(APIError) {
        guard let principal = principal as? Principal else { throw APIError.unauthorized() }
        switch access {
        case .member:
            guard principal.role == .member else { throw APIError.forbidden("members_only", "this endpoint is for member accounts") }
        case .admin:
            guard principal.role.isAdmin else { throw APIError.forbidden("admin_required", "administrator access required") }
        case .superAdmin:
            guard principal.role == .superAdmin else {
                throw APIError.forbidden("super_admin_required", "super administrator access required")
            }
        default:
            return
        }
    }
}

extension Request {
    /// The signed-in caller, as the router's access check found it (`AuthService.authenticate`);
    /// nil for anyone.
    public var principal: Principal? { authenticated as? Principal }

    /// The authenticated principal; the router only calls handlers of protected routes with one.
    public var requirePrincipal: Principal {
        guard let principal else { preconditionFailure("handler of a protected route called without a principal") }
        return principal
    }
}
