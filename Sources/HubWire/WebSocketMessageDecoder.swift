/// Bytes from one WebSocket peer in, messages out: a `WebSocketFrameDecoder` feeding a
/// `WebSocketMessageAssembler`. This is what a connection owns.
///
/// It adds one thing to the pair: while a frame is still arriving, the assembler inspects its
/// header and the payload so far, so a fragment that breaks the message limits or a text frame
/// with invalid UTF-8 fails on the read that brings the bad byte, not when the frame completes.
///
/// After an error every later call throws the same error; close with `error.closeCode`.
///
///     var decoder = WebSocketMessageDecoder(limits: .hub)
///     var consumed = 0
///     while let message = try decoder.decode(readBuffer, consumed: &consumed) { handle(message) }
public struct WebSocketMessageDecoder {
    public private(set) var frameDecoder: WebSocketFrameDecoder
    public private(set) var assembler: WebSocketMessageAssembler

    /// - Parameter expectMasked: true on the server, false in a client (see `WebSocketFrameDecoder`).
    public init(limits: WebSocketLimits, expectMasked: Bool = true) {
        self.frameDecoder = WebSocketFrameDecoder(frameBytesMax: limits.frameBytesMax, expectMasked: expectMasked)
        self.assembler = WebSocketMessageAssembler(limits: limits)
    }

    /// Decodes the next message from `input[consumed...]` and advances `consumed` past the bytes used.
    ///
    /// Returns nil when `input` ran out before a message was complete; then `consumed == input.count`
    /// and the partial message is kept for the next call. Call again while it returns messages.
    public mutating func decode(
        _ input: UnsafeRawBufferPointer, consumed: inout Int
    ) throws(WebSocketError) -> WebSocketMessage? {
        while let frame = try frameDecoder.decode(input, consumed: &consumed) {
            if let message = try assembler.push(frame) { return message }
        }
        if let pending = frameDecoder.pendingFrame {
            try assembler.inspect(pendingHeader: pending.header, payloadPrefix: pending.payloadPrefix)
        }
        return nil
    }

    /// Lends `buffer`'s storage to the next payload that arrives whole; see `WebSocketFrameDecoder.lend`.
    /// A single-frame message's payload is that frame's, so a lent array becomes the message.
    public mutating func lend(_ buffer: [UInt8]) {
        frameDecoder.lend(buffer)
    }

    /// Takes back a lent array that no payload used, or nil.
    public mutating func reclaimLent() -> [UInt8]? {
        frameDecoder.reclaimLent()
    }

    /// Whether an array is lent and unused.
    public var holdsLent: Bool { frameDecoder.holdsLent }

    /// Whether the decoder holds nothing between messages (no partial frame or message, no
    /// error): it then decodes what follows as a new one would, so an owner may drop it while
    /// idle and make a new one for the next bytes (a lent array aside: reclaim it first).
    public var isAtRest: Bool { frameDecoder.isAtRest && !assembler.isInsideMessage }

    /// Decodes the next message from `bytes`; see `decode(_:consumed:)`.
    public mutating func decode(_ bytes: [UInt8], consumed: inout Int) throws(WebSocketError) -> WebSocketMessage? {
        // `Array.withUnsafeBytes` rethrows untyped; a `Result` carries the typed error out.
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(WebSocketError) in try decode(raw, consumed: &consumed) }
        }
        return try result.get()
    }

    /// Decodes every message `input` completes, keeping any partial one for the next call.
    /// Allocates the result array; the connection path calls `decode(_:consumed:)` instead.
    public mutating func decodeAll(_ input: UnsafeRawBufferPointer) throws(WebSocketError) -> [WebSocketMessage] {
        var messages: [WebSocketMessage] = []
        var consumed = 0
        while let message = try decode(input, consumed: &consumed) { messages.append(message) }
        return messages
    }

    /// Decodes every message `bytes` completes; see `decodeAll(_: UnsafeRawBufferPointer)`.
    public mutating func decodeAll(_ bytes: [UInt8]) throws(WebSocketError) -> [WebSocketMessage] {
        // `Array.withUnsafeBytes` rethrows untyped; a `Result` carries the typed error out.
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(WebSocketError) in try decodeAll(raw) }
        }
        return try result.get()
    }
}
