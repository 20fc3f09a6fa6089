import HubTestSupport
import Testing

@testable import HubWire

/// The RFC 6455 §1.3 example key.
private let rfcKey = "dGhlIHNhbXBsZSBub25jZQ=="

private func headers(
    upgrade: String? = "websocket", connection: String? = "Upgrade", version: String? = "13", key: String? = rfcKey,
    extra: [(name: String, value: String)] = []
) -> [(name: String, value: String)] {
    var headers: [(name: String, value: String)] = [("Host", "hub.example")]
    if let upgrade { headers.append(("Upgrade", upgrade)) }
    if let connection { headers.append(("Connection", connection)) }
    if let version { headers.append(("Sec-WebSocket-Version", version)) }
    if let key { headers.append(("Sec-WebSocket-Key", key)) }
    return headers + extra
}

private func validate(
    method: String = "GET", version: (Int, Int) = (1, 1), _ headers: [(name: String, value: String)]
) -> Result<WebSocketHandshake.Request, WebSocketHandshakeError> {
    Result { () throws(WebSocketHandshakeError) in
        try WebSocketHandshake.validate(method: method, httpVersion: version, headers: headers)
    }
}

@Suite struct WebSocketHandshakeTests {
    @Test func validRequestReturnsItsKey() {
        #expect(validate(headers()) == .success(.init(key: rfcKey, protocols: [])))
    }

    /// RFC 6455 §1.3: key "dGhlIHNhbXBsZSBub25jZQ==" → "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
    @Test func acceptValueMatchesTheRFCExample() {
        #expect(WebSocketHandshake.acceptValue(key: rfcKey, sha1: TestSHA1.digest) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    /// FIPS 180-2 appendix A vectors, so the accept test rests on a correct SHA-1.
    @Test func testSHA1MatchesTheStandardVectors() {
        func hexDigest(_ text: String) -> String {
            TestSHA1.digest(Array(text.utf8)).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        }
        #expect(hexDigest("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hexDigest("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(
            hexDigest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
    }

    @Test func headerNamesAndTokensMatchCaseInsensitively() {
        let request = [
            ("host", "hub.example"), ("UPGRADE", "h2c, WebSocket"), ("connection", "keep-alive, Upgrade"),
            ("SEC-WEBSOCKET-VERSION", "13"), ("sec-websocket-key", "  \(rfcKey)\t"),
        ]
        #expect(validate(request) == .success(.init(key: rfcKey, protocols: [])))
    }

    @Test func protocolsAreCollectedAcrossHeaderLines() {
        let extra = [("Sec-WebSocket-Protocol", " chat ,superchat,, "), ("sec-websocket-protocol", "bearer.abc-123")]
        #expect(
            validate(headers(extra: extra))
                == .success(.init(key: rfcKey, protocols: ["chat", "superchat", "bearer.abc-123"])))
    }

    @Test func protocolThatIsNotATokenIsRefused() {
        let outcome = validate(headers(extra: [("Sec-WebSocket-Protocol", "chat, bad value")]))
        #expect(outcome == .failure(.protocolInvalid("bad value")))
        #expect(WebSocketHandshakeError.protocolInvalid("").httpStatus == 400)
    }

    @Test func methodOtherThanGetIs405WithAllow() {
        #expect(validate(method: "POST", headers()) == .failure(.methodNotAllowed("POST")))
        #expect(validate(method: "get", headers()) == .failure(.methodNotAllowed("get")))
        let error = WebSocketHandshakeError.methodNotAllowed("POST")
        #expect(error.httpStatus == 405)
        #expect(error.responseHeaders.map { "\($0.name): \($0.value)" } == ["Allow: GET"])
    }

    @Test func httpVersionBelow11Is400() {
        #expect(validate(version: (1, 0), headers()) == .failure(.httpVersionTooOld(major: 1, minor: 0)))
        #expect(validate(version: (0, 9), headers()) == .failure(.httpVersionTooOld(major: 0, minor: 9)))
        #expect(validate(version: (2, 0), headers()) == .success(.init(key: rfcKey, protocols: [])))
        #expect(WebSocketHandshakeError.httpVersionTooOld(major: 1, minor: 0).httpStatus == 400)
    }

