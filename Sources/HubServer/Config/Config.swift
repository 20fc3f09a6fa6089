import HubHTTP
import HubStore
import HubWire

/// Everything the hub can be told at start. Defaults live here and in `config/spacehub.json`
/// (kept equal by a test); the file overrides them, environment variables override the file.
/// `config/README.md` documents every key with its bounds.
public struct Config: Sendable {
    public enum Mode: String, Sendable {
        /// Demo data on an empty database, a generated JWT secret when none is set.
        case demo
        /// Refuses to start without real secrets.
        case production
    }

    public var mode = Mode.demo
    public var server = Server()
    public var store = Store()
    public var auth = Auth()
    public var websocket = WebSocket()
    public var conformance = Conformance()
    public var metrics = Metrics()
    public var sentry = Sentry()
    public var events = Events()
    public var bookings = Bookings()
    public var payments = Payments()
    public var email = Email()
    public var calendar = Calendar()
    public var log = Log()
    public var production = Production()

    public init() {}

    public struct Server: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        /// Also listen on this IPv6 address (e.g. "::1"); empty for IPv4 only.
        public var hostIPv6 = ""
        /// The URL people use to reach the hub: printed at start, used in links (payment
        /// callbacks, ICS feeds). Derived from host and port when empty.
        public var publicURL = ""
        /// Origins allowed by CORS; empty means none (same-origin pages need no CORS).
        public var corsOrigins: [String] = ["http://localhost:3000", "http://127.0.0.1:3000"]
        /// A request must arrive whole within this many seconds of its first byte (408 after).
        public var requestTimeoutSeconds = 10
        /// An idle keep-alive connection is closed after this many seconds.
        public var idleTimeoutSeconds = 60
        /// On SIGTERM, in-flight requests get this long to finish.
        public var shutdownGraceSeconds = 10
        public var limits = HTTPLimits()
        /// Open connections above which new ones are refused (HTTP and WebSocket together).
        public var connectionsMax = 100_000
        /// The largest JSON body an endpoint parses (`payload_too_large` beyond); `limits.bodyBytesMax`
        /// still bounds every body read.
        public var jsonBytesMax = 64 * 1024
        /// Mutating requests (POST, PUT, DELETE) one client address may send a minute.
        public var writesPerMinutePerIP = 600
        /// Mutating requests one signed-in user may send a minute.
        public var writesPerMinutePerUser = 300
        /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` / `X-Forwarded-Proto` are
        /// believed (addresses and CIDR ranges). Empty: no one's are; every peer is the client.
        public var trustedProxies: [AddressRange] = []
        /// The header those proxies write the client into: `x-forwarded-for` (with
        /// `X-Forwarded-Proto`; nginx's usual setup) or `forwarded` (RFC 7239). Only that one is read.
        public var proxyHeader = "x-forwarded-for"
    }

    public struct Store: Sendable {
        /// `postgresql://user:password@host:port/database`: the hub runs on PostgreSQL; `path` and
        /// `durability` are then unused (the server decides durability). Empty: SQLite at `path`.
        public var url = ""
        /// PostgreSQL: a statement running longer is cancelled (at least `busyTimeoutMs` + 1 s,
        /// so a lock wait ends by its own limit first); waiting for a connection longer fails.
        public var statementTimeoutMs = 10_000
        public var connectTimeoutSeconds = 5
        /// PostgreSQL: the longest the loop thread waits for the answer to one of its reads; past
        /// it the read fails (503) and its session is dropped, so a frozen server or a cut network
        /// stalls the loop this long at most, not `tcp_user_timeout` or longer.
        public var readTimeoutMs = 2000
        public var path = "var/spacehub.sqlite"
        /// `full`: fsync per commit group (survives power loss). `normal`: WAL without fsync per
        /// commit (survives process crashes, not power loss). `off`: tests and benchmarks only.
        public var durability = "full"
        /// Most write requests one transaction takes from the queue.
        public var commitBatchMax = 4096
        /// How long a write waits for the store's lock before it fails: SQLite's busy timeout,
        /// PostgreSQL's `lock_timeout`.
        public var busyTimeoutMs = 5000

