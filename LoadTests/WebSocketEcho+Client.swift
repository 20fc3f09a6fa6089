import Foundation
import HubCrypto
import HubLoop
import HubTestSupport
import HubWire

/// One WebSocket client connection of a ws-echo run: opening handshake, then a window of
/// masked text messages in flight, each echo timed and answered with the next message.
///
/// Round trips are timed from when a message is queued to when the read that completes its echo
/// arrives; one clock read per read callback serves every echo in it. The echo server answers in
/// order, so a ring of send times matches echoes to messages.
///
/// The hot state is `@exclusivity(unchecked)`: the client lives on the loop thread and its
/// mutating accesses never span a call out, while the dynamic checks cost a thread-local lookup
/// each, several per message (so does a checked `unowned`: the run outlives its clients).
final class EchoClient: TCPConnectionDelegate {
    enum State { case connecting, handshaking, open, closing, closed }

    private unowned(unsafe) let run: EchoRun
    let index: Int
    private var state = State.connecting
    private var connection: TCPConnection?
    private let key: String
    private var response: [UInt8] = []
    @exclusivity(unchecked) private var decoder = WebSocketMessageDecoder(limits: .hub, expectMasked: false)

    /// Send times of the messages in flight, oldest at `sentHead`.
    @exclusivity(unchecked) private var sentNs: [UInt64]
    private var sentHead = 0
    private var inFlight = 0
    private let payload: [UInt8]
    /// Frames queued by one callback, handed to the connection in one write.
    @exclusivity(unchecked) private var outgoing: [UInt8] = []
    /// Masking keys (RFC 6455 §5.3 wants them unpredictable to intermediaries; a load tool on
    /// loopback only needs them to vary): the tests' SeededRandom, seeded per connection.
    @exclusivity(unchecked) private var masks: SeededRandom

    /// Bytes the 101 response may take before we give up on it.
    static let responseBytesMax = 4096

