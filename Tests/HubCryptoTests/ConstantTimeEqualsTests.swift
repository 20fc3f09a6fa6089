import HubCrypto
import Testing

struct ConstantTimeEqualsTests {
    @Test func equalBytesAreEqual() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
    }

    @Test func emptyArraysAreEqual() {
        #expect(constantTimeEquals([], []))
    }

    @Test func differenceInAnyPositionIsDetected() {
        let base = [UInt8](repeating: 7, count: 32)
        for index in base.indices {
            var other = base
            other[index] ^= 0x01
            #expect(!constantTimeEquals(base, other), "bit flip at \(index)")
        }
    }

    @Test func lengthMismatchIsUnequalEvenWhenOneIsAPrefix() {
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(!constantTimeEquals([], [0]))
        #expect(!constantTimeEquals([0], []))
    }
}
