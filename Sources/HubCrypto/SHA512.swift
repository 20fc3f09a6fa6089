import COpenSSL

/// SHA-512 (64 bytes out), one shot. FIPS 180-4 §6.4.
///
/// Thread-safe and allocation-light: one output array per call.
///
///     let digest = SHA512.hash("abc".utf8)
public enum SHA512 {
    /// Length of a digest in bytes.
    public static let byteCount = 64

    /// The digest of `bytes`. Copies only if `bytes` has no contiguous storage.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        MessageDigest.hash(bytes, algorithm: EVP_sha512(), byteCount: byteCount)
    }
}
