import COpenSSL

/// SHA-1 (20 bytes out), one shot. FIPS 180-4 §6.1.
///
/// For the RFC 6455 §4.2.2 handshake accept value only: SHA-1 is broken for collision resistance,
/// so never use it for signatures or integrity.
///
/// Thread-safe and allocation-light: one output array per call.
///
///     let digest = SHA1.hash("abc".utf8)
public enum SHA1 {
    /// Length of a digest in bytes.
    public static let byteCount = 20

    /// The digest of `bytes`. Copies only if `bytes` has no contiguous storage.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        MessageDigest.hash(bytes, algorithm: EVP_sha1(), byteCount: byteCount)
    }
}
