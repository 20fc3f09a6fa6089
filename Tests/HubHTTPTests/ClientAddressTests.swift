import HubWire
import Testing

@testable import HubHTTP

/// `ClientAddress.resolve`: who a request comes from behind trusted proxies (RFC 7239,
/// X-Forwarded-For), and that nobody else is believed.
@Suite struct ClientAddressTests {
    static let proxies = ["10.0.0.0/8", "::1", "192.168.1.7"].map { AddressRange($0)! }

    static func resolve(peer: String, _ headers: [(String, String)], trusted: [AddressRange] = proxies,
                        header: ClientAddress.Header = .xForwardedFor) -> ClientAddress {
        ClientAddress.resolve(peer: peer, headers: HTTPHeaders(headers), trusted: trusted, header: header)
    }

    @Test func anUntrustedPeerIsItsOwnClientWhateverItSays() {
        let client = Self.resolve(peer: "203.0.113.9", [("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-Proto", "https"),
                                                        ("Forwarded", "for=5.6.7.8;proto=https")])
        #expect(client.address == "203.0.113.9" && client.scheme == nil && client.host == nil)
        // Nothing is trusted by default.
        #expect(Self.resolve(peer: "10.0.0.1", [("X-Forwarded-For", "1.2.3.4")], trusted: []).address == "10.0.0.1")
    }

    @Test func theRightMostUntrustedHopIsTheClient() {
        // A client wrote "6.6.6.6" itself; nginx (10.0.0.2) appended the client's real address,
        // a second proxy (10.0.0.3) appended nginx's.
        let client = Self.resolve(peer: "10.0.0.3", [("X-Forwarded-For", "6.6.6.6, 198.51.100.4, 10.0.0.2"),
                                                     ("X-Forwarded-Proto", "https"), ("Host", "hub.example.com")])
        #expect(client.address == "198.51.100.4")
        #expect(client.scheme == "https" && client.host == "hub.example.com")
        // Split across several header lines, the order is the same.
        let split = Self.resolve(peer: "10.0.0.3", [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "198.51.100.4")])
        #expect(split.address == "198.51.100.4")
    }

    @Test func whenEveryHopIsTrustedTheLeftMostIsTheClient() {
        #expect(Self.resolve(peer: "10.0.0.3", [("X-Forwarded-For", "10.9.9.9, 10.0.0.2")]).address == "10.9.9.9")
        #expect(Self.resolve(peer: "10.0.0.3", []).address == "10.0.0.3", "a trusted peer with no header is the client")
    }

    /// Only the configured header is read: nginx passes a `Forwarded` it does not write through
    /// untouched, so reading it beside `X-Forwarded-For` let a client pick its own address.
    @Test func onlyTheConfiguredHeaderIsRead() {
        let headers = [("X-Forwarded-For", "198.51.100.4"), ("Forwarded", "for=6.6.6.6;proto=https"),
                       ("X-Forwarded-Host", "evil.example"), ("Host", "hub.example.com")]
        let xff = Self.resolve(peer: "10.0.0.3", headers)
        #expect(xff.address == "198.51.100.4" && xff.scheme == nil && xff.host == "hub.example.com")
        let rfc = Self.resolve(peer: "10.0.0.3", [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Proto", "https"),
                                                  ("Forwarded", "for=198.51.100.4;proto=http")], header: .forwarded)
        #expect(rfc.address == "198.51.100.4" && rfc.scheme == "http")
    }

    @Test func forwardedNodesAreParsed() {
        let client = Self.resolve(peer: "::1", [
            ("Forwarded", #"for="[2001:db8:cafe::17]:4711";proto=https;host=hub.example.com, for=10.1.2.3"#),
        ], header: .forwarded)
        #expect(client.address == "2001:db8:cafe::17" && client.scheme == "https")
        #expect(Self.resolve(peer: "::1", [("Forwarded", "for=192.0.2.43:47011")], header: .forwarded).address == "192.0.2.43")
        // Unknown and obfuscated nodes stop the walk at the last hop we know.
        #expect(Self.resolve(peer: "10.0.0.3", [("Forwarded", "for=unknown, for=10.0.0.2")], header: .forwarded).address == "10.0.0.2")
        #expect(Self.resolve(peer: "10.0.0.3", [("Forwarded", "for=_hidden")], header: .forwarded).address == "10.0.0.3")
    }

    @Test func garbageInTheHeaderNeverBecomesTheAddress() {
        #expect(Self.resolve(peer: "10.0.0.3", [("X-Forwarded-For", "<script>, 10.0.0.2")]).address == "10.0.0.2")
        #expect(Self.resolve(peer: "10.0.0.3", [("X-Forwarded-Proto", "gopher")]).scheme == nil)
        // Thousands of hops cost a bounded walk.
        let flood = Array(repeating: "10.0.0.2", count: 5000).joined(separator: ",")
        #expect(Self.resolve(peer: "10.0.0.3", [("X-Forwarded-For", flood)]).address == "10.0.0.2")
    }

    @Test(arguments: [("10.0.0.0/8", "10.255.255.255", true), ("10.0.0.0/8", "11.0.0.0", false),
                      ("192.168.1.7", "192.168.1.7", true), ("192.168.1.7", "192.168.1.8", false),
                      ("192.168.0.0/23", "192.168.1.255", true), ("192.168.0.0/23", "192.168.2.0", false),
                      ("::1", "::1", true), ("fd00::/8", "fdff::1", true), ("fd00::/8", "fe80::1", false),
                      ("127.0.0.1", "::ffff:127.0.0.1", true), ("0.0.0.0/0", "8.8.8.8", true), ("::/0", "2001:db8::1", true)])
    func rangesMatch(range: String, address: String, matches: Bool) {
        #expect(AddressRange(range)!.contains(IPAddress.parse(address)!) == matches)
    }

    @Test(arguments: ["", "10.0.0.0/33", "::/129", "10.0.0", "example.com", "10.0.0.0/-1", "1.2.3.4/8/9"])
    func badRangesAreRefused(text: String) {
        #expect(AddressRange(text) == nil)
    }

    @Test func linksUseTheForwardedOriginOnlyFromATrustedProxy() {
        #expect(Self.resolve(peer: "10.0.0.2", [("X-Forwarded-Proto", "https"), ("Host", "hub.example.com")]).host == "hub.example.com")
        #expect(Self.resolve(peer: "203.0.113.9", [("Host", "evil.example")]).host == nil)
    }
}
