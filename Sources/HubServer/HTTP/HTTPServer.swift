import HubLoop
import HubWire
import Logging

/// Accepts connections, serves HTTP/1.1 on them through the router, and shuts down gracefully.
final class HTTPServer {
    let loop: Loop
    let router: Router
    let limits: HTTPLimits
    let requestTimeoutMs: UInt64
    let idleTimeoutMs: UInt64
    private(set) var corsOrigins: Set<String>
    /// Reverse proxies believed about the client (`server.trustedProxies`; reloaded on SIGHUP).
    var trustedProxies: [AddressRange]
    var proxyHeader: ClientAddress.Header
    private let accessLog: Bool
    /// Logs and reloads (`Hub.reload`) change CORS origins and trusted proxies live.
    func reload(corsOrigins: [String], trustedProxies: [AddressRange], proxyHeader: String) {
        self.corsOrigins = Set(corsOrigins)
        self.trustedProxies = trustedProxies
        self.proxyHeader = ClientAddress.Header(rawValue: proxyHeader) ?? .xForwardedFor
    }
    private let logger: Logger
    private let connectionsMax: Int
    /// Counts open connections of every kind (the WebSocket layer adds and removes its own).
    var openConnections = 0
    let sweeper: Sweeper

    private var listeners: [TCPListener] = []
    private var sessions = SessionSet()
    private(set) var isShuttingDown = false
    /// Requests refused by the parser, by status: peer errors are counted, not logged one by one.
    private(set) var parseErrors: [Int: Int] = [:]
    /// Connections answered 503 at accept (`server.connectionsMax`, or shutting down).
    private(set) var connectionsRefused = 0
    /// Request counters and latencies (`/metrics`) and 5xx reports (Sentry); nil when off.
    /// See HTTPServer+Observability.swift.
    var metrics: HTTPMetrics?
    var errors: ErrorReporter?

    private var requestCounter: UInt64 = 0
    private let requestIDPrefix: String
    private var dateSecond: Int64 = 0
    private var dateHeader = ""

