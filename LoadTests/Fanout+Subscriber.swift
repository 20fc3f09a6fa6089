import Foundation
import HubCrypto
import HubLoop
import HubWire

/// Many WebSocket subscribers on one loop, for `fanout` and `idle`: each opens `/ws`, reads the
/// hub's welcome (anonymous connections are subscribed to `availability` at once), then hands
/// every text message to the ledger, if any, and answers pings.
///
/// At most `connectsInFlightMax` handshakes are under way at a time, so the hub's listen backlog
/// (and the kernel's SYN queue) never overflows. With `sourceAddresses` > 0 connections leave
/// from 127.1.x.y addresses in turn: one source address has only ~28k ephemeral ports, and
/// TIME_WAIT sockets from earlier runs would otherwise collide with new connections.
final class SubscriberPool {
    struct Plan {
        var host: String
        var port: Int
        /// Path and query of the upgrade request, e.g. `/ws?client=bench`.
        var target: String
        var count: Int
        var sourceAddresses: Int
        /// Other hubs sharing the first one's database: subscriber `i` connects to `ports[i % n]`.
        var otherPorts: [Int] = []

        var ports: [Int] { [port] + otherPorts }
    }

    /// Handshakes under way at most.
    static let connectsInFlightMax = 256

    let loop: Loop
    let plan: Plan
    /// Receives the messages after each welcome; nil to only hold connections open (idle).
    var ledger: FanoutLedger?
    /// Runs once every subscriber has been welcomed.
    var onAllWelcomed: (() -> Void)?
    /// Runs once every subscriber opened is closed after `closeAll`.
    var onAllClosed: (() -> Void)?

    private var subscribers: [FanoutSubscriber] = []
    private var handshaking = 0
    private(set) var welcomed = 0
    private(set) var closed = 0
    /// Subscribers that failed to connect or were cut off by the hub.
    private(set) var failures = 0
    /// Subscribers closed by the hub after their welcome (a slow-consumer cut, say).
    private(set) var dropped = 0
    private(set) var firstFailure: String?
    private(set) var isClosing = false
    /// The hub's `seq` in the first welcome: events after it are this run's.
    private(set) var welcomeSeq: Int64?

    init(loop: Loop, plan: Plan) {
        self.loop = loop
        self.plan = plan
    }

    var open: Int { welcomed - dropped }

    func start() {
        subscribers.reserveCapacity(plan.count)
        openMore()
    }

    private func openMore() {
        while handshaking < Self.connectsInFlightMax && subscribers.count < plan.count && !isClosing {
            let subscriber = FanoutSubscriber(pool: self, index: subscribers.count)
            subscribers.append(subscriber)
            handshaking += 1
            subscriber.connect(from: sourceAddress(subscriber.index))
        }
    }

    /// 127.1.0.1, 127.1.0.2, … 127.1.0.250, 127.1.1.1, …: `sourceAddresses` of them, in turn.
    private func sourceAddress(_ index: Int) -> String? {
        guard plan.sourceAddresses > 0 else { return nil }
        let n = index % plan.sourceAddresses
        return "127.1.\(n / 250).\(1 + n % 250)"
    }

    /// Closes every subscriber (TCP at once: the hub sees EOF and closes its side).
    func closeAll() {
        isClosing = true
        for subscriber in subscribers { subscriber.close() }
        if closed == subscribers.count { onAllClosed?() }
    }

    // MARK: Called by subscribers

    func subscriberWelcomed(_ subscriber: FanoutSubscriber, _ welcome: UnsafeRawBufferPointer) {
        handshaking -= 1
        welcomed += 1
        if welcomeSeq == nil { welcomeSeq = FanoutMessage.welcomeSeq(welcome) }
        openMore()
        if welcomed == plan.count { onAllWelcomed?() }
    }

    /// Exactly once per subscriber: its connection closed, or never opened. `reason` is nil when
    /// we closed it.
    func subscriberClosed(_ subscriber: FanoutSubscriber, reason: String?) {
        closed += 1
        if !subscriber.isWelcomed {
            handshaking -= 1
        } else if !isClosing {
            dropped += 1
        }
        if let reason {
            failures += 1
            if firstFailure == nil { firstFailure = "subscriber \(subscriber.index): \(reason)" }
        }
        if isClosing {
            if closed == subscribers.count { onAllClosed?() }
        } else {
            openMore()
        }
    }
}