    init(run: EchoRun, index: Int) {
        self.run = run
        self.index = index
        self.sentNs = Array(repeating: 0, count: run.plan.window)
        self.payload = Array(String(repeating: "0123456789abcdef", count: 8).utf8.prefix(run.plan.messageBytes))
        self.key = Data(SecureRandom.bytes(count: 16)).base64EncodedString()
        self.masks = SeededRandom(seed: UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
        outgoing.reserveCapacity(run.plan.window * (run.plan.messageBytes + 14))
    }

    // MARK: Connecting

    func connect() {
        do {
            try TCPConnection.connect(loop: run.loop, host: run.plan.host, port: run.plan.port) { [self] result in
                switch result {
                case .success(let connection): connected(connection)
                case .failure(let error): fail("connect: \(error)", closed: true)
                }
            }
        } catch {
            fail("connect: \(error)", closed: true)
        }
    }

    private func connected(_ connection: TCPConnection) {
        self.connection = connection
        connection.setDelegate(self)
        connection.setNoDelay(true)
        guard run.phase == .connecting else {
            connection.close()  // the run was aborted while we connected
            return
        }
        state = .handshaking
        connection.startReading()
        let request =
            "GET \(run.plan.path) HTTP/1.1\r\nHost: \(run.plan.host):\(run.plan.port)\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        connection.write(Array(request.utf8))
    }

    private func handshakeRead(_ bytes: UnsafeRawBufferPointer) {
        response.append(contentsOf: bytes)
        let terminator: [UInt8] = [13, 10, 13, 10]
        guard let end = response.firstRange(of: terminator)?.upperBound else {
            if response.count > Self.responseBytesMax { fail("no complete 101 response in \(Self.responseBytesMax) bytes") }
            return
        }
        let head = String(decoding: response[..<end], as: UTF8.self).lowercased()
        let accept = WebSocketHandshake.acceptValue(key: key) { SHA1.hash($0) }.lowercased()
        guard head.hasPrefix("http/1.1 101 "), head.contains("\r\nsec-websocket-accept: \(accept)\r\n") else {
            fail("handshake refused: \(head.prefix(while: { $0 != "\r" }))")
            return
        }
        let leftover = Array(response[end...])
        response = []
        state = .open
        run.clientOpened(self)
        if !leftover.isEmpty { leftover.withUnsafeBytes { framesRead($0, nowNs: Loop.hrtimeNs()) } }
    }

    // MARK: Messages

    /// Puts a full window in flight (the run starts sending).
    func fillWindow() {
        guard state == .open else { return }
        let nowNs = Loop.hrtimeNs()
        while inFlight < run.plan.window { queueMessage(nowNs: nowNs) }
        flushOutgoing()
    }

    private func framesRead(_ bytes: UnsafeRawBufferPointer, nowNs: UInt64) {
        var consumed = 0
        while state == .open || state == .closing {
            let message: WebSocketMessage?
            do {
                message = try decoder.decode(bytes, consumed: &consumed)
            } catch {
                fail("bad frame from the server: \(error)")
                return
            }
            guard let message else { break }
            switch message {
            case .text(let text):
                echoed(text, nowNs: nowNs)
                decoder.lend(text)  // the next echo reuses this array instead of allocating
            case .close:
                // The server answered our close (or started its own): done once it closes TCP.
                state = .closing
            case .ping(let data):
                queueControl(.pong, data)
            case .binary, .pong:
                break
            }
        }
        flushOutgoing()
    }

    private func echoed(_ text: [UInt8], nowNs: UInt64) {
        guard inFlight > 0 else {
            fail("an echo nobody asked for")
            return
        }
        if text != payload { run.clientFailed(self, "echo differs from the message sent") }
        let sent = sentNs[sentHead]
        sentHead = sentHead + 1 == sentNs.count ? 0 : sentHead + 1
        inFlight -= 1
        run.echoed(latencyNs: nowNs &- sent)
        if run.isSending {
            queueMessage(nowNs: nowNs)
        } else if inFlight == 0 && state == .open {
            sendClose()
        }
    }

    private func queueMessage(nowNs: UInt64) {
        var tail = sentHead + inFlight
        if tail >= sentNs.count { tail -= sentNs.count }
        sentNs[tail] = nowNs
        inFlight += 1
        payload.withUnsafeBytes {
            WebSocketFrameEncoder.encodeFrame(opcode: .text, payload: $0, maskKey: nextMaskKey(), into: &outgoing)
        }
    }

    private func queueControl(_ opcode: WebSocketOpcode, _ data: [UInt8]) {
        data.withUnsafeBytes {
            WebSocketFrameEncoder.encodeFrame(opcode: opcode, payload: $0, maskKey: nextMaskKey(), into: &outgoing)
        }
    }

    private func flushOutgoing() {
        guard !outgoing.isEmpty, let connection else { return }
        outgoing.withUnsafeBytes { connection.write($0) }
        outgoing.removeAll(keepingCapacity: true)
    }

    private func nextMaskKey() -> UInt32 {
        UInt32(truncatingIfNeeded: masks.next())
    }

    // MARK: Stopping

    /// Measuring is over: close once the echoes in flight are back.
    func drain() {
        if state == .open && inFlight == 0 { sendClose() }
    }

    private func sendClose() {
        state = .closing
        var frame: [UInt8] = []
        WebSocketFrameEncoder.encodeClose(code: WebSocketCloseCode.normalClosure, maskKey: nextMaskKey(), into: &frame)
        connection?.write(frame)
    }

    func closeNow() {
        connection?.close()
    }

    private func fail(_ reason: String, closed: Bool = false) {
        run.clientFailed(self, reason)
        if closed {
            state = .closed
            run.clientClosed(self)
        } else {
            connection?.close()
        }
    }

    // MARK: TCPConnectionDelegate

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .handshaking: handshakeRead(bytes)
        case .open, .closing: framesRead(bytes, nowNs: Loop.hrtimeNs())
        case .connecting, .closed: break
        }
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        if state != .closing { run.clientFailed(self, "the server closed the connection") }
        connection.close()
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        if let error, state != .closing { run.clientFailed(self, "\(error)") }
        state = .closed
        self.connection = nil
        run.clientClosed(self)
    }
}

@available(*, unavailable) extension EchoClient: Sendable {}
