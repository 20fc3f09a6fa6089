import HubCrypto
import Testing

/// RFC 4231 §4.2–4.3 test cases 1 and 2, plus the edges our callers hit.
struct HMACTests {
    static let case1Key = [UInt8](repeating: 0x0b, count: 20)
    static let case1Data = Array("Hi There".utf8)
    static let case2Key = Array("Jefe".utf8)
    static let case2Data = Array("what do ya want for nothing?".utf8)

    @Test func sha256MatchesRFC4231TestCase1() {
        #expect(
            Hex.encode(HMAC.sha256(key: Self.case1Key, message: Self.case1Data))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    @Test func sha256MatchesRFC4231TestCase2() {
        #expect(
            Hex.encode(HMAC.sha256(key: Self.case2Key, message: Self.case2Data))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func sha512MatchesRFC4231TestCase1() {
        #expect(
            Hex.encode(HMAC.sha512(key: Self.case1Key, message: Self.case1Data))
                == "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                + "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854")
    }

    @Test func sha512MatchesRFC4231TestCase2() {
        #expect(
            Hex.encode(HMAC.sha512(key: Self.case2Key, message: Self.case2Data))
                == "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                + "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737")
    }

    /// Cross-checked with `openssl dgst -sha256 -hmac ""`.
    @Test func emptyKeyAndEmptyMessageAreAllowed() {
        #expect(
            Hex.encode(HMAC.sha256(key: [], message: [UInt8]()))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    /// A Paystack-style check: hex header, raw body, constant-time comparison.
    @Test func webhookSignatureRoundTripsThroughHex() {
        let secret = Array("sk_test_secret".utf8)
        let body = Array(#"{"event":"charge.success"}"#.utf8)
        let header = Hex.encode(HMAC.sha512(key: secret, message: body))
        let expected = HMAC.sha512(key: secret, message: body)
        #expect(Hex.decode(header).map { constantTimeEquals($0, expected) } == true)
        let tampered = HMAC.sha512(key: secret, message: body + [0x20])
        #expect(!constantTimeEquals(tampered, expected))
    }
}
