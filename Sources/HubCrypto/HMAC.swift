import COpenSSL

/// HMAC (RFC 2104) over SHA-256 and SHA-512, one shot.
///
/// HMAC-SHA256 signs our JWTs (RFC 7518 §3.2); HMAC-SHA512 checks Paystack webhooks, whose
/// `x-paystack-signature` header is the hex HMAC-SHA512 of the raw body keyed with the secret key.
/// Compare a received MAC with `constantTimeEquals`, never `==`.
///
///     let expected = HMAC.sha512(key: secret, message: body)
///     let valid = Hex.decode(header).map { constantTimeEquals($0, expected) } ?? false
///
/// Thread-safe: `HMAC()` keeps no state between calls.
public enum HMAC {
    /// HMAC-SHA256 of `message` under `key`: 32 bytes. Any key length is allowed (RFC 2104 §3).
    public static func sha256(key: [UInt8], message: some Collection<UInt8>) -> [UInt8] {
        authenticate(message, key: key, algorithm: EVP_sha256(), byteCount: SHA256.byteCount)
    }

    /// HMAC-SHA512 of `message` under `key`: 64 bytes.
    public static func sha512(key: [UInt8], message: some Collection<UInt8>) -> [UInt8] {
        authenticate(message, key: key, algorithm: EVP_sha512(), byteCount: SHA512.byteCount)
    }

    private static func authenticate(
        _ message: some Collection<UInt8>,
        key: [UInt8],
        algorithm: OpaquePointer?,
        byteCount: Int
    ) -> [UInt8] {
        precondition(key.count <= Int(Int32.max), "HMAC key longer than Int32.max")  // HMAC() takes `int key_len`
        return key.withUnsafeBufferPointer { key in
            message.withContiguousBytes { message in
                [UInt8](unsafeUninitializedCapacity: byteCount) { output, initializedCount in
                    var written: UInt32 = 0
                    // HMAC(): "returns a pointer to the authentication code or NULL if an error
                    // occurred". Pointers are never NULL (nonNullBase): NULL keys have meant
                    // "reuse the previous key" in the HMAC_Init family, so we never rely on them.
                    let result = COpenSSL.HMAC(
                        algorithm, key.nonNullBase, Int32(key.count),
                        message.nonNullBase, message.count, output.baseAddress, &written)
                    cryptoPrecondition(result != nil, "HMAC")
                    precondition(Int(written) == byteCount, "HMAC wrote \(written) bytes, expected \(byteCount)")
                    initializedCount = byteCount
                }
            }
        }
    }
}
