import COpenSSL

/// scrypt (RFC 7914) through OpenSSL's `EVP_PBE_scrypt`: the key derivation under `PasswordHasher`.
///
/// Memory is 128·r·(N + p + 2) bytes, the same sum `EVP_PBE_scrypt` compares with `maxmem`
/// (providers/implementations/kdfs/scrypt.c: `Blen + Vlen > maxmem`). We pass exactly that as
/// `maxmem`, so OpenSSL's 32 MiB default never rejects a parameter set we chose, and the caller
/// bounds memory through `Parameters.memoryBytesMax` instead. Thread-safe: one-shot, no shared state.
enum Scrypt {
    /// A validated scrypt cost: N = 2^logN, r = `blockSize`, p = `parallelism`.
    struct Parameters: Equatable, Sendable {
        let logN: Int
        let blockSize: Int
        let parallelism: Int

        /// Most memory one derivation may take: 256 MiB, twice OWASP's N=2^17, r=8 (128 MiB).
        /// Bounds what a tampered or future-dated encoding can make `verify` allocate.
        static let memoryBytesMax = 256 * 1024 * 1024
        static let logNRange = 1...20
        static let blockSizeRange = 1...32
        static let parallelismRange = 1...16

        /// Nil unless within our ranges, within `memoryBytesMax`, and within RFC 7914 §2's
        /// constraint N < 2^(128·r/8) (OpenSSL rejects the rest, but we want a clear nil).
        init?(logN: Int, blockSize: Int, parallelism: Int) {
            guard Self.logNRange.contains(logN), Self.blockSizeRange.contains(blockSize),
                Self.parallelismRange.contains(parallelism), logN < 16 * blockSize
            else { return nil }
            self.logN = logN
            self.blockSize = blockSize
            self.parallelism = parallelism
            guard memoryBytes <= Self.memoryBytesMax else { return nil }
        }

        var n: UInt64 { 1 << UInt64(logN) }

        /// 128·r·p for B plus 128·r·(N+2) for V, as OpenSSL computes it. Fits easily in Int
        /// given the ranges above (at most 128·32·(2^20+18) ≈ 4.3 GB before the cap).
        var memoryBytes: Int { 128 * blockSize * (1 << logN + parallelism + 2) }
    }

    /// Derives `byteCount` bytes from `password` and `salt`.
    /// Throws only if OpenSSL fails, e.g. cannot allocate `parameters.memoryBytes`.
    static func deriveKey(
        password: some Collection<UInt8>,
        salt: [UInt8],
        parameters: Parameters,
        byteCount: Int
    ) throws(CryptoError) -> [UInt8] {
        precondition(byteCount > 0, "scrypt output length must be positive")
        var key = [UInt8](repeating: 0, count: byteCount)
        let ok = password.withContiguousBytes { password in
            salt.withUnsafeBufferPointer { salt in
                key.withUnsafeMutableBufferPointer { key in
                    // `pass` is `const char *`; reinterpreting UInt8 as CChar is a same-size view.
                    password.nonNullBase.withMemoryRebound(to: CChar.self, capacity: max(password.count, 1)) {
                        // EVP_PBE_scrypt: "returns 1 on success and 0 on error". With key != NULL
                        // it derives; maxmem 0 would mean OpenSSL's 32 MiB default, so pass ours.
                        EVP_PBE_scrypt(
                            $0, password.count, salt.nonNullBase, salt.count,
                            parameters.n, UInt64(parameters.blockSize), UInt64(parameters.parallelism),
                            UInt64(parameters.memoryBytes), key.baseAddress, key.count) == 1
                    }
                }
            }
        }
        guard ok else { throw CryptoError.capture("EVP_PBE_scrypt") }
        return key
    }
}
