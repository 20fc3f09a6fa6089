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

/// Owns one `uv_tcp_t`, from `uv_tcp_init` until its close callback has run.
///
/// Writes are queued and flushed once per loop turn (`Loop.flushWrites`), first with
/// `uv_try_write`, the rest with `uv_write`. When the bytes not yet written pass
/// `writeBytesHighWater`, reading stops until they drain: a peer that does not read cannot make
/// us buffer without bound by sending more requests.
public final class TCPConnection {
    enum State { case open, draining, lingering, closing, closed }

    private final class Failure {
        let error: UVError
        init(error: UVError) { self.error = error }
    }

    /// How long a lingering close (`closeAfterFlush(linger: true)`) reads and drops what the
    /// peer still sends before closing regardless.
    public static let lingerMs: UInt64 = 2000

    /// `unowned(unsafe)`: `Loop.close()` requires every handle closed first, so the loop outlives
    /// its connections; a checked `unowned` would pay a reference-count round trip on every write.
    public unowned(unsafe) let loop: Loop
    let tcp = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
    /// Strong while the connection is open, dropped after `connectionDidClose`, which breaks the
    /// cycle (the delegate usually holds the connection).
    public private(set) var delegate: (any TCPConnectionDelegate)?

    /// Bytes queued this turn and not yet handed to libuv. `@exclusivity(unchecked)`: touched
    /// only on the loop thread, and no access spans a call out (writes append, flush hands
    /// pointers to uv_try_write/uv_write, which call nothing back), so accesses never overlap;
    /// the dynamic check cost a thread-local lookup per write.
    @exclusivity(unchecked) private var pending = PendingWrites()
    /// Bytes handed to `uv_write` whose callback has not run. `@exclusivity(unchecked)` on this
    /// and the other fields read and written on every write (`queued`, `unsentBytes`): loop
    /// thread only, plain loads and stores that span no call; the dynamic checks were 4% of the
    /// hub's CPU when fanning out.
    @exclusivity(unchecked) private var inFlightBytes = 0
    private var inFlightWrites = 0
    private var lingerTimer: Timer?

    /// Unsent bytes above which reading pauses. Owners with a hard cap (WebSocket) also check
    /// `unsentBytes` themselves and close.
    @exclusivity(unchecked) public var writeBytesHighWater = 1 << 20
    /// Why the connection failed, if it did. Boxed: 8 bytes per connection instead of the 24 of a
    /// `UVError?`, which kept the object one malloc size class up (BENCHMARKS.md, Idle connections).
    private var closeError: Failure?

    // One-byte fields last and together: Swift lays a class out in declaration order, and
    // scattered among the words they padded the object by 24 bytes (one more malloc size class
    // per connection; BENCHMARKS.md, Idle connections).
    private(set) var state = State.open
    @exclusivity(unchecked) private var flushScheduled = false
    private var wantsRead = false
    private var reading = false
    @exclusivity(unchecked) private var backpressured = false
    /// Set by `closeAfterFlush(linger: true)`.
    private var lingers = false
    /// The peer closed its sending side: nothing more will arrive, so there is nothing to linger for.
    private var peerFinished = false

    /// Bytes accepted by `write` and not yet confirmed written to the socket.
    public var unsentBytes: Int { pending.byteCount + inFlightBytes }
    public var isOpen: Bool { state == .open }
    /// Closing with `closeAfterFlush(linger: true)`: our side is shut down, the peer's bytes dropped.
    public var isLingering: Bool { state == .lingering }
    /// Whether the connection holds a chunk list or buffer for queued writes (tests: an idle one
    /// holds none).
    var holdsWriteStorage: Bool { pending.holdsStorage }

    init(loop: Loop) throws(UVError) {
        self.loop = loop
        let rc = uv_tcp_init(loop.raw, tcp)
        guard rc == 0 else {
            state = .closed  // never opened; deinit frees `tcp`
            throw UVError(rc, "uv_tcp_init")
        }
        tcp.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in closeCallback
    }

    deinit {
        precondition(state == .closed, "TCPConnection freed with its handle open")
        tcp.deallocate()
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
        updateReading()
    }

    public func stopReading() {
        loop.assertOnLoopThread()
        wantsRead = false
        updateReading()
    }

