/// Bounds on one HTTP/1.1 response the hub reads from a service it called (Paystack, SendGrid,
/// Google, Microsoft). Every bound is checked as soon as the length it governs is known, before
/// the bytes are buffered: the peer is on the other side of DNS and TLS, and a peer that is not
/// the service we meant (a hijacked name, a captive proxy, a broken provider) must not make a
/// worker thread hold unbounded memory or trap. On any breach the response is refused with an
/// `HTTPResponseParseError`; the outbound client reports it as a malformed response.
public struct HTTPResponseLimits: Sendable, Equatable {
    /// Longest status line (version, status code, reason phrase; not its CRLF) in bytes. Providers
    /// send "HTTP/1.1 200 OK"; a reason phrase is free text (RFC 9112 §4), and 1 KiB is far more
    /// than any in use. On breach: `status_line_too_long`.
    public var statusLineBytesMax = 1024

    /// Total bytes of the header section: all field lines with their CRLFs, excluding the status
    /// line and the empty line that ends the head. Trailer sections get the same bound. API answers
    /// from Google and Microsoft carry 2–4 KiB of headers (CSP, Alt-Svc, Report-To); 32 KiB leaves
    /// room, and with the status line stays inside the 64 KiB the outbound client reads beyond
    /// the body cap. On breach: `headers_too_large`.
    public var headerBytesMax = 32 * 1024

    /// Number of header fields. Provider answers carry 10–30; 100 is what requests get.
    /// On breach: `too_many_headers`.
    public var headerCountMax = 100

    /// Largest response body in bytes, after de-chunking. Provider answers are small JSON
    /// documents; 4 MiB is the outbound client's `responseBytesMax`, which passes its own value
    /// here. On breach: `payload_too_large`, decided from `Content-Length` or the chunk size
    /// before the bytes are kept.
    public var bodyBytesMax = 4 << 20

    /// Longest chunk-size line including extensions, not its CRLF. On breach: `bad_chunk`.
    public var chunkLineBytesMax = 1024

    /// Most 1xx interim responses before the final one. We never send `Expect`, so a provider has
    /// no reason to send any, but RFC 9110 §15.2 obliges a client to parse them; 4 allows a
    /// proxy's 100 Continue and a 103 Early Hints with room to spare while bounding how many heads
    /// one response can make us parse. On breach: `too_many_interim_responses`.
    public var interimResponsesMax = 4

    public init() {}

    public init(bodyBytesMax: Int) {
        self.bodyBytesMax = bodyBytesMax
    }

    public init(statusLineBytesMax: Int, headerBytesMax: Int, headerCountMax: Int, bodyBytesMax: Int) {
        self.statusLineBytesMax = statusLineBytesMax
        self.headerBytesMax = headerBytesMax
        self.headerCountMax = headerCountMax
        self.bodyBytesMax = bodyBytesMax
    }
}
