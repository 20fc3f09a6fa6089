import HubTestSupport
import HubWire
import Testing

/// Small limits so boundaries are cheap to reach: 200-byte frames, 500-byte messages, 4 fragments.
private let small = WebSocketLimits(frameBytesMax: 200, messageBytesMax: 500, fragmentsMax: 4)

/// The header of a masked frame, without its payload.
private func header(_ opcode: WebSocketOpcode, payloadCount: Int, fin: Bool = true) -> [UInt8] {
    let full = frame(opcode, Array(repeating: 0x61, count: payloadCount), fin: fin)
    return Array(full.prefix(WebSocketFrameEncoder.headerLength(payloadCount: payloadCount, masked: true)))
}

@Suite struct WebSocketLimitsTests {
    @Test func presetsMatchTheirDocumentation() {
        #expect(
            WebSocketLimits.hub == WebSocketLimits(frameBytesMax: 65_536, messageBytesMax: 65_536, fragmentsMax: 128))
        #expect(
            WebSocketLimits.conformance
                == WebSocketLimits(frameBytesMax: 16_777_216, messageBytesMax: 16_777_216, fragmentsMax: 65_537))
    }

    @Test func frameOfExactlyFrameBytesMaxPasses() {
        let payload = [UInt8](repeating: 0x61, count: 200)
        #expect(decodeMessages([frame(.binary, payload)], limits: small) == Outcome(outputs: [.binary(payload)]))
    }

    /// The header alone is refused: no payload byte is needed, none is buffered.
    @Test func frameOfFrameBytesMaxPlusOneFailsFromItsHeader() {
        let outcome = decodeMessages([header(.binary, payloadCount: 201)], limits: small)
        #expect(outcome.error == .frameTooBig(length: 201, frameBytesMax: 200))
        #expect(outcome.error?.closeCode == 1009)
    }

    @Test func hubFrameBoundary() {
        let payload = [UInt8](repeating: 0x61, count: 65_536)
        #expect(decodeMessages([frame(.binary, payload)]) == Outcome(outputs: [.binary(payload)]))
        let outcome = decodeMessages([header(.binary, payloadCount: 65_537)])
        #expect(outcome.error == .frameTooBig(length: 65_537, frameBytesMax: 65_536))
    }

    @Test func messageOfExactlyMessageBytesMaxPasses() {
        let bytes =
            frame(.text, Array(repeating: 0x61, count: 200), fin: false)
            + frame(.continuation, Array(repeating: 0x61, count: 200), fin: false)
            + frame(.continuation, Array(repeating: 0x61, count: 100))
        #expect(decodeMessages([bytes], limits: small) == Outcome(outputs: [.text(Array(repeating: 0x61, count: 500))]))
    }

    @Test func messageOfMessageBytesMaxPlusOneFailsFromTheCrossingHeader() {
        let bytes =
            frame(.text, Array(repeating: 0x61, count: 200), fin: false)
            + frame(.continuation, Array(repeating: 0x61, count: 200), fin: false)
            + header(.continuation, payloadCount: 101)
        let outcome = decodeMessages([bytes], limits: small)
        #expect(outcome.error == .messageTooBig(messageBytesMax: 500))
        #expect(outcome.error?.closeCode == 1009)
    }

    @Test func singleFrameOverMessageBytesMaxFailsFromItsHeader() {
        let limits = WebSocketLimits(frameBytesMax: 1000, messageBytesMax: 500, fragmentsMax: 4)
        #expect(
            decodeMessages([header(.binary, payloadCount: 500) + Array(repeating: 0, count: 500)], limits: limits).error
                == nil)
        #expect(
            decodeMessages([header(.binary, payloadCount: 501)], limits: limits).error
                == .messageTooBig(messageBytesMax: 500))
    }

    @Test func messageInExactlyFragmentsMaxFramesPasses() {
        let bytes =
            frame(.binary, [1], fin: false) + frame(.continuation, [2], fin: false)
            + frame(.continuation, [3], fin: false) + frame(.continuation, [4])
        #expect(decodeMessages([bytes], limits: small) == Outcome(outputs: [.binary([1, 2, 3, 4])]))
    }

    /// Too many fragments is a policy close (1008): the message is not too big, its framing is too costly.
    @Test func messageInFragmentsMaxPlusOneFramesFailsFromTheExtraHeader() {
        let bytes =
            frame(.binary, [1], fin: false) + frame(.continuation, [2], fin: false)
            + frame(.continuation, [3], fin: false) + frame(.continuation, [4], fin: false)
            + header(.continuation, payloadCount: 1)
        let outcome = decodeMessages([bytes], limits: small)
        #expect(outcome.error == .tooManyFragments(fragmentsMax: 4))
        #expect(outcome.error?.closeCode == 1008)
    }

    /// Autobahn 9.3.1 and 9.4.1 (4 MiB in 64-byte fragments) arrive as 65,536 full frames and an
    /// empty final one; the conformance preset takes exactly that, and one frame more fails.
    @Test func conformanceTakesAutobahnsMostFragmentedMessage() {
        let piece = [UInt8](repeating: 0x2A, count: 64)
        var bytes = frame(.binary, piece, fin: false)
        for _ in 1..<65_536 { bytes += frame(.continuation, piece, fin: false) }
        let last = frame(.continuation, [])
        let passing = decodeMessages([bytes + last], limits: .conformance)
        #expect(passing.error == nil)
        #expect(passing.outputs == [.binary(Array(repeating: 0x2A, count: 4 << 20))])
        let failing = decodeMessages([bytes + frame(.continuation, [], fin: false) + last], limits: .conformance)
        #expect(failing.error == .tooManyFragments(fragmentsMax: 65_537))
    }

    @Test func controlFramesDoNotCountTowardsMessageLimits() {
        let bytes =
            frame(.binary, Array(repeating: 0, count: 200), fin: false)
            + frame(.ping, Array(repeating: 0, count: 125)) + frame(.ping, []) + frame(.ping, []) + frame(.ping, [])
            + frame(.continuation, Array(repeating: 0, count: 200), fin: false)
            + frame(.continuation, Array(repeating: 0, count: 100))
        let outcome = decodeMessages([bytes], limits: small)
        #expect(outcome.error == nil)
        #expect(outcome.outputs.count == 5)
    }

    @Test func errorsMapToTheirCloseCodesInOnePlace() {
        #expect(WebSocketError.protocolViolation(.unmaskedFrame).closeCode == 1002)
        #expect(WebSocketError.invalidUTF8.closeCode == 1007)
        #expect(WebSocketError.frameTooBig(length: 1, frameBytesMax: 0).closeCode == 1009)
        #expect(WebSocketError.messageTooBig(messageBytesMax: 0).closeCode == 1009)
        #expect(WebSocketError.tooManyFragments(fragmentsMax: 0).closeCode == 1008)
        for error in [
            WebSocketError.protocolViolation(.invalidCloseCode(5000)),
            .frameTooBig(length: UInt64.max >> 1, frameBytesMax: 1 << 30),
        ] {
            #expect(error.description.utf8.count <= 123, "close reasons must fit a control frame")
        }
    }
}
