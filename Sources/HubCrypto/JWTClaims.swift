/// The claims SpaceHub puts in its access and refresh tokens. Property names are the registered
/// claim names of RFC 7519 §4.1 (terms of art), so the Codable form is the wire form.
///
/// Unknown claims in a received token are ignored (RFC 7519 §4: "all claims that are not
/// understood by implementations MUST be ignored"); all but `typ` are required.
public struct JWTClaims: Codable, Equatable, Sendable {
    /// Subject (§4.1.2): the user ID.
    public var sub: String
    /// Our private claim: the user's role, e.g. `"member"` or `"admin"`.
    public var role: String
    /// Expiration time (§4.1.4), Unix seconds: the token is rejected at or after this instant.
    public var exp: Int64
    /// Issued-at time (§4.1.6), Unix seconds: tokens issued in the future are rejected.
    public var iat: Int64
    /// JWT ID (§4.1.7): unique per token, so a refresh token can be revoked by ID.
    public var jti: String
    /// Our private claim: the token's use, e.g. `"access"` or `"refresh"`. Omitted when nil.
    public var typ: String?

    public init(sub: String, role: String, exp: Int64, iat: Int64, jti: String, typ: String? = nil) {
        self.sub = sub
        self.role = role
        self.exp = exp
        self.iat = iat
        self.jti = jti
        self.typ = typ
    }
}
