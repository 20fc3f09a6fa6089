import COpenSSL

/// Cryptographically secure random bytes, tokens and identifiers from OpenSSL's DRBG.
///
/// `RAND_bytes` draws from the default DRBG, which OpenSSL 3 keeps per thread and seeds from the
/// OS (getrandom(2)); safe to call from any thread. If it ever fails we trap: handing out a token
/// or salt without entropy would be worse than stopping the process.
///
///     let refreshToken = SecureRandom.token()         // 43 characters of base64url
///     let bookingID = SecureRandom.uuidV7(nowMs: now) // time-ordered primary key
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(count: Int) -> [UInt8] {
        precondition(count >= 0 && count <= Int(Int32.max), "SecureRandom.bytes(count: \(count))")
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            if count > 0 {
                // RAND_bytes: "returns 1 on success, -1 if not supported by the current RAND
                // method, or 0 on other failure"; only 1 means the buffer holds random bytes.
                let rc = RAND_bytes(buffer.baseAddress, Int32(count))
                cryptoPrecondition(rc == 1, "RAND_bytes")
            }
            initializedCount = count
        }
    }

    /// `byteCount` random bytes as unpadded base64url: for refresh, reset and calendar-feed tokens.
    /// 32 bytes (256 bits) gives a 43-character token, safe in URLs and headers without escaping.
    /// Store only a hash of a token (`SHA256.hash`), so a database leak does not leak live tokens.
    public static func token(byteCount: Int = 32) -> String {
        precondition(byteCount >= 16, "tokens need at least 128 bits of entropy")
        return Base64URL.encode(bytes(count: byteCount))
    }
}