    init(loop: Loop, router: Router, config: Config, logger: Logger) {
        self.loop = loop
        self.router = router
        self.limits = config.server.limits
        self.requestTimeoutMs = UInt64(config.server.requestTimeoutSeconds) * 1000
        self.idleTimeoutMs = UInt64(config.server.idleTimeoutSeconds) * 1000
        self.corsOrigins = Set(config.server.corsOrigins)
        self.trustedProxies = config.server.trustedProxies
        self.proxyHeader = ClientAddress.Header(rawValue: config.server.proxyHeader) ?? .xForwardedFor
        self.accessLog = config.log.access
        self.logger = logger
        self.connectionsMax = config.server.connectionsMax
        self.sweeper = Sweeper(loop: loop)
        // Distinguishes ids across restarts; not a secret.
        self.requestIDPrefix = String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16)
    }

    /// Listens on `host:port` (IPv4 or IPv6 literal). Returns the bound port.
    @discardableResult
    func listen(host: String, port: Int) throws(UVError) -> Int {
        let listener = try TCPListener(loop: loop, host: host, port: port) { [unowned self] connection in
            self.accept(connection)
        }
        listener.onAcceptError = { [logger] error in logger.warning("accept failed: \(error)") }
        listeners.append(listener)
        return listener.boundPort
    }

    private func accept(_ connection: TCPConnection) {
        guard !isShuttingDown, openConnections < connectionsMax else {
            // Over the limit: a plain 503 and close, so a flood cannot exhaust descriptors.
            connectionsRefused += 1
            connection.write(Self.overloadResponse)
            connection.closeAfterFlush()
            return
        }
        connection.setNoDelay(true)
        let session = HTTPSession(server: self, connection: connection)
        connection.setDelegate(session)
        sessions.insert(session)
        sweeper.add(session)
        openConnections += 1
        connection.startReading()
    }

    private static let overloadResponse = HTTPResponse(
        status: 503, headers: HTTPHeaders([("content-type", "application/json"), ("connection", "close")]),
        body: APIError.unavailable("overloaded", "too many connections").body.bytes
    ).serialized()

    func sessionClosed(_ session: HTTPSession) {
        sessions.remove(session)
        sweeper.remove(session)
        openConnections -= 1
    }

    /// The session's connection now belongs to a WebSocket or SSE stream, which counts it itself.
    func sessionDetached(_ session: HTTPSession) {
        sessions.remove(session)
        sweeper.remove(session)
        openConnections -= 1
    }

    var sessionCount: Int { sessions.count }

    // MARK: Handling

    func handle(_ request: Request, _ responder: Responder) {
        if request.method == "OPTIONS", request.header("access-control-request-method") != nil {
            preflight(request, responder)
            return
        }
        router.dispatch(request, responder)
    }

    /// CORS preflight (Fetch standard §3.2.2): answered here for every route.
    private func preflight(_ request: Request, _ responder: Responder) {
        request.routeSlot = Router.preflightSlot
        guard case .notFound = router.match(method: "GET", path: request.path) else {
            responder.send(HTTPResponse(status: 204, headers: HTTPHeaders([
                ("access-control-allow-methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS"),
                ("access-control-allow-headers", "Authorization, Content-Type, Idempotency-Key, X-Request-Id, Last-Event-ID"),
                ("access-control-max-age", "600"),
            ])))
            return
        }
        responder.fail(.notFound("route \(request.path)"))
    }

    func requestID(_ head: HTTPRequestHead) -> String {
        if let incoming = head.headers["x-request-id"], incoming.utf8.count <= 64, HTTPGrammar.isToken(incoming) {
            return incoming
        }
        return newRequestID()
    }

    private func newRequestID() -> String {
        requestCounter += 1
        return "\(requestIDPrefix)-\(requestCounter)"
    }

    /// Adds the headers every response carries, then serialises.
    func serialize(_ response: HTTPResponse, for request: Request, closing: Bool, into out: inout [UInt8]) {
        var response = response
        response.headers.add("x-request-id", request.id)
        addCORSHeaders(for: request, to: &response.headers)
        if closing { response.headers.add("connection", "close") }
        appendDate(&response)
        response.serialize(into: &out, bodyOmitted: request.method == "HEAD")
    }

    /// Lets a page on an allowed `Origin` read the response (Fetch standard, CORS protocol).
    func addCORSHeaders(for request: Request, to headers: inout HTTPHeaders) {
        guard let origin = request.header("origin"), corsOrigins.contains(origin) else { return }
        headers.add("access-control-allow-origin", origin)
        headers.add("access-control-expose-headers", "X-Request-Id, Retry-After, X-Token-Ignored")
        headers.add("vary", "Origin")
    }

    /// For errors before a request exists (parse errors): a fresh request id, date and close.
    func serializeBare(_ response: HTTPResponse, into out: inout [UInt8]) {
        var response = response
        response.headers.add("x-request-id", newRequestID())
        response.headers.add("connection", "close")
        appendDate(&response)
        response.serialize(into: &out)
    }

    private func appendDate(_ response: inout HTTPResponse) {
        let now = WallClock.seconds()
        if now != dateSecond {
            dateSecond = now
            dateHeader = HTTPDate.imfFixdate(now)
        }
        response.headers.add("date", dateHeader)
    }

    func logAccess(_ request: Request, status: Int, bytes: Int) {
        guard accessLog else { return }
        let micros = (Loop.hrtimeNs() - request.startedNs) / 1000
        logger.info("\(request.method) \(request.path) \(status)", metadata: [
            "rid": .string(request.id), "route": .string(request.route ?? "-"), "status": .stringConvertible(status),
            "us": .stringConvertible(micros), "bytes": .stringConvertible(bytes), "peer": .string(request.peer),
        ])
    }

    func countParseError(_ error: HTTPParseError) {
        parseErrors[error.status, default: 0] += 1
    }

    // MARK: Shutdown

    /// Stops accepting and lets idle connections go; busy ones close after their response.
    func beginShutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        for listener in listeners { listener.close() }
        listeners = []
        for session in sessions.all { session.beginShutdown() }
    }

    /// Closes whatever is still open (after the grace period).
    func forceClose() {
        for session in sessions.all { session.connection.close() }
    }

    func close() {
        beginShutdown()
        forceClose()
        sweeper.close()
    }
}

@available(*, unavailable) extension HTTPServer: Sendable {}

/// Open HTTP sessions, by identity.
private struct SessionSet {
    private var members: [ObjectIdentifier: HTTPSession] = [:]
    mutating func insert(_ session: HTTPSession) { members[ObjectIdentifier(session)] = session }
    mutating func remove(_ session: HTTPSession) { members[ObjectIdentifier(session)] = nil }
    var all: [HTTPSession] { Array(members.values) }
    var count: Int { members.count }
}
