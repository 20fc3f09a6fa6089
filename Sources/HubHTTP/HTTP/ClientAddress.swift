#if canImport(Glibc)
import Glibc
#endif
import HubWire

/// An IPv4 or IPv6 address range (`10.0.0.0/8`, `::1`, `fd00::/8`): a trusted proxy's address.
/// IPv4 addresses are kept as IPv4-mapped IPv6 (`::ffff:a.b.c.d`), so one comparison covers both
/// and a proxy that reaches us over a dual-stack socket still matches its IPv4 entry.
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    let bytes: [UInt8]  // 16
    let prefixLength: Int  // 0...128
    public let description: String

    /// `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `v6/n`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress.parse(String(parts[0])) else { return nil }
        var prefix = address.isIPv4Mapped ? 32 : 128
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...prefix).contains(value) else { return nil }
            prefix = value
        }
        bytes = address.bytes
        prefixLength = address.isIPv4Mapped ? prefix + 96 : prefix
        description = text
    }

    func contains(_ address: IPAddress) -> Bool {
        var bitsLeft = prefixLength
        for index in 0..<16 where bitsLeft > 0 {
            let mask: UInt8 = bitsLeft >= 8 ? 0xFF : ~(0xFF >> UInt8(bitsLeft))
            if bytes[index] & mask != address.bytes[index] & mask { return false }
            bitsLeft -= 8
        }
        return true
    }
}

/// An IP address as 16 bytes (IPv4 mapped into IPv6), parsed with `inet_pton`.
struct IPAddress: Equatable {
    let bytes: [UInt8]

    var isIPv4Mapped: Bool { bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF }

    static func parse(_ text: String) -> IPAddress? {
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let value = UInt32(bigEndian: v4.s_addr)
            return IPAddress(bytes: Array(repeating: 0, count: 10) + [0xFF, 0xFF,
                             UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        return IPAddress(bytes: withUnsafeBytes(of: &v6) { Array($0) })
    }
}

/// Who a request really comes from, when it reached us through reverse proxies we trust.
///
/// Only a connection from a trusted proxy (`server.trustedProxies`) is believed about the
/// client, and only through the header the proxies write (`server.proxyHeader`): by default
/// `X-Forwarded-For` (nginx's `$proxy_add_x_forwarded_for`) with `X-Forwarded-Proto`, or RFC 7239
/// `Forwarded` (`for=`, `proto=`) for proxies that append that. Reading the other one too would
/// let a client choose its address: a proxy passes a header it does not write through untouched.
/// The client is the right-most address that is not itself a trusted proxy, walking from the
/// right as each proxy appended its peer; anything a client wrote is to the left of what our
/// proxies added, so it is never reached while an untrusted hop stands between. The host of
/// links is the request's `Host`, which the proxy sets. A connection from anywhere else is its
/// own client, whatever its headers say.
public struct ClientAddress: Sendable {
    /// The client's address, as a rate limit, an audit row and the access log name it.
    public let address: String
    /// `https` or `http` as the trusted proxy says the client connected, or nil.
    public let scheme: String?
    /// The `Host` the client asked for, when a trusted proxy forwarded the request.
    public let host: String?

    public init(address: String, scheme: String?, host: String?) {
        self.address = address
        self.scheme = scheme
        self.host = host
    }

    /// Hops examined at most: a header of thousands of entries costs no more than this.
    static let hopsMax = 32

    /// Which header trusted proxies write the client into.
    public enum Header: String, Sendable {
        case xForwardedFor = "x-forwarded-for"
        case forwarded
    }

    public static func resolve(peer: String, headers: HTTPHeaders, trusted: [AddressRange],
                               header: Header = .xForwardedFor) -> ClientAddress {
        guard !trusted.isEmpty, let peerAddress = IPAddress.parse(peer), trusted.contains(where: { $0.contains(peerAddress) }) else {
            return ClientAddress(address: peer, scheme: nil, host: nil)
        }
        let hops: [Hop] = header == .forwarded ? forwarded(headers.values("forwarded")) : xForwardedFor(headers)
        var client = peer
        var scheme: String?
        for hop in hops.reversed().prefix(hopsMax) {
            if scheme == nil { scheme = hop.proto }
            guard let text = hop.address else { break }  // an obfuscated or unknown hop: stop at the last we know
            guard let address = IPAddress.parse(text) else { break }
            client = text
            if !trusted.contains(where: { $0.contains(address) }) { break }
        }
        if header == .xForwardedFor, let proto = headers.values("x-forwarded-proto").last?.split(separator: ",").last {
            scheme = String(proto.trimmingSpaces()).lowercased()
        }
        let host = headers["host"]
        return ClientAddress(address: client, scheme: scheme.flatMap { $0 == "https" || $0 == "http" ? $0 : nil },
                             host: host.flatMap { $0.isEmpty ? nil : $0 })
    }

    struct Hop {
        let address: String?
        let proto: String?
    }

    private static func xForwardedFor(_ headers: HTTPHeaders) -> [Hop] {
        headers.values("x-forwarded-for").flatMap { $0.split(separator: ",") }.suffix(hopsMax).map { entry in
            Hop(address: String(entry.trimmingSpaces()), proto: nil)
        }
    }

    /// RFC 7239 §4: `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`.
    private static func forwarded(_ values: [String]) -> [Hop] {
        values.flatMap { $0.split(separator: ",") }.suffix(hopsMax).map { element in
            var address: String?
            var proto: String?
            for pair in element.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                var value = String(parts[1].trimmingSpaces())
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                switch parts[0].trimmingSpaces().lowercased() {
                case "for": address = Self.nodeAddress(value)
                case "proto": proto = value.lowercased()
                default: break
                }
            }
            return Hop(address: address, proto: proto)
        }
    }

    /// The address of an RFC 7239 §6 node: `192.0.2.43`, `192.0.2.43:47011`, `[2001:db8::1]:4711`;
    /// nil for `unknown` and obfuscated identifiers (`_hidden`).
    private static func nodeAddress(_ node: String) -> String? {
        if node.hasPrefix("[") {
            guard let close = node.firstIndex(of: "]") else { return nil }
            return String(node[node.index(after: node.startIndex)..<close])
        }
        if node.lowercased() == "unknown" || node.hasPrefix("_") { return nil }
        let colons = node.filter { $0 == ":" }.count
        return colons == 1 ? String(node.split(separator: ":")[0]) : node
    }
}
