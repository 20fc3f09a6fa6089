import HubHTTP

extension HTTPServer.Options {
    /// The server as `server.*` and `log.access` configure it. The hub's clients also send
    /// `Idempotency-Key` (bookings, payments) and `Last-Event-ID` (event streams).
    init(_ config: Config) {
        self.init(
            limits: config.server.limits,
            jsonBytesMax: config.server.jsonBytesMax,
            requestTimeoutSeconds: config.server.requestTimeoutSeconds,
            idleTimeoutSeconds: config.server.idleTimeoutSeconds,
            connectionsMax: config.server.connectionsMax,
            corsOrigins: config.server.corsOrigins,
            corsAllowHeaders: "Authorization, Content-Type, Idempotency-Key, X-Request-Id, Last-Event-ID, X-Min-Seq",
            corsExposeHeaders: "X-Request-Id, Retry-After, X-Event-Seq, \(Router.tokenIgnoredHeader)",
            trustedProxies: config.server.trustedProxies,
            proxyHeader: ClientAddress.Header(config.server.proxyHeader),
            accessLog: config.log.access)
    }
}

extension ClientAddress.Header {
    /// `server.proxyHeader` (validated by the loader: `x-forwarded-for` or `forwarded`).
    init(_ configured: String) {
        self = ClientAddress.Header(rawValue: configured) ?? .xForwardedFor
    }
}

extension Router {
    /// Wires the hub's access rules into the router: tokens through `auth`, roles through
    /// `Principal.admit`, and every limited write through the per-address and per-user write
    /// limits (`RateAction.write*`).
    func useHubAccess(auth: AuthService, limits: RateLimits) {
        authenticate = { [unowned auth] request in auth.authenticate(request).map { $0 } }
        admit = { principal, access throws(APIError) in try Principal.admit(principal, to: access) }
        beforeWrite = { [limits] request throws(APIError) in
            try limits.take(.writePerIP, key: request.peer)
            if let principal = request.principal { try limits.take(.writePerUser, key: principal.id) }
        }
    }
}
