import CLibUV

#if canImport(Glibc)
import Glibc
#endif

/// Owns one `uv_loop_t` and the state every handle on it shares: the read buffer and the list of
/// connections with bytes to flush at the end of this loop turn.
///
/// libuv: "the loop is not thread-safe" (docs/src/loop.rst). Only the thread that created the
/// loop touches it; other threads come in through `LoopInbox`.
public final class Loop {
    /// Bytes read at once from a socket. One buffer serves every connection because a socket is
    /// read and its delegate called before the next socket is read, and readers copy what they keep.
    public static let readBufferBytes = 64 * 1024

    public let raw: UnsafeMutablePointer<uv_loop_t>
    let readBuffer: UnsafeMutableRawPointer
    private let thread: pthread_t

    /// Connections that wrote during this turn. Flushed in the prepare phase (writes made by
    /// timer callbacks, before the loop blocks in poll) and in the check phase (writes made by
    /// I/O callbacks), so every write leaves in the turn that made it, batched per connection.
    /// `@exclusivity(unchecked)`: loop thread only; `scheduleFlush` appends and calls nothing out,
    /// and `flushWrites` swaps the arrays before flushing, so no access spans a flush.
    @exclusivity(unchecked) private var flushQueue: [TCPConnection] = []
    private var flushing: [TCPConnection] = []
    private let prepare = UnsafeMutablePointer<uv_prepare_t>.allocate(capacity: 1)
    private let check = UnsafeMutablePointer<uv_check_t>.allocate(capacity: 1)
    private var flushHandlesOpen = true
    private var closed = false

    /// Every socket on the loop (`TCPConnection`, `TCPListener`) in one epoll set.
    let poller: Poller
    /// Sockets closed whose owners hear of it in a later phase (`finishCloseLater`), and the idle
    /// handle that runs them: an idle handle makes libuv poll without blocking, so they finish in
    /// the next turn whichever phase closed them.
    private var closing: [any DeferredClose] = []
    private var finishing: [any DeferredClose] = []
    private let idle = UnsafeMutablePointer<uv_idle_t>.allocate(capacity: 1)
    private var idleStarted = false
    /// What to call when each connect under way ends (`TCPConnection.connect`): kept here rather
    /// than in every connection, which would pay for it long after.
    var connects: [ObjectIdentifier: (Result<TCPConnection, UVError>) -> Void] = [:]
    /// Sockets opened and not yet finished closing: `close()` reports a leak when any is left.
    var openSockets = 0

    /// Emptied write buffers, kept for the next connection that writes, so a connection that
    /// writes every turn (an echo, a busy subscriber) does not allocate and free its buffer each
    /// time, and an idle one holds none: the buffers belong to the loop, not the connections.
    /// `@exclusivity(unchecked)`: loop thread only, and popLast/append call nothing out.
    @exclusivity(unchecked) private var spareWriteBuffers: [[UInt8]] = []
    /// Spare buffers kept at most: enough for every connection that writes in one busy turn.
    /// Bounds the memory parked here to `spareWriteBuffersMax * spareWriteBufferBytesMax` (16 MiB).
    static let spareWriteBuffersMax = 1024
    /// Larger buffers (a burst, a big message) are freed rather than parked.
    static let spareWriteBufferBytesMax = 16 * 1024
    /// Capacity of a fresh write buffer: a few small frames fit without growing.
    static let writeBufferBytesInitial = 512

    /// Emptied chunk lists of connections' `PendingWrites`, kept like the spare buffers: a
    /// connection that writes every turn does not allocate its list each time, and an idle one
    /// holds none. `@exclusivity(unchecked)`: loop thread only, popLast/append call nothing out.
    @exclusivity(unchecked) private var spareChunkLists: [[[UInt8]]] = []
    /// Spare chunk lists kept at most: one per subscriber of a 10,000-connection broadcast, so
    /// a fan-out turn reuses them all. With `chunkListCapacityMax` bounds the parking to 10 MiB.
    static let spareChunkListsMax = 20_000
    /// Longer lists (a turn that queued many frames on one connection) are freed, not kept.
    static let chunkListCapacityMax = 64

    /// `uv_buf_t`s for one writev, filled by `PendingWrites.withBuffers` just before
    /// `sendmsg` reads them. IOV_MAX on Linux is 1024; a connection with more chunks in one
    /// turn writes them in several calls.
    static let ioVectorsMax = 1024
    let ioVectors = UnsafeMutablePointer<uv_buf_t>.allocate(capacity: ioVectorsMax)

    public init() {
        raw = .allocate(capacity: 1)
        let rc = uv_loop_init(raw)
        precondition(rc == 0, "uv_loop_init: \(UVError(rc))")  // fails only when out of fds/memory at start
        readBuffer = .allocate(byteCount: Self.readBufferBytes, alignment: 16)
        thread = pthread_self()

        poller = Poller(loop: raw)
        precondition(uv_prepare_init(raw, prepare) == 0)  // cannot fail on an initialised loop
        precondition(uv_check_init(raw, check) == 0)
        precondition(uv_idle_init(raw, idle) == 0)
        // Unretained: the loop outlives its flush handles (closed in `close()`).
        let opaque = Unmanaged.passUnretained(self).toOpaque()
        prepare.pointee.data = opaque
        check.pointee.data = opaque
        idle.pointee.data = opaque
        uv_prepare_start(prepare) { handle in
            Unmanaged<Loop>.fromOpaque(handle!.pointee.data).takeUnretainedValue().flushWrites()
        }
        uv_check_start(check) { handle in
            Unmanaged<Loop>.fromOpaque(handle!.pointee.data).takeUnretainedValue().flushWrites()
        }
        // The flush handles must not keep the loop alive on their own.
        uv_unref(prepare.asHandle)
        uv_unref(check.asHandle)
    }

