import CHubShims
import COpenSSL
import Synchronization

/// The `SSL_CTX` behind every `TLSClientStream`: TLS 1.2 or later, the system's trust store,
/// peer verification on by default.
///
/// One context is shared by all outgoing connections (`shared`), created on first use. OpenSSL
/// documents an `SSL_CTX` as safe to use from many threads once configured (openssl-threads(7)),
/// and each `SSL_new` takes its own reference, so the context outlives every stream made from it.
final class TLSClientContext: @unchecked Sendable {  // immutable after init; SSL_CTX thread-safe for SSL_new
    /// Non-nil: `init` throws instead of storing NULL.
    let raw: OpaquePointer

    /// - Parameter trustedCertificatesFile: a PEM bundle to trust instead of the system store.
    ///   Tests pass a self-signed certificate; production uses the system store (nil).
    init(trustedCertificatesFile: String? = nil) throws(CryptoError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw CryptoError.capture("SSL_CTX_new") }
        raw = context  // freed by deinit, which runs even if a later line throws
        // RFC 9325 §3.1.1: TLS 1.0 and 1.1 MUST NOT be negotiated. Returns 1 on success.
        guard chub_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) == 1 else {
            throw CryptoError.capture("SSL_CTX_set_min_proto_version")
        }
        if let file = trustedCertificatesFile {
            guard SSL_CTX_load_verify_locations(context, file, nil) == 1 else {
                throw CryptoError.capture("SSL_CTX_load_verify_locations")
            }
        } else {
            // Debian: /usr/lib/ssl/certs → /etc/ssl/certs (ca-certificates); honours SSL_CERT_FILE/DIR.
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                throw CryptoError.capture("SSL_CTX_set_default_verify_paths")
            }
        }
        // Verify by default; a stream opts out per connection with SSL_set_verify (tests only).
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
    }

    deinit { SSL_CTX_free(raw) }

    /// The process-wide context, created on first call. A failed creation is not cached, so the
    /// next connection retries (e.g. after memory pressure passes).
    static func shared() throws(CryptoError) -> TLSClientContext {
        try sharedStorage.withLock { (stored: inout TLSClientContext?) throws(CryptoError) -> TLSClientContext in
            if let context = stored { return context }
            let context = try TLSClientContext()
            stored = context
            return context
        }
    }

    private static let sharedStorage = Mutex<TLSClientContext?>(nil)
}