    @Test func missingWebSocketUpgradeIs400() {
        #expect(validate(headers(upgrade: nil)) == .failure(.upgradeNotWebSocket))
        #expect(validate(headers(upgrade: "h2c")) == .failure(.upgradeNotWebSocket))
        #expect(validate(headers(upgrade: "websocket2")) == .failure(.upgradeNotWebSocket))
        // The Kelvin sign lowercases to "k" under Unicode rules; HTTP tokens are ASCII.
        #expect(validate(headers(upgrade: "websoc\u{212A}et")) == .failure(.upgradeNotWebSocket))
        #expect(WebSocketHandshakeError.upgradeNotWebSocket.httpStatus == 400)
    }

    @Test func missingConnectionUpgradeIs400() {
        #expect(validate(headers(connection: nil)) == .failure(.connectionNotUpgrade))
        #expect(validate(headers(connection: "keep-alive")) == .failure(.connectionNotUpgrade))
        #expect(WebSocketHandshakeError.connectionNotUpgrade.httpStatus == 400)
    }

    @Test func versionOtherThan13Is426WithSupportedVersion() {
        #expect(validate(headers(version: nil)) == .failure(.versionUnsupported("")))
        #expect(validate(headers(version: "8")) == .failure(.versionUnsupported("8")))
        #expect(validate(headers(version: "13, 8")) == .failure(.versionUnsupported("13, 8")))
        let error = WebSocketHandshakeError.versionUnsupported("8")
        #expect(error.httpStatus == 426)
        #expect(error.responseHeaders.map { "\($0.name): \($0.value)" } == ["Sec-WebSocket-Version: 13"])
    }

    @Test(arguments: [
        "", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZ===",
        "dGhlIHNhbXBsZSBub25jZQ==dGhl", "dGhlIHNhbXBsZSBub25j", "dGhlIHNhbXBsZSBub25jZ!==", "dGhlIHNhbXBs ZSBub25jZQ==",
        "AAAAAAAAAAAAAAAAAAAAAAA=",
    ])
    func keyThatIsNotBase64Of16BytesIs400(_ key: String) {
        #expect(validate(headers(key: key)) == .failure(.keyInvalid))
        #expect(WebSocketHandshakeError.keyInvalid.httpStatus == 400)
    }

    @Test func missingOrRepeatedKeyIs400() {
        #expect(validate(headers(key: nil)) == .failure(.keyMissing))
        #expect(validate(headers(extra: [("Sec-WebSocket-Key", rfcKey)])) == .failure(.keyRepeated))
        #expect(WebSocketHandshakeError.keyMissing.httpStatus == 400)
        #expect(WebSocketHandshakeError.keyRepeated.httpStatus == 400)
    }

    @Test func responseIsTheExact101() {
        let plain = WebSocketHandshake.response(accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", protocol: nil)
        #expect(
            String(decoding: plain, as: UTF8.self) == """
                HTTP/1.1 101 Switching Protocols\r
                Upgrade: websocket\r
                Connection: Upgrade\r
                Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r
                \r

                """)
        let chat = WebSocketHandshake.response(accept: "x", protocol: "chat")
        #expect(
            String(decoding: chat, as: UTF8.self).hasSuffix(
                "Sec-WebSocket-Accept: x\r\nSec-WebSocket-Protocol: chat\r\n\r\n"))
    }

    /// RFC 4648 §10 test vectors.
    @Test func base64MatchesTheRFC4648Vectors() {
        let vectors = [
            "": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=",
            "foobar": "Zm9vYmFy",
        ]
        for (plain, encoded) in vectors {
            #expect(WebSocketBase64.encode(Array(plain.utf8)) == encoded)
            #expect(encoded.isEmpty || WebSocketBase64.decodedByteCount(encoded) == plain.utf8.count)
        }
        #expect(WebSocketBase64.decodedByteCount("") == nil)
        #expect(WebSocketBase64.decodedByteCount("Zg=a") == nil)
        #expect(WebSocketBase64.decodedByteCount("=Zg=") == nil)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
