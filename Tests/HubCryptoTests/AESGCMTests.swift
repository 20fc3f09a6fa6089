@testable import HubCrypto
import Testing

struct AESGCMTests {
    static let key = (0..<32).map { UInt8($0) }
    static let aad = Array("oauth:user-1".utf8)
    static let message = Array("ya29.a0AfH6SMB-refresh-token".utf8)

    /// McGrew–Viega "The Galois/Counter Mode of Operation", test cases 13–14 (AES-256, zero key
    /// and IV), cross-checked with Python `cryptography`.
    @Test func matchesGCMSpecTestCases13And14() throws {
        let zeroKey = [UInt8](repeating: 0, count: 32)
        let zeroNonce = [UInt8](repeating: 0, count: 12)
        let empty = try AESGCM.seal([], key: zeroKey, nonce: zeroNonce, associatedData: [])
        #expect(Hex.encode(empty.dropFirst(12)) == "530f8afbc74536b9a963b4f1c4cb738b")
        let block = try AESGCM.seal([UInt8](repeating: 0, count: 16), key: zeroKey, nonce: zeroNonce, associatedData: [])
        #expect(Hex.encode(block.dropFirst(12)) == "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919")
    }

    /// GCM spec test case 16: AES-256 with associated data and a 60-byte plaintext.
    @Test func matchesGCMSpecTestCase16WithAssociatedData() throws {
        let key = try #require(Hex.decode("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"))
        let nonce = try #require(Hex.decode("cafebabefacedbaddecaf888"))
        let plaintext = try #require(Hex.decode(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"))
        let aad = try #require(Hex.decode("feedfacedeadbeeffeedfacedeadbeefabaddad2"))
        let sealed = try AESGCM.seal(plaintext, key: key, nonce: nonce, associatedData: aad)
        #expect(
            Hex.encode(sealed)
                == "cafebabefacedbaddecaf888"
                + "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                + "76fc6ece0f4e1768cddf8853bb2d551b")
        #expect(try AESGCM.open(sealed, key: key, associatedData: aad) == plaintext)
    }

    @Test func sealThenOpenRoundTrips() throws {
        let sealed = try AESGCM.seal(Self.message, key: Self.key, associatedData: Self.aad)
        #expect(sealed.count == Self.message.count + AESGCM.overheadByteCount)
        #expect(try AESGCM.open(sealed, key: Self.key, associatedData: Self.aad) == Self.message)
    }

    @Test func emptyPlaintextAndEmptyAssociatedDataRoundTrip() throws {
        let sealed = try AESGCM.seal([], key: Self.key)
        #expect(sealed.count == AESGCM.overheadByteCount)
        #expect(try AESGCM.open(sealed, key: Self.key) == [])
    }

    @Test func largePlaintextRoundTrips() throws {
        let big = SecureRandom.bytes(count: 1 << 20)
        #expect(try AESGCM.open(try AESGCM.seal(big, key: Self.key), key: Self.key) == big)
    }

    @Test func eachSealUsesAFreshNonce() throws {
        let first = try AESGCM.seal(Self.message, key: Self.key)
        let second = try AESGCM.seal(Self.message, key: Self.key)
        #expect(first.prefix(12) != second.prefix(12))
        #expect(first != second)
    }

    /// Flipping any single bit anywhere — nonce, ciphertext or tag — fails authentication.
    @Test func everyBitFlipIsDetected() throws {
        let sealed = try AESGCM.seal(Self.message, key: Self.key, associatedData: Self.aad)
        for bit in 0..<(sealed.count * 8) {
            var tampered = sealed
            tampered[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(failsAuthentication { try AESGCM.open(tampered, key: Self.key, associatedData: Self.aad) }, "bit \(bit)")
        }
    }

    @Test func wrongAssociatedDataIsDetected() throws {
        let sealed = try AESGCM.seal(Self.message, key: Self.key, associatedData: Self.aad)
        #expect(failsAuthentication { try AESGCM.open(sealed, key: Self.key, associatedData: Array("oauth:user-2".utf8)) })
        #expect(failsAuthentication { try AESGCM.open(sealed, key: Self.key) })
        let withoutAAD = try AESGCM.seal(Self.message, key: Self.key)
        #expect(failsAuthentication { try AESGCM.open(withoutAAD, key: Self.key, associatedData: [0]) })
    }

    @Test func wrongKeyIsDetected() throws {
        let sealed = try AESGCM.seal(Self.message, key: Self.key, associatedData: Self.aad)
        var otherKey = Self.key
        otherKey[31] ^= 0x80
        #expect(failsAuthentication { try AESGCM.open(sealed, key: otherKey, associatedData: Self.aad) })
    }

    @Test func truncatedOrExtendedInputIsDetected() throws {
        let sealed = try AESGCM.seal(Self.message, key: Self.key)
        for length in [0, 1, 12, 27] {
            #expect(failsAuthentication { try AESGCM.open(Array(sealed.prefix(length)), key: Self.key) }, "\(length)")
        }
        #expect(failsAuthentication { try AESGCM.open(Array(sealed.dropLast()), key: Self.key) })
        #expect(failsAuthentication { try AESGCM.open(sealed + [0], key: Self.key) })
    }
}

func failsAuthentication(_ body: () throws -> [UInt8]) -> Bool {
    do {
        _ = try body()
        return false
    } catch {
        return (error as? CryptoError)?.kind == .authenticationFailed
    }
}
