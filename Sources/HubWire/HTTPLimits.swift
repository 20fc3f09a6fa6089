/// Bounds on what one HTTP/1.1 request may occupy. Every bound is checked as soon as the length
/// it governs is known, before the bytes are buffered.
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line (method, target, version; not its CRLF) in bytes. Targets are API
    /// paths with short query strings; 8 KiB is what nginx and Node allow by default.
    /// On breach: 414 URI Too Long, connection closed.
    public var requestLineBytesMax = 8 * 1024

    /// Total bytes of the header section: all field lines with their CRLFs, excluding the request
    /// line and the empty line that ends the head. Trailer sections get the same bound.
    /// On breach: 431 Request Header Fields Too Large, connection closed.
    public var headerBytesMax = 16 * 1024

    /// Number of header fields. Browsers send about 15; 100 leaves room for proxies.
    /// On breach: 431, connection closed.
    public var headerCountMax = 100

    /// Largest request body in bytes, after de-chunking. API bodies are small JSON documents;
    /// 1 MiB bounds the memory one connection can pin. On breach: 413 Content Too Large.
    public var bodyBytesMax = 1 << 20

    /// Longest chunk-size line including extensions, not its CRLF. On breach: 400.
    public var chunkLineBytesMax = 1024

    public init() {}

    public init(requestLineBytesMax: Int, headerBytesMax: Int, headerCountMax: Int, bodyBytesMax: Int) {
        self.requestLineBytesMax = requestLineBytesMax
        self.headerBytesMax = headerBytesMax
        self.headerCountMax = headerCountMax
        self.bodyBytesMax = bodyBytesMax
    }
}
