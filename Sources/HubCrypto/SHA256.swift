import COpenSSL

/// SHA-256 (32 bytes out), one shot. FIPS 180-4 §6.2.
///
/// Thread-safe and allocation-light: one output array per call.
///
///     let digest = SHA256.hash("abc".utf8)
public enum SHA256 {
    /// Length of a digest in bytes.
    public static let byteCount = 32

    /// The digest of `bytes`. Copies only if `bytes` has no contiguous storage.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        MessageDigest.hash(bytes, algorithm: EVP_sha256(), byteCount: byteCount)
    }
}
