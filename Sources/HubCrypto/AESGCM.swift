import COpenSSL

/// AES-256-GCM authenticated encryption (NIST SP 800-38D) for secrets at rest, e.g. calendar OAuth
/// tokens. The sealed form is self-contained: `nonce (12) ‖ ciphertext ‖ tag (16)`.
///
/// Nonces are 96 random bits per message. SP 800-38D §8.3 caps random-nonce use at 2^32
/// messages per key; rotate the key well before that (we store thousands, not billions).
/// `associatedData` is authenticated but not encrypted: bind each ciphertext to its row, e.g.
/// `Array("oauth:\(userID)".utf8)`, so a token cannot be copied onto another user's row.
///
///     let sealed = try AESGCM.seal(Array(token.utf8), key: key, associatedData: row)
///     let token = try AESGCM.open(sealed, key: key, associatedData: row)
///
/// Thread-safe: each call owns its `EVP_CIPHER_CTX`. A key of the wrong length traps (keys come
/// from configuration, checked once at startup).
public enum AESGCM {
    public static let keyByteCount = 32
    public static let nonceByteCount = 12
    public static let tagByteCount = 16
    /// Bytes `seal` adds to the plaintext.
    public static let overheadByteCount = nonceByteCount + tagByteCount

    /// Encrypts and authenticates `plaintext` under a fresh random nonce.
    public static func seal(
        _ plaintext: [UInt8],
        key: [UInt8],
        associatedData: [UInt8] = []
    ) throws(CryptoError) -> [UInt8] {
        try seal(plaintext, key: key, nonce: SecureRandom.bytes(count: nonceByteCount), associatedData: associatedData)
    }

    /// The plaintext of `sealed`, or `CryptoError.Kind.authenticationFailed` if the key or the
    /// associated data is wrong or any byte of `sealed` was changed. Never returns unauthenticated bytes.
    public static func open(
        _ sealed: [UInt8],
        key: [UInt8],
        associatedData: [UInt8] = []
    ) throws(CryptoError) -> [UInt8] {
        precondition(key.count == keyByteCount, "AES-256-GCM key must be \(keyByteCount) bytes")
        guard sealed.count >= overheadByteCount else {
            throw CryptoError(.authenticationFailed, function: "AESGCM.open", message: "shorter than nonce + tag")
        }
        precondition(sealed.count <= Int(Int32.max), "AES-GCM input over Int32.max")  // EVP_*Update take `int`
        let nonce = Array(sealed.prefix(nonceByteCount))
        let ciphertext = Array(sealed.dropFirst(nonceByteCount).dropLast(tagByteCount))
        var tag = Array(sealed.suffix(tagByteCount))

        let context = try CipherContext()
        try context.check(EVP_DecryptInit_ex(context.raw, EVP_aes_256_gcm(), nil, key, nonce), "EVP_DecryptInit_ex")
        try context.update(EVP_DecryptUpdate, "EVP_DecryptUpdate", associatedData: associatedData)
        var plaintext = try context.update(EVP_DecryptUpdate, "EVP_DecryptUpdate", input: ciphertext)
        // EVP_EncryptInit(3), GCM mode: "EVP_CTRL_AEAD_SET_TAG … Sets the expected tag … before
        // EVP_DecryptFinal"; the tag length is ours (16), never taken from the input.
        try context.check(
            EVP_CIPHER_CTX_ctrl(context.raw, EVP_CTRL_GCM_SET_TAG, Int32(tagByteCount), &tag), "EVP_CIPHER_CTX_ctrl")
        var finalCount: Int32 = 0
        var scratch = [UInt8](repeating: 0, count: 16)  // GCM's Final writes nothing; a valid pointer anyway
        // "EVP_DecryptFinal_ex() … returns 0 if the decrypt failed" — for GCM, a tag mismatch.
        guard EVP_DecryptFinal_ex(context.raw, &scratch, &finalCount) > 0 else {
            for index in plaintext.indices { plaintext[index] = 0 }  // don't leave unauthenticated text around
            throw CryptoError.capture("EVP_DecryptFinal_ex", kind: .authenticationFailed)
        }
        precondition(finalCount == 0, "GCM EVP_DecryptFinal_ex produced \(finalCount) bytes")
        return plaintext
    }

