import HubLoop
import HubWire
import Logging

/// What the server reports about its answers (request metrics, error reports). Set once, before
/// serving; with none set an answer costs one nil check.
public protocol HTTPServerObserver: AnyObject {
    /// A request was answered: its response is queued on the connection.
    func server(_ server: HTTPServer, answered request: Request, with response: HTTPResponse)
    /// A request's connection was taken over: `status` 101 for a WebSocket, 200 for an event stream.
    func server(_ server: HTTPServer, handedOver request: Request, status: Int)
}

/// Accepts connections, serves HTTP/1.1 on them through the router, and shuts down gracefully.
public final class HTTPServer {
    /// How the server serves: the application builds it from its configuration.
    public struct Options: Sendable {
        public var limits: HTTPLimits
        /// The largest body `Request.jsonObject` parses (413 beyond): parsing is the costly part of
        /// a body, and no JSON request of an API needs the transport's whole `bodyBytesMax`.
        public var jsonBytesMax: Int
        /// A request must arrive whole within this many seconds of its first byte (408).
        public var requestTimeoutSeconds: Int
        /// A keep-alive connection idle this long is closed.
        public var idleTimeoutSeconds: Int
        /// Connections of every kind open at once; more are answered 503 at accept.
        public var connectionsMax: Int
        /// Origins whose pages may read the answers (CORS).
        public var corsOrigins: [String]
        /// Request headers a CORS preflight allows.
        public var corsAllowHeaders: String
        /// Response headers a page on an allowed origin may read.
        public var corsExposeHeaders: String
        /// Reverse proxies believed about the client, and the header they write it into (`ClientAddress`).
        public var trustedProxies: [AddressRange]
        public var proxyHeader: ClientAddress.Header
        /// One log line per answered request.
        public var accessLog: Bool

        public init(limits: HTTPLimits = HTTPLimits(), jsonBytesMax: Int = 64 * 1024, requestTimeoutSeconds: Int = 10,
                    idleTimeoutSeconds: Int = 60,
                    connectionsMax: Int = 10_000, corsOrigins: [String] = [],
                    corsAllowHeaders: String = "Authorization, Content-Type, X-Request-Id",
                    corsExposeHeaders: String = "X-Request-Id, Retry-After, \(Router.tokenIgnoredHeader)",
                    trustedProxies: [AddressRange] = [], proxyHeader: ClientAddress.Header = .xForwardedFor,
                    accessLog: Bool = false) {
            self.limits = limits
            self.jsonBytesMax = jsonBytesMax
            self.requestTimeoutSeconds = requestTimeoutSeconds
            self.idleTimeoutSeconds = idleTimeoutSeconds
            self.connectionsMax = connectionsMax
            self.corsOrigins = corsOrigins
            self.corsAllowHeaders = corsAllowHeaders
            self.corsExposeHeaders = corsExposeHeaders
            self.trustedProxies = trustedProxies
            self.proxyHeader = proxyHeader
            self.accessLog = accessLog
        }
    }

    public let loop: Loop
    public let router: Router
    let limits: HTTPLimits
    let jsonBytesMax: Int
    let requestTimeoutMs: UInt64
    let idleTimeoutMs: UInt64
    public private(set) var corsOrigins: Set<String>
    private let corsAllowHeaders: String
    private let corsExposeHeaders: String
    /// Reverse proxies believed about the client (reloaded live by the application).
    public private(set) var trustedProxies: [AddressRange]
    public private(set) var proxyHeader: ClientAddress.Header
    private let accessLog: Bool
    /// Changes CORS origins and trusted proxies live (the application's reload).
    public func reload(corsOrigins: [String], trustedProxies: [AddressRange], proxyHeader: ClientAddress.Header) {
        self.corsOrigins = Set(corsOrigins)
        self.trustedProxies = trustedProxies
        self.proxyHeader = proxyHeader
    }
    private let logger: Logger
    private let connectionsMax: Int
    /// Counts open connections of every kind (the WebSocket layer adds and removes its own).
    public internal(set) var openConnections = 0
    public let sweeper: Sweeper

    private var listeners: [TCPListener] = []
    private var sessions = SessionSet()
    public private(set) var isShuttingDown = false
    /// Requests refused by the parser, by status: peer errors are counted, not logged one by one.
    public private(set) var parseErrors: [Int: Int] = [:]
    /// Connections answered 503 at accept (`connectionsMax`, or shutting down).
    public private(set) var connectionsRefused = 0
    /// Told of every answer (request metrics, error reports); nil when nobody listens.
    public var observer: (any HTTPServerObserver)?
    /// Headers the application adds to a response as it is sent (after its handler finished).
    public var responseHeaders: ((Request) -> [(String, String)])?

    private var requestCounter: UInt64 = 0
    private let requestIDPrefix: String
    private var dateSecond: Int64 = 0
    private var dateHeader = ""

