/// Why `JWT.verify` refused a token. A peer error (STYLE §7.2): map it to 401 in one place and
/// count it; do not log the token.
public enum JWTError: Error, Equatable, Sendable {
    /// Not three canonical base64url segments of the right JSON, over `JWT.tokenBytesMax`, or
    /// missing a required claim.
    case malformed
    /// The header's `alg` is not exactly `"HS256"` (including `"none"` and a missing `alg`).
    /// Checked before the signature, so no other algorithm's code path is ever reached
    /// (RFC 8725 §3.1, §2.1 "alg: none").
    case unsupportedAlgorithm
    /// The HMAC-SHA256 does not match: wrong key, or header/payload/signature altered.
    case badSignature
    /// `now` is at or after `exp` + leeway (RFC 7519 §4.1.4).
    case expired
    /// `iat` is more than the leeway after `now`: issued in the future by a skewed or forged clock.
    case notYetValid
}
