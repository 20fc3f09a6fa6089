import COpenSSL

/// One-shot EVP digests shared by `SHA1`, `SHA256` and `SHA512`.
///
/// `EVP_Digest` fetches the algorithm from the default provider on each call (OpenSSL 3 caches the
/// fetch); measured cost is dominated by hashing for the input sizes we see. Thread-safe: no state.
enum MessageDigest {
    /// Hashes `bytes` with `algorithm` (an `EVP_MD`), returning `byteCount` bytes.
    static func hash(
        _ bytes: some Collection<UInt8>,
        algorithm: OpaquePointer?,
        byteCount: Int
    ) -> [UInt8] {
        precondition(algorithm != nil, "EVP_sha*() returned NULL")  // static tables in libcrypto
        return bytes.withContiguousBytes { input in
            [UInt8](unsafeUninitializedCapacity: byteCount) { output, initializedCount in
                var written: UInt32 = 0
                // EVP_Digest: "returns 1 for success and 0 for failure"; fails only without memory
                // or without a default provider, neither of which we can recover from.
                let rc = EVP_Digest(input.nonNullBase, input.count, output.baseAddress, &written, algorithm, nil)
                cryptoPrecondition(rc == 1, "EVP_Digest")
                precondition(Int(written) == byteCount, "EVP_Digest wrote \(written) bytes, expected \(byteCount)")
                initializedCount = byteCount
            }
        }
    }
}
