import HubCrypto
import Testing

struct SecureRandomTests {
    @Test func bytesHaveTheRequestedCount() {
        #expect(SecureRandom.bytes(count: 0).isEmpty)
        #expect(SecureRandom.bytes(count: 1).count == 1)
        #expect(SecureRandom.bytes(count: 4096).count == 4096)
    }

    @Test func successiveDrawsDiffer() {
        #expect(SecureRandom.bytes(count: 32) != SecureRandom.bytes(count: 32))
    }

    @Test func tokenIsUnpaddedBase64URLOf32Bytes() {
        let token = SecureRandom.token()
        #expect(token.utf8.count == 43)
        #expect(Base64URL.decode(token)?.count == 32)
    }

    @Test func uuidV4HasVersionAndVariantBits() {
        let uuid = SecureRandom.uuid()
        #expect(isLowercaseUUID(uuid))
        let characters = Array(uuid)
        #expect(characters[14] == "4")
        #expect("89ab".contains(characters[19]))
    }

    @Test func tenThousandUUIDsAreDistinct() {
        let uuids = Set((0..<10_000).map { _ in SecureRandom.uuid() })
        #expect(uuids.count == 10_000)
        #expect(uuids.allSatisfy(isLowercaseUUID))
    }

    /// RFC 9562 Appendix A.6 timestamp: 0x017F22E279B0 ms is 2022-02-22T19:22:22Z.
    @Test func uuidV7StartsWithTheBigEndianTimestamp() {
        let uuid = SecureRandom.uuidV7(nowMs: 0x017F_22E2_79B0)
        #expect(isLowercaseUUID(uuid))
        #expect(uuid.hasPrefix("017f22e2-79b0-7"))
        #expect("89ab".contains(Array(uuid)[19]))
    }

    @Test func uuidV7SortsByTimeAcrossMilliseconds() {
        let ids = (0..<1000).map { SecureRandom.uuidV7(nowMs: 1_700_000_000_000 + Int64($0)) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
    }

    @Test func tenThousandUUIDv7sInOneMillisecondAreDistinct() {
        let ids = Set((0..<10_000).map { _ in SecureRandom.uuidV7(nowMs: 1_700_000_000_000) })
        #expect(ids.count == 10_000)
    }
}

/// 8-4-4-4-12 lowercase hex digits.
func isLowercaseUUID(_ text: String) -> Bool {
    let characters = Array(text)
    guard characters.count == 36 else { return false }
    for (index, character) in characters.enumerated() {
        if [8, 13, 18, 23].contains(index) {
            if character != "-" { return false }
        } else if !"0123456789abcdef".contains(character) {
            return false
        }
    }
    return true
}