@available(*, unavailable) extension SubscriberPool: Sendable {}

/// One subscriber's connection. Server frames are unmasked and never fragmented by the hub, so
/// they are read in place from the loop's read buffer: no decoder, no payload array. Only a frame
/// split across reads is carried over, in `carry`.
final class FanoutSubscriber: TCPConnectionDelegate {
    private unowned(unsafe) let pool: SubscriberPool
    let index: Int
    private var connection: TCPConnection?
    private(set) var isWelcomed = false
    private var upgraded = false
    private var closeRequested = false
    private var reported = false
    private var key = ""
    /// The 101 response while it arrives, then the start of a frame split across reads.
    /// `@exclusivity(unchecked)`: loop thread only, never touched by what `scan` calls.
    @exclusivity(unchecked) private var carry: [UInt8] = []
    private var maskState: UInt32

    /// Bytes the 101 response and welcome may take before we give up.
    static let responseBytesMax = 8192

    /// The hub this subscriber connects to (`Plan.ports`).
    private var port: Int { pool.plan.ports[index % pool.plan.ports.count] }

    init(pool: SubscriberPool, index: Int) {
        self.pool = pool
        self.index = index
        self.maskState = UInt32(truncatingIfNeeded: index &* 2_654_435_761 | 1)
    }

    func connect(from source: String?) {
        do {
            try TCPConnection.connect(loop: pool.loop, host: pool.plan.host, port: port, from: source) {
                [self] result in
                switch result {
                case .success(let connection): opened(connection)
                case .failure(let error): report("connect: \(error)")
                }
            }
        } catch {
            report("connect: \(error)")
        }
    }

    private func opened(_ connection: TCPConnection) {
        self.connection = connection
        connection.setDelegate(self)
        if pool.isClosing {
            closeRequested = true
            connection.close()
            return
        }
        connection.setNoDelay(true)
        connection.startReading()
        key = Data(SecureRandom.bytes(count: 16)).base64EncodedString()
        let request =
            "GET \(pool.plan.target) HTTP/1.1\r\nHost: \(pool.plan.host):\(port)\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        connection.write(Array(request.utf8))
    }

    func close() {
        closeRequested = true
        connection?.close()
    }

    private func fail(_ reason: String) {
        report(reason)
        connection?.close()
    }

    /// Tells the pool once; later closes of the same subscriber are not news.
    private func report(_ reason: String?) {
        guard !reported else { return }
        reported = true
        pool.subscriberClosed(self, reason: closeRequested ? nil : reason)
    }

    // MARK: Reading

    private func handshakeRead(_ bytes: UnsafeRawBufferPointer) {
        carry.append(contentsOf: bytes)
        let terminator: [UInt8] = [13, 10, 13, 10]
        guard let end = carry.firstRange(of: terminator)?.upperBound else {
            if carry.count > Self.responseBytesMax { fail("no complete 101 response in \(Self.responseBytesMax) bytes") }
            return
        }
        let head = String(decoding: carry[..<end], as: UTF8.self).lowercased()
        let accept = WebSocketHandshake.acceptValue(key: key) { SHA1.hash($0) }.lowercased()
        guard head.hasPrefix("http/1.1 101 "), head.contains("\r\nsec-websocket-accept: \(accept)\r\n") else {
            fail("handshake refused: \(head.prefix(while: { $0 != "\r" }))")
            return
        }
        upgraded = true
        key = ""
        carry.removeFirst(end)
        if carry.isEmpty {
            carry = []  // give the capacity back: an idle subscriber holds no buffer
        } else {
            let rest = carry
            carry = []
            rest.withUnsafeBytes { framesRead($0, nowNs: FanoutClock.wallNs()) }
        }
    }

