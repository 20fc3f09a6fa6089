import CLibUV

#if canImport(Glibc)
import Glibc
#endif

/// What a connection tells its owner. All calls arrive on the loop thread; any of them may
/// close the connection.
public protocol TCPConnectionDelegate: AnyObject {
    /// Bytes from the peer. The buffer is the loop's shared read buffer: copy what you keep.
    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer)
    /// The peer closed its sending side. Reading has stopped; writes still work.
    func connectionDidReachEOF(_ connection: TCPConnection)
    /// Unsent bytes fell back under half the high-water mark after passing it.
    func connectionDidDrain(_ connection: TCPConnection)
    /// The handle is closed; `error` is why, when it was not our own `close()`.
    func connectionDidClose(_ connection: TCPConnection, error: UVError?)
}

/// Owns one nonblocking TCP socket, from its accept or connect until its close has finished.
///
/// The socket sits in the loop's epoll set (`Poller`) and is read and written here with plain
/// system calls: no libuv handle per connection (`uv_tcp_t` is 248 bytes; an idle connection now
/// holds this object alone). Writes are queued and flushed once per loop turn
/// (`Loop.flushWrites`) with one `sendmsg` (a writev); what the kernel does not take at once is
/// kept and written when the socket is writable again. When the bytes not yet written pass
/// `writeBytesHighWater`, reading stops until they drain: a peer that does not read cannot make
/// us buffer without bound by sending more requests.
public final class TCPConnection: DeferredClose {
    enum State { case connecting, open, draining, lingering, closing, closed }

    private final class Failure {
        let error: UVError
        init(error: UVError) { self.error = error }
    }

    /// How long a lingering close (`closeAfterFlush(linger: true)`) reads and drops what the
    /// peer still sends before closing regardless.
    public static let lingerMs: UInt64 = 2000
    /// Reads per readiness event at most while each fills the loop's buffer: a peer sending
    /// without pause gets 2 MiB per turn, then waits for the next turn like every other.
    static let readsPerEventMax = 32

    /// `unowned(unsafe)`: `Loop.close()` requires every socket closed first, so the loop outlives
    /// its connections; a checked `unowned` would pay a reference-count round trip on every write.
    public unowned(unsafe) let loop: Loop
    /// Strong while the connection is open, dropped after `connectionDidClose`, which breaks the
    /// cycle (the delegate usually holds the connection).
    public private(set) var delegate: (any TCPConnectionDelegate)?

    /// Bytes queued this turn and not yet handed to the kernel. `@exclusivity(unchecked)`:
    /// touched only on the loop thread, and no access spans a call out (writes append, flush
    /// hands pointers to sendmsg, which calls nothing back), so accesses never overlap; the
    /// dynamic check cost a thread-local lookup per write.
    @exclusivity(unchecked) private var pending = PendingWrites()
    /// Bytes the kernel did not take when they were flushed, written from `unsentOffset` on when
    /// the socket is writable again; later writes wait behind them in `pending`.
    /// `@exclusivity(unchecked)` on this and the other fields read and written on every write
    /// (`queued`, `unsentBytes`): loop thread only, plain loads and stores that span no call; the
    /// dynamic checks were 4% of the hub's CPU when fanning out.
    @exclusivity(unchecked) private var unsent: [UInt8] = []
    @exclusivity(unchecked) private var unsentOffset = 0
    private var lingerTimer: Timer?

    /// Unsent bytes above which reading pauses. Owners with a hard cap (WebSocket) also check
    /// `unsentBytes` themselves and close.
    @exclusivity(unchecked) public var writeBytesHighWater = 1 << 20
    /// Why the connection failed, if it did. Boxed: 8 bytes per connection instead of the 24 of a
    /// `UVError?`, which kept the object one malloc size class up (BENCHMARKS.md, Idle connections).
    private var closeError: Failure?

    /// The socket; -1 once closed.
    private(set) var fd: Int32
    /// What the epoll set watches for (EPOLLIN, EPOLLOUT); 0 when the socket is not in the set.
    private var interest: UInt32 = 0
    // One-byte fields last and together: Swift lays a class out in declaration order, and
    // scattered among the words they padded the object by 24 bytes (one more malloc size class
    // per connection; BENCHMARKS.md, Idle connections).
    private(set) var state: State
    @exclusivity(unchecked) private var flushScheduled = false
    private var wantsRead = false
    @exclusivity(unchecked) private var backpressured = false
    /// Set by `closeAfterFlush(linger: true)`.
    private var lingers = false
    /// The peer closed its sending side: nothing more will arrive, so there is nothing to linger for.
    private var peerFinished = false