    public init(loop: Loop, router: Router, options: Options, logger: Logger) {
        self.loop = loop
        self.router = router
        self.limits = options.limits
        self.jsonBytesMax = options.jsonBytesMax
        self.requestTimeoutMs = UInt64(options.requestTimeoutSeconds) * 1000
        self.idleTimeoutMs = UInt64(options.idleTimeoutSeconds) * 1000
        self.corsOrigins = Set(options.corsOrigins)
        self.corsAllowHeaders = options.corsAllowHeaders
        self.corsExposeHeaders = options.corsExposeHeaders
        self.trustedProxies = options.trustedProxies
        self.proxyHeader = options.proxyHeader
        self.accessLog = options.accessLog
        self.logger = logger
        self.connectionsMax = options.connectionsMax
        self.sweeper = Sweeper(loop: loop)
        // Distinguishes ids across restarts; not a secret.
        self.requestIDPrefix = String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16)
    }

    /// Listens on `host:port` (IPv4 or IPv6 literal). Returns the bound port.
    @discardableResult
    public func listen(host: String, port: Int) throws(UVError) -> Int {
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

    /// Connections serving HTTP now (not counting those taken over).
    public var sessionCount: Int { sessions.count }

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
                ("access-control-allow-headers", corsAllowHeaders),
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
        return Self.requestID(prefix: requestIDPrefix, counter: requestCounter)
    }

    /// "<prefix>-<counter>", written into the string's storage: interpolation went through the
    /// generic formatting machinery on every request.
    static func requestID(prefix: String, counter: UInt64) -> String {
        var prefix = prefix
        return prefix.withUTF8 { prefix in
            String(unsafeUninitializedCapacity: prefix.count + 1 + decimalDigitsMax) { out in
                let dash = out.initialize(fromContentsOf: prefix)
                out[dash] = 0x2D
                return writeDecimal(counter, into: out, at: dash + 1)
            }
        }
    }

    /// Adds the headers every response carries, then serialises.
    func serialize(_ response: HTTPResponse, for request: Request, closing: Bool, into out: inout [UInt8]) {
        let date = currentDate()
        let extra = responseHeaders?(request)
        response.serialize(into: &out, bodyOmitted: request.method == "HEAD") { out in
            HTTPResponse.appendHeader("x-request-id", request.id, into: &out)
            if let extra { for (name, value) in extra { HTTPResponse.appendHeader(name, value, into: &out) } }
            forEachCORSHeader(for: request) { HTTPResponse.appendHeader($0, $1, into: &out) }
            if closing { HTTPResponse.appendHeader("connection", "close", into: &out) }
            HTTPResponse.appendHeader("date", date, into: &out)
        }
    }

    /// Lets a page on an allowed `Origin` read the response (Fetch standard, CORS protocol).
    func addCORSHeaders(for request: Request, to headers: inout HTTPHeaders) {
        forEachCORSHeader(for: request) { headers.add($0, $1) }
    }

    private func forEachCORSHeader(for request: Request, _ body: (String, String) -> Void) {
        guard let origin = request.header("origin"), corsOrigins.contains(origin) else { return }
        body("access-control-allow-origin", origin)
        body("access-control-expose-headers", corsExposeHeaders)
        body("vary", "Origin")
    }

    /// For errors before a request exists (parse errors): a fresh request id, date and close.
    func serializeBare(_ response: HTTPResponse, into out: inout [UInt8]) {
        let id = newRequestID()
        let date = currentDate()
        response.serialize(into: &out) { out in
            HTTPResponse.appendHeader("x-request-id", id, into: &out)
            HTTPResponse.appendHeader("connection", "close", into: &out)
            HTTPResponse.appendHeader("date", date, into: &out)
        }
    }

    /// The `Date` header's value, formatted once a second.
    private func currentDate() -> String {
        let now = HTTPDate.nowSeconds()
        if now != dateSecond {
            dateSecond = now
            dateHeader = HTTPDate.imfFixdate(now)
        }
        return dateHeader
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

    /// Called once per answered request, after its response is queued.
    func observe(_ request: Request, _ response: HTTPResponse) {
        observer?.server(self, answered: request, with: response)
    }

    /// A request whose connection became a WebSocket (101) or an event stream (200).
    func observeTakeover(_ request: Request) {
        guard let observer else { return }
        observer.server(self, handedOver: request, status: WebSocketUpgrade.isRequested(request) ? 101 : 200)
    }

    // MARK: Shutdown

    /// Stops accepting and lets idle connections go; busy ones close after their response.
    public func beginShutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        for listener in listeners { listener.close() }
        listeners = []
        for session in sessions.all { session.beginShutdown() }
    }

    /// Closes whatever is still open (after the grace period).
    public func forceClose() {
        for session in sessions.all { session.connection.close() }
    }

    public func close() {
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