    private func framesRead(_ bytes: UnsafeRawBufferPointer, nowNs: Int64) {
        if carry.isEmpty {
            let used = scan(bytes, nowNs: nowNs)
            if used < bytes.count { carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[used...])) }
            return
        }
        carry.append(contentsOf: bytes)
        let used = carry.withUnsafeBytes { scan($0, nowNs: nowNs) }
        if used == carry.count {
            carry = []
        } else {
            carry.removeFirst(used)
        }
    }

    /// Handles every whole frame in `buffer`; returns the bytes used (the rest is a partial frame).
    private func scan(_ buffer: UnsafeRawBufferPointer, nowNs: Int64) -> Int {
        var at = 0
        var events = 0
        defer { if events > 0 { pool.ledger?.readDone(events: events) } }
        while buffer.count - at >= 2 {
            let first = buffer[at]
            let second = buffer[at + 1]
            // RFC 6455 §5.1: a server never masks.
            guard second & 0x80 == 0 else {
                fail("masked frame from the server")
                return buffer.count
            }
            var length = Int(second & 0x7F)
            var headerLength = 2
            if length == 126 {
                guard buffer.count - at >= 4 else { break }
                length = Int(buffer[at + 2]) << 8 | Int(buffer[at + 3])
                headerLength = 4
            } else if length == 127 {
                guard buffer.count - at >= 10 else { break }
                length = 0
                for offset in 2..<10 { length = length << 8 | Int(buffer[at + offset]) }
                headerLength = 10
                guard length <= Self.frameBytesMax else {
                    fail("a \(length)-byte frame from the server")
                    return buffer.count
                }
            }
            guard buffer.count - at >= headerLength + length else { break }
            let payload = UnsafeRawBufferPointer(rebasing: buffer[(at + headerLength)..<(at + headerLength + length)])
            at += headerLength + length
            // The hub sends every message in one frame; FIN is always set.
            guard first & 0x80 != 0 else {
                fail("a fragmented message from the server")
                return buffer.count
            }
            switch first & 0x0F {
            case 0x1: if received(payload, nowNs: nowNs) { events += 1 }
            case 0x8: closeReceived(payload)
            case 0x9: send(opcode: .pong, payload)
            case 0xA: break
            default:
                fail("opcode \(first & 0x0F) from the server")
                return buffer.count
            }
        }
        return at
    }

    /// Largest frame accepted from the hub: far above any event.
    static let frameBytesMax = 16 << 20

    /// Returns whether `text` was an availability event.
    private func received(_ text: UnsafeRawBufferPointer, nowNs: Int64) -> Bool {
        if isWelcomed { return pool.ledger?.received(text, nowNs: nowNs) ?? false }
        if FanoutMessage.isWelcome(text) {
            isWelcomed = true
            pool.subscriberWelcomed(self, text)
        } else {
            fail("expected the welcome, got \(String(decoding: text.prefix(80), as: UTF8.self))")
        }
        return false
    }

    /// RFC 6455 §5.5.1: answer the hub's close (a slow-consumer cut, shutdown) with the same
    /// code; the hub then closes TCP.
    private func closeReceived(_ payload: UnsafeRawBufferPointer) {
        let code = payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : 1000
        if !closeRequested { report("the hub closed with \(code): \(String(decoding: payload.dropFirst(2), as: UTF8.self))") }
        var frame: [UInt8] = []
        WebSocketFrameEncoder.encodeClose(code: code, maskKey: nextMaskKey(), into: &frame)
        connection?.write(frame)
    }

    private func send(opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) {
        var frame: [UInt8] = []
        WebSocketFrameEncoder.encodeFrame(opcode: opcode, payload: payload, maskKey: nextMaskKey(), into: &frame)
        connection?.write(frame)
    }

    /// xorshift32: masking keys only need to vary on loopback (RFC 6455 §5.3 wants them
    /// unpredictable to intermediaries, and there are none).
    private func nextMaskKey() -> UInt32 {
        maskState ^= maskState << 13
        maskState ^= maskState >> 17
        maskState ^= maskState << 5
        return maskState
    }

    // MARK: TCPConnectionDelegate

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        if upgraded {
            framesRead(bytes, nowNs: FanoutClock.wallNs())
        } else {
            handshakeRead(bytes)
        }
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        connection.close()
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        self.connection = nil
        carry = []
        report(error.map { "\($0)" } ?? "the hub closed the connection")
    }
}

@available(*, unavailable) extension FanoutSubscriber: Sendable {}

