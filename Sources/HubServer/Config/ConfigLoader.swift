import Foundation
import HubCrypto
import HubStore
import HubWire

/// Reads `Config` from a JSON file and the environment.
///
/// Every key is declared once below with its type and bounds; the file is flattened to dotted
/// paths (`server.port`) and each path must be declared, so a typo stops start-up instead of
/// being ignored. Environment variables (the seed's names where it has one) win over the file.
public enum ConfigLoader {
    /// Loads `path` (or the defaults when `path` is nil and `config/spacehub.json` is absent),
    /// then applies `environment`.
    public static func load(path: String?, environment: [String: String]) throws(ConfigError) -> Config {
        var config = Config()
        let filePath = path ?? (FileManager.default.fileExists(atPath: "config/spacehub.json") ? "config/spacehub.json" : nil)
        if let filePath {
            guard let data = FileManager.default.contents(atPath: filePath) else {
                throw ConfigError(filePath, "cannot read the configuration file")
            }
            let document: JSON
            do {
                document = try JSONParser.parse([UInt8](data))
            } catch {
                throw ConfigError(filePath, "not valid JSON: \(error)")
            }
            try apply(document: document, to: &config)
        }
        try apply(environment: environment, to: &config)
        try validate(config)
        return config
    }

    static func apply(document: JSON, to config: inout Config) throws(ConfigError) {
        guard case .object = document else { throw ConfigError("(root)", "expected a JSON object") }
        let table = Dictionary(uniqueKeysWithValues: keys.map { ($0.path, $0) })
        var leaves: [(String, JSON)] = []
        flatten(document, prefix: "", into: &leaves)
        for (path, value) in leaves {
            if path.hasPrefix("_") || path.contains("._") { continue }  // "_comment" keys document the file
            guard let key = table[path] else { throw ConfigError(path, "unknown key") }
            try key.apply(&config, .json(value))
        }
    }

    static func apply(environment: [String: String], to config: inout Config) throws(ConfigError) {
        for key in keys {
            guard let name = key.env, let value = environment[name] else { continue }
            do {
                try key.apply(&config, .env(value))
            } catch {
                throw ConfigError("\(name) (\(key.path))", error.message)
            }
        }
    }

    private static func flatten(_ value: JSON, prefix: String, into leaves: inout [(String, JSON)]) {
        if case .object(let object) = value {
            for member in object {
                flatten(member.value, prefix: prefix.isEmpty ? member.key : "\(prefix).\(member.key)", into: &leaves)
            }
        } else {
            leaves.append((prefix, value))
        }
    }

    /// Relations between keys, checked once everything is read.
    static func validate(_ config: Config) throws(ConfigError) {
        if !config.store.url.isEmpty, !PostgresSettings.isURL(config.store.url) {
            throw ConfigError("store.url (DATABASE_URL)", "must be a postgresql:// URL (leave it unset for SQLite at store.path)")
        }
        if config.mode == .production {
            guard config.auth.jwtSecret.utf8.count >= 32 else {
                throw ConfigError("auth.jwtSecret (JWT_SECRET)", "production mode needs a secret of at least 32 bytes")
            }
            try validateProduction(config)
        } else if !config.auth.jwtSecret.isEmpty && config.auth.jwtSecret.utf8.count < 32 {
            throw ConfigError("auth.jwtSecret (JWT_SECRET)", "must be at least 32 bytes when set")
        }
        if config.payments.gateway == "paystack" && config.payments.paystackSecretKey.isEmpty {
            throw ConfigError("payments.paystack.secretKey (PAYSTACK_SECRET_KEY)",
                              "the paystack gateway needs its secret key; set PAYSTACK_SECRET_KEY or use the sandbox gateway")
        }
        if config.email.sender == "sendgrid" && config.email.sendgridAPIKey.isEmpty {
            throw ConfigError("email.sendgrid.apiKey (SENDGRID_API_KEY)", "the sendgrid sender needs an API key")
        }
        if !config.calendar.tokenKey.isEmpty && Self.decodeKey(config.calendar.tokenKey) == nil {
            throw ConfigError("calendar.tokenKey (CALENDAR_TOKEN_KEY)", "must be 32 bytes as 64 hex digits or base64")
        }
        if config.websocket.messageBytesMax < config.websocket.frameBytesMax {
            throw ConfigError("websocket.messageBytesMax", "must be at least websocket.frameBytesMax")
        }
        try validateMonitoring(config)
    }

