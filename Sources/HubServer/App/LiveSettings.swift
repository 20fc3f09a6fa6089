import HubCore

/// Settings admins can change at run time (`PUT /api/admin/settings`). Services read them at
/// each use, so a change applies to the next request without a restart. Start values come from
/// the configuration; stored values (system_settings) override them at start.
final class LiveSettings {
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
}

@available(*, unavailable) extension LiveSettings: Sendable {}
