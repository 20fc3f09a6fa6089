import HubWire

/// Who may call a route. The router checks this before the handler runs, so handlers never
/// repeat authentication logic; ownership checks (user A vs user B's booking) stay in handlers.
public enum Access: String, Sendable {
    /// Anyone; a valid token, when sent, still sets the principal. A bad, expired or revoked one
    /// is ignored (the answer carries `X-Token-Ignored: <error code>`).
    case open
    /// Anyone, and the Authorization header is not read: the routes that start a session (sign
    /// in, register, refresh, password reset). Clients such as the seed's ApiClient send their
    /// stored token with every request, and an expired one must not stop a new sign-in.
    case anonymous
    /// Any signed-in principal: member or admin.
    case authenticated
    /// Members only (the `/api/users/...` area).
    case member
    case admin
    case superAdmin
}

public typealias Handler = (Request, Responder) throws(APIError) -> Void

/// Routes `METHOD /path/:param` patterns to handlers. The router's closures own the route
/// collections that register them (`AuthRoutes`, `BookingRoutes`, …): they live as long as the hub.
/// Static segments win over parameters;
/// a path that matches with another method answers 405 with `Allow`.
public final class Router {
    struct Route {
        let method: String
        let pattern: String
        let access: Access
        /// Whether `server.rateLimits.writes*` apply (mutating methods only).
        let limited: Bool
        let handler: Handler
        /// The route's number in `routeLabels`: what the request metrics count it under.
        let slot: Int
    }

    private final class Node {
        var children: [String: Node] = [:]
        var parameter: (name: String, node: Node)?
        var routes: [String: Route] = [:]
    }

    /// A registered route, as `routes` lists it: what the OpenAPI document (`/openapi.json`) must
    /// describe, checked by a test.
    public struct Registration: Sendable, Hashable {
        public let method: String
        public let pattern: String
        public let access: Access
        /// Whether the write limits apply (a mutating method on a route not exempted): it may answer 429.
        public let limited: Bool
    }

    private let root = Node()
    /// Every route in registration order. HEAD (of every GET) and OPTIONS are answered implicitly
    /// and not listed.
    public private(set) var routes: [Registration] = []
    /// Routes without parameters by exact path: most requests skip splitting and decoding.
    private var staticRoutes: [String: Node] = [:]
    /// Resolves the bearer token of a request (nil when none was sent); set by the app.
    public var authenticate: (Request) -> Result<Principal?, APIError> = { _ in .success(nil) }
    /// Every mutating request takes a token per client address and per user (`RateAction.write*`).
    var limits: RateLimits?

    /// Method and pattern of every route by slot, for metrics labels (never the raw path). Slot 0
    /// is `unmatchedSlot`: requests no route took (404, 405, OPTIONS); 1 is CORS preflights.
    private(set) var routeLabels: [(method: String, pattern: String)] = [("", "(unmatched)"), ("OPTIONS", "(preflight)")]
    static let unmatchedSlot = 0
    static let preflightSlot = 1

    /// Names the error code of a bearer token a public route ignored.
    public static let tokenIgnoredHeader = "X-Token-Ignored"

    public init() {}

    /// `limited: false` exempts a route from the general write limits (the signed Paystack webhook:
    /// Paystack sends from a few addresses, and a delivery refused is a delivery retried late).
    public func add(_ method: String, _ pattern: String, access: Access = .open, limited: Bool = true, _ handler: @escaping Handler) {
        var node = root
        for segment in pattern.split(separator: "/") {
            if segment.hasPrefix(":") {
                let name = String(segment.dropFirst())
                if let existing = node.parameter {
                    precondition(existing.name == name, "conflicting parameter names at \(pattern)")
                    node = existing.node
                } else {
                    let child = Node()
                    node.parameter = (name, child)
                    node = child
                }
            } else {
                let key = String(segment)
                if let child = node.children[key] {
                    node = child
                } else {
                    let child = Node()
                    node.children[key] = child
                    node = child
                }
            }
        }
        precondition(node.routes[method] == nil, "duplicate route \(method) \(pattern)")
        node.routes[method] = Route(method: method, pattern: pattern, access: access, limited: limited, handler: handler,
                                    slot: routeLabels.count)
        routeLabels.append((method, pattern))
        routes.append(Registration(method: method, pattern: pattern, access: access,
                                   limited: limited && Self.mutating.contains(method)))
        if !pattern.contains(":") { staticRoutes[pattern] = node }
    }

