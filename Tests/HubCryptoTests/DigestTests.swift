import Foundation
import HubCrypto
import Testing

/// Known answers from FIPS 180-4's examples (NIST CSRC "SHA_All.pdf") and RFC 6455.
struct DigestTests {
    @Test func sha1OfAbcMatchesFIPS180Example() {
        #expect(Hex.encode(SHA1.hash("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    @Test func sha1OfEmptyInput() {
        #expect(Hex.encode(SHA1.hash([UInt8]())) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }

    /// RFC 6455 §1.3: the server's Sec-WebSocket-Accept for the sample nonce.
    @Test func sha1ProducesTheRFC6455HandshakeAcceptValue() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==" + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        #expect(Data(SHA1.hash(key.utf8)).base64EncodedString() == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func sha256OfAbcMatchesFIPS180Example() {
        #expect(
            Hex.encode(SHA256.hash("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func sha256OfEmptyInput() {
        #expect(
            Hex.encode(SHA256.hash([UInt8]()))
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func sha512OfAbcMatchesFIPS180Example() {
        #expect(
            Hex.encode(SHA512.hash("abc".utf8))
                == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
    }

    /// Inputs without contiguous storage are copied, not rejected, and hash the same.
    @Test func nonContiguousInputHashesLikeAnArray() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let lazy = bytes.lazy.map { $0 }
        #expect(SHA256.hash(lazy) == SHA256.hash(bytes))
        #expect(SHA256.hash(bytes[10..<20]) == SHA256.hash(Array(bytes[10..<20])))
        #expect(SHA1.hash(Data(bytes)) == SHA1.hash(bytes))
    }

    @Test func digestLengthsMatchByteCount() {
        #expect(SHA1.hash([1]).count == SHA1.byteCount)
        #expect(SHA256.hash([1]).count == SHA256.byteCount)
        #expect(SHA512.hash([1]).count == SHA512.byteCount)
    }
}
