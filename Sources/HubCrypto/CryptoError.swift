import COpenSSL

/// A failed OpenSSL call: the function that failed, why, and OpenSSL's own error strings.
///
/// Every checked OpenSSL result in HubCrypto becomes this value (STYLE §7.3). Calls that cannot
/// fail short of memory exhaustion or a broken installation (digests, HMAC, the CSPRNG) format
/// one of these into a `preconditionFailure` instead of throwing, so callers need no dead `catch`.
///
/// OpenSSL keeps one error queue per thread; `CryptoError.capture(_:kind:)` drains it, so a failure
/// never leaks stale entries into the next call on the same worker thread.
public struct CryptoError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of failure this is, for callers that branch on it.
    public enum Kind: Sendable, Equatable {
        /// An OpenSSL call failed; `message` has the library's reason.
        case library
        /// A socket read or write hit the caller's `SO_RCVTIMEO`/`SO_SNDTIMEO` (errno EAGAIN).
        case timedOut
        /// The peer closed or reset the TCP connection without a TLS close_notify.
        case connectionClosed
        /// The server's certificate chain or name did not verify; `message` says which check failed.
        case certificateRejected
        /// AES-GCM authentication failed: wrong key, wrong associated data, or tampered bytes.
        case authenticationFailed
    }

    public let kind: Kind
    /// The OpenSSL (or libc) function whose result was checked, e.g. `"SSL_connect"`.
    public let function: String
    /// Human-readable reason: OpenSSL's `ERR_error_string_n` entries joined by "; ", or our own text.
    public let message: String
    /// The earliest packed OpenSSL error code from the thread's queue, or 0 if the queue was empty.
    public let code: UInt

    public init(_ kind: Kind, function: String, message: String, code: UInt = 0) {
        self.kind = kind
        self.function = function
        self.message = message
        self.code = code
    }

    public var description: String { "\(function): \(kind): \(message)" }

    /// Builds an error from, and empties, the calling thread's OpenSSL error queue.
    static func capture(_ function: String, kind: Kind = .library) -> CryptoError {
        var first: UInt = 0
        var reasons: [String] = []
        var code = ERR_get_error()
        while code != 0 {
            if first == 0 { first = code }
            // OpenSSL queues a handful of entries per failure; keep the first few, drain the rest.
            if reasons.count < Self.queueEntriesMax { reasons.append(Self.string(for: code)) }
            code = ERR_get_error()
        }
        let message = reasons.isEmpty ? "no OpenSSL error queued" : reasons.joined(separator: "; ")
        return CryptoError(kind, function: function, message: message, code: first)
    }

    /// Most OpenSSL error queue entries kept in `message`. A failed handshake queues ~3.
    static let queueEntriesMax = 8

    private static func string(for code: UInt) -> String {
        // ERR_error_string_n: "buf must be at least 256 bytes long"; it always NUL-terminates.
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Traps with the thread's OpenSSL error when a call that cannot fail in a working process did fail.
/// Used by non-throwing APIs (digests, HMAC, RAND_bytes): continuing would mean wrong output.
func cryptoPrecondition(_ ok: Bool, _ function: String, file: StaticString = #file, line: UInt = #line) {
    if !ok { preconditionFailure("\(CryptoError.capture(function))", file: file, line: line) }
}
