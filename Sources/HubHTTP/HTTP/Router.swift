import HubWire

/// Who may call a route, as data the router checks before the handler runs, so handlers never
/// repeat authentication logic; ownership checks (user A vs user B's booking) stay in handlers.
///
/// HubHTTP knows only what a rule says about the bearer token: whether it is read, and whether
/// one is required. What a rule asks of the principal beyond that (a role) is the application's
/// to say, through `Router.admit`; it names its rules as `Access` values of its own
/// (`Access("admin", token: .required)`).
public struct Access: Hashable, Sendable, CustomStringConvertible {
    public enum Token: Hashable, Sendable {
        /// The Authorization header is not read.
        case unread
        /// A valid token sets the principal; a bad one is ignored (`X-Token-Ignored`).
        case optional
        /// A valid token is required: 401 without one.
        case required
    }

    /// The rule's name, as the API's documents give it (`x-access` in openapi.json).
    public let name: String
    public let token: Token

    public init(_ name: String, token: Token) {
        self.name = name
        self.token = token
    }

    public var description: String { name }

    /// Anyone; a valid token, when sent, still sets the principal. A bad, expired or revoked one
    /// is ignored (the answer carries `X-Token-Ignored: <error code>`).
    public static let open = Access("open", token: .optional)
    /// Anyone, and the Authorization header is not read: routes that start a session (sign in,
    /// refresh). Many clients send their stored token with every request, and an expired one
    /// must not stop a new sign-in.
    public static let anonymous = Access("anonymous", token: .unread)
    /// Any authenticated principal.
    public static let authenticated = Access("authenticated", token: .required)
}

/// Whoever a request's bearer token names, as the application's `Router.authenticate` resolved
/// it. HubHTTP only carries it to the handlers and the application's `Router.admit`.
public protocol RequestPrincipal: Sendable {}

public typealias Handler = (Request, Responder) throws(APIError) -> Void

/// Routes `METHOD /path/:param` patterns to handlers. The router's closures own the route
/// collections that register them: they live as long as the server.
/// Static segments win over parameters;
/// a path that matches with another method answers 405 with `Allow`.
public final class Router {
    public struct Route {
        public let method: String
        public let pattern: String
        public let access: Access
        /// Whether `beforeWrite` applies (mutating methods only).
        let limited: Bool
        let handler: Handler
        /// The route's number (`label(slot:)`): what the request metrics count it under.
        let slot: Int
    }

    private final class Node {
        var children: [String: Node] = [:]
        var parameter: (name: String, node: Node)?
        var routes: [String: Route] = [:]
    }

    /// A registered route, as `routes` lists it (what an API's document must describe).
    public struct Registration: Sendable, Hashable {
        public let method: String
        public let pattern: String
        public let access: Access
        /// Whether `beforeWrite` applies (a mutating method on a route not exempted): it may refuse.
        public let limited: Bool
    }

    private let root = Node()

    /// Lets go of every handler and hook (and what they capture) when the server is done: the
    /// handlers hold the application's services, which may hold the server that holds this router.
    public func removeAll() {
        routes = []
        root.children = [:]
        root.parameter = nil
        root.routes = [:]
        staticRoutes = [:]
        authenticate = { _ in .success(nil) }
        admit = { _, _ in }
        beforeWrite = nil
    }
    /// Every route in registration order. HEAD (of every GET) and OPTIONS are answered implicitly
    /// and not listed.
    public private(set) var routes: [Registration] = []
    /// Routes without parameters by exact path: most requests skip splitting and decoding.
    private var staticRoutes: [String: Node] = [:]
    /// Resolves the bearer token of a request (nil when none was sent); set by the application.
    /// Routes whose `Access.token` is `.unread` never call it.
    public var authenticate: (Request) -> Result<(any RequestPrincipal)?, APIError> = { _ in .success(nil) }
    /// What a route's access rule asks of an authenticated principal beyond its token (a role):
    /// throws the error to answer (403). Called for routes whose token is `.required`, after the
    /// token was found good. The default admits everyone.
    public var admit: (any RequestPrincipal, Access) throws(APIError) -> Void = { _, _ in }
    /// Runs before the handler of every mutating request (POST, PUT, DELETE, PATCH) on a route
    /// registered `limited`, after the access check (the application's write rate limits).
    public var beforeWrite: ((Request) throws(APIError) -> Void)?

    /// Slot 0 is `unmatchedSlot`: requests no route took (404, 405, OPTIONS); 1 is CORS
    /// preflights; from `firstRouteSlot` on, `routes` in order.
    public static let unmatchedSlot = 0
    public static let preflightSlot = 1
    static let firstRouteSlot = 2

    /// Method and pattern of a slot, for metrics labels (never the raw path).
    public func label(slot: Int) -> (method: String, pattern: String) {
        switch slot {
        case Self.unmatchedSlot: ("", "(unmatched)")
        case Self.preflightSlot: ("OPTIONS", "(preflight)")
        default: (routes[slot - Self.firstRouteSlot].method, routes[slot - Self.firstRouteSlot].pattern)
        }
    }

    /// Every slot a request can be counted under.
    public var slotCount: Int { Self.firstRouteSlot + routes.count }

    /// Names the error code of a bearer token a public route ignored.
    public static let tokenIgnoredHeader = "X-Token-Ignored"

    public init() {}

    /// `limited: false` exempts a route from `beforeWrite` (a signed webhook whose sender retries
    /// late what was refused).
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
                                    slot: slotCount)
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

    public enum Match {
        case route(Route, [String: String])
        case methodNotAllowed(allow: [String])
        case notFound
    }

    public func match(method: String, path: String) -> Match {
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

    /// Asked before a matched request runs: true when it takes the request and will call `run`
    /// later (a read that must wait until the application has caught up), false to run it now.
    public var hold: ((Request, Responder, _ run: @escaping () -> Void) -> Bool)?

    /// Runs the matching handler after the access check. Errors thrown become error responses.
    public func dispatch(_ request: Request, _ responder: Responder) {
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
            if let hold, hold(request, responder, { [self] in run(route, request, responder) }) { return }
            run(route, request, responder)
        }
    }

    private func run(_ route: Route, _ request: Request, _ responder: Responder) {
        do throws(APIError) {
            try authorize(request, route.access, responder)
            if route.limited, let beforeWrite, Self.mutating.contains(request.method) {
                try beforeWrite(request)
            }
            try route.handler(request, responder)
        } catch {
            responder.fail(error)
        }
    }

    public static let mutating: Set<String> = ["POST", "PUT", "DELETE", "PATCH"]

    private func authorize(_ request: Request, _ access: Access, _ responder: Responder) throws(APIError) {
        if case .unread = access.token { return }
        switch authenticate(request) {
        case .success(let found):
            request.authenticated = found
        case .failure(let error):
            guard case .optional = access.token else { throw error }
            // A front end may send its stored token with every request and turn every 401 into
            // a redirect to its login page: someone browsing public pages with an expired token
            // would be thrown out. A public route answers as to anyone, and says why the token
            // did not count.
            request.authenticated = nil
            responder.addHeader(Self.tokenIgnoredHeader, error.code)
        }
        guard case .required = access.token else { return }
        guard let principal = request.authenticated else { throw APIError.unauthorized() }
        try admit(principal, access)
    }
}

@available(*, unavailable) extension Router: Sendable {}