    /// `seal` with a caller-chosen nonce, for known-answer tests only. Reusing a nonce under one
    /// key reveals the XOR of plaintexts and the GHASH key (SP 800-38D Appendix A).
    static func seal(
        _ plaintext: [UInt8],
        key: [UInt8],
        nonce: [UInt8],
        associatedData: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        precondition(key.count == keyByteCount, "AES-256-GCM key must be \(keyByteCount) bytes")
        precondition(nonce.count == nonceByteCount, "AES-GCM nonce must be \(nonceByteCount) bytes")
        precondition(plaintext.count <= Int(Int32.max) - overheadByteCount, "AES-GCM input over Int32.max")

        let context = try CipherContext()
        // The default GCM IV length is 12 bytes (EVP_EncryptInit(3)), so no SET_IVLEN call.
        try context.check(EVP_EncryptInit_ex(context.raw, EVP_aes_256_gcm(), nil, key, nonce), "EVP_EncryptInit_ex")
        try context.update(EVP_EncryptUpdate, "EVP_EncryptUpdate", associatedData: associatedData)
        let ciphertext = try context.update(EVP_EncryptUpdate, "EVP_EncryptUpdate", input: plaintext)
        var finalCount: Int32 = 0
        var scratch = [UInt8](repeating: 0, count: 16)  // GCM's Final writes nothing; a valid pointer anyway
        try context.check(EVP_EncryptFinal_ex(context.raw, &scratch, &finalCount), "EVP_EncryptFinal_ex")
        precondition(finalCount == 0, "GCM EVP_EncryptFinal_ex produced \(finalCount) bytes")
        var tag = [UInt8](repeating: 0, count: tagByteCount)
        try context.check(
            EVP_CIPHER_CTX_ctrl(context.raw, EVP_CTRL_GCM_GET_TAG, Int32(tagByteCount), &tag), "EVP_CIPHER_CTX_ctrl")
        return nonce + ciphertext + tag
    }
}

/// Owns one `EVP_CIPHER_CTX` for the length of a `seal` or `open` call.
private final class CipherContext {
    /// Non-nil: `init` throws instead of storing NULL.
    let raw: OpaquePointer

    init() throws(CryptoError) {
        guard let raw = EVP_CIPHER_CTX_new() else { throw CryptoError.capture("EVP_CIPHER_CTX_new") }
        self.raw = raw
    }

    deinit { EVP_CIPHER_CTX_free(raw) }  // also cleanses the expanded key

    /// EVP cipher calls "return 1 for success and 0 for failure".
    func check(_ rc: Int32, _ function: String) throws(CryptoError) {
        guard rc == 1 else { throw CryptoError.capture(function) }
    }

    typealias Update = (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int32>?,
        UnsafePointer<UInt8>?, Int32) -> Int32

    /// Feeds additional authenticated data: GCM treats an Update with a NULL output as AAD.
    func update(_ call: Update, _ function: String, associatedData: [UInt8]) throws(CryptoError) {
        guard !associatedData.isEmpty else { return }
        var count: Int32 = 0
        try check(call(raw, nil, &count, associatedData, Int32(associatedData.count)), function)
    }

    /// Encrypts or decrypts `input`. GCM is a stream mode: output length equals input length.
    func update(_ call: Update, _ function: String, input: [UInt8]) throws(CryptoError) -> [UInt8] {
        // Skipped when empty: an Update with NULL output would be taken as AAD.
        guard !input.isEmpty else { return [] }
        var output = [UInt8](repeating: 0, count: input.count)
        var count: Int32 = 0
        try check(call(raw, &output, &count, input, Int32(input.count)), function)
        precondition(Int(count) == input.count, "GCM update wrote \(count) of \(input.count) bytes")
        return output
    }
}
