/// WebSocket and event-stream traffic, counted where it happens and read by the application's
/// metrics.
public struct WebSocketTraffic: Sendable {
    public internal(set) var messagesReceived = 0
    public internal(set) var bytesReceived = 0
    public internal(set) var messagesSent = 0
    public internal(set) var bytesSent = 0
    /// Events written to Server-Sent Events streams, their bytes, and streams closed for falling
    /// behind. The streams themselves are the application's: it counts them here.
    public internal(set) var streamEvents = 0
    public internal(set) var streamBytes = 0
    public internal(set) var slowStreamsClosed = 0
}

extension WebSocketRegistry {
    /// A text or binary message received, `payloadBytes` long.
    @inline(__always) func countReceived(payloadBytes: Int) {
        traffic.messagesReceived &+= 1
        traffic.bytesReceived &+= payloadBytes
    }

    @inline(__always) func countSent(payloadBytes: Int) {
        traffic.messagesSent &+= 1
        traffic.bytesSent &+= payloadBytes
    }

    /// An encoded server frame (unmasked, RFC 6455 §5.2): its payload is what follows the 2-byte
    /// header and the 16- or 64-bit extended length when the 7-bit one says 126 or 127.
    @inline(__always) func countSent(frame: [UInt8]) {
        let length7 = frame.count > 1 ? frame[1] & 0x7F : 0
        let header = length7 == 127 ? 10 : length7 == 126 ? 4 : 2
        countSent(payloadBytes: frame.count - header)
    }

    public func countStreamEvent(bytes: Int) {
        traffic.streamEvents &+= 1
        traffic.streamBytes &+= bytes
    }

    public func countSlowStreamClosed() {
        traffic.slowStreamsClosed &+= 1
    }
}