    private func updateReading() {
        let shouldRead = wantsRead && !backpressured && state == .open
        guard shouldRead != reading else { return }
        if shouldRead {
            let rc = uv_read_start(tcp.asStream, Self.allocCallback, Self.readCallback)
            if rc != 0 {
                fail(UVError(rc, "uv_read_start"))
                return
            }
        } else {
            uv_read_stop(tcp.asStream)
        }
        reading = shouldRead
    }

    private static let allocCallback: uv_alloc_cb = { handle, _, buf in
        let connection = Unmanaged<TCPConnection>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
        buf!.pointee = uv_buf_init(
            connection.loop.readBuffer.assumingMemoryBound(to: CChar.self), UInt32(Loop.readBufferBytes))
    }

    private static let readCallback: uv_read_cb = { stream, nread, buf in
        let connection = Unmanaged<TCPConnection>.fromOpaque(stream!.pointee.data).takeUnretainedValue()
        // libuv: "nread might be 0, which does not indicate an error or EOF. This is equivalent
        // to EAGAIN or EWOULDBLOCK under read(2)." (docs/src/stream.rst)
        if nread > 0 {
            guard connection.state == .open else { return }  // lingering: read only to be dropped
            let bytes = UnsafeRawBufferPointer(start: buf!.pointee.base, count: nread)
            connection.delegate?.connectionDidRead(connection, bytes)
        } else if nread == Int(UV_EOF.rawValue) {
            connection.reachedEOF()
        } else if nread < 0 {
            connection.fail(UVError(Int32(nread), "read"))
        }
    }

    private func reachedEOF() {
        peerFinished = true
        if state == .lingering {
            close()
            return
        }
        wantsRead = false
        updateReading()
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
            updateReading()
        }
    }

    func flush() {
        flushScheduled = false
        guard state == .open || state == .draining else { return }
        guard !pending.isEmpty else {
            if pending.holdsStorage { pending.release(to: loop) }  // an append of nothing took a spare
            return
        }
        var written = 0
        if inFlightWrites == 0 {
            // Most writes complete at once; uv_try_write saves the request and the callback.
            var chunk = 0
            while chunk < pending.chunks.count {
                let (count, bytes, result) = pending.withBuffers(from: chunk, loop: loop) { buffers, count, bytes in
                    (count, bytes, uv_try_write(tcp.asStream, buffers, UInt32(count)))
                }
                if result < 0 {
                    guard result == UV_EAGAIN.rawValue || result == UV_ENOSYS.rawValue else {
                        fail(UVError(result, "uv_try_write"))
                        return
                    }
                    break
                }
                written += Int(result)
                chunk += count
                if Int(result) < bytes { break }  // the socket buffer is full
            }
            if written == pending.byteCount {
                pending.release(to: loop)
                afterProgress()
                return
            }
        }
        // The rest waits in a write request, which owns its bytes until its callback.
        let handedOver = written == 0 && pending.chunks.count == 1  // the request takes the chunk itself
        let bytes = pending.coalesced(skipping: written)
        pending.release(to: loop, recycling: !handedOver)
        let request = WriteRequest(bytes: bytes)
        let rc = request.start(on: tcp.asStream)
        guard rc == 0 else {
            fail(UVError(rc, "uv_write"))
            return
        }
        inFlightBytes += request.bytes.count
        inFlightWrites += 1
    }

    fileprivate func writeCompleted(bytes: Int, status: Int32) {
        precondition(inFlightWrites > 0)
        inFlightWrites -= 1
        inFlightBytes -= bytes
        if status < 0 {
            if status != UV_ECANCELED.rawValue { fail(UVError(status, "write")) }
            return
        }
        afterProgress()
    }

    private func afterProgress() {
        if state == .draining && unsentBytes == 0 {
            drained()
            return
        }
        if backpressured && unsentBytes <= writeBytesHighWater / 2 {
            backpressured = false
            updateReading()
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
        if reading {
            uv_read_stop(tcp.asStream)
            reading = false
        }
        if unsentBytes == 0 { drained() }
    }

    /// Every queued byte is written: close, or shut down our side and linger.
    private func drained() {
        guard lingers && !peerFinished else {
            close()
            return
        }
        let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        guard uv_shutdown(request, tcp.asStream, Self.shutdownCallback) == 0 else {
            request.deallocate()
            close()
            return
        }
        state = .lingering
        guard uv_read_start(tcp.asStream, Self.allocCallback, Self.readCallback) == 0 else {
            close()
            return
        }
        reading = true
        let timer = Timer(loop: loop)
        timer.start(afterMs: Self.lingerMs) { [weak self] in self?.close() }
        lingerTimer = timer
    }

    /// libuv calls it once the FIN is sent, or with `UV_ECANCELED` from `uv_close` (before the
    /// close callback) when the handle closes first.
    private static let shutdownCallback: uv_shutdown_cb = { request, status in
        if status < 0 && status != UV_ECANCELED.rawValue, let data = request!.pointee.handle.pointee.data {
            Unmanaged<TCPConnection>.fromOpaque(data).takeUnretainedValue().close()  // the peer is gone
        }
        request!.deallocate()
    }

    /// Closes now; unsent bytes are dropped. Safe to call more than once.
    public func close() {
        loop.assertOnLoopThread()
        guard state == .open || state == .draining || state == .lingering else { return }  // uv_close runs once per handle
        state = .closing
        lingerTimer?.close()
        lingerTimer = nil
        pending.release(to: loop, recycling: false)
        uv_close(tcp.asHandle, Self.closeCallback)
    }

    private func fail(_ error: UVError) {
        guard state == .open || state == .draining || state == .lingering else { return }
        closeError = Failure(error: error)
        close()
    }

    private static let closeCallback: uv_close_cb = { handle in
        let owner = Unmanaged<TCPConnection>.fromOpaque(handle!.pointee.data)
        handle!.pointee.data = nil
        let connection = owner.takeUnretainedValue()
        connection.state = .closed
        connection.delegate?.connectionDidClose(connection, error: connection.closeError?.error)
        connection.delegate = nil
        owner.release()  // may run deinit, which frees `tcp`; touch nothing after this line
    }

    // MARK: Options and addresses

    /// Disables Nagle's algorithm: responses and frames are written whole, and waiting would
    /// only add latency.
    public func setNoDelay(_ on: Bool) {
        uv_tcp_nodelay(tcp, on ? 1 : 0)
    }

    /// The peer's IP address as text ("127.0.0.1", "::1"), or nil once closed.
    public func peerAddress() -> String? {
        guard state == .open else { return nil }
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getpeername(tcp, $0, &length) }
        }
        guard rc == 0 else { return nil }
        return SocketAddress.text(of: &storage)
    }
}

