import HubTestSupport
import HubWire
import Testing

/// Payload sizes at every length-encoding and word boundary, plus random ones.
private let boundarySizes = [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 124, 125, 126, 127, 128, 65_535, 65_536, 65_537]

/// Messages with random kinds and sizes, encoded as a client would: masked with random keys,
/// split into random fragments with pings between them.
private struct Conversation {
    var wire: [UInt8] = []
    var expected: [WebSocketMessage] = []

    mutating func add(_ message: WebSocketMessage, fragments: Int, masked: Bool, using random: inout SeededRandom) {
        let (opcode, payload): (WebSocketOpcode, [UInt8])
        switch message {
        case .text(let bytes): (opcode, payload) = (.text, bytes)
        case .binary(let bytes): (opcode, payload) = (.binary, bytes)
        default: preconditionFailure("data messages only")
        }
        // Cut points anywhere, even inside a UTF-8 character: validity is a property of the message.
        var cuts = (0..<fragments - 1).map { _ in Int.random(in: 0...payload.count, using: &random) }.sorted()
        cuts = [0] + cuts + [payload.count]
        for index in 0..<fragments {
            let piece = Array(payload[cuts[index]..<cuts[index + 1]])
            let key: UInt32? = masked ? random.next(upperBound: UInt32.max) : nil
            WebSocketFrameEncoder.encodeFrame(
                opcode: index == 0 ? opcode : .continuation, payload: piece, fin: index == fragments - 1, maskKey: key,
                into: &wire)
            if index < fragments - 1 && Bool.random(using: &random) {
                let ping = random.bytes(Int.random(in: 0...125, using: &random))
                WebSocketFrameEncoder.encodePing(
                    ping, maskKey: masked ? random.next(upperBound: UInt32.max) : nil, into: &wire)
                expected.append(.ping(ping))
            }
        }
        expected.append(message)
    }
}

private func randomMessage(size: Int, using random: inout SeededRandom) -> WebSocketMessage {
    guard Bool.random(using: &random) else { return .binary(random.bytes(size)) }
    // Valid UTF-8 of exactly `size` bytes: multi-byte characters, padded with ASCII.
    var bytes: [UInt8] = []
    let characters = ["a", "é", "€", "😀"].map { Array($0.utf8) }
    while bytes.count < size {
        let character = characters.randomElement(using: &random)!  // not empty
        bytes += bytes.count + character.count <= size ? character : [0x7A]
    }
    return .text(bytes)
}

@Suite struct WebSocketRoundTripTests {
    @Test func maskedClientMessagesSurviveEncodeAndDecode() {
        var random = SeededRandom.fromEnvironment()
        for _ in 0..<20 {
            var conversation = Conversation()
            for _ in 0..<Int.random(in: 1...12, using: &random) {
                let size =
                    Bool.random(using: &random)
                    ? boundarySizes.randomElement(using: &random)!  // not empty
                    : Int.random(in: 0...300, using: &random)
                let fragments = Int.random(in: 1...min(6, WebSocketLimits.conformance.fragmentsMax), using: &random)
                conversation.add(
                    randomMessage(size: size, using: &random), fragments: fragments, masked: true, using: &random)
            }
            let chunks = ByteChunks.random(conversation.wire, chunkBytesMax: 4_000, using: &random)
            let outcome = decodeMessages(chunks, limits: .conformance)
            #expect(outcome == Outcome(outputs: conversation.expected), "\(random.replay)")
        }
    }

    /// Small messages in tiny reads: every split of header, key and payload, at every mask phase.
    @Test func smallMessagesSurviveTinyReads() {
        var random = SeededRandom.fromEnvironment()
        for _ in 0..<200 {
            var conversation = Conversation()
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let size = Int.random(in: 0...140, using: &random)
                let fragments = Int.random(in: 1...4, using: &random)
                conversation.add(
                    randomMessage(size: size, using: &random), fragments: fragments, masked: true, using: &random)
            }
            let chunks = ByteChunks.random(conversation.wire, chunkBytesMax: 5, using: &random)
            #expect(decodeMessages(chunks) == Outcome(outputs: conversation.expected), "\(random.replay)")
        }
    }

    @Test func unmaskedServerMessagesSurviveEncodeAndDecode() {
        var random = SeededRandom.fromEnvironment()
        for _ in 0..<50 {
            var conversation = Conversation()
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let size = boundarySizes.randomElement(using: &random)!  // not empty
                let fragments = Int.random(in: 1...3, using: &random)
                conversation.add(
                    randomMessage(size: size, using: &random), fragments: fragments, masked: false, using: &random)
            }
            let chunks = ByteChunks.random(conversation.wire, chunkBytesMax: 70_000, using: &random)
            let outcome = decodeMessages(chunks, limits: .conformance, expectMasked: false)
            #expect(outcome == Outcome(outputs: conversation.expected), "\(random.replay)")
        }
    }

    @Test(arguments: boundarySizes)
    func singleFrameOfBoundarySizeRoundTrips(_ size: Int) {
        var random = SeededRandom(seed: UInt64(size))  // a fixed payload per size
        let payload = random.bytes(size)
        let bytes = frame(.binary, payload, maskKey: 0xA1B2_C3D4)
        #expect(decodeMessages([bytes], limits: .conformance) == Outcome(outputs: [.binary(payload)]), "\(random.replay)")
        let cut = min(bytes.count, 3)
        #expect(
            decodeMessages(ByteChunks.split(bytes, at: cut), limits: .conformance)
                == Outcome(outputs: [.binary(payload)]), "\(random.replay)")
    }
}
