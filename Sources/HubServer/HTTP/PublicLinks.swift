import HubHTTP

/// Where the links the hub hands out point (a password-reset link, a payment's return page, a
/// calendar feed): `server.publicUrl` when configured, else what a trusted proxy forwarded, else
/// the address the hub is bound to (`Request.publicBase`).
struct PublicLinks: Sendable {
    /// `server.publicUrl` (empty when not set).
    let configured: String
    /// The bound address (`Hub.publicURL`), without a trailing slash.
    let bound: String

    init(configured: String, bound: String) {
        self.configured = configured
        self.bound = bound.hasSuffix("/") ? String(bound.dropLast()) : bound
    }

    func base(for request: Request) -> String { request.publicBase(configured: configured, fallback: bound) }
}
