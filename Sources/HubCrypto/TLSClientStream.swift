import CHubShims
import COpenSSL
import Foundation  // errno, inet_pton, strerror (Glibc, re-exported)

/// A blocking TLS client over an already-connected TCP socket, for outgoing HTTPS calls made on
/// worker threads (Paystack, SendGrid, Google, Microsoft). Never use it on the loop thread.
///
/// The caller owns the socket: it connects it, sets `SO_RCVTIMEO`/`SO_SNDTIMEO` (a read or write
/// that exceeds them throws `CryptoError.Kind.timedOut`), and closes it after this stream is gone.
/// The stream never closes the descriptor (`SSL_set_fd` uses `BIO_NOCLOSE`).
///
/// SIGPIPE: OpenSSL writes with write(2), so writing to a reset connection raises SIGPIPE. The
/// process must ignore SIGPIPE (the server does at startup, as every libuv program must).
///
///     let tls = try TLSClientStream(fd: socket, serverName: "api.paystack.co")
///     try tls.write(Array(request.utf8))
///     var response: [UInt8] = []
///     while try tls.read(appendingTo: &response, maxCount: 16 * 1024) > 0 {}
///     tls.shutdown()
///
/// Not thread-safe: one thread at a time, like the `SSL` object it wraps.
public final class TLSClientStream {
    /// Non-nil for the object's life; freed in deinit.
    private let ssl: OpaquePointer
    private let verifyPeer: Bool
    private var state = State.open

    private enum State {
        /// Usable. Also after a read timeout: OpenSSL allows retrying SSL_read after WANT_READ.
        case open
        /// A fatal error happened; SSL_shutdown "must not be called" (SSL_shutdown(3)).
        case failed
        /// `shutdown()` ran; further I/O is a programmer error.
        case shutDown
    }

    /// Performs the TLS handshake on `fd` (blocking, bounded by the socket's timeouts).
    ///
    /// - Parameters:
    ///   - serverName: the host the caller dialled. Sent as SNI (RFC 6066 §3; skipped for IP
    ///     literals, which SNI does not allow) and matched against the certificate (RFC 6125).
    ///   - verifyPeer: check the chain against the system trust store and the name. Only tests
    ///     against a self-signed server pass false.
    /// - Throws: `.certificateRejected` when verification fails, `.timedOut`, `.connectionClosed`,
    ///   or `.library` for other handshake failures.
    public convenience init(fd: Int32, serverName: String, verifyPeer: Bool = true) throws(CryptoError) {
        try self.init(fd: fd, serverName: serverName, verifyPeer: verifyPeer, context: TLSClientContext.shared())
    }

    init(fd: Int32, serverName: String, verifyPeer: Bool, context: TLSClientContext) throws(CryptoError) {
        precondition(fd >= 0, "TLSClientStream needs a connected socket")
        precondition(!serverName.isEmpty && !serverName.utf8.contains(0), "invalid TLS server name")
        guard let ssl = SSL_new(context.raw) else { throw CryptoError.capture("SSL_new") }
        self.ssl = ssl  // from here on a throw runs deinit, which frees `ssl`
        self.verifyPeer = verifyPeer
        guard SSL_set_fd(ssl, fd) == 1 else { throw fail(CryptoError.capture("SSL_set_fd")) }
        try configureNames(serverName, verifyPeer: verifyPeer)
        _ = try retryingOnInterrupt("SSL_connect") { SSL_connect(ssl) }
    }

    deinit { SSL_free(ssl) }

    /// The negotiated protocol, e.g. `"TLSv1.3"`.
    public var protocolVersion: String {
        // SSL_get_version returns a static string, never NULL for an SSL object.
        String(cString: SSL_get_version(ssl))
    }

