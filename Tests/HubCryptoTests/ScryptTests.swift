@testable import HubCrypto
import Testing

/// RFC 7914 §12 test vectors through `EVP_PBE_scrypt` (cross-checked with `openssl kdf … SCRYPT`).
struct ScryptTests {
    @Test func matchesRFC7914VectorWithEmptyPasswordAndSalt() throws {
        let key = try Scrypt.deriveKey(
            password: [UInt8](), salt: [], parameters: #require(.init(logN: 4, blockSize: 1, parallelism: 1)),
            byteCount: 64)
        #expect(
            Hex.encode(key)
                == "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
                + "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906")
    }

    @Test func matchesRFC7914PasswordNaClVector() throws {
        let key = try Scrypt.deriveKey(
            password: "password".utf8, salt: Array("NaCl".utf8),
            parameters: #require(.init(logN: 10, blockSize: 8, parallelism: 16)), byteCount: 64)
        #expect(
            Hex.encode(key)
                == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
                + "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640")
    }

    /// N=2^14, r=8 needs 16 MiB: exercises our `maxmem` near OpenSSL's 32 MiB default.
    @Test func matchesRFC7914PleaseLetMeInVector() throws {
        let key = try Scrypt.deriveKey(
            password: "pleaseletmein".utf8, salt: Array("SodiumChloride".utf8),
            parameters: #require(.init(logN: 14, blockSize: 8, parallelism: 1)), byteCount: 64)
        #expect(
            Hex.encode(key)
                == "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
                + "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887")
    }

    @Test func memoryMatchesOpenSSLsAccounting() throws {
        // 128·r·(N+2) for V plus 128·r·p for B: 33,557,504 bytes, just over OpenSSL's 32 MiB default.
        let standard = try #require(Scrypt.Parameters(logN: 15, blockSize: 8, parallelism: 1))
        #expect(standard.memoryBytes == 128 * 8 * (32768 + 2) + 128 * 8 * 1)
    }

    @Test func rejectsParametersOutsideOurBoundsAndRFC7914() {
        #expect(Scrypt.Parameters(logN: 0, blockSize: 8, parallelism: 1) == nil)
        #expect(Scrypt.Parameters(logN: 21, blockSize: 8, parallelism: 1) == nil)
        #expect(Scrypt.Parameters(logN: 15, blockSize: 0, parallelism: 1) == nil)
        #expect(Scrypt.Parameters(logN: 15, blockSize: 8, parallelism: 0) == nil)
        #expect(Scrypt.Parameters(logN: 15, blockSize: 8, parallelism: 17) == nil)
        #expect(Scrypt.Parameters(logN: 16, blockSize: 1, parallelism: 1) == nil)  // N < 2^(16·r)
        #expect(Scrypt.Parameters(logN: 18, blockSize: 8, parallelism: 1) == nil)  // 256 MiB + a bit
        #expect(Scrypt.Parameters(logN: 17, blockSize: 8, parallelism: 1) != nil)  // 128 MiB
    }
}
