import Foundation
import HubCrypto
import Testing

struct JWTTests {
    static let secret = Array("0123456789abcdef0123456789abcdef".utf8)
    static let claims = JWTClaims(
        sub: "user-1", role: "member", exp: 2_000_000_000, iat: 1_700_000_000, jti: "j-1", typ: "access")
    static let now: Int64 = 1_800_000_000

    /// Made with Python's hmac module: other key order, spaces in the JSON, an unknown claim.
    static let handMadeToken =
        "eyJ0eXAiOiJKV1QiLCAiYWxnIjoiSFMyNTYifQ"
        + ".eyJzdWIiOiJ1c2VyLTEiLCAicm9sZSI6Im1lbWJlciIsICJleHAiOjIwMDAwMDAwMDAsICJpYXQiOjE3MDAwMDAwMDAsICJqdGkiOiJqLTEiLCAidHlwIjoiYWNjZXNzIiwgImV4dHJhIjp7IngiOlsxLDJdfX0"
        + ".i3uarUo-Bhl01NHeU8xOn-VMzU_m49jG7LWk8lSo-Ow"

    /// Same payload, HS512-signed with the same secret by Python: valid bytes, refused algorithm.
    static let hs512Token =
        "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9"
        + ".eyJzdWIiOiJ1c2VyLTEiLCAicm9sZSI6Im1lbWJlciIsICJleHAiOjIwMDAwMDAwMDAsICJpYXQiOjE3MDAwMDAwMDAsICJqdGkiOiJqLTEiLCAidHlwIjoiYWNjZXNzIiwgImV4dHJhIjp7IngiOlsxLDJdfX0"
        + ".wqWgjYuLC3_c7phppalavbLzEePGNUshnhLVEjcl30PUDyY-_LvJTUU0q_39RPq6k6hqLJabWfie2g7tZSEtuQ"

    func verify(_ token: String, secret: [UInt8] = Self.secret, now: Int64 = Self.now, leeway: Int64 = 0)
        -> Result<JWTClaims, JWTError>
    {
        JWT.verify(token, secret: secret, now: now, leewaySeconds: leeway)
    }

    /// A token with arbitrary header and payload JSON, correctly HS256-signed with `secret`.
    func forge(header: String, payload: String, secret: [UInt8] = Self.secret) -> String {
        let input = Base64URL.encode(header.utf8) + "." + Base64URL.encode(payload.utf8)
        return input + "." + Base64URL.encode(HMAC.sha256(key: secret, message: input.utf8))
    }

    static let validPayload = #"{"sub":"u","role":"r","exp":2000000000,"iat":1700000000,"jti":"j"}"#

    @Test func handMadeTokenVerifiesAndIgnoresUnknownClaims() {
        #expect(verify(Self.handMadeToken) == .success(Self.claims))
    }

    @Test func signedTokenRoundTrips() {
        let token = JWT.sign(Self.claims, secret: Self.secret)
        #expect(verify(token) == .success(Self.claims))
    }

    @Test func signUsesTheStandardHeaderAndOmitsNilTyp() throws {
        var claims = Self.claims
        claims.typ = nil
        let token = JWT.sign(claims, secret: Self.secret)
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        #expect(segments.count == 3)
        #expect(Base64URL.decode(segments[0]) == Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = try #require(Base64URL.decode(segments[1]))
        #expect(!String(decoding: payload, as: UTF8.self).contains("typ"))
        #expect(verify(token) == .success(claims))
    }

    @Test(arguments: [
        #"{"alg":"none","typ":"JWT"}"#, #"{"alg":"HS512","typ":"JWT"}"#, #"{"alg":"RS256","typ":"JWT"}"#,
        #"{"typ":"JWT"}"#, #"{"alg":"hs256"}"#, #"{"alg":"HS256 "}"#, #"{"alg":null}"#, #"{"alg":256}"#,
        #"{"alg":["HS256"]}"#,
    ])
    func headersWithoutExactlyHS256AreUnsupported(header: String) {
        #expect(verify(forge(header: header, payload: Self.validPayload)) == .failure(.unsupportedAlgorithm))
    }