    /// Metrics must be reachable somewhere once enabled, behind a token worth the name; a DSN
    /// must be one Sentry would accept.
    static func validateMonitoring(_ config: Config) throws(ConfigError) {
        let metrics = config.metrics
        if !metrics.token.isEmpty && metrics.token.utf8.count < 16 {
            throw ConfigError("metrics.token (METRICS_TOKEN)", "must be at least 16 characters when set")
        }
        if metrics.enabled && metrics.host.isEmpty && metrics.token.isEmpty {
            throw ConfigError("metrics.enabled (METRICS_ENABLED)",
                              "metrics need a listener of their own (metrics.host) or a token for the public port (metrics.token)")
        }
        if !config.sentry.dsn.isEmpty && SentryDSN(config.sentry.dsn) == nil {
            throw ConfigError("sentry.dsn (SENTRY_DSN)", "expected https://<public key>@<host>/<project id>")
        }
    }

    /// What production mode refuses (`Config.Production`): each refusal names the key at fault and
    /// the override key. Checks that need the database (demo data, its permissions) are in
    /// `Hub.start` (`productionDatabaseProblem`).
    static func validateProduction(_ config: Config) throws(ConfigError) {
        let rails = config.production
        if config.payments.gateway == "sandbox" && !rails.allowSandboxGateway {
            throw ConfigError("payments.gateway (PAYMENT_GATEWAY)", "is the sandbox, whose checkout page lets anyone pay without money; "
                              + "use paystack, or set production.allowSandboxGateway")
        }
        if config.email.sender == "log" && !rails.allowLogEmail {
            throw ConfigError("email.sender (EMAIL_SENDER)", "is log, so members receive no email; use smtp or sendgrid, "
                              + "or set production.allowLogEmail")
        }
        if config.server.publicURL.isEmpty && !rails.allowEmptyPublicUrl {
            throw ConfigError("server.publicUrl (PUBLIC_URL)", "is empty: links in emails and payment callbacks need the address "
                              + "members reach the hub at; set it, or set production.allowEmptyPublicUrl")
        }
        if let local = config.server.corsOrigins.first(where: isLocalOrigin), !rails.allowLocalhostCors {
            throw ConfigError("server.corsOrigins (CORS_ORIGINS)", "lists \(local): a page on any machine's localhost could call "
                              + "the API with a member's token; list your front end's origin, or set production.allowLocalhostCors")
        }
    }

    /// `http://localhost:3000`, `https://127.0.0.1`, `http://[::1]:8080`.
    static func isLocalOrigin(_ origin: String) -> Bool {
        guard let host = URLComponents(string: origin)?.host?.lowercased() else { return false }
        return host == "localhost" || host.hasSuffix(".localhost") || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }

    /// Every key's effective value, in declaration order, secrets masked (`spacehub config check`):
    /// `(path, environment variable, value)`.
    public static func effectiveValues(_ config: Config) -> [(path: String, env: String?, value: String)] {
        keys.map { key in
            let value = key.read(config)
            let shown: String
            if key.isSecret {
                let text = value.stringValue ?? ""
                shown = text.isEmpty ? "(not set)" : "(set, \(text.utf8.count) bytes)"
            } else if key.path == "store.url", let url = value.stringValue, !url.isEmpty {
                shown = JSON.string(PostgresSettings(url: url).redactedURL).text  // the password masked
            } else {
                shown = value.text
            }
            return (key.path, key.env, shown)
        }
    }

    /// A 32-byte key given as 64 hex digits or base64.
    public static func decodeKey(_ text: String) -> [UInt8]? {
        if text.utf8.count == 64, let bytes = Hex.decode(text) { return bytes }
        if let data = Data(base64Encoded: text), data.count == 32 { return [UInt8](data) }
        return nil
    }
}

/// One configuration key: its dotted path, its environment variable, and how to apply a value.
struct ConfigKey {
    enum Input {
        case json(JSON)
        case env(String)
    }

    let path: String
    let env: String?
    /// The key's value in a config, as JSON (for `spacehub config check`).
    let read: (Config) -> JSON
    let apply: (inout Config, Input) throws(ConfigError) -> Void

    /// Whether the value is a secret, shown masked (`JWT_SECRET`, keys, passwords, tokens, DSNs).
    var isSecret: Bool {
        let name = (path.split(separator: ".").last ?? "").lowercased()
        return ["secret", "secretkey", "password", "apikey", "tokenkey", "token", "dsn"].contains { name.hasSuffix($0) }
    }
}
