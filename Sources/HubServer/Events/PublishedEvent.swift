import HubStore
import HubWire

/// A committed event as subscribers receive it. `seq` is hub-wide and follows commit order, so
/// each channel's events carry increasing numbers; a client resumes a channel from the last
/// `seq` it saw.
///
/// Encodings are built once per channel and transport, on first use, and the same bytes are
/// queued on every subscriber: a broadcast to 10,000 sockets serialises its JSON once.
final class PublishedEvent {
    let seq: Int64
    let type: String
    let channels: [String]
    /// The payload as JSON text, exactly as stored in the event log.
    let payload: [UInt8]
    /// Commit time, Unix milliseconds.
    let timestampMs: Int64

    private var envelopes: [String: [UInt8]] = [:]
    private var webSocketFrames: [String: [UInt8]] = [:]
    private var sseBlocks: [String: [UInt8]] = [:]
    /// The frame asked for last: a broadcast asks for one channel's frame once per subscriber, and
    /// comparing a short channel name costs less than hashing it.
    private var lastFrameChannel = ""
    private var lastFrame: [UInt8] = []

    /// An event as the event log holds it (history at start-up, and what the follower reads).
    convenience init(_ entry: EventLogTable.Entry) {
        self.init(seq: entry.seq, type: entry.type, channels: entry.channels.split(separator: " ").map(String.init),
                  payload: Array(entry.payload.utf8), timestampMs: entry.createdAt)
    }

    init(seq: Int64, type: String, channels: [String], payload: [UInt8], timestampMs: Int64) {
        self.seq = seq
        self.type = type
        self.channels = channels
        self.payload = payload
        self.timestampMs = timestampMs
    }

    /// `{"type":…,"payload":…,"channel":…,"seq":…,"ts":…}`: the seed's client reads `type` and
    /// `payload`; `channel`, `seq` and `ts` serve resume and latency measurement.
    func envelope(channel: String) -> [UInt8] {
        if let cached = envelopes[channel] { return cached }
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 96)
        out.append(contentsOf: #"{"type":"#.utf8)
        JSON.appendQuoted(type, into: &out)
        out.append(contentsOf: #","payload":"#.utf8)
        out.append(contentsOf: payload)
        out.append(contentsOf: #","channel":"#.utf8)
        JSON.appendQuoted(channel, into: &out)
        out.append(contentsOf: #","seq":"#.utf8)
        out.append(contentsOf: String(seq).utf8)
        out.append(contentsOf: #","ts":"#.utf8)
        out.append(contentsOf: String(timestampMs).utf8)
        out.append(0x7D)
        envelopes[channel] = out
        return out
    }

    /// The envelope as one unmasked WebSocket text frame.
    func webSocketFrame(channel: String) -> [UInt8] {
        if !lastFrame.isEmpty && channel == lastFrameChannel { return lastFrame }
        let frame: [UInt8]
        if let cached = webSocketFrames[channel] {
            frame = cached
        } else {
            var encoded: [UInt8] = []
            WebSocketFrameEncoder.encodeText(envelope(channel: channel), into: &encoded)
            webSocketFrames[channel] = encoded
            frame = encoded
        }
        lastFrameChannel = channel
        lastFrame = frame
        return frame
    }

    /// The envelope as a Server-Sent Events block with `id:` = seq.
    func sseBlock(channel: String) -> [UInt8] {
        if let cached = sseBlocks[channel] { return cached }
        let block = ServerSentEvents.event(id: String(seq), type: type, data: envelope(channel: channel))
        sseBlocks[channel] = block
        return block
    }

    func isVisible(on channel: String) -> Bool { channels.contains(channel) }
}

@available(*, unavailable) extension PublishedEvent: Sendable {}