    /// Bytes accepted by `write` and not yet confirmed written to the socket.
    public var unsentBytes: Int { pending.byteCount + unsent.count - unsentOffset }
    public var isOpen: Bool { state == .open }
    /// Closing with `closeAfterFlush(linger: true)`: our side is shut down, the peer's bytes dropped.
    public var isLingering: Bool { state == .lingering }
    /// Whether the connection holds a chunk list or buffer for queued writes (tests: an idle one
    /// holds none).
    var holdsWriteStorage: Bool { pending.holdsStorage || unsent.capacity > 0 }

    /// Takes `fd` (nonblocking, close-on-exec), open or, with `connecting`, with a connect under
    /// way; the loop holds the connection until its close finishes.
    init(loop: Loop, fd: Int32, connecting: Bool = false) {
        self.loop = loop
        self.fd = fd
        state = connecting ? .connecting : .open
        loop.openSockets += 1
        _ = Unmanaged.passRetained(self)  // released in finishClose
    }

    deinit {
        precondition(state == .closed, "TCPConnection freed with its socket open")
    }

    /// Sets the delegate and keeps it alive until the connection closes.
    public func setDelegate(_ delegate: any TCPConnectionDelegate) {
        self.delegate = delegate
    }

    // MARK: Reading

    public func startReading() {
        loop.assertOnLoopThread()
        guard state == .open else { return }
        wantsRead = true
        updateInterest()
    }

    public func stopReading() {
        loop.assertOnLoopThread()
        wantsRead = false
        updateInterest()
    }

    /// Brings the epoll set in line with what the connection waits for: bytes to read (open and
    /// not paused, or lingering), room to write (unsent bytes), or the end of a connect.
    func updateInterest() {
        var wanted: UInt32 = 0
        switch state {
        case .connecting: wanted = EPOLLOUT.rawValue
        case .open, .draining: if wantsRead && !backpressured { wanted = EPOLLIN.rawValue }
        case .lingering: wanted = EPOLLIN.rawValue
        case .closing, .closed: return
        }
        if unsentOffset < unsent.count { wanted |= EPOLLOUT.rawValue }
        guard wanted != interest else { return }
        let rc = loop.poller.change(fd, from: interest, to: wanted, owner: Poller.data(for: self))
        guard rc == 0 else {
            fail(UVError(rc, "epoll_ctl"))
            return
        }
        interest = wanted
    }

    /// The socket is ready (called by the loop's `Poller`).
    func pollReady(_ events: UInt32) {
        switch state {
        case .closing, .closed: return  // closed earlier in this batch of events
        case .connecting:
            connected()
            return
        default: break
        }
        // Hang-ups and errors come whether asked for or not; the write or read they wake reports
        // them (EPIPE, 0 for the end of stream, the socket's error).
        let hangUp = events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
        if (events & EPOLLOUT.rawValue != 0 || hangUp) && unsentOffset < unsent.count {
            writeUnsent()
        }
        if (events & EPOLLIN.rawValue != 0 || hangUp) && interest & EPOLLIN.rawValue != 0 {
            readAvailable()
        }
    }

    private func readAvailable() {
        let buffer = loop.readBuffer
        for _ in 0..<Self.readsPerEventMax {
            let count = Glibc.read(fd, buffer, Loop.readBufferBytes)
            if count > 0 {
                if state == .open {  // lingering: read only to be dropped
                    delegate?.connectionDidRead(self, UnsafeRawBufferPointer(start: buffer, count: count))
                }
            } else if count == 0 {
                reachedEOF()
                return
            } else {
                let error = errno
                if error != EAGAIN && error != EINTR { fail(UVError(-error, "read")) }
                return
            }
            // The delegate may have closed us or paused reading; a short read emptied the socket.
            guard count == Loop.readBufferBytes, interest & EPOLLIN.rawValue != 0 else { return }
        }
    }

