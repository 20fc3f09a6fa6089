import HubCore
import HubStore
import HubWire

/// The typed settings admins edit (`/api/admin/settings`), their validation and storage.
enum SettingsStore {
    /// Applies stored settings over the configured start values.
    static func load(into settings: LiveSettings, _ db: Database) throws {
        apply(stored: try SettingsTable.all(db), to: settings)
    }

    /// Applies rows of `SettingsTable` (read anywhere; applied on the loop thread). A row that
    /// no longer parses or validates is skipped: the configured value stands.
    static func apply(stored rows: [(key: String, value: String)], to settings: LiveSettings) {
        for (key, text) in rows {
            guard let value = try? JSONParser.parse(text) else { continue }
            _ = try? apply(key, value, to: settings)
        }
    }

    /// Every key, its current value, and what it means.
    static func describe(_ settings: LiveSettings) -> [(key: String, value: JSON, description: String)] {
        [
            ("siteName", .string(settings.siteName), "Name shown in emails and pages"),
            ("contactEmail", .string(settings.contactEmail), "Address members can write to"),
            ("paymentGateway", .string(settings.paymentGateway), "sandbox or paystack"),
            ("emailProvider", .string(settings.emailProvider), "log, smtp or sendgrid"),
            ("holdMinutes", .int(settings.holdMinutes), "Minutes a pending booking holds its slot while the member pays (1–1440)"),
            ("refundNoticeHours", .int(settings.refundNoticeHours), "Hours before start a paid booking may be cancelled with a refund (0–2160)"),
            ("bookingHorizonDays", .int(settings.horizonDays), "How many days ahead bookings open (1–1825)"),
            ("currency", .string(settings.currency.code), "Currency of new prices (NGN, GHS, ZAR, USD, KES)"),
            ("timeZone", .string(settings.timeZone.identifier), "The building's IANA time zone (reports, defaults)"),
        ]
    }

    struct Invalid: Error {
        let key: String
        let message: String
        /// The key is not a setting at all (as opposed to a bad value).
        var unknown = false
    }

    /// Validates and applies one key. Unknown keys and bad values throw naming the key.
    static func apply(_ key: String, _ value: JSON, to settings: LiveSettings) throws(Invalid) {
        func text(_ maxBytes: Int) throws(Invalid) -> String {
            guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= maxBytes else {
                throw Invalid(key: key, message: "\(key) must be a non-empty string of at most \(maxBytes) bytes")
            }
            return text
        }
        func int(_ range: ClosedRange<Int>) throws(Invalid) -> Int {
            guard let number = value.intValue, range.contains(number) else {
                throw Invalid(key: key, message: "\(key) must be an integer between \(range.lowerBound) and \(range.upperBound)")
            }
            return number
        }
        switch key {
        case "siteName": settings.siteName = try text(200)
        case "contactEmail":
            let email = try text(254)
            if let problem = Validation.emailProblem(email) { throw Invalid(key: key, message: problem) }
            settings.contactEmail = email
        case "paymentGateway":
            let gateway = try text(20)
            guard ["sandbox", "paystack"].contains(gateway) else { throw Invalid(key: key, message: "paymentGateway must be sandbox or paystack") }
            guard settings.gatewaysConfigured.contains(gateway) else {
                throw Invalid(key: key, message: "the \(gateway) gateway is not configured on this server (set its secret key first)")
            }
            settings.paymentGateway = gateway
        case "emailProvider":
            let provider = try text(20)
            guard ["log", "smtp", "sendgrid"].contains(provider) else { throw Invalid(key: key, message: "emailProvider must be log, smtp or sendgrid") }
            guard settings.emailProvidersConfigured.contains(provider) else {
                throw Invalid(key: key, message: "the \(provider) email provider is not configured on this server (set its API key first)")
            }
            settings.emailProvider = provider
        case "holdMinutes": settings.holdMinutes = try int(1...1440)
        case "refundNoticeHours": settings.refundNoticeHours = try int(0...2160)
        case "bookingHorizonDays": settings.horizonDays = try int(1...1825)
        case "currency":
            guard let currency = Currency(code: try text(3)) else { throw Invalid(key: key, message: "currency must be NGN, GHS, ZAR, USD or KES") }
            settings.currency = currency
        case "timeZone":
            guard let zone = Zone(try text(64)) else { throw Invalid(key: key, message: "timeZone must be an IANA zone such as Africa/Lagos") }
            settings.timeZone = zone
        default:
            throw Invalid(key: key, message: "unknown setting \(key)", unknown: true)
        }
    }
}
