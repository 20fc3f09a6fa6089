import HubHTTP
import HubWire

extension ConfigLoader {
    /// Every key the hub understands. Bounds are hard ceilings: a value outside them stops start-up.
    static var keys: [ConfigKey] {
        [
            .string("mode", env: "SPACEHUB_MODE", \.modeText, allowed: ["demo", "production"]),

            .string("server.host", env: "HOST", \.server.host, nonEmpty: true),
            .int("server.port", env: "PORT", \.server.port, 0...65_535),
            .string("server.hostIPv6", env: "HOST_IPV6", \.server.hostIPv6),
            .string("server.publicUrl", env: "PUBLIC_URL", \.server.publicURL),
            .strings("server.corsOrigins", env: "CORS_ORIGINS", \.server.corsOrigins),
            .addressRanges("server.trustedProxies", env: "TRUSTED_PROXIES", \.server.trustedProxies),
            .string("server.proxyHeader", env: "PROXY_HEADER", \.server.proxyHeader, allowed: ["x-forwarded-for", "forwarded"]),
            .int("server.rateLimits.writesPerMinutePerIp", env: "RATE_LIMIT_WRITES_PER_IP", \.server.writesPerMinutePerIP, 1...1_000_000),
            .int("server.rateLimits.writesPerMinutePerUser", env: "RATE_LIMIT_WRITES_PER_USER", \.server.writesPerMinutePerUser,
                 1...1_000_000),
            .int("server.requestTimeoutSeconds", \.server.requestTimeoutSeconds, 1...300),
            .int("server.idleTimeoutSeconds", \.server.idleTimeoutSeconds, 1...3600),
            .int("server.shutdownGraceSeconds", \.server.shutdownGraceSeconds, 0...600),
            .int("server.connectionsMax", \.server.connectionsMax, 16...1_000_000),
            .int("server.limits.requestLineBytesMax", \.server.limits.requestLineBytesMax, 256...(64 * 1024)),
            .int("server.limits.headerBytesMax", \.server.limits.headerBytesMax, 1024...(256 * 1024)),
            .int("server.limits.headerCountMax", \.server.limits.headerCountMax, 8...1000),
            .int("server.limits.bodyBytesMax", \.server.limits.bodyBytesMax, 1024...(64 << 20)),
            .int("server.jsonBytesMax", \.server.jsonBytesMax, 1024...(64 << 20)),

            .string("store.url", env: "DATABASE_URL", \.store.url),
            .int("store.statementTimeoutMs", \.store.statementTimeoutMs, 100...600_000),
            .int("store.connectTimeoutSeconds", \.store.connectTimeoutSeconds, 1...60),
            .int("store.readTimeoutMs", \.store.readTimeoutMs, 100...60_000),
            .string("store.path", env: "SPACEHUB_DB", \.store.path, nonEmpty: true),
            .string("store.durability", env: "SPACEHUB_DURABILITY", \.store.durability, allowed: ["full", "normal", "off"]),
            .int("store.commitBatchMax", \.store.commitBatchMax, 1...100_000),
            .int("store.busyTimeoutMs", \.store.busyTimeoutMs, 0...60_000),

            .string("auth.jwtSecret", env: "JWT_SECRET", \.auth.jwtSecret),
            .duration("auth.accessTokenTtl", env: "JWT_EXPIRES_IN", \.auth.accessTokenSeconds, 60...86_400),
            .duration("auth.refreshTokenTtl", env: "REFRESH_TOKEN_EXPIRES_IN", \.auth.refreshTokenSeconds, 3600...(90 * 86_400)),
            .duration("auth.resetTokenTtl", \.auth.resetTokenSeconds, 300...86_400),
            .int("auth.passwordCostLog2", env: "PASSWORD_COST_LOG2", \.auth.passwordCostLog2, 10...20),
            .int("auth.rateLimits.loginPerMinutePerIp", \.auth.loginPerMinutePerIP, 1...100_000),
            .int("auth.rateLimits.loginPerMinutePerEmail", \.auth.loginPerMinutePerEmail, 1...100_000),
            .int("auth.rateLimits.registerPerMinutePerIp", \.auth.registerPerMinutePerIP, 1...100_000),
            .int("auth.rateLimits.registerPerMinutePerEmail", \.auth.registerPerMinutePerEmail, 1...100_000),
            .int("auth.rateLimits.forgotPerMinutePerIp", \.auth.forgotPerMinutePerIP, 1...100_000),
            .int("auth.rateLimits.forgotPerMinutePerEmail", \.auth.forgotPerMinutePerEmail, 1...100_000),
            .int("auth.rateLimits.periodSeconds", \.auth.rateLimitPeriodSeconds, 1...3600),

            .string("websocket.path", \.websocket.path, nonEmpty: true),
            .strings("websocket.origins", env: "WS_ORIGINS", \.websocket.origins),
            .int("websocket.pingIntervalSeconds", \.websocket.pingIntervalSeconds, 1...3600),
            .int("websocket.frameBytesMax", \.websocket.frameBytesMax, 125...(16 << 20)),
            .int("websocket.messageBytesMax", \.websocket.messageBytesMax, 125...(16 << 20)),
            .int("websocket.fragmentsMax", \.websocket.fragmentsMax, 1...65_536),
            .int("websocket.outboundBytesMax", \.websocket.outboundBytesMax, (16 * 1024)...(64 << 20)),
            .int("websocket.closeTimeoutSeconds", \.websocket.closeTimeoutSeconds, 1...300),
            .int("websocket.subscriptionsMax", \.websocket.subscriptionsMax, 1...10_000),
            .int("websocket.rateLimits.connectsPerMinutePerIp", env: "RATE_LIMIT_WS_CONNECTS_PER_IP", \.websocket.connectsPerMinutePerIP,
                 1...1_000_000),
            .int("websocket.rateLimits.messagesPerMinute", env: "RATE_LIMIT_WS_MESSAGES", \.websocket.messagesPerMinute, 1...1_000_000),

            .bool("conformance.echo", env: "SPACEHUB_ECHO", \.conformance.echo),

            .bool("metrics.enabled", env: "METRICS_ENABLED", \.metrics.enabled),
            .string("metrics.host", env: "METRICS_HOST", \.metrics.host),
            .int("metrics.port", env: "METRICS_PORT", \.metrics.port, 0...65_535),
            .string("metrics.token", env: "METRICS_TOKEN", \.metrics.token),

            .string("sentry.dsn", env: "SENTRY_DSN", \.sentry.dsn),
            .string("sentry.environment", env: "SENTRY_ENVIRONMENT", \.sentry.environment),
            .int("sentry.queueMax", \.sentry.queueMax, 1...10_000),
            .int("sentry.timeoutSeconds", \.sentry.timeoutSeconds, 1...60),
            .int("sentry.dedupeSeconds", \.sentry.dedupeSeconds, 0...86_400),

            .int("events.historyCount", \.events.historyCount, 100...1_000_000),
            .int("events.historySeconds", \.events.historySeconds, 60...(30 * 86_400)),
            .int("events.longPollSeconds", \.events.longPollSeconds, 1...120),
            .int("events.sseHeartbeatSeconds", \.events.sseHeartbeatSeconds, 1...300),
            .int("events.followPollMs", \.events.followPollMs, 10...60_000),
            .bool("events.doorbell", \.events.doorbell),
            .int("events.revocationReloadSeconds", \.events.revocationReloadSeconds, 1...300),

            .int("bookings.holdMinutes", env: "HOLD_MINUTES", \.bookings.holdMinutes, 1...1440),
            // Test knob, file only: holds of this many seconds instead of `holdMinutes` (0 = off).
            .int("bookings.holdSeconds", \.bookings.holdSeconds, 0...86_400),
            .int("bookings.refundNoticeHours", \.bookings.refundNoticeHours, 0...(24 * 90)),
            .int("bookings.horizonDays", \.bookings.horizonDays, 1...(365 * 5)),
            .string("bookings.timeZone", env: "TIME_ZONE", \.bookings.timeZone, nonEmpty: true),
            .string("bookings.currency", \.bookings.currency, allowed: ["NGN", "GHS", "ZAR", "USD", "KES"]),
            .int("bookings.holdSweepMs", \.bookings.holdSweepMs, 10...60_000),
            .int("bookings.holdsPerMemberMax", env: "HOLDS_PER_MEMBER_MAX", \.bookings.holdsPerMemberMax, 1...1_000_000),
            .int("bookings.rateLimits.createPerMinutePerUser", env: "RATE_LIMIT_BOOKINGS_PER_USER", \.bookings.createPerMinutePerUser,
                 1...1_000_000),
            .int("bookings.rateLimits.createPerMinutePerIp", env: "RATE_LIMIT_BOOKINGS_PER_IP", \.bookings.createPerMinutePerIP,
                 1...1_000_000),

            .string("payments.gateway", env: "PAYMENT_GATEWAY", \.payments.gateway, allowed: ["sandbox", "paystack"]),
            .string("payments.paystack.baseUrl", env: "PAYSTACK_BASE_URL", \.payments.paystackBaseURL, nonEmpty: true),
            .string("payments.paystack.secretKey", env: "PAYSTACK_SECRET_KEY", \.payments.paystackSecretKey),
            .string("payments.paystack.publicKey", env: "PAYSTACK_PUBLIC_KEY", \.payments.paystackPublicKey),
            .int("payments.timeoutSeconds", \.payments.timeoutSeconds, 1...120),
            .int("payments.retries", \.payments.retries, 0...10),

            .string("email.sender", env: "EMAIL_SENDER", \.email.sender, allowed: ["log", "smtp", "sendgrid"]),
            .string("email.from", env: "FROM_EMAIL", \.email.from, nonEmpty: true),
            .string("email.directory", \.email.directory, nonEmpty: true),
            .string("email.smtp.host", env: "SMTP_HOST", \.email.smtpHost, nonEmpty: true),
            .int("email.smtp.port", env: "SMTP_PORT", \.email.smtpPort, 1...65_535),
            .string("email.smtp.username", env: "SMTP_USERNAME", \.email.smtpUsername),
            .string("email.smtp.password", env: "SMTP_PASSWORD", \.email.smtpPassword),
            .bool("email.smtp.starttls", env: "SMTP_STARTTLS", \.email.smtpStartTLS),
            .bool("email.smtp.verifyCertificate", env: "SMTP_VERIFY_CERTIFICATE", \.email.smtpVerifyCertificate),
            .string("email.sendgrid.baseUrl", env: "SENDGRID_BASE_URL", \.email.sendgridBaseURL, nonEmpty: true),
            .string("email.sendgrid.apiKey", env: "SENDGRID_API_KEY", \.email.sendgridAPIKey),
            .int("email.retriesMax", env: "EMAIL_RETRIES_MAX", \.email.retriesMax, 0...50),
            .string("email.fromName", env: "FROM_NAME", \.email.fromName, nonEmpty: true),
            .int("email.retryBaseSeconds", env: "EMAIL_RETRY_BASE_SECONDS", \.email.retryBaseSeconds, 1...3600),
            .int("email.retryCapSeconds", env: "EMAIL_RETRY_CAP_SECONDS", \.email.retryCapSeconds, 1...(7 * 86_400)),
            .int("email.pollIntervalMs", env: "EMAIL_POLL_INTERVAL_MS", \.email.pollIntervalMs, 50...60_000),
            .int("email.concurrency", \.email.concurrency, 1...8),
            .int("email.timeoutSeconds", env: "EMAIL_TIMEOUT_SECONDS", \.email.timeoutSeconds, 1...120),
            .int("email.reminderLeadHours", env: "REMINDER_LEAD_HOURS", \.email.reminderLeadHours, 1...(7 * 24)),
            .int("email.reminderSweepSeconds", env: "REMINDER_SWEEP_SECONDS", \.email.reminderSweepSeconds, 1...3600),

            .string("calendar.tokenKey", env: "CALENDAR_TOKEN_KEY", \.calendar.tokenKey),
            .string("calendar.google.tokenUrl", env: "GOOGLE_TOKEN_URL", \.calendar.googleTokenURL, nonEmpty: true),
            .string("calendar.google.apiBaseUrl", env: "GOOGLE_API_BASE_URL", \.calendar.googleAPIBaseURL, nonEmpty: true),
            .string("calendar.google.clientId", env: "GOOGLE_CLIENT_ID", \.calendar.googleClientID),
            .string("calendar.google.clientSecret", env: "GOOGLE_CLIENT_SECRET", \.calendar.googleClientSecret),
            .string("calendar.outlook.tokenUrl", env: "OUTLOOK_TOKEN_URL", \.calendar.outlookTokenURL, nonEmpty: true),
            .string("calendar.outlook.apiBaseUrl", env: "OUTLOOK_API_BASE_URL", \.calendar.outlookAPIBaseURL, nonEmpty: true),
            .string("calendar.outlook.clientId", env: "OUTLOOK_CLIENT_ID", \.calendar.outlookClientID),
            .string("calendar.outlook.clientSecret", env: "OUTLOOK_CLIENT_SECRET", \.calendar.outlookClientSecret),
            .string("calendar.redirectUri", env: "CALENDAR_REDIRECT_URI", \.calendar.redirectURI),
            .string("calendar.google.revokeUrl", env: "GOOGLE_REVOKE_URL", \.calendar.googleRevokeURL),
            .int("calendar.syncIntervalSeconds", env: "CALENDAR_SYNC_INTERVAL_SECONDS", \.calendar.syncIntervalSeconds, 1...86_400),
            .int("calendar.timeoutSeconds", env: "CALENDAR_TIMEOUT_SECONDS", \.calendar.timeoutSeconds, 1...120),
            .int("calendar.feedPastDays", \.calendar.feedPastDays, 0...3650),

            .string("log.level", env: "LOG_LEVEL", \.log.level,
                    allowed: ["trace", "debug", "info", "notice", "warning", "error", "critical"]),
            .bool("log.access", env: "ACCESS_LOG", \.log.access),
            .string("log.format", env: "LOG_FORMAT", \.log.format, allowed: ["text", "json"]),
            .string("log.file", env: "LOG_FILE", \.log.file),

            .bool("production.allowSandboxGateway", \.production.allowSandboxGateway),
            .bool("production.allowLogEmail", \.production.allowLogEmail),
            .bool("production.allowEmptyPublicUrl", \.production.allowEmptyPublicUrl),
            .bool("production.allowDemoData", \.production.allowDemoData),
            .bool("production.allowLocalhostCors", \.production.allowLocalhostCors),
            .bool("production.allowSharedDatabase", \.production.allowSharedDatabase),
        ]
    }
}

