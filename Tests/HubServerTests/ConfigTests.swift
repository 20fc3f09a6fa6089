import Foundation
import HubStore
import HubWire
import Testing

@testable import HubServer

@Suite struct ConfigTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// config/spacehub.json documents the defaults; it must say what the code does.
    @Test func defaultsFileMatchesTheBuiltInDefaults() throws {
        let path = Self.repositoryRoot.appendingPathComponent("config/spacehub.json").path
        let loaded = try ConfigLoader.load(path: path, environment: [:])
        let builtIn = Config()
        #expect(loaded.server.port == builtIn.server.port)
        #expect(loaded.server.corsOrigins == builtIn.server.corsOrigins)
        #expect(loaded.server.limits == builtIn.server.limits)
        #expect(loaded.store.path == builtIn.store.path)
        #expect(loaded.store.durability == builtIn.store.durability)
        #expect(loaded.store.url == builtIn.store.url && loaded.store.location == .sqlite(path: builtIn.store.path))
        #expect(loaded.store.statementTimeoutMs == builtIn.store.statementTimeoutMs)
        #expect(loaded.store.connectTimeoutSeconds == builtIn.store.connectTimeoutSeconds)
        #expect(loaded.store.readTimeoutMs == builtIn.store.readTimeoutMs)
        #expect(loaded.auth.accessTokenSeconds == builtIn.auth.accessTokenSeconds)
        #expect(loaded.auth.refreshTokenSeconds == builtIn.auth.refreshTokenSeconds)
        #expect(loaded.auth.resetTokenSeconds == builtIn.auth.resetTokenSeconds)
        #expect(loaded.auth.passwordCostLog2 == builtIn.auth.passwordCostLog2)
        #expect(loaded.websocket.outboundBytesMax == builtIn.websocket.outboundBytesMax)
        #expect(loaded.events.historyCount == builtIn.events.historyCount)
        #expect(loaded.bookings.holdMinutes == builtIn.bookings.holdMinutes)
        #expect(loaded.payments.paystackBaseURL == builtIn.payments.paystackBaseURL)
        #expect(loaded.email.sender == builtIn.email.sender)
        #expect(loaded.calendar.googleTokenURL == builtIn.calendar.googleTokenURL)
        #expect(loaded.log.level == builtIn.log.level)
        #expect(loaded.metrics.enabled == builtIn.metrics.enabled)
        #expect(loaded.metrics.host == builtIn.metrics.host)
        #expect(loaded.metrics.port == builtIn.metrics.port)
        #expect(loaded.metrics.token == builtIn.metrics.token)
        #expect(loaded.sentry.dsn == builtIn.sentry.dsn)
        #expect(loaded.sentry.environment == builtIn.sentry.environment)
        #expect(loaded.sentry.queueMax == builtIn.sentry.queueMax)
        #expect(loaded.sentry.timeoutSeconds == builtIn.sentry.timeoutSeconds)
        #expect(loaded.sentry.dedupeSeconds == builtIn.sentry.dedupeSeconds)
    }

    /// Every declared key appears in the defaults file, so the file documents them all.
    @Test func defaultsFileNamesEveryKey() throws {
        let path = Self.repositoryRoot.appendingPathComponent("config/spacehub.json").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in ConfigLoader.keys {
            let leaf = key.path.split(separator: ".").last.map(String.init) ?? key.path
            #expect(text.contains("\"\(leaf)\""), "config/spacehub.json lacks \(key.path)")
        }
    }

    /// `DATABASE_URL` selects PostgreSQL with the session limits derived from the store's keys;
    /// anything but a postgresql:// URL is refused naming the key; `config check` masks its password.
    @Test func databaseURLSelectsPostgreSQL() throws {
        let url = "postgresql://hub:s3cret@db.internal:5432/spacehub"
        let config = try ConfigLoader.load(path: nil, environment: ["DATABASE_URL": url, "SPACEHUB_DB": "/tmp/ignored.sqlite"])
        guard case .postgres(let settings) = config.store.location else {
            Issue.record("DATABASE_URL did not select PostgreSQL: \(config.store.location)")
            return
        }
        #expect(settings.url == url)
        #expect(settings.lockTimeoutMs == config.store.busyTimeoutMs, "a write waits for a lock as long as SQLite's busy timeout")
        #expect(settings.statementTimeoutMs >= config.store.busyTimeoutMs + 1000, "a lock wait ends by its own limit first")
        #expect(settings.answerTimeoutMs == nil, "the client-side bound is the readers' alone (Storage), not the writer's")
        #expect(config.store.location.description == "postgresql://hub:***@db.internal:5432/spacehub")

        let values = ConfigLoader.effectiveValues(config)
        let shown = try #require(values.first { $0.path == "store.url" })
        #expect(shown.value.contains("hub:***@db.internal") && !shown.value.contains("s3cret") && shown.env == "DATABASE_URL")

        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: nil, environment: ["DATABASE_URL": "mysql://hub@db/spacehub"]) }
        let sqlite = try ConfigLoader.load(path: nil, environment: ["SPACEHUB_DB": "/tmp/x.sqlite"])
        #expect(sqlite.store.location == .sqlite(path: "/tmp/x.sqlite"))
    }

    @Test func publicLinksDropTheBoundAddresssTrailingSlash() {
        #expect(PublicLinks(configured: "", bound: "http://127.0.0.1:8080/").bound == "http://127.0.0.1:8080")
        #expect(PublicLinks(configured: "", bound: "http://127.0.0.1:8080").bound == "http://127.0.0.1:8080")
    }

    @Test func environmentOverridesTheFile() throws {
        let config = try ConfigLoader.load(path: nil, environment: ["PORT": "9090", "JWT_EXPIRES_IN": "30m", "ACCESS_LOG": "false"])
        #expect(config.server.port == 9090)
        #expect(config.auth.accessTokenSeconds == 1800)
        #expect(config.log.access == false)
    }

    @Test func unknownKeyIsNamed() {
        var config = Config()
        #expect(throws: ConfigError.self) { try ConfigLoader.apply(document: ["server": ["prot": 1]], to: &config) }
        do {
            try ConfigLoader.apply(document: ["server": ["prot": 1]], to: &config)
        } catch {
            #expect(error.key == "server.prot")
        }
    }

    @Test(arguments: [
        ("server.port", JSON.int(70_000)), ("server.port", JSON.string("80")), ("store.durability", JSON.string("fast")),
        ("websocket.fragmentsMax", JSON.int(0)), ("auth.accessTokenTtl", JSON.string("15 minutes")),
    ])
    func badValuesAreRefusedNamingTheKey(path: String, value: JSON) {
        var config = Config()
        let parts = path.split(separator: ".").map(String.init)
        let document: JSON = [parts[0]: .object(JSONObject([(key: parts[1], value: value)]))]
        do {
            try ConfigLoader.apply(document: document, to: &config)
            Issue.record("\(path) = \(value) was accepted")
        } catch {
            #expect(error.key == path)
        }
    }

    @Test func productionNeedsAStrongSecret() {
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: nil, environment: ["SPACEHUB_MODE": "production"]) }
        #expect(throws: ConfigError.self) {
            try ConfigLoader.load(path: nil, environment: ["SPACEHUB_MODE": "production", "JWT_SECRET": "short"])
        }
        #expect(throws: Never.self) { try ConfigLoader.load(path: nil, environment: Self.production) }
    }

    /// A production environment with nothing of the demo left (docs/DEPLOY.md's checklist).
    static let production = [
        "SPACEHUB_MODE": "production", "JWT_SECRET": String(repeating: "k", count: 32), "PAYMENT_GATEWAY": "paystack",
        "PAYSTACK_SECRET_KEY": "sk_live_x", "EMAIL_SENDER": "smtp", "SMTP_HOST": "mail.example.com",
        "PUBLIC_URL": "https://hub.example.com", "CORS_ORIGINS": "https://app.example.com",
    ]

    /// Production mode refuses each demo setting by name, and takes each override key.
    @Test(arguments: [("PAYMENT_GATEWAY", "sandbox", "payments.gateway", "allowSandboxGateway"),
                      ("EMAIL_SENDER", "log", "email.sender", "allowLogEmail"),
                      ("PUBLIC_URL", "", "server.publicUrl", "allowEmptyPublicUrl"),
                      ("CORS_ORIGINS", "http://localhost:3000", "server.corsOrigins", "allowLocalhostCors"),
                      ("CORS_ORIGINS", "https://app.example.com,http://127.0.0.1:3000", "server.corsOrigins", "allowLocalhostCors")])
    func productionRefusesDemoSettings(variable: String, value: String, key: String, override: String) throws {
        var environment = Self.production
        environment[variable] = value
        let error = #expect(throws: ConfigError.self) { try ConfigLoader.load(path: nil, environment: environment) }
        #expect(error?.key.hasPrefix(key) == true && error?.message.contains("production.\(override)") == true)
        var config = try ConfigLoader.load(path: nil, environment: Self.production)
        try ConfigLoader.apply(document: .object(["production": .object([override: true])]), to: &config)
        try ConfigLoader.apply(environment: environment, to: &config)
        #expect(throws: Never.self) { try ConfigLoader.validate(config) }
    }

    /// Enabled metrics must be reachable: a listener of their own, or a token for the public port.
    @Test func metricsNeedAListenerOrAToken() throws {
        func key(_ environment: [String: String]) -> String? {
            do {
                _ = try ConfigLoader.load(path: nil, environment: environment)
                return nil
            } catch {
                return error.key
            }
        }
        #expect(key(["METRICS_ENABLED": "true", "METRICS_HOST": ""]) == "metrics.enabled (METRICS_ENABLED)")
        #expect(key(["METRICS_ENABLED": "true", "METRICS_HOST": "", "METRICS_TOKEN": "short"]) == "metrics.token (METRICS_TOKEN)")
        #expect(key(["METRICS_ENABLED": "true", "METRICS_HOST": "", "METRICS_TOKEN": String(repeating: "t", count: 16)]) == nil)
        #expect(key(["METRICS_ENABLED": "true"]) == nil)
        #expect(key(["SENTRY_DSN": "not a dsn"]) == "sentry.dsn (SENTRY_DSN)")
        #expect(key(["SENTRY_DSN": "https://public@o1.ingest.sentry.io/42"]) == nil)
    }

    @Test func paystackNeedsItsKey() {
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: nil, environment: ["PAYMENT_GATEWAY": "paystack"]) }
    }

    @Test(arguments: [("90", 90), ("90s", 90), ("15m", 900), ("24h", 86_400), ("7d", 604_800)])
    func durationsParse(text: String, seconds: Int64) {
        #expect(ConfigKey.parseDuration(text) == seconds)
    }
}
