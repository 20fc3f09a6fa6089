import HubTestSupport
import HubWire
import Testing

/// `lend`: a payload that arrives whole uses the lent storage; anything else behaves as without.
@Suite struct WebSocketDecoderLendingTests {
    @Test func payloadArrivingWholeUsesTheLentStorage() throws {
        var decoder = WebSocketMessageDecoder(limits: .hub)
        var lent: [UInt8] = Array(repeating: 0xEE, count: 7)  // stale contents are discarded
        lent.reserveCapacity(64)
        decoder.lend(lent)
        lent = []  // the owner gives the storage up
        #expect(decoder.holdsLent)
        var consumed = 0
        let message = try decoder.decode(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), consumed: &consumed)
        #expect(message == .text(Array("Hello".utf8)))
        guard case .text(let bytes) = message else { return }
        #expect(bytes.capacity >= 64, "the payload is the lent array, not a new exact-size one")
        #expect(!decoder.holdsLent)
        #expect(decoder.reclaimLent() == nil)
    }

    @Test func tooSmallALoanIsKeptAndReclaimedUnused() throws {
        var decoder = WebSocketMessageDecoder(limits: .hub)
        var small: [UInt8] = []
        small.reserveCapacity(2)
        decoder.lend(small)
        var consumed = 0
        let payload = Array(repeating: UInt8(ascii: "a"), count: 300)
        #expect(try decoder.decode(frame(.text, payload), consumed: &consumed) == .text(payload))
        let reclaimed = decoder.reclaimLent()
        #expect(reclaimed != nil && reclaimed!.capacity < 300)
        #expect(!decoder.holdsLent)
    }

    /// A loan whose storage the owner still shares: the owner's copy stays intact.
    @Test func sharedStorageIsCopiedNotOverwritten() throws {
        var decoder = WebSocketMessageDecoder(limits: .hub)
        var kept: [UInt8] = Array("keep me".utf8)
        kept.reserveCapacity(64)
        decoder.lend(kept)
        var consumed = 0
        let message = try decoder.decode(frame(.binary, [1, 2, 3]), consumed: &consumed)
        #expect(message == .binary([1, 2, 3]))
        #expect(kept == Array("keep me".utf8))
    }

    /// Lending changes nothing about split frames: every split of every frame decodes the same.
    @Test func splitFramesDecodeTheSameWithALoan() throws {
        let bytes = frame(.text, Array("€ and more text".utf8)) + frame(.ping, [9]) + frame(.binary, [1, 2])
        let expected = decodeMessages([bytes]).outputs
        for cut in 0...bytes.count {
            var decoder = WebSocketMessageDecoder(limits: .hub)
            var outputs: [WebSocketMessage] = []
            for chunk in ByteChunks.split(bytes, at: cut) {
                var loan: [UInt8] = []
                loan.reserveCapacity(32)
                decoder.lend(loan)
                var consumed = 0
                while let message = try decoder.decode(chunk, consumed: &consumed) { outputs.append(message) }
                _ = decoder.reclaimLent()
            }
            #expect(outputs == expected, "split at \(cut)")
        }
    }
}