extension Config {
    fileprivate var modeText: String {
        get { mode.rawValue }
        set { mode = Mode(rawValue: newValue) ?? .demo }  // validated by `allowed` before this runs
    }
}

extension ConfigKey {
    static func string(_ path: String, env: String? = nil, _ keyPath: WritableKeyPath<Config, String>,
                       allowed: [String]? = nil, nonEmpty: Bool = false) -> ConfigKey {
        ConfigKey(path: path, env: env, read: { .string($0[keyPath: keyPath]) }) { config, input throws(ConfigError) in
            let value: String
            switch input {
            case .env(let text): value = text
            case .json(let json):
                guard let text = json.stringValue else { throw ConfigError(path, "expected a string, got \(json.typeName)") }
                value = text
            }
            if nonEmpty && value.isEmpty { throw ConfigError(path, "must not be empty") }
            if let allowed, !allowed.contains(value) {
                throw ConfigError(path, "must be one of \(allowed.joined(separator: ", ")); got \"\(value)\"")
            }
            config[keyPath: keyPath] = value
        }
    }

    static func int(_ path: String, env: String? = nil, _ keyPath: WritableKeyPath<Config, Int>,
                    _ range: ClosedRange<Int>) -> ConfigKey {
        ConfigKey(path: path, env: env, read: { .int($0[keyPath: keyPath]) }) { config, input throws(ConfigError) in
            let parsed: Int?
            switch input {
            case .env(let text): parsed = Int(text)
            case .json(let json): parsed = json.intValue
            }
            guard let value = parsed else { throw ConfigError(path, "expected an integer") }
            guard range.contains(value) else {
                throw ConfigError(path, "must be between \(range.lowerBound) and \(range.upperBound); got \(value)")
            }
            config[keyPath: keyPath] = value
        }
    }

