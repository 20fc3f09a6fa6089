import Foundation

/// Password hashing with scrypt (RFC 7914), stored as a PHC-style string that carries its own
/// parameters, so the cost can be raised later and old hashes upgraded at the next login:
///
///     $scrypt$ln=15,r=8,p=1$<salt: 16 bytes, base64>$<key: 32 bytes, base64>
///
/// (standard base64 alphabet without padding, as in the PHC string format and passlib).
///
/// Passwords are normalized to Unicode NFKC before hashing (NIST SP 800-63B §5.1.1.2), so the same
/// password typed on two keyboards that compose characters differently still verifies.
///
/// Thread-safe and `Sendable`: every call is one-shot OpenSSL with no shared state. Each call is
/// deliberately slow (see `Cost.standard`) — run it on a worker thread, never the loop thread.
///
///     let hasher = PasswordHasher()
///     let stored = try hasher.hash("correct horse")
///     if hasher.verify(attempt, against: stored) {
///         if hasher.needsRehash(stored) { store(try hasher.hash(attempt)) }
///     }
public struct PasswordHasher: Sendable {
    /// scrypt parameters: N = 2^`logN`, r = `blockSize`, p = `parallelism`.
    public struct Cost: Equatable, Sendable {
        let parameters: Scrypt.Parameters

        public var logN: Int { parameters.logN }
        public var blockSize: Int { parameters.blockSize }
        public var parallelism: Int { parameters.parallelism }

        /// A custom cost. Traps outside 1 ≤ logN ≤ 20, 1 ≤ r ≤ 32, 1 ≤ p ≤ 16, 256 MiB of memory,
        /// or RFC 7914's N < 2^(16·r): costs are configuration, checked once at startup.
        public init(logN: Int, blockSize: Int, parallelism: Int) {
            guard let parameters = Scrypt.Parameters(logN: logN, blockSize: blockSize, parallelism: parallelism)
            else { preconditionFailure("scrypt cost ln=\(logN),r=\(blockSize),p=\(parallelism) out of range") }
            self.parameters = parameters
        }

        /// Production default: N=2^15, r=8, p=1 — 32 MiB and 100–110 ms per hash on the 2-core
        /// AMD EPYC development VM (10-hash mean, two runs; re-measure with `HUB_CRYPTO_BENCH=1`,
        /// see PasswordHasherBenchmarkTests). The largest power of two that keeps a hash ≲ 100 ms.
        ///
        /// Trade-off: OWASP's Password Storage Cheat Sheet asks for N=2^17, r=8, p=1, or an
        /// equal-work variant such as N=2^15, p=3. Those measured ~400 ms (128 MiB) and ~250 ms
        /// here, beyond the latency budget, so this default is about ¼ of OWASP's work factor.
        /// `owaspMinimum` is ready: switching is a one-line change, and existing hashes upgrade
        /// through `needsRehash` at the next login. With libuv's 4 pool threads, the standard cost
        /// peaks at 128 MiB for concurrent logins (512 MiB under `owaspMinimum`).
        public static let standard = Cost(logN: 15, blockSize: 8, parallelism: 1)

        /// OWASP's recommended minimum: N=2^17, r=8, p=1 (128 MiB per hash in flight).
        public static let owaspMinimum = Cost(logN: 17, blockSize: 8, parallelism: 1)

        /// TEST ONLY: N=2^10, r=8, p=1, 1 MiB and ~1 ms, so suites can hash freely.
        /// Offers no meaningful protection; never configure it in a deployment.
        public static let test = Cost(logN: 10, blockSize: 8, parallelism: 1)
    }

    /// Salt length in bytes: 128 bits (NIST SP 800-132 §5.1 asks for at least 128 random bits).
    static let saltByteCount = 16
    /// Derived key length in bytes: 256 bits.
    static let keyByteCount = 32

    /// The cost new hashes use and `needsRehash` compares against.
    public let cost: Cost

    public init(cost: Cost = .standard) {
        self.cost = cost
    }

    /// A new PHC-style encoding of `password` with a fresh random salt.
    /// Throws only if OpenSSL fails (e.g. cannot allocate scrypt's memory).
    public func hash(_ password: String) throws(CryptoError) -> String {
        let salt = SecureRandom.bytes(count: Self.saltByteCount)
        let key = try Scrypt.deriveKey(
            password: Self.normalized(password), salt: salt, parameters: cost.parameters,
            byteCount: Self.keyByteCount)
        return EncodedPasswordHash(parameters: cost.parameters, salt: salt, key: key).description
    }

    /// Whether `password` matches `encoded`, comparing keys in constant time.
    ///
    /// Uses the parameters inside `encoded`, not `cost`, so hashes made under an older cost still
    /// verify. Returns false for anything malformed or out of range (never traps on stored data),
    /// and also if OpenSSL fails mid-derivation: a login is refused rather than wrongly granted.
    public func verify(_ password: String, against encoded: String) -> Bool {
        guard let stored = EncodedPasswordHash(encoded) else { return false }
        guard let key = try? Scrypt.deriveKey(
            password: Self.normalized(password), salt: stored.salt, parameters: stored.parameters,
            byteCount: stored.key.count)
        else { return false }
        return constantTimeEquals(key, stored.key)
    }

    /// Whether `encoded` should be replaced by `hash(password)` after a successful `verify`:
    /// its parameters or lengths differ from the current cost (lower or higher), or it is malformed.
    public func needsRehash(_ encoded: String) -> Bool {
        guard let stored = EncodedPasswordHash(encoded) else { return true }
        return stored.parameters != cost.parameters || stored.salt.count != Self.saltByteCount
            || stored.key.count != Self.keyByteCount
    }

    /// NFKC-normalized UTF-8 (NIST SP 800-63B §5.1.1.2: "the verifier SHOULD apply the
    /// Normalization Process for Stabilization of Strings using either the NFKC or NFKD").
    static func normalized(_ password: String) -> [UInt8] {
        Array(password.precomposedStringWithCompatibilityMapping.utf8)
    }
}
