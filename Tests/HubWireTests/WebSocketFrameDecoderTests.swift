import HubTestSupport
import HubWire
import Testing

/// A wire example and the frames it decodes to.
struct FrameExample: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let frames: [WebSocketFrame]
    let masked: Bool

    var testDescription: String { name }
}

let hello = Array("Hello".utf8)

/// RFC 6455 §5.7, byte for byte, plus the 256-byte and 64 KiB examples with their payloads.
let rfcExamples: [FrameExample] = [
    FrameExample(
        name: "single-frame unmasked text", bytes: hex("81 05 48 65 6c 6c 6f"),
        frames: [WebSocketFrame(opcode: .text, payload: hello)], masked: false),
    FrameExample(
        name: "single-frame masked text", bytes: hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"),
        frames: [WebSocketFrame(opcode: .text, payload: hello)], masked: true),
    FrameExample(
        name: "fragmented unmasked text", bytes: hex("01 03 48 65 6c 80 02 6c 6f"),
        frames: [
            WebSocketFrame(fin: false, opcode: .text, payload: Array("Hel".utf8)),
            WebSocketFrame(opcode: .continuation, payload: Array("lo".utf8)),
        ], masked: false),
    FrameExample(
        name: "unmasked ping", bytes: hex("89 05 48 65 6c 6c 6f"),
        frames: [WebSocketFrame(opcode: .ping, payload: hello)], masked: false),
    FrameExample(
        name: "masked pong", bytes: hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"),
        frames: [WebSocketFrame(opcode: .pong, payload: hello)], masked: true),
    FrameExample(
        name: "256-byte unmasked binary", bytes: hex("82 7E 01 00") + (0..<256).map { UInt8($0) },
        frames: [WebSocketFrame(opcode: .binary, payload: (0..<256).map { UInt8($0) })], masked: false),
    FrameExample(
        name: "64 KiB unmasked binary",
        bytes: hex("82 7F 00 00 00 00 00 01 00 00") + (0..<65_536).map { UInt8(truncatingIfNeeded: $0 * 7) },
        frames: [WebSocketFrame(opcode: .binary, payload: (0..<65_536).map { UInt8(truncatingIfNeeded: $0 * 7) })],
        masked: false),
]

@Suite struct WebSocketFrameDecoderTests {
    @Test(arguments: rfcExamples)
    func rfcExampleDecodesWhole(_ example: FrameExample) {
        let outcome = decodeFrames([example.bytes], expectMasked: example.masked)
        #expect(outcome == Outcome(outputs: example.frames))
    }

