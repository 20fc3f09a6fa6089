import Foundation
@testable import HubCrypto
import Synchronization
import Testing

struct PasswordHasherTests {
    let hasher = PasswordHasher(cost: .test)

    @Test func hashThenVerifyRoundTrips() throws {
        let encoded = try hasher.hash("correct horse battery staple")
        #expect(hasher.verify("correct horse battery staple", against: encoded))
    }

    @Test func wrongPasswordDoesNotVerify() throws {
        let encoded = try hasher.hash("correct horse battery staple")
        #expect(!hasher.verify("correct horse battery stapler", against: encoded))
        #expect(!hasher.verify("", against: encoded))
    }

    @Test func encodingCarriesParametersAndLengths() throws {
        let encoded = try hasher.hash("pw")
        let fields = encoded.split(separator: "$", omittingEmptySubsequences: false)
        #expect(fields.count == 5)
        #expect(fields[1] == "scrypt")
        #expect(fields[2] == "ln=10,r=8,p=1")
        #expect(fields[3].count == 22)  // 16 bytes, unpadded base64
        #expect(fields[4].count == 43)  // 32 bytes
    }

    @Test func twoHashesOfOnePasswordDifferBySalt() throws {
        let first = try hasher.hash("same")
        let second = try hasher.hash("same")
        #expect(first != second)
        #expect(hasher.verify("same", against: first) && hasher.verify("same", against: second))
    }

    /// Made with Python's hashlib.scrypt (salt 00 01 … 0f): the format is the PHC/passlib one.
    @Test func verifiesAHashMadeByAnotherImplementation() {
        let encoded = "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$DXBGFk5ctjv6hJ1qqn6/vDJxvAFTl2yR3xWBXu/gyII"
        #expect(hasher.verify("hunter2", against: encoded))
        #expect(!hasher.verify("hunter3", against: encoded))
    }

    /// Verification uses the parameters stored in the string, not the hasher's current cost.
    @Test func verifiesHashesMadeUnderAnotherCost() throws {
        let old = try PasswordHasher(cost: PasswordHasher.Cost(logN: 8, blockSize: 8, parallelism: 2)).hash("pw")
        #expect(hasher.verify("pw", against: old))
    }

    @Test(arguments: [
        "",
        "$scrypt$",
        "scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$DXBGFk5ctjv6hJ1qqn6/vDJxvAFTl2yR3xWBXu/gyII",
        "$bcrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$DXBGFk5ctjv6hJ1qqn6/vDJxvAFTl2yR3xWBXu/gyII",
        "$scrypt$r=8,ln=10,p=1$AAECAwQFBgcICQoLDA0ODw$DXBGFk5ctjv6hJ1qqn6/vDJxvAFTl2yR3xWBXu/gyII",
        "$scrypt$ln=010,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$DXBGFk5ctjv6hJ1qqn6/vDJxvAFTl2yR3xWBXu/gyII",
        "$scrypt$ln=+10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$DXBGFk5ctjv6hJ1qqn6/vDJxvAFTl2yR3xWBXu/gyII",
        "$scrypt$ln=10,r=8$AAECAwQFBgcICQoLDA0ODw$DXBGFk5ctjv6hJ1qqn6/vDJxvAFTl2yR3xWBXu/gyII",
        "$scrypt$ln=40,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$DXBGFk5ctjv6hJ1qqn6/vDJxvAFTl2yR3xWBXu/gyII",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw==$DXBGFk5ctjv6hJ1qqn6/vDJxvAFTl2yR3xWBXu/gyII",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$DXBGFk5ctjv6hJ1qqn6_vDJxvAFTl2yR3xWBXu_gyII",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgc$DXBGFk5ctjv6hJ1qqn6/vDJxvAFTl2yR3xWBXu/gyII",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$DXBGFk5c",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$DXBGFk5ctjv6hJ1qqn6/vDJxvAFTl2yR3xWBXu/gyII$",
        "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$DXBGFk5ctjv6hJ1qqn6/vDJxvAFTl2yR3xWBXu/gyII "
            + String(repeating: "A", count: 300),
    ])
    func malformedEncodingsDoNotVerify(encoded: String) {
        #expect(!hasher.verify("hunter2", against: encoded))
        #expect(hasher.needsRehash(encoded))
    }

    @Test func needsRehashWhenStoredParametersAreLower() throws {
        let weak = try PasswordHasher(cost: PasswordHasher.Cost(logN: 8, blockSize: 8, parallelism: 1)).hash("pw")
        #expect(hasher.needsRehash(weak))
        #expect(PasswordHasher(cost: .standard).needsRehash(try hasher.hash("pw")))
    }

    @Test func noRehashWhenStoredParametersAreCurrent() throws {
        #expect(!hasher.needsRehash(try hasher.hash("pw")))
    }

    /// Lowering the cost is a decision too: stored hashes converge on whatever is configured.
    @Test func needsRehashWhenStoredParametersAreHigher() throws {
        let strong = try PasswordHasher(cost: PasswordHasher.Cost(logN: 11, blockSize: 8, parallelism: 1)).hash("pw")
        #expect(hasher.needsRehash(strong))
    }

    /// NFKC: the "ﬁ" ligature matches "fi", and precomposed "é" matches "e" + combining acute.
    @Test func equivalentUnicodeSpellingsVerify() throws {
        #expect(hasher.verify("ﬁle", against: try hasher.hash("file")))
        #expect(hasher.verify("caf\u{E9}", against: try hasher.hash("cafe\u{301}")))
        #expect(!hasher.verify("cafe", against: try hasher.hash("caf\u{E9}")))
    }

    @Test func passwordsWithNULAndLongPasswordsWork() throws {
        let withNUL = "a\u{0}b"
        #expect(hasher.verify(withNUL, against: try hasher.hash(withNUL)))
        #expect(!hasher.verify("a", against: try hasher.hash(withNUL)))
        let long = String(repeating: "x", count: 10_000)
        #expect(hasher.verify(long, against: try hasher.hash(long)))
    }

    /// The server hashes on libuv's threadpool: concurrent calls must not interfere.
    @Test func concurrentHashAndVerifyAgree() {
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            let password = "password-\(index)"
            guard let encoded = try? hasher.hash(password),
                hasher.verify(password, against: encoded),
                !hasher.verify(password + "x", against: encoded)
            else {
                failures.add(1, ordering: .relaxed)
                return
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }

    @Test func encodingRoundTripsThroughTheParser() throws {
        let encoded = try hasher.hash("pw")
        #expect(EncodedPasswordHash(encoded)?.description == encoded)
    }
}