    /// RFC 7519 §6.1 unsecured JWT: empty signature segment. Refused on `alg` alone.
    @Test func algNoneWithEmptySignatureIsUnsupported() {
        let token = Base64URL.encode(#"{"alg":"none"}"#.utf8) + "." + Base64URL.encode(Self.validPayload.utf8) + "."
        #expect(verify(token) == .failure(.unsupportedAlgorithm))
    }

    @Test func correctlySignedHS512TokenIsUnsupported() {
        #expect(verify(Self.hs512Token) == .failure(.unsupportedAlgorithm))
    }

    @Test func everySingleBitFlipInTheSignatureIsRejected() throws {
        let token = JWT.sign(Self.claims, secret: Self.secret)
        let parts = token.split(separator: ".").map(String.init)
        let signature = try #require(Base64URL.decode(parts[2]))
        for bit in 0..<(signature.count * 8) {
            var flipped = signature
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            let tampered = parts[0] + "." + parts[1] + "." + Base64URL.encode(flipped)
            #expect(verify(tampered) == .failure(.badSignature), "bit \(bit)")
        }
    }

    /// Canonical decoding: the last character of a 32-byte signature has 2 unused bits;
    /// changing them must not yield an accepted alias of the same signature.
    @Test func nonCanonicalSignatureSpellingIsMalformed() {
        let token = JWT.sign(Self.claims, secret: Self.secret)
        var characters = Array(token)
        let last = characters[characters.count - 1]
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let index = alphabet.firstIndex(of: last)!  // the token is base64url by construction
        characters[characters.count - 1] = alphabet[index ^ 1]  // toggles an unused bit
        #expect(verify(String(characters)) == .failure(.malformed))
    }

    @Test func wrongKeyIsABadSignature() {
        let token = JWT.sign(Self.claims, secret: Self.secret)
        let other = Array("fedcba9876543210fedcba9876543210".utf8)
        #expect(verify(token, secret: other) == .failure(.badSignature))
    }

    @Test func tamperedPayloadIsABadSignature() {
        let token = JWT.sign(Self.claims, secret: Self.secret)
        let parts = token.split(separator: ".").map(String.init)
        var claims = Self.claims
        claims.role = "admin"
        let other = JWT.sign(claims, secret: Array("some-other-secret-some-other-secret".utf8))
        let forgedPayload = other.split(separator: ".")[1]
        #expect(verify(parts[0] + "." + forgedPayload + "." + parts[2]) == .failure(.badSignature))
    }

    @Test func tamperedHeaderIsABadSignature() {
        let token = JWT.sign(Self.claims, secret: Self.secret)
        let parts = token.split(separator: ".").map(String.init)
        let header = Base64URL.encode(#"{"alg":"HS256","typ":"JWT","kid":"x"}"#.utf8)
        #expect(verify(header + "." + parts[1] + "." + parts[2]) == .failure(.badSignature))
    }

    @Test func expiresAtExpTimeExactly() {
        let token = JWT.sign(Self.claims, secret: Self.secret)
        #expect(verify(token, now: Self.claims.exp - 1) == .success(Self.claims))
        #expect(verify(token, now: Self.claims.exp) == .failure(.expired))
        #expect(verify(token, now: Self.claims.exp + 1_000) == .failure(.expired))
    }

    @Test func leewayExtendsExpiry() {
        let token = JWT.sign(Self.claims, secret: Self.secret)
        #expect(verify(token, now: Self.claims.exp + 29, leeway: 30) == .success(Self.claims))
        #expect(verify(token, now: Self.claims.exp + 30, leeway: 30) == .failure(.expired))
    }

    @Test func issuedInTheFutureIsNotYetValid() {
        let token = JWT.sign(Self.claims, secret: Self.secret)
        #expect(verify(token, now: Self.claims.iat) == .success(Self.claims))
        #expect(verify(token, now: Self.claims.iat - 1) == .failure(.notYetValid))
        #expect(verify(token, now: Self.claims.iat - 60, leeway: 60) == .success(Self.claims))
        #expect(verify(token, now: Self.claims.iat - 61, leeway: 60) == .failure(.notYetValid))
    }

    @Test func extremeClaimTimesDoNotTrap() {
        let forever = JWTClaims(sub: "u", role: "r", exp: .max, iat: .min, jti: "j")
        #expect(verify(JWT.sign(forever, secret: Self.secret), leeway: 300) == .success(forever))
        let never = JWTClaims(sub: "u", role: "r", exp: .min, iat: .max, jti: "j")
        #expect(verify(JWT.sign(never, secret: Self.secret), leeway: 300) == .failure(.expired))
    }

    @Test(arguments: [
        "", ".", "..", "...", "abc", "a.b", "a.b.c.d",
        "eyJhbGciOiJIUzI1NiJ9",  // one segment
        "eyJhbGciOiJIUzI1NiJ9.e30",  // two segments
        "eyJhbGciOiJIUzI1NiJ9.e30.e30.e30",  // four segments
        "eyJhbGciOiJIUzI1NiJ9.e30!.AAAA",  // bad base64url
        "eyJhbGciOiJIUzI1NiJ9.e30=.AAAA",  // padding
        "eyJhbGciOiJIUzI1NiJ9==.e30.AAAA",  // padding on the header
        "eyJhbGciOiJIUzI1NiJ9.e30.AAAA+",  // standard-alphabet character
        "eyJhbGciOiJIUzI1NiJ9 .e30.AAAA",  // whitespace
        "bm90IGpzb24.e30.AAAA",  // header is "not json"
        "WyJIUzI1NiJd.e30.AAAA",  // header is a JSON array
    ])
    func malformedTokensAreRejected(token: String) {
        #expect(verify(token) == .failure(.malformed))
    }

    @Test func signedButNonJSONPayloadIsMalformed() {
        #expect(verify(forge(header: #"{"alg":"HS256"}"#, payload: "not json")) == .failure(.malformed))
    }

    @Test(arguments: ["sub", "role", "exp", "iat", "jti"])
    func signedPayloadMissingARequiredClaimIsMalformed(claim: String) throws {
        var fields = try #require(
            JSONSerialization.jsonObject(with: Data(Self.validPayload.utf8)) as? [String: Any])
        fields[claim] = nil
        let payload = String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
        #expect(verify(forge(header: #"{"alg":"HS256"}"#, payload: payload)) == .failure(.malformed))
    }

    @Test func signedPayloadWithWrongClaimTypeIsMalformed() {
        let payload = #"{"sub":"u","role":"r","exp":"2000000000","iat":1700000000,"jti":"j"}"#
        #expect(verify(forge(header: #"{"alg":"HS256"}"#, payload: payload)) == .failure(.malformed))
    }

    /// RFC 7515 §4.1.11: we understand no critical extensions, so any `crit` is refused.
    @Test func critHeaderIsMalformed() {
        let token = forge(header: #"{"alg":"HS256","crit":["b64"],"b64":false}"#, payload: Self.validPayload)
        #expect(verify(token) == .failure(.malformed))
    }

    @Test func tokenOverTheSizeLimitIsMalformed() {
        let padding = String(repeating: "x", count: JWT.tokenBytesMax)
        let claims = JWTClaims(sub: padding, role: "r", exp: 2_000_000_000, iat: 1_700_000_000, jti: "j")
        #expect(verify(JWT.sign(claims, secret: Self.secret)) == .failure(.malformed))
    }

    /// The header is parsed before authentication, so hostile JSON must fail cleanly, not crash.
    @Test func deeplyNestedHeaderIsMalformed() {
        let nested = String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)
        let token = Base64URL.encode(nested.utf8) + ".e30.AAAA"
        #expect(token.utf8.count > JWT.tokenBytesMax)
        #expect(verify(token) == .failure(.malformed))
        let withinLimit = String(repeating: "[", count: 2_500) + String(repeating: "]", count: 2_500)
        #expect(verify(Base64URL.encode(withinLimit.utf8) + ".e30.AAAA") == .failure(.malformed))
    }

    @Test func minimalHeaderWithoutTypVerifies() {
        let token = forge(header: #"{"alg":"HS256"}"#, payload: Self.validPayload)
        #expect(verify(token) == .success(JWTClaims(sub: "u", role: "r", exp: 2_000_000_000, iat: 1_700_000_000, jti: "j")))
    }
}
