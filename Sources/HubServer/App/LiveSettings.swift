import HubCore

/// Settings admins can change at run time (`PUT /api/admin/settings`). Services read them at
/// each use, so a change applies to the next request without a restart. Start values come from
/// the configuration; stored values (system_settings) override them at start.
final class LiveSettings {
    /// Gateways and email providers this process has credentials for: a setting may only pick
    /// one of them (switching to Paystack without its secret key would break every checkout).
    let gatewaysConfigured: Set<String>
    let emailProvidersConfigured: Set<String>
    var siteName = "Nithub Space Management"
    var contactEmail = "contact@nithub.com"
    var paymentGateway: String
    var emailProvider: String
    var holdMinutes: Int
    var refundNoticeHours: Int
    var horizonDays: Int
    var currency: Currency
    var timeZone: Zone
    let holdSweepMs: Int
    /// `bookings.holdSeconds`: a test knob that, when above 0, replaces `holdMinutes`.
    let holdSecondsOverride: Int

    /// How long a new pending booking holds its slot.
    var holdSeconds: Int64 { holdSecondsOverride > 0 ? Int64(holdSecondsOverride) : Int64(holdMinutes) * 60 }

    init(config: Config) {
        gatewaysConfigured = config.payments.paystackSecretKey.isEmpty ? ["sandbox"] : ["sandbox", "paystack"]
        emailProvidersConfigured = config.email.sendgridAPIKey.isEmpty ? ["log", "smtp"] : ["log", "smtp", "sendgrid"]
        paymentGateway = config.payments.gateway
        emailProvider = config.email.sender
        holdMinutes = config.bookings.holdMinutes
        refundNoticeHours = config.bookings.refundNoticeHours
        horizonDays = config.bookings.horizonDays
        currency = Currency(code: config.bookings.currency) ?? .ngn
        timeZone = Zone(config.bookings.timeZone) ?? .lagos
        holdSweepMs = config.bookings.holdSweepMs
        holdSecondsOverride = config.bookings.holdSeconds
    }

    private init(copying other: LiveSettings) {
        gatewaysConfigured = other.gatewaysConfigured
        emailProvidersConfigured = other.emailProvidersConfigured
        siteName = other.siteName
        contactEmail = other.contactEmail
        paymentGateway = other.paymentGateway
        emailProvider = other.emailProvider
        holdMinutes = other.holdMinutes
        refundNoticeHours = other.refundNoticeHours
        horizonDays = other.horizonDays
        currency = other.currency
        timeZone = other.timeZone
        holdSweepMs = other.holdSweepMs
        holdSecondsOverride = other.holdSecondsOverride
    }

    /// A scratch copy to validate a change against before applying it for real.
    func copy() -> LiveSettings { LiveSettings(copying: self) }
}

@available(*, unavailable) extension LiveSettings: Sendable {}