/// What the load tool reads in the hub's messages without parsing JSON: the envelope is
/// `{"type":…,"payload":…,"channel":…,"seq":…,"ts":…}`, in that order (`PublishedEvent.envelope`).
enum FanoutMessage {
    static let welcomePrefix = Array(#"{"type":"welcome""#.utf8)
    static let availabilityPrefix = Array(#"{"type":"space_availability_changed","#.utf8)

    static func isWelcome(_ text: UnsafeRawBufferPointer) -> Bool { hasPrefix(text, welcomePrefix) }

    @inline(__always)
    static func hasPrefix(_ text: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        guard text.count >= prefix.count else { return false }
        return prefix.withUnsafeBytes { memcmp($0.baseAddress!, text.baseAddress!, prefix.count) == 0 }  // both non-empty
    }

    /// `seq` and `ts` from an event's last bytes, `…,"seq":123,"ts":1732550400000}`, read
    /// backwards; nil when the text does not end that way.
    static func seqAndTimestamp(_ text: UnsafeRawBufferPointer) -> (seq: Int64, timestampMs: Int64)? {
        var at = text.count - 1
        guard at > 0, text[at] == UInt8(ascii: "}") else { return nil }
        at -= 1
        guard let timestamp = digitsBackwards(text, &at), expectBackwards(text, &at, #","ts":"#),
            let seq = digitsBackwards(text, &at), expectBackwards(text, &at, #""seq":"#)
        else { return nil }
        return (seq, timestamp)
    }

    private static func digitsBackwards(_ text: UnsafeRawBufferPointer, _ at: inout Int) -> Int64? {
        var value: Int64 = 0
        var scale: Int64 = 1
        let end = at
        while at >= 0, text[at] >= UInt8(ascii: "0"), text[at] <= UInt8(ascii: "9"), end - at < 18 {
            value += Int64(text[at] - UInt8(ascii: "0")) * scale
            scale *= 10
            at -= 1
        }
        return at < end ? value : nil
    }

    /// Whether `text` ends at `at` with `literal`'s bytes in reverse order (i.e. `literal`
    /// precedes the digits); moves `at` before it.
    private static func expectBackwards(_ text: UnsafeRawBufferPointer, _ at: inout Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard at + 1 >= count else { return false }
        let start = at + 1 - count
        let bytes = UnsafeRawBufferPointer(start: literal.utf8Start, count: count)
        guard memcmp(text.baseAddress! + start, bytes.baseAddress!, count) == 0 else { return false }  // at ≥ 0
        at = start - 1
        return true
    }

    /// The welcome's `"seq":N` (the hub's last seq when the subscriber connected).
    static func welcomeSeq(_ text: UnsafeRawBufferPointer) -> Int64? {
        guard let json = try? JSONParser.parse(Array(text)) else { return nil }
        return json["payload"]?["seq"]?.intValue.map(Int64.init)
    }

    /// `spaceId|YYYY-MM-DDTHH:MM` of an availability event, from `"spaceId":"…"` and the
    /// `"changed"` range's start: the key the booker filed its request under.
    static func bookingKey(_ text: UnsafeRawBufferPointer) -> String? {
        let bytes = Array(text)
        guard let space = stringValue(bytes, after: Array(#""spaceId":""#.utf8)),
            let changed = bytes.firstRange(of: Array(#""changed":{"#.utf8))?.upperBound,
            let start = stringValue(Array(bytes[changed...]), after: Array(#""start":""#.utf8)), start.count >= 16
        else { return nil }
        return space + "|" + start.prefix(16)
    }

    private static func stringValue(_ bytes: [UInt8], after key: [UInt8]) -> String? {
        guard let start = bytes.firstRange(of: key)?.upperBound,
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\""))
        else { return nil }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

/// Wall-clock time, the clock of the envelope's `ts` (same machine, same clock).
enum FanoutClock {
    /// CLOCK_REALTIME in nanoseconds (a vDSO call, ~20 ns).
    @inline(__always)
    static func wallNs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

/// Raises this process's open-file soft limit to its hard limit (the hub does the same for
/// itself); returns the new soft limit. Tens of thousands of sockets need it.
func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(clamping: limit.rlim_cur)
}

/// The resident set of a process in bytes (`VmRSS`, or `VmHWM` for the peak, from
/// /proc/<pid>/status, proc(5)), or nil when it cannot be read.
func processMemoryBytes(pid: Int32, field: String = "VmRSS") -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        // "VmRSS:\t   12345 kB"
        let number = line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            .flatMap { Int($0) }
        return number.map { $0 * 1024 }  // proc(5): in kB
    }
    return nil
}
