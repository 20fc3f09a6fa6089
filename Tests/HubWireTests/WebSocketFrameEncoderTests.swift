import HubTestSupport
import HubWire
import Testing

@Suite struct WebSocketFrameEncoderTests {
    /// RFC 6455 §5.7, byte for byte.
    @Test func encodesTheRFCExamples() {
        #expect(frame(.text, hello, maskKey: nil) == hex("81 05 48 65 6c 6c 6f"))
        #expect(frame(.text, hello) == hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
        #expect(frame(.text, Array("Hel".utf8), fin: false, maskKey: nil) == hex("01 03 48 65 6c"))
        #expect(frame(.continuation, Array("lo".utf8), maskKey: nil) == hex("80 02 6c 6f"))
        #expect(frame(.ping, hello, maskKey: nil) == hex("89 05 48 65 6c 6c 6f"))
        #expect(frame(.pong, hello) == hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"))
        #expect(frame(.binary, Array(repeating: 0, count: 256), maskKey: nil).prefix(4) == hex("82 7E 01 00")[...])
        #expect(
            frame(.binary, Array(repeating: 0, count: 65_536), maskKey: nil).prefix(10)
                == hex("82 7F 00 00 00 00 00 01 00 00")[...])
    }

    /// §5.2: the shortest length form, switching at 126 and 65,536.
    @Test(arguments: [
        (0, "82 00"), (125, "82 7d"), (126, "82 7e 00 7e"), (65_535, "82 7e ff ff"),
        (65_536, "82 7f 00 00 00 00 00 01 00 00"),
    ])
    func usesTheShortestLengthForm(_ count: Int, _ header: String) {
        let bytes = frame(.binary, Array(repeating: 0, count: count), maskKey: nil)
        #expect(Array(bytes.prefix(hex(header).count)) == hex(header))
        #expect(bytes.count == hex(header).count + count)
        #expect(WebSocketFrameEncoder.headerLength(payloadCount: count, masked: false) == hex(header).count)
        #expect(WebSocketFrameEncoder.headerLength(payloadCount: count, masked: true) == hex(header).count + 4)
    }

    @Test func helpersEncodeTheirOpcodes() {
        var bytes: [UInt8] = []
        WebSocketFrameEncoder.encodeText("Hello", into: &bytes)
        WebSocketFrameEncoder.encodeText(hello, maskKey: rfcMaskKey, into: &bytes)
        WebSocketFrameEncoder.encodeBinary([1, 2], into: &bytes)
        WebSocketFrameEncoder.encodePing([9], into: &bytes)
        WebSocketFrameEncoder.encodePong(into: &bytes)
        #expect(bytes == hex("81 05 48 65 6c 6c 6f  81 85 37 fa 21 3d 7f 9f 4d 51 58  82 02 01 02  89 01 09  8a 00"))
    }

    @Test func encodesCloseWithCodeAndReason() {
        var bytes: [UInt8] = []
        WebSocketFrameEncoder.encodeClose(code: 1000, reason: "bye", into: &bytes)
        WebSocketFrameEncoder.encodeClose(code: nil, into: &bytes)
        #expect(bytes == hex("88 05 03 e8 62 79 65  88 00"))
    }

    /// A close reason is cut to 123 bytes without splitting a scalar, so the frame stays a valid control frame.
    @Test func longCloseReasonIsCutOnAScalarBoundary() throws {
        let reason = String(repeating: "a", count: 120) + "€€"  // 120 + 3 + 3 bytes
        var bytes: [UInt8] = []
        WebSocketFrameEncoder.encodeClose(code: 1001, reason: reason, into: &bytes)
        #expect(bytes.count == 2 + 2 + 123)
        let messages = decodeMessages([bytes], expectMasked: false)
        #expect(messages == Outcome(outputs: [.close(code: 1001, reason: String(repeating: "a", count: 120) + "€")]))
    }

    @Test func encodeAppendsWithoutClearing() {
        var bytes: [UInt8] = [0xAA]
        WebSocketFrameEncoder.encode(.text(hello), into: &bytes)
        WebSocketFrameEncoder.encode(.close(code: 1000, reason: ""), into: &bytes)
        #expect(bytes == [0xAA] + hex("81 05 48 65 6c 6c 6f 88 02 03 e8"))
    }

    /// Masking lengths around the 8-byte word step and key phases, against a bytewise XOR.
    @Test func maskingMatchesBytewiseXorForEveryLength() {
        let key: UInt32 = 0x0102_0408
        let keyBytes: [UInt8] = [0x01, 0x02, 0x04, 0x08]
        for count in 0..<40 {
            let payload = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let bytes = frame(.binary, payload, maskKey: key)
            let header = WebSocketFrameEncoder.headerLength(payloadCount: count, masked: true)
            let expected = payload.enumerated().map { $0.element ^ keyBytes[$0.offset % 4] }
            #expect(Array(bytes[header...]) == expected, "count \(count)")
        }
    }
}
