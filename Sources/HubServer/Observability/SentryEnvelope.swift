import HubCore
import HubWire

/// A Sentry DSN, `https://<public key>@<host>[:port][/<path>]/<project id>` (develop.sentry.dev,
/// "Overview: Parsing the DSN"): where envelopes go and the key that authenticates them.
/// A legacy `key:secret` user part keeps only the key (the secret is no longer used and must not
/// travel in a header).
struct SentryDSN: Equatable, Sendable {
    let scheme: String
    let publicKey: String
    /// `host` or `host:port`, as the URL gave it.
    let authority: String
    /// Path before the project id, without trailing slash ("" for most DSNs).
    let pathPrefix: String
    let projectID: String

    init?(_ text: String) {
        let schemeEnd = text.range(of: "://")
        guard let schemeEnd else { return nil }
        scheme = String(text[..<schemeEnd.lowerBound]).lowercased()
        guard scheme == "https" || scheme == "http" else { return nil }
        let rest = text[schemeEnd.upperBound...]
        guard let at = rest.firstIndex(of: "@") else { return nil }
        let user = rest[..<at]
        publicKey = String(user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0])
        let location = rest[rest.index(after: at)...]
        let slash = location.firstIndex(of: "/") ?? location.endIndex
        authority = String(location[..<slash])
        var path = location[slash...]
        while path.hasSuffix("/") { path = path.dropLast() }
        guard let lastSlash = path.lastIndex(of: "/") else { return nil }
        projectID = String(path[path.index(after: lastSlash)...])
        pathPrefix = String(path[..<lastSlash])
        let keyIsToken = publicKey.utf8.allSatisfy { $0 >= 0x21 && $0 < 0x7F && $0 != 0x2C && $0 != 0x3D }
        guard !publicKey.isEmpty, keyIsToken, !authority.isEmpty, !authority.contains("?"), !projectID.isEmpty,
            projectID.utf8.allSatisfy({ $0 >= 0x21 && $0 < 0x7F && $0 != 0x3F && $0 != 0x23 })
        else { return nil }
    }

    /// `POST` target of envelopes: `<scheme>://<host>/<path>/api/<project>/envelope/`.
    var envelopeURL: String { "\(scheme)://\(authority)\(pathPrefix)/api/\(projectID)/envelope/" }

    /// The `X-Sentry-Auth` header value (protocol version 7).
    func authHeader(client: String) -> String {
        "Sentry sentry_version=7, sentry_key=\(publicKey), sentry_client=\(client)"
    }
}

/// One event in Sentry's envelope format (develop.sentry.dev, "Envelopes"): an envelope header
/// line, an item header line with the payload's exact length, and the event JSON.
///
///     {"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","sent_at":"2026-11-26T10:00:00Z"}
///     {"type":"event","length":412,"content_type":"application/json"}
///     {"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","timestamp":1795600000.25,"level":"error",…}
struct SentryEnvelope {
    static let contentType = "application/x-sentry-envelope"

    let eventID: String
    let event: JSON

    /// The bytes to POST. `sentAt` is Unix seconds.
    func bytes(sentAt: Int64) -> [UInt8] {
        let payload = event.bytes
        let header: JSON = ["event_id": .string(eventID), "sent_at": .string(UTC.iso8601(sentAt))]
        let item: JSON = ["type": "event", "length": .int(payload.count), "content_type": "application/json"]
        var out = header.bytes
        out.append(0x0A)
        out.append(contentsOf: item.bytes)
        out.append(0x0A)
        out.append(contentsOf: payload)
        out.append(0x0A)
        return out
    }
}
