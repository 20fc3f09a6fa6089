/// Reassembles frames into messages (RFC 6455 §5.4) and enforces message-level rules: fragment
/// order, UTF-8 text (§8.1), `messageBytesMax` and `fragmentsMax`, and close frame bodies (§5.5.1).
///
/// Control frames may arrive between the fragments of a message and are returned at once. Text is
/// validated as each fragment arrives, so invalid UTF-8 fails on the fragment that carries it, not
/// at the end of the message; `WebSocketMessageDecoder` goes further and checks a frame's payload
/// while it is still arriving.
///
/// Cost: a message in one frame is returned with the frame's payload array, no copy. A fragmented
/// message starts from its first fragment's array and appends the rest (amortised growth); such
/// messages are rare (browsers never fragment), so that copy is accepted.
///
/// After an error the assembler stays failed: every later call throws the same error.
public struct WebSocketMessageAssembler {
    public let limits: WebSocketLimits
    private var state = State.idle
    /// Text validation state of the open message; at its initial state whenever `state` is `.idle`
    /// and no text frame is pending.
    private var utf8 = UTF8Validator()
    /// Payload bytes of the frame now arriving that `inspect` has already validated.
    private var frameBytesValidated = 0

    private enum State {
        /// No fragmented message open.
        case idle
        /// A fragmented message: its kind, its bytes so far, and how many frames it took.
        case fragmented(isText: Bool, payload: [UInt8], fragments: Int)
        case failed(WebSocketError)
    }

    public init(limits: WebSocketLimits) {
        self.limits = limits
    }

    /// True between the first and the last fragment of a message.
    public var isInsideMessage: Bool {
        if case .fragmented = state { return true }
        return false
    }

    /// Adds a complete frame; returns the message it completes, or nil inside a fragmented message.
    public mutating func push(_ frame: consuming WebSocketFrame) throws(WebSocketError) -> WebSocketMessage? {
        do throws(WebSocketError) {
            try check(opcode: frame.opcode, payloadLength: frame.payload.count)
            switch frame.opcode {
            case .ping: return .ping(frame.payload)
            case .pong: return .pong(frame.payload)
            case .close: return try .close(payload: frame.payload)
            case .text, .binary: return try begin(frame)
            case .continuation: return try appendContinuation(frame)
            }
        } catch {
            state = .failed(error)
            throw error
        }
    }

    /// Checks a frame whose header has arrived but whose payload has not all arrived: fragment
    /// order and limits from the header, UTF-8 of the bytes so far. Lets a connection fail before
    /// the rest of a bad frame arrives (Autobahn 6.4.3: invalid text inside one frame, sent in
    /// chops). The frame must be the next one given to `push`.
    public mutating func inspect(
        pendingHeader header: WebSocketFrameHeader, payloadPrefix: [UInt8]
    ) throws(WebSocketError) {
        do throws(WebSocketError) {
            try check(opcode: header.opcode, payloadLength: header.payloadLength)
            guard isText(header.opcode), payloadPrefix.count > frameBytesValidated else { return }
            try validate(payloadPrefix, frameComplete: false)
        } catch {
            state = .failed(error)
            throw error
        }
    }

    /// Every rule decidable from a frame's opcode and length, before its payload matters.
    private func check(opcode: WebSocketOpcode, payloadLength: Int) throws(WebSocketError) {
        switch state {
        case .failed(let error):
            throw error
        case .idle:
            if opcode == .continuation { throw .protocolViolation(.continuationWithoutStart) }
            if !opcode.isControl && payloadLength > limits.messageBytesMax {
                throw .messageTooBig(messageBytesMax: limits.messageBytesMax)
            }
        case .fragmented(_, let payload, let fragments):
            switch opcode {
            case .text, .binary:
                throw .protocolViolation(.messageStartInsideMessage)
            case .continuation:
                if fragments >= limits.fragmentsMax { throw .tooManyFragments(fragmentsMax: limits.fragmentsMax) }
                if payloadLength > limits.messageBytesMax - payload.count {
                    throw .messageTooBig(messageBytesMax: limits.messageBytesMax)
                }
            case .close, .ping, .pong:
                break
            }
        }
    }

    private func isText(_ opcode: WebSocketOpcode) -> Bool {
        switch opcode {
        case .text: return true
        case .continuation:
            guard case .fragmented(let isText, _, _) = state else { return false }
            return isText
        default: return false
        }
    }

    /// A text or binary frame: the whole message when `fin`, else its first fragment.
    private mutating func begin(_ frame: consuming WebSocketFrame) throws(WebSocketError) -> WebSocketMessage? {
        let isText = frame.opcode == .text
        if isText { try validate(frame.payload, frameComplete: true) }
        if frame.fin { return try finish(isText: isText, payload: frame.payload) }
        state = .fragmented(isText: isText, payload: frame.payload, fragments: 1)
        return nil
    }

    private mutating func appendContinuation(
        _ frame: consuming WebSocketFrame
    ) throws(WebSocketError) -> WebSocketMessage? {
        guard case .fragmented(let isText, var payload, let fragments) = state else {
            preconditionFailure("check(opcode:payloadLength:) lets a continuation through only inside a message")
        }
        state = .idle  // drops the state's reference so `payload` is appended in place
        if isText { try validate(frame.payload, frameComplete: true) }
        payload.append(contentsOf: frame.payload)
        if frame.fin { return try finish(isText: isText, payload: payload) }
        state = .fragmented(isText: isText, payload: payload, fragments: fragments + 1)
        return nil
    }

    private mutating func finish(isText: Bool, payload: [UInt8]) throws(WebSocketError) -> WebSocketMessage {
        state = .idle
        guard isText else { return .binary(payload) }
        // §8.1: the whole message must be UTF-8, so it may not end inside a sequence.
        guard utf8.isAtBoundary else { throw .invalidUTF8 }
        utf8.reset()
        return .text(payload)
    }

    /// Validates the bytes of the current text frame not validated yet, failing on the first bad byte.
    private mutating func validate(_ payload: [UInt8], frameComplete: Bool) throws(WebSocketError) {
        let start = frameBytesValidated
        let valid = payload.withUnsafeBytes { utf8.validate(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        guard valid else { throw .invalidUTF8 }
        frameBytesValidated = frameComplete ? 0 : payload.count
    }
}