    @Test(arguments: rfcExamples)
    func rfcExampleDecodesWhenSplitAtEveryByte(_ example: FrameExample) {
        // The 64 KiB example has 65,547 cut points: take those near the header and the end, and every 997th.
        let count = example.bytes.count
        let cuts = (0...count).filter { count < 300 || $0 < 24 || $0 > count - 24 || $0 % 997 == 0 }
        for cut in cuts {
            let chunks = ByteChunks.split(example.bytes, at: cut)
            #expect(
                decodeFrames(chunks, expectMasked: example.masked) == Outcome(outputs: example.frames), "cut \(cut)")
        }
        if example.bytes.count < 300 {
            #expect(
                decodeFrames(ByteChunks.bytewise(example.bytes), expectMasked: example.masked)
                    == Outcome(outputs: example.frames))
        }
    }

    @Test(arguments: rfcExamples)
    func rfcExampleDecodesInRandomChunks(_ example: FrameExample) {
        var random = SeededRandom.fromEnvironment()
        for _ in 0..<50 {
            let chunks = ByteChunks.random(example.bytes, chunkBytesMax: 17, using: &random)
            #expect(
                decodeFrames(chunks, expectMasked: example.masked) == Outcome(outputs: example.frames),
                "\(random.replay)")
        }
    }

    @Test func severalFramesInOneReadAllDecode() {
        let bytes =
            hex("81 85 37 fa 21 3d 7f 9f 4d 51 58") + hex("89 80 01 02 03 04") + hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58")
        let expected = [
            WebSocketFrame(opcode: .text, payload: hello),
            WebSocketFrame(opcode: .ping, payload: []),
            WebSocketFrame(opcode: .pong, payload: hello),
        ]
        #expect(decodeFrames([bytes]) == Outcome(outputs: expected))
    }

    /// RFC 6455 §5.2 asks senders for the shortest length form; receivers lose nothing by accepting longer ones.
    @Test func nonMinimalLengthEncodingsAreAccepted() {
        let in16 = hex("81 7e 00 05 48 65 6c 6c 6f")
        let in64 = hex("81 7f 00 00 00 00 00 00 00 05 48 65 6c 6c 6f")
        #expect(
            decodeFrames([in16], expectMasked: false)
                == Outcome(outputs: [WebSocketFrame(opcode: .text, payload: hello)]))
        #expect(
            decodeFrames([in64], expectMasked: false)
                == Outcome(outputs: [WebSocketFrame(opcode: .text, payload: hello)]))
    }

    @Test func pendingFrameShowsHeaderAndUnmaskedPrefix() throws {
        var decoder = WebSocketFrameDecoder(frameBytesMax: 1024)
        var consumed = 0
        let firstRead = hex("81 85 37 fa 21 3d 7f 9f")
        #expect(try decoder.decode(firstRead, consumed: &consumed) == nil)
        let pending = try #require(decoder.pendingFrame)
        #expect(
            pending.header.opcode == .text && pending.header.payloadLength == 5 && pending.header.maskKey == rfcMaskKey)
        #expect(pending.payloadPrefix == Array("He".utf8))
        consumed = 0
        #expect(
            try decoder.decode(hex("4d 51 58"), consumed: &consumed) == WebSocketFrame(opcode: .text, payload: hello))
        #expect(decoder.pendingFrame == nil)
    }

    // MARK: One rejection per MUST (RFC 6455 §5), each closing with 1002.

    @Test func unmaskedClientFrameIsRejected() {
        let outcome = decodeFrames([hex("81 05 48 65 6c 6c 6f")], expectMasked: true)
        #expect(outcome.error == .protocolViolation(.unmaskedFrame))
        #expect(outcome.error?.closeCode == 1002)
    }

    @Test func maskedServerFrameIsRejectedByAClient() {
        let outcome = decodeFrames([hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")], expectMasked: false)
        #expect(outcome.error == .protocolViolation(.maskedFrame))
    }

    @Test(arguments: [UInt8(0x40), 0x20, 0x10, 0x70])
    func reservedBitIsRejected(_ bits: UInt8) {
        let outcome = decodeFrames([[0x81 | bits] + hex("85 37 fa 21 3d 7f 9f 4d 51 58")])
        #expect(outcome.error == .protocolViolation(.reservedBitsSet(bits >> 4)))
        #expect(outcome.error?.closeCode == 1002)
    }

    @Test(arguments: [UInt8(3), 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
    func reservedOpcodeIsRejected(_ opcode: UInt8) {
        let outcome = decodeFrames([[0x80 | opcode] + hex("80 37 fa 21 3d")])
        #expect(outcome.error == .protocolViolation(.reservedOpcode(opcode)))
        #expect(outcome.error?.closeCode == 1002)
    }

    @Test(arguments: [WebSocketOpcode.close, .ping, .pong])
    func controlFrameOver125BytesIsRejected(_ opcode: WebSocketOpcode) {
        let outcome = decodeFrames([
            [0x80 | opcode.rawValue, 0xFE, 0x00, 0x7E] + hex("37 fa 21 3d") + Array(repeating: 0, count: 126)
        ])
        #expect(outcome.error == .protocolViolation(.controlFrameTooLong))
        #expect(outcome.error?.closeCode == 1002)
    }

    @Test func controlFrameOf125BytesIsAccepted() {
        let payload = [UInt8](repeating: 0x61, count: 125)
        #expect(
            decodeFrames([frame(.ping, payload)]) == Outcome(outputs: [WebSocketFrame(opcode: .ping, payload: payload)])
        )
    }

    @Test(arguments: [WebSocketOpcode.close, .ping, .pong])
    func fragmentedControlFrameIsRejected(_ opcode: WebSocketOpcode) {
        let outcome = decodeFrames([[opcode.rawValue] + hex("80 37 fa 21 3d")])
        #expect(outcome.error == .protocolViolation(.fragmentedControlFrame))
        #expect(outcome.error?.closeCode == 1002)
    }

    @Test func sixtyFourBitLengthWithHighBitIsRejected() {
        let outcome = decodeFrames(
            [hex("82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d")], frameBytesMax: WebSocketLimits.bytesCeiling)
        #expect(outcome.error == .protocolViolation(.lengthHighBitSet))
        #expect(outcome.error?.closeCode == 1002)
    }

    /// Each rule fails on the byte that carries it, not later: one byte per read, the throw
    /// comes from the read of that byte.
    @Test func headerRulesFailOnTheByteCarryingThem() {
        #expect(failingByteIndex(hex("c1 85 37 fa 21 3d")) == 0)  // RSV1
        #expect(failingByteIndex(hex("83 85 37 fa 21 3d")) == 0)  // opcode 3
        #expect(failingByteIndex(hex("09 80 37 fa 21 3d")) == 0)  // ping without FIN
        #expect(failingByteIndex(hex("81 05 48 65 6c 6c 6f")) == 1)  // no mask bit
        #expect(failingByteIndex(hex("89 fe 00 7e")) == 1)  // ping with a 16-bit length
        #expect(failingByteIndex(hex("82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d")) == 9)  // MSB, last length byte
        // 65,537 bytes, over the hub's frameBytesMax: refused at the last length byte, no payload read.
        #expect(failingByteIndex(hex("82 ff 00 00 00 00 00 01 00 01 37 fa 21 3d")) == 9)
    }

    @Test func decoderStaysFailedAfterAnError() {
        var decoder = WebSocketFrameDecoder(frameBytesMax: 1024)
        var consumed = 0
        #expect(throws: WebSocketError.protocolViolation(.unmaskedFrame)) {
            try decoder.decode(hex("81 05 48 65 6c 6c 6f"), consumed: &consumed)
        }
        consumed = 0
        #expect(throws: WebSocketError.protocolViolation(.unmaskedFrame)) {
            try decoder.decode(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), consumed: &consumed)
        }
    }

    @Test func emptyPayloadsDecodeWithoutPayloadBytes() {
        let bytes = hex("81 80 37 fa 21 3d") + hex("88 80 00 00 00 00")
        #expect(
            decodeFrames([bytes])
                == Outcome(outputs: [
                    WebSocketFrame(opcode: .text, payload: []), WebSocketFrame(opcode: .close, payload: []),
                ]))
    }
}
