import Foundation
import HubCrypto
import HubHTTP
import HubWire

/// One file the hub serves itself (a page, a script, a stylesheet), held in memory with its
/// validator.
///
/// The bytes are fixed at start, so the ETag is a hash computed once. Pages reference scripts and
/// styles as `/path?v=<tag>`: a request carrying the current tag may be cached for a year
/// (`immutable`), anything else revalidates every time (`no-cache` + ETag → 304).
struct WebAsset {
    let path: String
    let contentType: String
    let body: [UInt8]
    /// The strong validator, quoted as it goes on the wire.
    let etag: String
    /// The bare tag used in `?v=` links.
    let version: String

    init(path: String, contentType: String, text: String) {
        self.path = path
        self.contentType = contentType
        self.body = Array(text.utf8)
        self.version = String(Hex.encode(SHA256.hash(body)).prefix(16))
        self.etag = "\"\(version)\""
    }

    /// The response for `request`: 304 when its `If-None-Match` names our tag, else the bytes.
    func response(for request: Request) -> HTTPResponse {
        var response: HTTPResponse
        if Self.matches(request.header("if-none-match"), etag) {
            // RFC 9110 §15.4.5: a 304 carries the validator and caching headers, no content.
            response = HTTPResponse(status: 304)
        } else {
            response = HTTPResponse(status: 200, body: body)
            response.headers.set("content-type", contentType)
        }
        response.headers.set("etag", etag)
        let versioned = request.query["v"] == version
        response.headers.set("cache-control", versioned ? "public, max-age=31536000, immutable" : "no-cache")
        WebSecurity.apply(to: &response, host: request.header("host"))
        return response
    }

    /// `If-None-Match` (RFC 9110 §13.1.2): `*` or a list of tags, compared weakly.
    static func matches(_ header: String?, _ etag: String) -> Bool {
        guard let header else { return false }
        for candidate in header.split(separator: ",") {
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            if tag == etag { return true }
        }
        return false
    }
}

/// Security headers for the pages: everything from this origin only, no inline script or style,
/// no framing by other sites.
enum WebSecurity {
    /// `connect-src 'self'` covers same-origin `ws:`/`wss:` in CSP Level 3 browsers; the explicit
    /// `ws://host wss://host` keeps older ones (Safari before 15.4) able to open the WebSocket.
    static func contentSecurityPolicy(host: String?) -> String {
        var connect = "'self'"
        if let host, isSafeHost(host) { connect += " ws://\(host) wss://\(host)" }
        return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src \(connect); "
            + "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    }

    static func apply(to response: inout HTTPResponse, host: String?) {
        response.headers.set("content-security-policy", contentSecurityPolicy(host: host))
        response.headers.set("x-content-type-options", "nosniff")
        response.headers.set("referrer-policy", "no-referrer")
        response.headers.set("x-frame-options", "SAMEORIGIN")
    }

    /// A Host header safe to echo into a header value: a name or IP literal and a port, nothing
    /// that could end the directive (`;`, spaces, quotes).
    static func isSafeHost(_ host: String) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 255 else { return false }
        return host.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"),
                 UInt8(ascii: "["), UInt8(ascii: "]"):
                true
            default:
                false
            }
        }
    }
}