@available(*, unavailable) extension TCPConnection: Sendable {}  // loop thread only

/// A `uv_write_t` and the bytes it writes, alive until `writeCallback` runs.
/// libuv: buffers "must remain valid until the callback is called" (docs/src/stream.rst).
private final class WriteRequest {
    let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
    var bytes: [UInt8]

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    deinit {
        request.deallocate()
    }

    func start(on stream: UnsafeMutablePointer<uv_stream_t>) -> Int32 {
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in writeCallback
        let rc = bytes.withUnsafeBytes { raw -> Int32 in
            var buf = uvBuf(raw)
            // uv_write copies the uv_buf_t array itself; only the bytes must stay put, and an
            // array we never mutate again keeps its storage where it is.
            return uv_write(request, stream, &buf, 1, Self.writeCallback)
        }
        if rc != 0 { Unmanaged<WriteRequest>.fromOpaque(request.pointee.data).release() }
        return rc
    }

    private static let writeCallback: uv_write_cb = { request, status in
        let owner = Unmanaged<WriteRequest>.fromOpaque(request!.pointee.data)
        let write = owner.takeUnretainedValue()
        let stream = request!.pointee.handle!
        if let data = stream.pointee.data {
            let connection = Unmanaged<TCPConnection>.fromOpaque(data).takeUnretainedValue()
            connection.writeCompleted(bytes: write.bytes.count, status: status)
        }
        owner.release()
    }
}

/// A `uv_buf_t` over bytes libuv only reads (writes take `char *` but never modify it). Reading
/// through `withUnsafeBytes` keeps shared array storage shared: a broadcast frame queued on many
/// connections is never copied.
@inline(__always)
func uvBuf(_ raw: UnsafeRawBufferPointer) -> uv_buf_t {
    uv_buf_init(UnsafeMutablePointer(mutating: raw.baseAddress!.assumingMemoryBound(to: CChar.self)), UInt32(raw.count))
}