    static func bool(_ path: String, env: String? = nil, _ keyPath: WritableKeyPath<Config, Bool>) -> ConfigKey {
        ConfigKey(path: path, env: env, read: { .bool($0[keyPath: keyPath]) }) { config, input throws(ConfigError) in
            switch input {
            case .env(let text):
                switch text.lowercased() {
                case "1", "true", "yes", "on": config[keyPath: keyPath] = true
                case "0", "false", "no", "off": config[keyPath: keyPath] = false
                default: throw ConfigError(path, "expected true or false; got \"\(text)\"")
                }
            case .json(let json):
                guard let value = json.boolValue else { throw ConfigError(path, "expected true or false, got \(json.typeName)") }
                config[keyPath: keyPath] = value
            }
        }
    }

    static func strings(_ path: String, env: String? = nil, _ keyPath: WritableKeyPath<Config, [String]>) -> ConfigKey {
        ConfigKey(path: path, env: env, read: { .array($0[keyPath: keyPath].map(JSON.string)) }) { config, input throws(ConfigError) in
            config[keyPath: keyPath] = try stringList(path, input)
        }
    }

    /// A list of strings: a JSON array, or comma-separated text from the environment.
    private static func stringList(_ path: String, _ input: ConfigKey.Input) throws(ConfigError) -> [String] {
        switch input {
        case .env(let text):
            return text.split(separator: ",").map { String($0.trimmingSpaces()) }.filter { !$0.isEmpty }
        case .json(let json):
            guard let array = json.arrayValue else { throw ConfigError(path, "expected an array of strings") }
            var values: [String] = []
            for element in array {
                guard let text = element.stringValue else { throw ConfigError(path, "expected an array of strings") }
                values.append(text)
            }
            return values
        }
    }

