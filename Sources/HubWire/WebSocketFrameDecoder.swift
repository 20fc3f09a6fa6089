/// Turns the bytes of one WebSocket peer into frames, whatever the read boundaries (RFC 6455 §5.2).
///
/// Pure and incremental: between calls it keeps at most the header bytes seen so far (≤ 14, inline)
/// and the payload of the frame in progress; it never holds on to `input`, so the caller may reuse
/// its read buffer. Every header rule is checked as soon as its byte arrives, and the length against
/// `frameBytesMax` before any payload is kept (`WebSocketFrameHeader.parse`).
///
/// Cost: one allocation per frame with a payload (the payload array), none when the owner lends an
/// array (`lend`) that the payload fits. A payload that arrives in the same input as its header is
/// copied once, unmasking on the way; one that arrives in pieces is appended and unmasked in place,
/// still one pass over each byte.
///
/// After an error the decoder stays failed: every later call throws the same error.
///
///     var decoder = WebSocketFrameDecoder(frameBytesMax: WebSocketLimits.hub.frameBytesMax)
///     var consumed = 0
///     while let frame = try decoder.decode(bytes, consumed: &consumed) { handle(frame) }
///     // consumed == bytes.count: the rest is buffered inside the decoder
public struct WebSocketFrameDecoder {
    /// Largest payload accepted, in bytes (`WebSocketLimits.frameBytesMax`).
    public let frameBytesMax: Int
    /// True on the server (client frames must be masked), false in a client such as the load tool
    /// (server frames must not be). RFC 6455 §5.1.
    public let expectMasked: Bool
    private var state = State.header(HeaderPrefix())
    /// Storage lent by the owner for the next payload that arrives whole (`lend`).
    private var lent: [UInt8] = []

    private enum State {
        /// Between frames or inside a header; `HeaderPrefix` holds the header bytes seen so far.
        case header(HeaderPrefix)
        /// The header is read; the payload bytes so far, already unmasked.
        case payload(WebSocketFrameHeader, [UInt8])
        /// The peer broke a rule; the connection is being failed.
        case failed(WebSocketError)
    }

    public init(frameBytesMax: Int, expectMasked: Bool = true) {
        precondition(
            frameBytesMax >= WebSocketLimits.controlPayloadBytesMax, "control frames of 125 bytes must fit")
        self.frameBytesMax = frameBytesMax
        self.expectMasked = expectMasked
    }

    /// Lends `buffer`'s storage to the next payload that arrives whole in one input and fits its
    /// capacity, so decoding that frame allocates nothing; its old contents are discarded. A
    /// connection lends the payload arrays of messages it has finished with: every new `[UInt8]`
    /// costs a malloc and, in Swift 6 on Linux, a locked generic-metadata lookup, together about
    /// 10% of an echo server's CPU when messages are pipelined. Storage someone else still shares
    /// is copied when used, like any array's.
    public mutating func lend(_ buffer: [UInt8]) {
        lent = buffer
    }

    /// Takes back a lent array that no payload used, or nil.
    public mutating func reclaimLent() -> [UInt8]? {
        guard lent.capacity > 0 else { return nil }
        var buffer: [UInt8] = []
        swap(&buffer, &lent)
        return buffer
    }

    /// Whether an array is lent and unused.
    public var holdsLent: Bool { lent.capacity > 0 }

    /// Whether nothing of a frame is kept: between frames, no header byte pending, not failed.
    /// A decoder at rest decodes what follows as a new one would.
    public var isAtRest: Bool {
        if case .header(let prefix) = state { return prefix.count == 0 }
        return false
    }

    /// The frame being received, once its header is read and until its last payload byte arrives:
    /// the header and the (unmasked) payload so far. `WebSocketMessageDecoder` uses it to check
    /// message limits and UTF-8 before the frame is complete.
    public var pendingFrame: (header: WebSocketFrameHeader, payloadPrefix: [UInt8])? {
        guard case .payload(let header, let payload) = state else { return nil }
        return (header, payload)
    }

    /// Decodes the next frame from `input[consumed...]` and advances `consumed` past the bytes used.
    ///
    /// Returns nil when `input` ran out before a frame was complete; then `consumed == input.count`
    /// and the partial frame is kept for the next call. Call again while it returns frames.
    public mutating func decode(
        _ input: UnsafeRawBufferPointer, consumed: inout Int
    ) throws(WebSocketError) -> WebSocketFrame? {
        precondition(consumed >= 0 && consumed <= input.count, "consumed \(consumed) outside input")
        do throws(WebSocketError) {
            switch state {
            case .failed(let error):
                throw error
            case .header(let prefix):
                guard let header = try readHeader(prefix, input, &consumed) else { return nil }
                return readPayload(header, [], input, &consumed)
            case .payload(let header, let payload):
                // Dropping the state's reference and moving the binding leave `payload` uniquely
                // referenced, so appending grows it in place instead of copying it on every read.
                state = .header(HeaderPrefix())
                return readPayload(header, consume payload, input, &consumed)
            }
        } catch {
            state = .failed(error)
            throw error
        }
    }