    public func get(_ pattern: String, access: Access = .open, _ handler: @escaping Handler) { add("GET", pattern, access: access, handler) }
    public func post(_ pattern: String, access: Access = .open, limited: Bool = true, _ handler: @escaping Handler) {
        add("POST", pattern, access: access, limited: limited, handler)
    }
    public func put(_ pattern: String, access: Access = .open, _ handler: @escaping Handler) { add("PUT", pattern, access: access, handler) }
    public func delete(_ pattern: String, access: Access = .open, _ handler: @escaping Handler) { add("DELETE", pattern, access: access, handler) }

    enum Match {
        case route(Route, [String: String])
        case methodNotAllowed(allow: [String])
        case notFound
    }

    func match(method: String, path: String) -> Match {
        if let node = staticRoutes[path] { return resolve(node, method: method, parameters: [:]) }
        var node = root
        var parameters: [String: String] = [:]
        for raw in path.split(separator: "/") {
            guard let segment = QueryString.percentDecode(raw) else { return .notFound }
            if let child = node.children[segment] {
                node = child
            } else if let (name, child) = node.parameter {
                parameters[name] = segment
                node = child
            } else {
                return .notFound
            }
        }
        return resolve(node, method: method, parameters: parameters)
    }

    private func resolve(_ node: Node, method: String, parameters: [String: String]) -> Match {
        guard !node.routes.isEmpty else { return .notFound }
        if let route = node.routes[method] { return .route(route, parameters) }
        if method == "HEAD", let route = node.routes["GET"] { return .route(route, parameters) }
        var allow = Set(node.routes.keys)
        if allow.contains("GET") { allow.insert("HEAD") }
        allow.insert("OPTIONS")
        return .methodNotAllowed(allow: allow.sorted())
    }

    /// Runs the matching handler after the access check. Errors thrown become error responses.
    func dispatch(_ request: Request, _ responder: Responder) {
        switch match(method: request.method, path: request.path) {
        case .notFound:
            responder.fail(.notFound("route \(request.path)"))
        case .methodNotAllowed(let allow) where request.method == "OPTIONS":
            // RFC 9110 §9.3.7: OPTIONS, which every route allows, answers with the methods.
            responder.send(HTTPResponse(status: 204, headers: HTTPHeaders([("Allow", allow.joined(separator: ", "))])))
        case .methodNotAllowed(let allow):
            responder.fail(APIError(405, "method_not_allowed", "\(request.method) is not allowed on \(request.path)",
                                    headers: [("Allow", allow.joined(separator: ", "))]))
        case .route(let route, let parameters):
            request.parameters = parameters
            request.route = route.pattern
            request.routeSlot = route.slot
            do throws(APIError) {
                try authorize(request, route.access, responder)
                if route.limited, let limits, Self.mutating.contains(request.method) {
                    try limits.take(.writePerIP, key: request.peer)
                    if let principal = request.principal { try limits.take(.writePerUser, key: principal.id) }
                }
                try route.handler(request, responder)
            } catch {
                responder.fail(error)
            }
        }
    }

    static let mutating: Set<String> = ["POST", "PUT", "DELETE", "PATCH"]

    private func authorize(_ request: Request, _ access: Access, _ responder: Responder) throws(APIError) {
        if case .anonymous = access { return }
        switch authenticate(request) {
        case .success(let found):
            request.principal = found
        case .failure(let error):
            guard case .open = access else { throw error }
            // A front end sends its stored token with every request (the seed's ApiClient does),
            // and turns every 401 into a redirect to its login page: a member browsing public
            // spaces with an expired token would be thrown out. A public route answers as to
            // anyone, and says why the token did not count.
            request.principal = nil
            responder.addHeader(Self.tokenIgnoredHeader, error.code)
        }
        let principal = request.principal
        switch access {
        case .open, .anonymous:
            return
        case .authenticated:
            guard principal != nil else { throw APIError.unauthorized() }
        case .member:
            guard let principal else { throw APIError.unauthorized() }
            guard principal.role == .member else { throw APIError.forbidden("members_only", "this endpoint is for member accounts") }
        case .admin:
            guard let principal else { throw APIError.unauthorized() }
            guard principal.role.isAdmin else { throw APIError.forbidden("admin_required", "administrator access required") }
        case .superAdmin:
            guard let principal else { throw APIError.unauthorized() }
            guard principal.role == .superAdmin else {
                throw APIError.forbidden("super_admin_required", "super administrator access required")
            }
        }
    }
}

@available(*, unavailable) extension Router: Sendable {}

/// The authenticated caller of a request.
public struct Principal: Sendable, Equatable {
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
