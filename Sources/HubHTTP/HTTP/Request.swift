import HubCrypto
import HubWire

/// One HTTP request as handlers see it: the parsed head and body, path parameters, the
/// authenticated principal (set by the router's access check, opaque here) and a request id.
public final class Request {
    public let head: HTTPRequestHead
    public let body: [UInt8]
    public let id: String
    /// The client's IP address, for rate limits, audit rows and the access log: the socket's peer,
    /// or what a trusted reverse proxy says the client was (`ClientAddress`).
    public let peer: String
    /// The scheme and host the client used, when a trusted proxy forwarded the request.
    public let forwardedScheme: String?
    public let forwardedHost: String?
    /// Loop clock when the request was complete, for the access log and latency metrics.
    public let startedNs: UInt64
    public internal(set) var parameters: [String: String] = [:]
    /// The pattern of the route that matched (`/api/items/:id`), for logs and metrics.
    public internal(set) var route: String?
    /// The route that took the request (`Router.label(slot:)`), for metrics and error reports.
    public internal(set) var routeSlot = Router.unmatchedSlot
    /// Whoever the bearer token names, as `Router.authenticate` resolved it; nil for anyone.
    public internal(set) var authenticated: (any RequestPrincipal)?
    /// The largest body `jsonObject()` parses (`HTTPServer.Options.jsonBytesMax`).
    public let jsonBytesMax: Int
    public private(set) lazy var query: [String: String] = QueryString.parse(head.query)

    public init(head: HTTPRequestHead, body: [UInt8], id: String, client: ClientAddress, startedNs: UInt64,
                jsonBytesMax: Int = .max) {
        self.head = head
        self.jsonBytesMax = jsonBytesMax
        self.body = body
        self.id = id
        self.peer = client.address
        self.forwardedScheme = client.scheme
        self.forwardedHost = client.host
        self.startedNs = startedNs
    }

    /// The base of links the application hands out (a return page, a feed, a reset link):
    /// `configured` (the public URL the application was given) when set; else the scheme and host a trusted proxy
    /// forwarded; else `fallback` (the bound address). Never the client's own `Host` header: a
    /// password-reset link must not point wherever a stranger's request said.
    public func publicBase(configured: String, fallback: String) -> String {
        if !configured.isEmpty { return configured }
        if let scheme = forwardedScheme, let host = forwardedHost { return "\(scheme)://\(host)" }
        return fallback
    }

    public var method: String { head.method }
    public var path: String { head.path }
    public func header(_ name: String) -> String? { head.headers[name] }
    public var userAgent: String { head.headers["user-agent"] ?? "" }

    /// A path parameter the route declared; the router guarantees it is present.
    public func parameter(_ name: String) -> String {
        guard let value = parameters[name] else { preconditionFailure("route has no parameter :\(name)") }
        return value
    }

    /// The body as a JSON object. Empty bodies, other documents and non-objects are client errors.
    public func jsonObject() throws(APIError) -> JSONObject {
        if let type = head.headers["content-type"], !type.lowercased().hasPrefix("application/json") {
            throw APIError(415, "unsupported_media_type", "expected Content-Type: application/json")
        }
        guard !body.isEmpty else { throw APIError.badRequest("invalid_json", "request body is empty; expected a JSON object") }
        guard body.count <= jsonBytesMax else {
            throw APIError(413, "payload_too_large", "a JSON body is at most \(jsonBytesMax) bytes")
        }
        let value: JSON
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw APIError.badRequest("invalid_json", "request body is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw APIError.badRequest("invalid_json", "expected a JSON object, got \(value.typeName)")
        }
        return object
    }

}

@available(*, unavailable) extension Request: Sendable {}

/// `application/x-www-form-urlencoded` query strings.
public enum QueryString {
    /// Parses `a=1&b=two%20words`. Later duplicates win; keys without `=` map to "".
    public static func parse(_ query: String) -> [String: String] {
        var result: [String: String] = [:]
        guard !query.isEmpty else { return result }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = percentDecode(parts[0], plusIsSpace: true), !key.isEmpty else { continue }
            let value = parts.count > 1 ? percentDecode(parts[1], plusIsSpace: true) ?? "" : ""
            result[key] = value
        }
        return result
    }

    /// Decodes %XX escapes; nil when an escape is malformed or the result is not UTF-8.
    public static func percentDecode(_ text: Substring, plusIsSpace: Bool = false) -> String? {
        if !text.utf8.contains(where: { $0 == 0x25 || (plusIsSpace && $0 == 0x2B) }) { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == 0x25 {
                guard let high = iterator.next().flatMap(Hex.digitValue), let low = iterator.next().flatMap(Hex.digitValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            } else if byte == 0x2B && plusIsSpace {
                bytes.append(0x20)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