    /// The connect ended (the socket became writable): connected, or failed with the socket's error.
    private func connected() {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 { error = errno }
        guard error == 0 else {
            fail(UVError(-error, "connect"))  // the completion hears it when the close finishes
            return
        }
        state = .open
        updateInterest()
        loop.connects.removeValue(forKey: ObjectIdentifier(self))?(.success(self))
    }

    private func reachedEOF() {
        peerFinished = true
        if state == .lingering {
            close()
            return
        }
        wantsRead = false
        updateInterest()
        guard state == .open || state == .draining else { return }
        delegate?.connectionDidReachEOF(self)
    }

    // MARK: Writing

    /// Queues bytes; they leave in this loop turn's flush.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        loop.assertOnLoopThread()
        guard state == .open else { return }
        pending.append(loop: loop) { $0.append(contentsOf: bytes) }
        queued()
    }

    /// Queues bytes that `encode` appends to the connection's own buffer, so a frame is encoded
    /// straight into what will be written, with no buffer of its own. `encode` must only append.
    ///
    ///     connection.write { WebSocketFrameEncoder.encodeText(text, into: &$0) }
    public func write(appending encode: (inout [UInt8]) -> Void) {
        loop.assertOnLoopThread()
        guard state == .open else { return }
        pending.append(loop: loop, encode)
        queued()
    }

    /// Queues `bytes` without copying them: the array is kept until written, so a broadcast
    /// frame shared by every subscriber is queued on each by reference.
    public func write(_ bytes: [UInt8]) {
        loop.assertOnLoopThread()
        guard state == .open, !bytes.isEmpty else { return }
        pending.adopt(bytes, loop: loop)
        queued()
    }

    private func queued() {
        if !flushScheduled {
            flushScheduled = true
            loop.scheduleFlush(self)
        }
        if !backpressured && unsentBytes > writeBytesHighWater {
            backpressured = true
            updateInterest()
        }
    }

    func flush() {
        flushScheduled = false
        guard state == .open || state == .draining else { return }
        guard !pending.isEmpty else {
            if pending.holdsStorage { pending.release(to: loop) }  // an append of nothing took a spare
            return
        }
        guard unsentOffset == unsent.count else { return }  // behind bytes waiting for room; `writeUnsent` flushes
        var written = 0
        var chunk = 0
        while chunk < pending.chunks.count {
            let (count, bytes, result) = pending.withBuffers(from: chunk, loop: loop) { buffers, count, bytes in
                (count, bytes, Self.send(fd, buffers, count))
            }
            if result < 0 {
                guard result == -EAGAIN else {
                    fail(UVError(Int32(result), "sendmsg"))
                    return
                }
                break
            }
            written += result
            chunk += count
            if result < bytes { break }  // the socket buffer is full
        }
        if written == pending.byteCount {
            pending.release(to: loop)
            afterProgress()
            return
        }
        // The rest waits for room: the chunk itself when there is one and nothing was written,
        // else a copy of what is left.
        let handedOver = written == 0 && pending.chunks.count == 1
        unsent = pending.coalesced(skipping: written)
        unsentOffset = 0
        pending.release(to: loop, recycling: !handedOver)
        updateInterest()
    }

    /// One `sendmsg` over `count` buffers: the bytes written, or a negative errno. MSG_NOSIGNAL:
    /// a peer gone away is an EPIPE to handle, not a SIGPIPE to the process.
    private static func send(_ fd: Int32, _ buffers: UnsafePointer<uv_buf_t>, _ count: Int) -> Int {
        // uv_buf_t is laid out as struct iovec on Unix (base, then length), as libuv's own writev relies on.
        var message = msghdr()
        message.msg_iov = UnsafeMutableRawPointer(mutating: buffers).assumingMemoryBound(to: iovec.self)
        message.msg_iovlen = count
        let result = sendmsg(fd, &message, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
        return result >= 0 ? result : -Int(errno)
    }

    /// The socket has room: write what waited, then what was queued behind it.
    private func writeUnsent() {
        let result = unsent.withUnsafeBytes { raw -> Int in
            var buffer = uvBuf(UnsafeRawBufferPointer(rebasing: raw[unsentOffset...]))
            return Self.send(fd, &buffer, 1)
        }
        if result < 0 {
            if result != -EAGAIN { fail(UVError(Int32(result), "sendmsg")) }
            return
        }
        unsentOffset += result
        guard unsentOffset == unsent.count else { return }
        unsent = []
        unsentOffset = 0
        updateInterest()
        if !pending.isEmpty && !flushScheduled { flush() }
        guard state == .open || state == .draining else { return }
        afterProgress()
    }

    private func afterProgress() {
        if state == .draining && unsentBytes == 0 {
            drained()
            return
        }
        if backpressured && unsentBytes <= writeBytesHighWater / 2 {
            backpressured = false
            updateInterest()
            delegate?.connectionDidDrain(self)
        }
    }

    // MARK: Closing

    /// Closes once queued bytes are written (or at once when nothing is queued). Stops reading:
    /// the delegate hears nothing more but `connectionDidClose`.
    ///
    /// With `linger`, a lingering close (nginx's `lingering_close`): once the bytes are written
    /// the sending side is shut down (the peer reads our last bytes, then end of stream), and what
    /// the peer still sends is read and dropped until it closes too, or for `lingerMs` at most.
    /// Closing a socket that holds unread bytes makes the kernel send a reset, which can overtake
    /// our last bytes: a client still sending the request we refused, or the frames after the one
    /// that failed its WebSocket, would see ECONNRESET instead of our 413 or close frame.
    public func closeAfterFlush(linger: Bool = false) {
        loop.assertOnLoopThread()
        guard state == .open else { return }
        state = .draining
        lingers = linger
        wantsRead = false
        updateInterest()
        if unsentBytes == 0 { drained() }
    }

    /// Every queued byte is written: close, or shut down our side and linger.
    private func drained() {
        guard lingers && !peerFinished, shutdown(fd, Int32(SHUT_WR)) == 0 else {
            close()  // not lingering, or the peer is gone already
            return
        }
        state = .lingering
        updateInterest()
        let timer = Timer(loop: loop)
        timer.start(afterMs: Self.lingerMs) { [weak self] in self?.close() }
        lingerTimer = timer
    }

    /// Closes now; unsent bytes are dropped. Safe to call more than once. The delegate hears
    /// `connectionDidClose` in the next loop turn, never from inside this call.
    public func close() {
        loop.assertOnLoopThread()
        guard state != .closing && state != .closed else { return }
        state = .closing
        lingerTimer?.close()
        lingerTimer = nil
        pending.release(to: loop, recycling: false)
        unsent = []
        unsentOffset = 0
        loop.poller.remove(fd, from: interest)
        interest = 0
        Glibc.close(fd)
        fd = -1
        loop.finishCloseLater(self)
    }

    func fail(_ error: UVError) {
        guard state != .closing && state != .closed else { return }
        closeError = Failure(error: error)
        close()
    }

    /// The close's second half, in the next turn (`Loop.finishCloseLater`): tell the delegate,
    /// drop it and let go of the connection.
    func finishClose() {
        state = .closed
        loop.openSockets -= 1
        if !loop.connects.isEmpty, let completion = loop.connects.removeValue(forKey: ObjectIdentifier(self)) {
            completion(.failure(closeError?.error ?? UVError(UV_ECANCELED.rawValue, "connect")))  // closed before connected
        }
        delegate?.connectionDidClose(self, error: closeError?.error)
        delegate = nil
        Unmanaged.passUnretained(self).release()  // may run deinit; touch nothing after this line
    }

    // MARK: Options and addresses

    /// Disables Nagle's algorithm: responses and frames are written whole, and waiting would
    /// only add latency.
    public func setNoDelay(_ on: Bool) {
        guard fd >= 0 else { return }
        Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, on)
    }

    /// The peer's IP address as text ("127.0.0.1", "::1"), or nil once closed.
    public func peerAddress() -> String? {
        guard state == .open, var storage = Socket.address(of: fd, peer: true) else { return nil }
        return SocketAddress.text(of: &storage)
    }
}

@available(*, unavailable) extension TCPConnection: Sendable {}  // loop thread only

/// A `uv_buf_t` over bytes libuv only reads (writes take `char *` but never modify it). Reading
/// through `withUnsafeBytes` keeps shared array storage shared: a broadcast frame queued on many
/// connections is never copied.
@inline(__always)
func uvBuf(_ raw: UnsafeRawBufferPointer) -> uv_buf_t {
    uv_buf_init(UnsafeMutablePointer(mutating: raw.baseAddress!.assumingMemoryBound(to: CChar.self)), UInt32(raw.count))
}