    /// Decodes the next frame from `bytes`; see `decode(_:consumed:)`.
    public mutating func decode(_ bytes: [UInt8], consumed: inout Int) throws(WebSocketError) -> WebSocketFrame? {
        // `Array.withUnsafeBytes` rethrows untyped; a `Result` carries the typed error out.
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(WebSocketError) in try decode(raw, consumed: &consumed) }
        }
        return try result.get()
    }

    /// Reads a header, from `input` directly when it holds the whole header (the common case), else
    /// through `prefix`. Leaves `state` at `.header(prefix)` when more bytes are needed.
    private mutating func readHeader(
        _ prefix: HeaderPrefix, _ input: UnsafeRawBufferPointer, _ consumed: inout Int
    ) throws(WebSocketError) -> WebSocketFrameHeader? {
        let rest = UnsafeRawBufferPointer(rebasing: input[consumed...])
        if prefix.count == 0 {
            if let header = try parse(rest) {
                consumed += header.headerLength
                return header
            }
            // Shorter than a header (parse would have finished or thrown on 14 bytes): keep it all.
            var prefix = prefix
            prefix.append(rest)
            consumed = input.count
            state = .header(prefix)
            return nil
        }
        var extended = prefix
        let taken = extended.append(rest)
        let header = try extended.withBytes { (bytes) throws(WebSocketError) in try parse(bytes) }
        guard let header else {
            consumed += taken
            state = .header(extended)
            return nil
        }
        consumed += header.headerLength - prefix.count
        state = .header(HeaderPrefix())
        return header
    }

    private func parse(_ bytes: UnsafeRawBufferPointer) throws(WebSocketError) -> WebSocketFrameHeader? {
        try WebSocketFrameHeader.parse(bytes, expectMasked: expectMasked, frameBytesMax: frameBytesMax)
    }

    /// Moves payload bytes from `input` into `payload`, unmasking them; returns the frame once
    /// complete, else parks the partial payload in `state`.
    private mutating func readPayload(
        _ header: WebSocketFrameHeader, _ payload: consuming [UInt8], _ input: UnsafeRawBufferPointer,
        _ consumed: inout Int
    ) -> WebSocketFrame? {
        let missing = header.payloadLength - payload.count
        let available = input.count - consumed
        if missing == 0 {
            return WebSocketFrame(fin: header.fin, rsv: header.rsv, opcode: header.opcode, payload: payload)
        }
        if payload.isEmpty && available >= missing && lent.capacity >= missing {
            // Whole payload at hand and a lent array it fits: copy, then unmask in place.
            var complete: [UInt8] = []
            swap(&complete, &lent)
            complete.removeAll(keepingCapacity: true)  // no allocation: the owner gave the storage up
            complete.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[consumed..<consumed + missing]))
            if let key = header.maskKey {
                complete.withUnsafeMutableBytes { bytes in
                    let region = bytes.baseAddress!  // non-nil: missing > 0 bytes appended
                    WebSocketMask.apply(key: key, phase: 0, from: region, to: region, count: missing)
                }
            }
            consumed += missing
            return WebSocketFrame(fin: header.fin, rsv: header.rsv, opcode: header.opcode, payload: complete)
        }
        if payload.isEmpty && available >= missing {
            // Whole payload at hand: allocate once, copy and unmask in one pass.
            let source = input.baseAddress! + consumed  // non-nil: available > 0
            let complete = [UInt8](unsafeUninitializedCapacity: missing) { buffer, initializedCount in
                let destination = UnsafeMutableRawPointer(buffer.baseAddress!)  // capacity > 0
                Self.copy(from: source, to: destination, count: missing, key: header.maskKey, phase: 0)
                initializedCount = missing
            }
            consumed += missing
            return WebSocketFrame(fin: header.fin, rsv: header.rsv, opcode: header.opcode, payload: complete)
        }
        var payload = consume payload
        let taken = min(missing, available)
        if taken > 0 {
            let start = payload.count
            // Reserved at the first bytes, not at the header: a peer that sends headers and stalls
            // holds no payload memory. The length is already within frameBytesMax.
            if start == 0 { payload.reserveCapacity(header.payloadLength) }
            payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[consumed..<consumed + taken]))
            if let key = header.maskKey {
                payload.withUnsafeMutableBytes { bytes in
                    let region = bytes.baseAddress! + start  // non-nil: taken > 0 bytes appended
                    WebSocketMask.apply(key: key, phase: start, from: region, to: region, count: taken)
                }
            }
            consumed += taken
        }
        if payload.count == header.payloadLength {
            return WebSocketFrame(fin: header.fin, rsv: header.rsv, opcode: header.opcode, payload: payload)
        }
        state = .payload(header, payload)
        return nil
    }

    private static func copy(
        from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int, key: UInt32?, phase: Int
    ) {
        if let key {
            WebSocketMask.apply(key: key, phase: phase, from: source, to: destination, count: count)
        } else {
            destination.copyMemory(from: source, byteCount: count)
        }
    }
}

/// The first bytes of a header that arrived split across reads, stored inline (no allocation).
private struct HeaderPrefix {
    private var storage: (UInt64, UInt64) = (0, 0)  // 16 bytes ≥ WebSocketFrameHeader.bytesMax
    private(set) var count = 0

    /// Appends as many bytes of `bytes` as fit in a maximal header; returns how many.
    @discardableResult
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let taken = min(WebSocketFrameHeader.bytesMax - count, bytes.count)
        let start = count
        withUnsafeMutableBytes(of: &storage) { target in
            for index in 0..<taken { target[start + index] = bytes[index] }
        }
        count += taken
        return taken
    }

    func withBytes<Result>(
        _ body: (UnsafeRawBufferPointer) throws(WebSocketError) -> Result
    ) throws(WebSocketError) -> Result {
        try withUnsafeBytes(of: storage) { (raw) throws(WebSocketError) in
            try body(UnsafeRawBufferPointer(rebasing: raw[..<count]))
        }
    }
}
