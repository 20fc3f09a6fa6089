import HubTestSupport
import HubWire
import Testing

@Suite struct WebSocketMessageDecoderTests {
    @Test func decodesFragmentedMessageWithAnInterleavedPing() {
        let bytes =
            frame(.text, Array("Hel".utf8), fin: false) + frame(.ping, [7]) + frame(.continuation, Array("lo".utf8))
        let expected = Outcome<WebSocketMessage>(outputs: [.ping([7]), .text(hello)])
        #expect(decodeMessages([bytes]) == expected)
        for cut in 0...bytes.count {
            #expect(decodeMessages(ByteChunks.split(bytes, at: cut)) == expected, "cut \(cut)")
        }
        #expect(decodeMessages(ByteChunks.bytewise(bytes)) == expected)
    }

    @Test func clientDecodesUnmaskedServerFrames() {
        var bytes: [UInt8] = []
        WebSocketFrameEncoder.encodeText("Hello", into: &bytes)
        WebSocketFrameEncoder.encodeClose(code: 1001, reason: "restart", into: &bytes)
        let outcome = decodeMessages(ByteChunks.bytewise(bytes), expectMasked: false)
        #expect(outcome == Outcome(outputs: [.text(hello), .close(code: 1001, reason: "restart")]))
    }

    @Test func decodeReturnsOneMessageAtATimeAndKeepsTheRest() throws {
        var decoder = WebSocketMessageDecoder(limits: .hub)
        let bytes = frame(.text, hello) + frame(.binary, [1, 2]) + Array(frame(.text, hello).prefix(4))
        var consumed = 0
        #expect(try decoder.decode(bytes, consumed: &consumed) == .text(hello))
        #expect(consumed == 11)
        #expect(try decoder.decode(bytes, consumed: &consumed) == .binary([1, 2]))
        #expect(try decoder.decode(bytes, consumed: &consumed) == nil)
        #expect(consumed == bytes.count)
        #expect(try decoder.decodeAll(Array(frame(.text, hello).dropFirst(4))) == [.text(hello)])
    }

    /// A decoder is at rest (holds nothing a new one would not) only on a message boundary: a
    /// connection drops it there and keeps none while idle.
    @Test func isAtRestOnlyBetweenMessages() throws {
        var decoder = WebSocketMessageDecoder(limits: .hub)
        #expect(decoder.isAtRest)
        let whole = frame(.text, hello)
        _ = try decoder.decodeAll(Array(whole.prefix(1)))
        #expect(!decoder.isAtRest, "half a header")
        _ = try decoder.decodeAll(Array(whole[1..<8]))
        #expect(!decoder.isAtRest, "inside the payload")
        #expect(try decoder.decodeAll(Array(whole.dropFirst(8))) == [.text(hello)])
        #expect(decoder.isAtRest)
        _ = try decoder.decodeAll(frame(.text, Array("Hel".utf8), fin: false))
        #expect(!decoder.isAtRest, "between the fragments of a message")
        #expect(try decoder.decodeAll(frame(.continuation, Array("lo".utf8))) == [.text(hello)])
        #expect(decoder.isAtRest)
        #expect(throws: WebSocketError.self) { try decoder.decodeAll([0x8F, 0x80, 0, 0, 0, 0]) }  // opcode 0xF is reserved
        #expect(!decoder.isAtRest, "a failed decoder keeps failing")
    }

    /// Autobahn 6.4.3/6.4.4: invalid text inside one frame, sent in chops, fails on the chop that
    /// carries the bad byte, before the rest of the frame arrives.
    @Test func invalidTextFailsOnTheByteThatBreaksIt() {
        let valid = hex("ce ba e1 bd b9 cf 83 ce bc ce b5")
        let payload = valid + hex("f4 90 80 80") + Array("edited".utf8)
        let bytes = frame(.text, payload)
        let headerLength = 2 + 4
        // F4 may start a character; 90 may not follow it.
        #expect(failingByteIndex(bytes) == headerLength + valid.count + 1)
    }

    @Test func invalidTextInAContinuationFailsOnItsByte() {
        let first = frame(.text, Array("Hel".utf8), fin: false)
        let bytes = first + frame(.continuation, [0x6C, 0xC0, 0x6F])
        #expect(failingByteIndex(bytes) == first.count + 6 + 1)
    }

    /// Message-order rules are checked once the frame's header is complete (its last byte is the
    /// masking key's), before any payload byte.
    @Test func continuationWithoutStartFailsOnItsHeader() {
        #expect(failingByteIndex(frame(.continuation, Array(repeating: 0, count: 100))) == 5)
    }

    @Test func newStartInsideAMessageFailsOnItsHeader() {
        let first = frame(.binary, [1], fin: false)
        #expect(failingByteIndex(first + frame(.text, hello)) == first.count + 5)
    }

    @Test func readsAfterAnErrorRethrowIt() {
        var decoder = WebSocketMessageDecoder(limits: .hub)
        #expect(throws: WebSocketError.invalidUTF8) { try decoder.decodeAll(frame(.text, [0xFF])) }
        #expect(throws: WebSocketError.invalidUTF8) { try decoder.decodeAll(frame(.text, hello)) }
    }

    @Test func emptyReadsAreHarmless() {
        let bytes = frame(.text, hello)
        let chunks: [[UInt8]] = [[], Array(bytes.prefix(3)), [], [], Array(bytes.dropFirst(3)), []]
        #expect(decodeMessages(chunks) == Outcome(outputs: [.text(hello)]))
    }
}