        /// Where the data lives: PostgreSQL when `url` is set, else the SQLite file at `path`.
        public var location: StoreLocation {
            guard !url.isEmpty else { return .sqlite(path: path) }
            var settings = PostgresSettings(url: url)
            settings.lockTimeoutMs = busyTimeoutMs
            settings.statementTimeoutMs = max(statementTimeoutMs, busyTimeoutMs + 1000)
            settings.connectTimeoutSeconds = connectTimeoutSeconds
            return .postgres(settings)
        }
    }

    public struct Auth: Sendable {
        /// HMAC key for access tokens; at least 32 bytes. Required in production mode.
        public var jwtSecret = ""
        public var accessTokenSeconds: Int64 = 15 * 60
        public var refreshTokenSeconds: Int64 = 7 * 86_400
        public var resetTokenSeconds: Int64 = 3600
        /// scrypt cost as log2(N); 15 is OWASP's minimum recommendation (N=2^15, r=8, p=1 … p=3).
        public var passwordCostLog2 = 15
        /// Token buckets: attempts allowed per minute, per IP and per email, on login,
        /// register and forgot-password. Each bucket refills continuously over
        /// `rateLimitPeriodSeconds`; the "per minute" in the names is that period's default.
        public var loginPerMinutePerIP = 20
        public var loginPerMinutePerEmail = 5
        public var registerPerMinutePerIP = 10
        public var registerPerMinutePerEmail = 5
        public var forgotPerMinutePerIP = 5
        public var forgotPerMinutePerEmail = 3
        /// The period the rate limits above refill over. Shorter only to test recovery.
        public var rateLimitPeriodSeconds = 60
    }

    public struct WebSocket: Sendable {
        public var path = "/ws"
        /// Origins allowed to open a WebSocket; empty allows all.
        public var origins: [String] = []
        public var pingIntervalSeconds = 30
        public var frameBytesMax = 64 * 1024
        public var messageBytesMax = 64 * 1024
        public var fragmentsMax = 128
        /// Unsent bytes above which a subscriber is disconnected (1008).
        public var outboundBytesMax = 1 << 20
        /// How long a closing connection may take to deliver our close frame (behind what is
        /// queued) and answer it, before TCP is closed regardless.
        public var closeTimeoutSeconds = 5
        public var subscriptionsMax = 64
        /// WebSocket upgrades one client address may make a minute (a dashboard reconnects a few
        /// times an hour; a kiosk wall behind one NAT may hold dozens).
        public var connectsPerMinutePerIP = 120
        /// Messages one connection may send a minute (subscribe, resume, ping: a client sends a
        /// handful). On breach: close 1008.
        public var messagesPerMinute = 600
    }

    public struct Conformance: Sendable {
        /// Serve `/ws/echo` for Autobahn|Testsuite runs.
        public var echo = false
    }

    /// `GET /metrics` (Prometheus text format, docs/METRICS.md). Off unless enabled; then served
    /// on a listener of its own (`host`, loopback by default; empty for none) and, only when
    /// `token` is set, on the public port too, where it needs `Authorization: Bearer <token>`.
    public struct Metrics: Sendable {
        public var enabled = false
        public var host = "127.0.0.1"
        /// 0 picks a free port (printed at start).
        public var port = 9464
        /// When set, every scrape must carry it as a bearer token (constant-time compare).
        public var token = ""
    }

    /// Errors to Sentry (5xx answers, failed background work) with its envelope protocol, when
    /// `dsn` is set (`SENTRY_DSN`, the seed's variable). Off the loop, bounded, scrubbed.
    public struct Sentry: Sendable {
        /// `https://<public key>@<host>/<project id>`; empty: nothing is reported.
        public var dsn = ""
        /// The event's `environment`; empty: the hub's mode (`demo`, `production`).
        public var environment = ""
        /// Events waiting to be sent (one is sent at a time); more are dropped and counted.
        public var queueMax = 100
        /// Bound on connecting to Sentry and on each wait for its answer.
        public var timeoutSeconds = 5
        /// The same error (same kind, route or gateway, status and code) is sent at most once
        /// per this many seconds; repeats are counted and the count rides on the next one sent.
        public var dedupeSeconds = 60
    }

    public struct Events: Sendable {
        public var historyCount = 10_000
        public var historySeconds = 86_400
        public var longPollSeconds = 25
        public var sseHeartbeatSeconds = 15
        /// PostgreSQL: how often each hub reads the shared event log whatever rang (the doorbell
        /// makes it read at once after another hub's commit).
        public var followPollMs = 500
        /// PostgreSQL: ring the other hubs after each commit (`NOTIFY`); off, they see it at
        /// their next poll.
        public var doorbell = true
        /// PostgreSQL: how often each hub reads the revocations other hubs made (logouts, password
        /// resets), the bound on how long a revoked token still works on another hub.
        public var revocationReloadSeconds = 2
    }

    public struct Bookings: Sendable {
        public var holdMinutes = 15
        /// Test knob: when above 0, a hold lasts this many seconds and `holdMinutes` is ignored
        /// (end-to-end tests watch holds expire without waiting a minute). 0 in production.
        public var holdSeconds = 0
        public var refundNoticeHours = 24
        public var horizonDays = 365
        public var timeZone = "Africa/Lagos"
        public var currency = "NGN"
        /// How often expired holds are looked for, in milliseconds.
        public var holdSweepMs = 1000
        /// Unpaid holds one member may have at once: a hold takes a slot from everyone else for
        /// `holdMinutes` and is free to renew, so without a cap one member could hold a hall for a
        /// year (44 whole-day holds took 0.04 s). On breach: `409 too_many_holds`.
        public var holdsPerMemberMax = 10
        /// Bookings one member may create a minute (a burst of this many, then this rate).
        public var createPerMinutePerUser = 60
        /// Bookings one client address may create a minute: members behind one office NAT share it.
        public var createPerMinutePerIP = 600
    }

    public struct Payments: Sendable {
        /// `sandbox` (built-in checkout page) or `paystack`.
        public var gateway = "sandbox"
        public var paystackBaseURL = "https://api.paystack.co"
        public var paystackSecretKey = ""
        public var paystackPublicKey = ""
        public var timeoutSeconds = 15
        public var retries = 2
    }

    public struct Email: Sendable {
        /// `log` (writes to the log and var/mail/), `smtp` or `sendgrid`.
        public var sender = "log"
        public var from = "noreply@spacehub.local"
        public var directory = "var/mail"
        public var smtpHost = "127.0.0.1"
        public var smtpPort = 587
        public var smtpUsername = ""
        public var smtpPassword = ""
        public var smtpStartTLS = true
        /// Accept a self-signed certificate from the SMTP server (tests only).
        public var smtpVerifyCertificate = true
        public var sendgridBaseURL = "https://api.sendgrid.com"
        public var sendgridAPIKey = ""
        /// Failed attempts retried at most this many times, then the message is dead-lettered.
        public var retriesMax = 8
        /// Display name in From (the seed's "Nithub Space Management"), also `{{siteName}}`.
        public var fromName = "SpaceHub"
        /// Backoff after the n-th failed attempt: base × 2^(n-1) seconds, at most `retryCapSeconds`.
        public var retryBaseSeconds = 30
        public var retryCapSeconds = 6 * 3600
        /// How often the sender looks for due messages.
        public var pollIntervalMs = 1000
        /// Messages being sent at once (each holds one threadpool thread while it talks to the provider).
        public var concurrency = 4
        /// Bound on connecting and on each wait for the provider's answer.
        public var timeoutSeconds = 20
        /// `booking-reminder` goes out this long before a confirmed booking starts.
        public var reminderLeadHours = 24
        /// How often the reminder sweep runs.
        public var reminderSweepSeconds = 60
    }

    public struct Calendar: Sendable {
        public var tokenKey = ""
        public var googleTokenURL = "https://oauth2.googleapis.com/token"
        public var googleAPIBaseURL = "https://www.googleapis.com/calendar/v3"
        public var googleClientID = ""
        public var googleClientSecret = ""
        public var outlookTokenURL = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        public var outlookAPIBaseURL = "https://graph.microsoft.com/v1.0"
        public var outlookClientID = ""
        public var outlookClientSecret = ""
        public var redirectURI = ""
        /// Google's token revocation endpoint, called (best effort) when a member disconnects.
        public var googleRevokeURL = "https://oauth2.googleapis.com/revoke"
        /// How often bookings whose provider events are behind are synced again (after a failure,
        /// a restart, or a connection made after the booking).
        public var syncIntervalSeconds = 300
        /// Bound on connecting and on each wait for a provider's answer.
        public var timeoutSeconds = 15
        /// Past bookings included in ICS feeds, in days.
        public var feedPastDays = 90
    }

    public struct Log: Sendable {
        /// trace, debug, info, notice, warning, error, critical
        public var level = "info"
        /// One line per HTTP request.
        public var access = true
        /// `text` (one readable line) or `json` (one JSON object a line, for log shippers).
        public var format = "text"
        /// Append to this file instead of standard error; reopened on SIGHUP (log rotation).
        public var file = ""
    }

    /// What production mode refuses to start with, each with its key for those who mean it.
    public struct Production: Sendable {
        /// The sandbox gateway's checkout page lets anyone "pay" without money.
        public var allowSandboxGateway = false
        /// The `log` email sender writes mail to files: members never receive it.
        public var allowLogEmail = false
        /// Without `server.publicUrl`, links in emails and payment callbacks come from the bound address.
        public var allowEmptyPublicUrl = false
        /// A database seeded with the demo building and its demo super admin.
        public var allowDemoData = false
        /// CORS origins on localhost let a page on any machine's localhost call the API with a user's token.
        public var allowLocalhostCors = false
        /// A database file others may read holds password and token hashes.
        public var allowSharedDatabase = false
    }

    /// The URL printed at start and used in links.
    public var publicURL: String {
        server.publicURL.isEmpty ? "http://\(server.host):\(server.port)" : server.publicURL
    }
}

/// A configuration value the hub cannot start with. Names the key; the CLI exits with code 2.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let key: String
    public let message: String

    public init(_ key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "configuration error: \(key): \(message)" }
}
