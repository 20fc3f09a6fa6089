import HubTestSupport
import HubWire
import Testing

/// Pushes frames into a fresh assembler; returns the messages and the first error.
private func assemble(_ frames: [WebSocketFrame], limits: WebSocketLimits = .hub) -> Outcome<WebSocketMessage> {
    var assembler = WebSocketMessageAssembler(limits: limits)
    var outcome = Outcome<WebSocketMessage>()
    for frame in frames {
        do throws(WebSocketError) {
            if let message = try assembler.push(frame) { outcome.outputs.append(message) }
        } catch {
            outcome.error = error
            return outcome
        }
    }
    return outcome
}

private func text(_ bytes: [UInt8], fin: Bool = true) -> WebSocketFrame {
    WebSocketFrame(fin: fin, opcode: .text, payload: bytes)
}

private func binary(_ bytes: [UInt8], fin: Bool = true) -> WebSocketFrame {
    WebSocketFrame(fin: fin, opcode: .binary, payload: bytes)
}

private func continuation(_ bytes: [UInt8], fin: Bool = true) -> WebSocketFrame {
    WebSocketFrame(fin: fin, opcode: .continuation, payload: bytes)
}

private func close(_ body: [UInt8]) -> WebSocketFrame {
    WebSocketFrame(opcode: .close, payload: body)
}

@Suite struct WebSocketMessageAssemblerTests {
    @Test func singleFrameMessagesPassThrough() {
        #expect(assemble([text(hello), binary([1, 2, 3])]) == Outcome(outputs: [.text(hello), .binary([1, 2, 3])]))
    }

    @Test func fragmentsJoinIntoOneMessage() {
        let outcome = assemble([
            text(Array("Hel".utf8), fin: false), continuation([], fin: false), continuation(Array("lo".utf8)),
        ])
        #expect(outcome == Outcome(outputs: [.text(hello)]))
        #expect(outcome.outputs.first?.text == "Hello")
    }

    /// RFC 6455 §5.4: "Control frames MAY be injected in the middle of a fragmented message."
    @Test func controlFramesBetweenFragmentsAreReturnedAtOnce() {
        let frames = [
            binary([1], fin: false),
            WebSocketFrame(opcode: .ping, payload: [9]),
            continuation([2], fin: false),
            WebSocketFrame(opcode: .pong, payload: []),
            continuation([3]),
        ]
        #expect(assemble(frames) == Outcome(outputs: [.ping([9]), .pong([]), .binary([1, 2, 3])]))
    }

    @Test func continuationWithoutStartIsRejected() {
        let outcome = assemble([continuation(hello)])
        #expect(outcome.error == .protocolViolation(.continuationWithoutStart))
        #expect(outcome.error?.closeCode == 1002)
        #expect(assemble([text(hello), continuation(hello)]).error == .protocolViolation(.continuationWithoutStart))
    }

    @Test(arguments: [WebSocketOpcode.text, .binary])
    func newMessageInsideAFragmentedOneIsRejected(_ opcode: WebSocketOpcode) {
        let outcome = assemble([text(Array("Hel".utf8), fin: false), WebSocketFrame(opcode: opcode, payload: [])])
        #expect(outcome.error == .protocolViolation(.messageStartInsideMessage))
        #expect(outcome.error?.closeCode == 1002)
    }

    // MARK: UTF-8 (RFC 6455 §8.1), close 1007