    /// Addresses and CIDR ranges (`10.0.0.0/8`, `::1`), as a list or comma-separated text.
    static func addressRanges(_ path: String, env: String? = nil, _ keyPath: WritableKeyPath<Config, [AddressRange]>) -> ConfigKey {
        ConfigKey(path: path, env: env, read: { .array($0[keyPath: keyPath].map { .string($0.description) }) }) { config, input throws(ConfigError) in
            var ranges: [AddressRange] = []
            for text in try stringList(path, input) {
                guard let range = AddressRange(text) else {
                    throw ConfigError(path, "\"\(text)\" is not an IP address or CIDR range (like 10.0.0.0/8 or ::1)")
                }
                ranges.append(range)
            }
            config[keyPath: keyPath] = ranges
        }
    }

    /// Seconds, given as an integer or as text like "15m", "24h", "7d", "90s".
    static func duration(_ path: String, env: String? = nil, _ keyPath: WritableKeyPath<Config, Int64>,
                         _ range: ClosedRange<Int64>) -> ConfigKey {
        ConfigKey(path: path, env: env, read: { .int64($0[keyPath: keyPath]) }) { config, input throws(ConfigError) in
            let text: String
            switch input {
            case .env(let value): text = value
            case .json(let json):
                if let number = json.intValue {
                    text = String(number)
                } else if let value = json.stringValue {
                    text = value
                } else {
                    throw ConfigError(path, "expected seconds or a duration like \"15m\"")
                }
            }
            guard let seconds = parseDuration(text) else {
                throw ConfigError(path, "expected seconds or a duration like \"15m\", \"24h\", \"7d\"; got \"\(text)\"")
            }
            guard range.contains(seconds) else {
                throw ConfigError(path, "must be between \(range.lowerBound) and \(range.upperBound) seconds; got \(seconds)")
            }
            config[keyPath: keyPath] = seconds
        }
    }

    static func parseDuration(_ text: String) -> Int64? {
        if let plain = Int64(text) { return plain }
        guard let unit = text.last, let amount = Int64(text.dropLast()), amount >= 0 else { return nil }
        switch unit {
        case "s": return amount
        case "m": return amount * 60
        case "h": return amount * 3600
        case "d": return amount * 86_400
        default: return nil
        }
    }
}
