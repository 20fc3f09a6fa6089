import Foundation

/// JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 only (JWS, RFC 7515; "HS256", RFC 7518 §3.2).
///
/// One algorithm, fixed in code: the header's `alg` must be exactly `"HS256"` or the token is
/// refused before any signature check, closing the "alg: none" and algorithm-confusion attacks
/// (RFC 8725 §2.1, §3.1). Time is a parameter; nothing here reads a clock.
///
///     let token = JWT.sign(claims, secret: secret)
///     switch JWT.verify(token, secret: secret, now: nowSeconds) {
///     case .success(let claims): …
///     case .failure(let error): … // 401, count by `error`
///     }
///
/// Thread-safe; each call allocates a JSON coder (~µs) rather than sharing one across threads.
public enum JWT {
    /// Longest token accepted, in bytes. Ours are ~250; 8 KiB matches common header-size limits
    /// and bounds the work an unauthenticated request can cause. On breach: `.malformed`.
    public static let tokenBytesMax = 8 * 1024

    /// Shortest secret accepted: 32 bytes. RFC 7518 §3.2: "A key of the same size as the hash output
    /// (for instance, 256 bits for "HS256") or larger MUST be used with this algorithm."
    public static let secretBytesMin = 32

    /// `{"alg":"HS256","typ":"JWT"}` (RFC 7519 §5.1 `typ`), base64url-encoded once.
    static let encodedHeader = Base64URL.encode(#"{"alg":"HS256","typ":"JWT"}"#.utf8)

    /// A compact-serialized token: `header.payload.signature`. Traps on a secret shorter than
    /// `secretBytesMin` (a configuration error, checked at startup).
    public static func sign(_ claims: JWTClaims, secret: [UInt8]) -> String {
        precondition(secret.count >= secretBytesMin, "JWT secret shorter than \(secretBytesMin) bytes")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, integers and an optional string always encode: no floats, no custom keys.
        let payload = try! encoder.encode(claims)
        let signingInput = encodedHeader + "." + Base64URL.encode(payload)
        let signature = HMAC.sha256(key: secret, message: signingInput.utf8)
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// The token's claims if it is a well-formed HS256 JWT signed with `secret` and valid at `now`.
    ///
    /// Checks, in order: size and shape (3 canonical base64url segments, JSON-object header) →
    /// `alg` → signature (constant-time) → claims JSON → `exp` → `iat`.
    ///
    /// - Parameters:
    ///   - now: current Unix time in seconds.
    ///   - leewaySeconds: clock skew tolerated on `exp` and `iat`, ≥ 0.
    public static func verify(
        _ token: String,
        secret: [UInt8],
        now: Int64,
        leewaySeconds: Int64 = 0
    ) -> Result<JWTClaims, JWTError> {
        precondition(secret.count >= secretBytesMin, "JWT secret shorter than \(secretBytesMin) bytes")
        precondition(leewaySeconds >= 0, "negative JWT leeway")
        guard token.utf8.count <= tokenBytesMax else { return .failure(.malformed) }

        // RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(signature).
        let segments = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segments.count == 3,
            let header = Base64URL.decode(Substring(segments[0])),
            let payload = Base64URL.decode(Substring(segments[1])),
            let signature = Base64URL.decode(Substring(segments[2]))
        else { return .failure(.malformed) }

        switch algorithmCheck(header) {
        case .failure(let error): return .failure(error)
        case .success: break
        }

        // RFC 7515 §5.2 step 8: the MAC covers the segments as received, not re-encoded JSON.
        let signingInput = token.utf8[segments[0].startIndex..<segments[1].endIndex]
        let expected = HMAC.sha256(key: secret, message: signingInput)
        guard constantTimeEquals(signature, expected) else { return .failure(.badSignature) }

        // Authenticated from here on: only our own payloads reach the JSON decoder.
        guard let claims = try? JSONDecoder().decode(JWTClaims.self, from: Data(payload)) else {
            return .failure(.malformed)
        }
        // Arithmetic only on `now` and the leeway (caller-supplied, sane), never on `exp`/`iat`,
        // which may be any Int64 and must not be able to trap on overflow.
        if now - leewaySeconds >= claims.exp { return .failure(.expired) }
        if claims.iat > now + leewaySeconds { return .failure(.notYetValid) }
        return .success(claims)
    }

    /// The header must be a JSON object whose `alg` is the string "HS256" exactly, with no `crit`:
    /// RFC 7515 §4.1.11 says a recipient that does not understand a listed extension MUST reject,
    /// and we understand none.
    private static func algorithmCheck(_ header: [UInt8]) -> Result<Void, JWTError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(header)),
            let fields = object as? [String: Any]
        else { return .failure(.malformed) }
        guard let algorithm = fields["alg"] as? String, algorithm == "HS256" else {
            return .failure(.unsupportedAlgorithm)
        }
        guard fields["crit"] == nil else { return .failure(.malformed) }
        return .success(())
    }
}