    @Test func invalidTextInASingleFrameIsRejected() {
        let outcome = assemble([text(hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64"))])
        #expect(outcome.error == .invalidUTF8)
        #expect(outcome.error?.closeCode == 1007)
    }

    /// Autobahn 6.4.1: the fragment carrying the bad byte fails; the message is not awaited.
    @Test func invalidTextFailsOnItsFragmentBeforeTheMessageEnds() {
        let outcome = assemble([
            text(hex("ce ba e1 bd b9 cf 83 ce bc ce b5"), fin: false),
            continuation(hex("f4 90 80 80"), fin: false),
        ])
        #expect(outcome == Outcome(error: .invalidUTF8))
    }

    @Test func characterSplitAcrossFragmentsIsValid() {
        let outcome = assemble([text([0xE2], fin: false), continuation([0x82], fin: false), continuation([0xAC])])
        #expect(outcome == Outcome(outputs: [.text(Array("€".utf8))]))
    }

    @Test func invalidSequenceAcrossAFragmentBoundaryIsRejected() {
        #expect(assemble([text([0xE2], fin: false), continuation([0x41])]).error == .invalidUTF8)
        #expect(assemble([text([0xED], fin: false), continuation([0xA0, 0x80])]).error == .invalidUTF8)
    }

    @Test func textEndingInsideACharacterIsRejected() {
        #expect(assemble([text([0x41, 0xE2, 0x82])]).error == .invalidUTF8)
        #expect(assemble([text([0xE2], fin: false), continuation([0x82])]).error == .invalidUTF8)
    }

    @Test func binaryIsNotValidated() {
        #expect(assemble([binary([0xFF, 0xC0])]) == Outcome(outputs: [.binary([0xFF, 0xC0])]))
    }

    /// A text message after a failed-free one starts with a fresh validator.
    @Test func validationRestartsForEachMessage() {
        let outcome = assemble([text(hex("e2 82 ac")), text(hex("41")), binary([0xE2]), text(hex("42"))])
        #expect(outcome == Outcome(outputs: [.text(hex("e2 82 ac")), .text([0x41]), .binary([0xE2]), .text([0x42])]))
    }

    // MARK: Close frames (RFC 6455 §5.5.1, §7.4)

    @Test func emptyCloseHasNoCode() {
        #expect(assemble([close([])]) == Outcome(outputs: [.close(code: nil, reason: "")]))
    }

    @Test func closeWithOneByteIsRejected() {
        let outcome = assemble([close([0x03])])
        #expect(outcome.error == .protocolViolation(.closePayloadTooShort))
        #expect(outcome.error?.closeCode == 1002)
    }

    @Test(arguments: [UInt16(1000), 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999])
    func validCloseCodeIsAccepted(_ code: UInt16) {
        #expect(
            assemble([close(codeBytes(code) + Array("bye".utf8))])
                == Outcome(outputs: [.close(code: code, reason: "bye")]))
        #expect(WebSocketCloseCode.isValidOnWire(code))
    }

    @Test(arguments: [
        UInt16(0), 1, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65_535,
    ])
    func invalidCloseCodeIsRejected(_ code: UInt16) {
        let outcome = assemble([close(codeBytes(code))])
        #expect(outcome.error == .protocolViolation(.invalidCloseCode(code)))
        #expect(outcome.error?.closeCode == 1002)
        #expect(!WebSocketCloseCode.isValidOnWire(code))
    }

    @Test func closeReasonWithInvalidUTF8IsRejected() {
        let outcome = assemble([
            close(codeBytes(1000) + hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64"))
        ])
        #expect(outcome.error == .invalidUTF8)
        #expect(outcome.error?.closeCode == 1007)
        #expect(assemble([close(codeBytes(1000) + [0xE2, 0x82])]).error == .invalidUTF8)
    }

    /// A close may arrive inside a fragmented message; checking its reason must not disturb the
    /// message's own UTF-8 state.
    @Test func closeInsideATextMessageKeepsItsValidatorApart() {
        let outcome = assemble([
            text([0xE2], fin: false), close(codeBytes(1000) + Array("ok".utf8)), continuation([0x82, 0xAC]),
        ])
        #expect(outcome == Outcome(outputs: [.close(code: 1000, reason: "ok"), .text(Array("€".utf8))]))
    }

    @Test func assemblerStaysFailedAfterAnError() {
        var assembler = WebSocketMessageAssembler(limits: .hub)
        #expect(throws: WebSocketError.protocolViolation(.continuationWithoutStart)) {
            try assembler.push(continuation([]))
        }
        #expect(throws: WebSocketError.protocolViolation(.continuationWithoutStart)) { try assembler.push(text(hello)) }
    }
}
