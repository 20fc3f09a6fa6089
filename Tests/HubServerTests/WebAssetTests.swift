import HubWire
import Testing

@testable import HubServer

/// The validators and headers of the files the hub serves itself (`Web/`).
@Suite struct WebAssetTests {
    let etag = "\"0123456789abcdef\""

    @Test func ifNoneMatchAcceptsTheTagInAListWeakOrStar() {
        #expect(WebAsset.matches(etag, etag))
        #expect(WebAsset.matches("\"other\", \(etag)", etag))
        #expect(WebAsset.matches("W/\(etag)", etag))
        #expect(WebAsset.matches("*", etag))
        #expect(!WebAsset.matches(nil, etag))
        #expect(!WebAsset.matches("\"other\"", etag))
        #expect(!WebAsset.matches("0123456789abcdef", etag))  // unquoted is not the same tag
    }

    @Test func theTagFollowsTheBytes() {
        let one = WebAsset(path: "/a.js", contentType: "text/javascript", text: "let a = 1;")
        let same = WebAsset(path: "/b.js", contentType: "text/javascript", text: "let a = 1;")
        let other = WebAsset(path: "/a.js", contentType: "text/javascript", text: "let a = 2;")
        #expect(one.etag == same.etag && one.etag != other.etag)
        #expect(one.etag == "\"\(one.version)\"" && one.version.count == 16)
    }

    /// The Host header goes into the policy only when it cannot end the directive or add one.
    @Test func onlyPlainHostsReachThePolicy() {
        #expect(WebSecurity.isSafeHost("127.0.0.1:8080"))
        #expect(WebSecurity.isSafeHost("[::1]:8080"))
        #expect(WebSecurity.isSafeHost("hub.example.com"))
        #expect(!WebSecurity.isSafeHost(""))
        #expect(!WebSecurity.isSafeHost("evil.com; script-src *"))
        #expect(!WebSecurity.isSafeHost("a'b"))
        let policy = WebSecurity.contentSecurityPolicy(host: "x.com; script-src *")
        #expect(!policy.contains("x.com") && policy.contains("connect-src 'self';"))
        #expect(WebSecurity.contentSecurityPolicy(host: "hub:80").contains("connect-src 'self' ws://hub:80 wss://hub:80;"))
    }

    @Test func everyPageLinkResolvesToAServedAsset() {
        for template in [EmbeddedFiles.dashboardHTML, EmbeddedFiles.kioskHTML] {
            var rest = Substring(template)
            while let open = rest.range(of: "{{") {
                let close = rest[open.upperBound...].range(of: "}}")!  // templates are ours; a missing close is a bug
                let path = String(rest[open.upperBound..<close.lowerBound])
                #expect(["/client/spacehub.js", "/assets/app.css", "/assets/dashboard.js", "/assets/kiosk.css", "/assets/kiosk.js",
                         "/favicon.svg"].contains(path), "\(path)")
                rest = rest[close.upperBound...]
            }
        }
    }
}
