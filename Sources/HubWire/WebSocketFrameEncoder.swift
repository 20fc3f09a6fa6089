/// Writes WebSocket frames (RFC 6455 §5.2) into a caller's buffer.
///
/// A server sends unmasked frames (`maskKey: nil`); a client (tests, the load tool) must mask
/// every frame (§5.3) with a fresh key from a strong random source, which the caller supplies.
/// A broadcast is encoded once and the same bytes are queued on every connection.
///
/// Encoding appends to `output` and never clears it, so several frames can share one write.
/// Passing a control frame over 125 bytes or a fragmented control frame is a programmer error.
///
///     var bytes: [UInt8] = []
///     WebSocketFrameEncoder.encodeText("Hello", into: &bytes)  // 81 05 48 65 6c 6c 6f
public enum WebSocketFrameEncoder {
    /// Appends one frame carrying `payload`.
    ///
    /// - Parameters:
    ///   - fin: false for every fragment of a message but the last (§5.4).
    ///   - maskKey: the four key bytes in wire order (`37 fa 21 3d` is `0x37fa_213d`); nil for no mask.
    public static func encodeFrame(
        opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, fin: Bool = true, maskKey: UInt32? = nil,
        into output: inout [UInt8]
    ) {
        let count = payload.count
        if opcode.isControl {
            precondition(fin, "RFC 6455 §5.5: control frames MUST NOT be fragmented")
            precondition(
                count <= WebSocketLimits.controlPayloadBytesMax, "RFC 6455 §5.5: control payload \(count) > 125")
        }
        let required = output.count + headerLength(payloadCount: count, masked: maskKey != nil) + count
        if output.capacity < required {
            // Doubling keeps repeated appends linear; `reserveCapacity(required)` alone grows exactly.
            output.reserveCapacity(max(required, 2 * output.capacity))
        }
        output.append((fin ? 0x80 : 0) | opcode.rawValue)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        // §5.2: "the minimal number of bytes MUST be used to encode the length".
        if count <= 125 {
            output.append(maskBit | UInt8(count))
        } else if count <= 0xFFFF {
            output.append(maskBit | 126)
            appendBigEndian(UInt16(count), to: &output)
        } else {
            output.append(maskBit | 127)
            appendBigEndian(UInt64(count), to: &output)
        }
        if let maskKey { appendBigEndian(maskKey, to: &output) }
        let start = output.count
        output.append(contentsOf: payload)
        if let maskKey, count > 0 {
            output.withUnsafeMutableBytes { bytes in
                let region = bytes.baseAddress! + start  // non-nil: count > 0 bytes appended
                WebSocketMask.apply(key: maskKey, phase: 0, from: region, to: region, count: count)
            }
        }
    }

    /// Appends one frame carrying `payload`; see `encodeFrame(opcode:payload:fin:maskKey:into:)`.
    public static func encodeFrame(
        opcode: WebSocketOpcode, payload: [UInt8], fin: Bool = true, maskKey: UInt32? = nil, into output: inout [UInt8]
    ) {
        payload.withUnsafeBytes { encodeFrame(opcode: opcode, payload: $0, fin: fin, maskKey: maskKey, into: &output) }
    }

    /// Appends a single-frame text message. `utf8` must be valid UTF-8; it is not checked here.
    public static func encodeText(_ utf8: [UInt8], maskKey: UInt32? = nil, into output: inout [UInt8]) {
        encodeFrame(opcode: .text, payload: utf8, maskKey: maskKey, into: &output)
    }

    /// Appends a single-frame text message.
    public static func encodeText(_ text: String, maskKey: UInt32? = nil, into output: inout [UInt8]) {
        var text = text
        text.withUTF8 {
            encodeFrame(opcode: .text, payload: UnsafeRawBufferPointer($0), maskKey: maskKey, into: &output)
        }
    }

    /// Appends a single-frame binary message.
    public static func encodeBinary(_ bytes: [UInt8], maskKey: UInt32? = nil, into output: inout [UInt8]) {
        encodeFrame(opcode: .binary, payload: bytes, maskKey: maskKey, into: &output)
    }

    /// Appends a ping; `payload` is at most 125 bytes.
    public static func encodePing(_ payload: [UInt8] = [], maskKey: UInt32? = nil, into output: inout [UInt8]) {
        encodeFrame(opcode: .ping, payload: payload, maskKey: maskKey, into: &output)
    }

    /// Appends a pong; answering a ping, `payload` is the ping's (§5.5.3).
    public static func encodePong(_ payload: [UInt8] = [], maskKey: UInt32? = nil, into output: inout [UInt8]) {
        encodeFrame(opcode: .pong, payload: payload, maskKey: maskKey, into: &output)
    }

    /// Appends a close frame. With a nil `code` the body is empty and `reason` must be empty (§5.5.1:
    /// a reason follows a code). A reason over 123 UTF-8 bytes is cut after the last whole scalar
    /// that fits, so the frame stays a valid control frame and the reason valid UTF-8.
    public static func encodeClose(
        code: UInt16?, reason: String = "", maskKey: UInt32? = nil, into output: inout [UInt8]
    ) {
        guard let code else {
            precondition(reason.isEmpty, "RFC 6455 §5.5.1: a close reason needs a status code")
            encodeFrame(opcode: .close, payload: [], maskKey: maskKey, into: &output)
            return
        }
        precondition(WebSocketCloseCode.isValidOnWire(code), "close code \(code) may not be sent")
        var body: [UInt8] = [UInt8(code >> 8), UInt8(truncatingIfNeeded: code)]
        body.append(contentsOf: truncatedUTF8(reason, bytesMax: WebSocketLimits.controlPayloadBytesMax - 2))
        encodeFrame(opcode: .close, payload: body, maskKey: maskKey, into: &output)
    }

    /// Appends `message` as a single frame (an echo server's reply).
    public static func encode(_ message: WebSocketMessage, maskKey: UInt32? = nil, into output: inout [UInt8]) {
        switch message {
        case .text(let bytes): encodeText(bytes, maskKey: maskKey, into: &output)
        case .binary(let bytes): encodeBinary(bytes, maskKey: maskKey, into: &output)
        case .ping(let bytes): encodePing(bytes, maskKey: maskKey, into: &output)
        case .pong(let bytes): encodePong(bytes, maskKey: maskKey, into: &output)
        case .close(let code, let reason): encodeClose(code: code, reason: reason, maskKey: maskKey, into: &output)
        }
    }

    /// Bytes of the header for a payload of `payloadCount` bytes: 2, 4 or 10, plus 4 when masked.
    public static func headerLength(payloadCount: Int, masked: Bool) -> Int {
        let lengthBytes = payloadCount <= 125 ? 0 : payloadCount <= 0xFFFF ? 2 : 8
        return 2 + lengthBytes + (masked ? 4 : 0)
    }

    private static func appendBigEndian<Integer: FixedWidthInteger>(_ value: Integer, to output: inout [UInt8]) {
        var shift = Integer.bitWidth - 8
        while shift >= 0 {
            output.append(UInt8(truncatingIfNeeded: value >> shift))
            shift -= 8
        }
    }

    /// The UTF-8 of `text`, cut to at most `bytesMax` bytes without splitting a scalar.
    private static func truncatedUTF8(_ text: String, bytesMax: Int) -> [UInt8] {
        let bytes = Array(text.utf8)
        guard bytes.count > bytesMax else { return bytes }
        var end = bytesMax
        // Cut before a lead byte: step back while the first dropped byte continues a scalar (10xxxxxx).
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return Array(bytes[..<end])
    }
}