    deinit {
        precondition(closed, "Loop freed without close()")
        raw.deallocate()
        readBuffer.deallocate()
        prepare.deallocate()
        check.deallocate()
        idle.deallocate()
        ioVectors.deallocate()
    }

    /// Milliseconds on libuv's cached monotonic clock, updated once per loop turn.
    public var nowMs: UInt64 { uv_now(raw) }

    /// Nanoseconds on the monotonic clock, read now.
    public static func hrtimeNs() -> UInt64 { uv_hrtime() }

    /// Cores this process may run on (the CPU affinity mask and cgroup quota are respected).
    public static var availableParallelism: Int { Int(uv_available_parallelism()) }

    /// Runs until there is nothing left to do or `stop()` is called.
    public func run() {
        assertOnLoopThread()
        uv_run(raw, UV_RUN_DEFAULT)
    }

    /// Runs one turn; with `wait` false it does not block for I/O. Returns whether handles remain active.
    @discardableResult
    public func runOnce(wait: Bool = true) -> Bool {
        assertOnLoopThread()
        return uv_run(raw, wait ? UV_RUN_ONCE : UV_RUN_NOWAIT) != 0
    }

    public func stop() {
        assertOnLoopThread()
        uv_stop(raw)
    }

    /// Closes the loop after every handle and socket has been closed by its owner. Runs the loop
    /// until the close callbacks have fired; returns false when some handle or socket is still
    /// open (a leak).
    @discardableResult
    public func close() -> Bool {
        assertOnLoopThread()
        precondition(!closed)
        // Let sockets already closing finish.
        var turns = 0
        while !closing.isEmpty && turns < 100 {
            turns += 1
            uv_run(raw, UV_RUN_NOWAIT)
        }
        let leaked = openSockets != 0
        if flushHandlesOpen {
            flushHandlesOpen = false
            uv_close(prepare.asHandle, nil)
            uv_close(check.asHandle, nil)
            uv_close(idle.asHandle, nil)
            poller.close()
        }
        // Let pending close callbacks run.
        turns = 0
        while uv_loop_close(raw) == UV_EBUSY.rawValue {
            turns += 1
            if turns > 100 { return false }
            uv_run(raw, UV_RUN_NOWAIT)
        }
        closed = true
        return !leaked
    }

    /// Runs `socket.finishClose()` in the next turn's idle phase: after the batch of events that
    /// may still name the socket, and never inside the call that closed it.
    func finishCloseLater(_ socket: any DeferredClose) {
        closing.append(socket)
        guard !idleStarted else { return }
        idleStarted = true
        uv_idle_start(idle) { handle in
            Unmanaged<Loop>.fromOpaque(handle!.pointee.data).takeUnretainedValue().finishCloses()
        }
    }

    private func finishCloses() {
        // A finish may close more sockets (an owner closing its peers); they wait for the next turn.
        swap(&closing, &finishing)
        for socket in finishing { socket.finishClose() }
        finishing.removeAll(keepingCapacity: true)
        if closing.isEmpty {
            uv_idle_stop(idle)
            idleStarted = false
        }
    }

    @inline(__always)
    public func assertOnLoopThread() {
        assert(pthread_equal(thread, pthread_self()) != 0, "called off the loop thread")
    }

    /// An empty buffer with room to write into: a spare one when there is one.
    @inline(__always)
    func takeWriteBuffer() -> [UInt8] {
        if let buffer = spareWriteBuffers.popLast() { return buffer }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.writeBufferBytesInitial)
        return buffer
    }

    /// Takes `buffer`'s storage (leaving it empty, without capacity) and parks it when it is
    /// small enough and there is room. Only for buffers the caller alone holds: clearing a shared
    /// one (a broadcast frame queued as is) would allocate.
    @inline(__always)
    func recycleWriteBuffer(_ buffer: inout [UInt8]) {
        var taken: [UInt8] = []
        swap(&taken, &buffer)
        guard spareWriteBuffers.count < Self.spareWriteBuffersMax, taken.capacity <= Self.spareWriteBufferBytesMax
        else { return }
        taken.removeAll(keepingCapacity: true)
        spareWriteBuffers.append(taken)
    }

    /// An empty chunk list with room: a spare one when there is one.
    @inline(__always)
    func takeChunkList() -> [[UInt8]] {
        if let list = spareChunkLists.popLast() { return list }
        var list: [[UInt8]] = []
        list.reserveCapacity(4)
        return list
    }

    /// Takes `list`'s storage (leaving it empty, without capacity), releases the chunks in it and
    /// parks the storage when it is small enough and there is room.
    @inline(__always)
    func recycleChunkList(_ list: inout [[UInt8]]) {
        var taken: [[UInt8]] = []
        swap(&taken, &list)
        guard taken.capacity > 0, spareChunkLists.count < Self.spareChunkListsMax,
            taken.capacity <= Self.chunkListCapacityMax
        else { return }
        taken.removeAll(keepingCapacity: true)
        spareChunkLists.append(taken)
    }

    func scheduleFlush(_ connection: TCPConnection) {
        flushQueue.append(connection)
    }

    private func flushWrites() {
        guard !flushQueue.isEmpty else { return }
        // A flush can fail and close a connection, whose delegate may write to others; those
        // land in the emptied queue and go out in the next phase. Swapping keeps both arrays'
        // storage, so a busy loop does not allocate per turn.
        swap(&flushQueue, &flushing)
        for connection in flushing { connection.flush() }
        flushing.removeAll(keepingCapacity: true)
    }
}

@available(*, unavailable) extension Loop: Sendable {}  // loop thread only

/// A socket whose close finishes in a later phase (`Loop.finishCloseLater`).
protocol DeferredClose: AnyObject {
    func finishClose()
}