    /// Sends all of `bytes`, blocking until OpenSSL has written them to the socket.
    /// Any failure, including `.timedOut`, leaves the stream unusable.
    public func write(_ bytes: [UInt8]) throws(CryptoError) {
        precondition(state != .shutDown, "TLSClientStream.write after shutdown()")
        try throwIfFailed()
        var offset = 0
        while offset < bytes.count {
            let chunk = Int32(min(bytes.count - offset, Int(Int32.max)))
            let written = bytes.withUnsafeBytes { raw in
                // baseAddress non-nil: offset < count, so the array is non-empty.
                let start = raw.baseAddress! + offset
                return Result { () throws(CryptoError) in
                    try retryingOnInterrupt("SSL_write") { SSL_write(ssl, start, chunk) }
                }
            }
            switch written {
            case .success(let count):
                offset += Int(count)
            case .failure(let error):
                // A timed-out SSL_write may have sent part of a record, and retrying needs the
                // same buffer (SSL_write(3)); nobody resumes a half-sent request, so it is fatal.
                throw fail(error)
            }
        }
    }

    /// Reads up to `maxCount` decrypted bytes and appends them to `buffer` (which grows by
    /// `maxCount` during the call, so keep it to the caller's read-buffer size, e.g. 16 KiB).
    ///
    /// A `.timedOut` read may be retried; other failures leave the stream unusable.
    ///
    /// - Returns: the number appended; 0 means the server closed the TLS session cleanly
    ///   (close_notify). A close without close_notify throws `.connectionClosed`: an HTTP client
    ///   that already has the whole body (Content-Length/chunked) may treat that as done.
    public func read(appendingTo buffer: inout [UInt8], maxCount: Int) throws(CryptoError) -> Int {
        precondition(state != .shutDown, "TLSClientStream.read after shutdown()")
        precondition(maxCount > 0, "read maxCount must be positive")
        try throwIfFailed()
        let count = min(maxCount, Int(Int32.max))
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: count))
        let received = buffer.withUnsafeMutableBytes { raw in
            // baseAddress non-nil: we just appended count > 0 bytes.
            let target = raw.baseAddress! + start
            return Result { () throws(CryptoError) in
                try retryingOnInterrupt("SSL_read", cleanEOFReturns: 0) { SSL_read(ssl, target, Int32(count)) }
            }
        }
        switch received {
        case .success(let received):
            buffer.removeLast(count - Int(received))
            return Int(received)
        case .failure(let error):
            buffer.removeLast(count)
            throw error
        }
    }

    /// Sends close_notify without waiting for the server's (SSL_shutdown(3): a client that is done
    /// may close after the first call). Best effort and idempotent: errors are drained and ignored,
    /// since the connection is being discarded either way. Does not close the socket.
    public func shutdown() {
        guard state == .open else {
            state = .shutDown
            return
        }
        state = .shutDown
        ERR_clear_error()
        // Returns 0 "shutdown is not yet finished" (we don't wait), 1 done, < 0 failure; in every
        // case there is nothing further to do, so the result only decides whether to drain errors.
        if SSL_shutdown(ssl) < 0 { ERR_clear_error() }
    }

    // MARK: - Helpers

    /// SNI and hostname (or IP) verification, RFC 6125 via `SSL_set1_host`.
    private func configureNames(_ serverName: String, verifyPeer: Bool) throws(CryptoError) {
        let isIPLiteral = Self.isIPLiteral(serverName)
        if !isIPLiteral {
            // SSL_set_tlsext_host_name returns 1 on success.
            guard chub_SSL_set_tlsext_host_name(ssl, serverName) == 1 else {
                throw fail(CryptoError.capture("SSL_set_tlsext_host_name"))
            }
        }
        guard verifyPeer else {
            SSL_set_verify(ssl, SSL_VERIFY_NONE, nil)
            return
        }
        SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
        if isIPLiteral {
            // SSL_get0_param never returns NULL for an SSL object. Returns 1 on success.
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName) == 1 else {
                throw fail(CryptoError.capture("X509_VERIFY_PARAM_set1_ip_asc"))
            }
        } else {
            chub_SSL_set_hostflags_no_partial_wildcards(ssl)
            guard SSL_set1_host(ssl, serverName) == 1 else { throw fail(CryptoError.capture("SSL_set1_host")) }
        }
    }

    /// Runs a blocking `SSL_*` I/O call, retrying only when a signal interrupted it.
    ///
    /// OpenSSL requires an empty error queue before each I/O call for `SSL_get_error` to be
    /// accurate (SSL_get_error(3)), and `errno` must be read before anything else can change it.
    private func retryingOnInterrupt(
        _ function: String,
        cleanEOFReturns cleanEOF: Int32? = nil,
        _ call: () -> Int32
    ) throws(CryptoError) -> Int32 {
        while true {
            ERR_clear_error()
            let result = call()
            let savedErrno = errno
            if result > 0 { return result }
            let code = SSL_get_error(ssl, result)
            if code == SSL_ERROR_ZERO_RETURN, let cleanEOF { return cleanEOF }
            if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE, savedErrno == EINTR { continue }
            throw failure(function, sslError: code, errno: savedErrno)
        }
    }

    /// Classifies a failed I/O call (SSL_get_error(3)), draining the error queue.
    private func failure(_ function: String, sslError code: Int32, errno savedErrno: Int32) -> CryptoError {
        switch code {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            // A blocking socket returns these only when SO_RCVTIMEO/SO_SNDTIMEO expired (EAGAIN):
            // the BIO marks EAGAIN as retryable. Not fatal: the call may be retried.
            ERR_clear_error()
            return CryptoError(.timedOut, function: function, message: "socket timeout (\(Self.describe(errno: savedErrno)))")
        case SSL_ERROR_ZERO_RETURN:
            ERR_clear_error()
            return fail(CryptoError(.connectionClosed, function: function, message: "peer sent close_notify"))
        case SSL_ERROR_SYSCALL:
            if savedErrno == EAGAIN || savedErrno == EWOULDBLOCK {
                ERR_clear_error()
                return CryptoError(.timedOut, function: function, message: "socket timeout")
            }
            // errno 0: EOF in violation of the protocol; ECONNRESET/EPIPE: the peer went away.
            let error = CryptoError.capture(function, kind: .connectionClosed)
            let reason = savedErrno == 0 ? "unexpected EOF" : Self.describe(errno: savedErrno)
            return fail(CryptoError(.connectionClosed, function: function, message: reason, code: error.code))
        case SSL_ERROR_SSL:
            return fail(classifyProtocolError(function))
        default:
            return fail(CryptoError.capture(function))
        }
    }

    /// SSL_ERROR_SSL: a failed certificate check, an unexpected EOF (OpenSSL 3 reports it here
    /// unless SSL_OP_IGNORE_UNEXPECTED_EOF is set), or another protocol failure.
    ///
    /// The verify result is consulted only during a verifying handshake: with SSL_VERIFY_NONE,
    /// OpenSSL still records e.g. "self-signed certificate" there while the session is fine.
    private func classifyProtocolError(_ function: String) -> CryptoError {
        let verifyResult = SSL_get_verify_result(ssl)
        if verifyPeer, SSL_is_init_finished(ssl) == 0, verifyResult != X509_V_OK {
            // X509_verify_cert_error_string returns a static string, never NULL.
            let reason = String(cString: X509_verify_cert_error_string(verifyResult))
            let queued = CryptoError.capture(function)
            return CryptoError(.certificateRejected, function: function, message: reason, code: queued.code)
        }
        let queued = CryptoError.capture(function)
        if ERR_GET_REASON(queued.code) == SSL_R_UNEXPECTED_EOF_WHILE_READING {
            return CryptoError(.connectionClosed, function: function, message: queued.message, code: queued.code)
        }
        return queued
    }

    /// Marks the stream failed (no SSL_shutdown afterwards) and passes `error` through.
    private func fail(_ error: CryptoError) -> CryptoError {
        state = .failed
        return error
    }

    private func throwIfFailed() throws(CryptoError) {
        guard state == .failed else { return }
        throw CryptoError(.connectionClosed, function: "TLSClientStream", message: "stream failed earlier")
    }

    private static func isIPLiteral(_ name: String) -> Bool {
        var address = in6_addr()  // large enough for either family
        return inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
    }

    private static func describe(errno code: Int32) -> String {
        // strerror returns a pointer to a static or thread-local message, never NULL on glibc.
        "errno \(code): \(String(cString: strerror(code)))"
    }
}

@available(*, unavailable) extension TLSClientStream: Sendable {}  // one thread at a time, like SSL
