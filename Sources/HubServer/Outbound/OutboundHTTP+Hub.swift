import HubHTTP

extension OutboundHTTP {
    /// The client every call to a provider (Paystack, SendGrid, Google, Microsoft, Sentry) goes
    /// through: it names the hub and its release in `User-Agent`.
    static let hub = OutboundHTTP(userAgent: "spacehub/\(Hub.version)")
}
