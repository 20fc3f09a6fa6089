import HubHTTP

/// The hub's own WebSocket close codes, in the private range RFC 6455 §7.4.2 leaves to
/// applications (4000–4999). The JavaScript client stops sending its token on either and reports
/// `auth_failed`; docs/CLIENT.md lists them.
enum HubCloseCode {
    /// The connection's token is not (or no longer) good: refused in an `auth` message, or its
    /// session ended while the socket was open (logout, password reset, a reused refresh token).
    /// Mirrors HTTP 401.
    static let unauthorized: UInt16 = 4401
    /// The account behind the connection is suspended. Mirrors HTTP 403.
    static let forbidden: UInt16 = 4403

    /// The code for a principal the hub stopped trusting, by the reason `AuthService` gives.
    static func closing(for error: APIError) -> UInt16 {
        error.status == 403 ? forbidden : unauthorized
    }
}
