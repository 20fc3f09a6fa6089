import CLibUV

#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket on one address (IPv4 or IPv6), in the loop's epoll set. Each accepted
/// peer becomes a `TCPConnection` handed to `onAccept`, which must set its delegate and start
/// reading.
public final class TCPListener: DeferredClose {
    /// Connections taken per readiness event at most; the rest wait for the next turn, so a
    /// flood of connects cannot hold the loop.
    static let acceptsPerEventMax = 128

    public unowned let loop: Loop
    private var fd: Int32
    private var open = true
    /// Dropped on close, as Timer drops its callback: a closure that captures the listener (to
    /// close it after one accept, as tests do) would otherwise keep it alive forever.
    private var onAccept: ((TCPConnection) -> Void)?
    /// Accept failures (EMFILE when out of descriptors); the listener keeps going.
    public private(set) var acceptErrors = 0
    public var onAcceptError: ((UVError) -> Void)?
    /// A descriptor held in reserve for EMFILE: closed to accept and at once close a peer that
    /// cannot be served, then taken again (libuv's `uv__emfile_trick`). Without it the pending
    /// peer keeps the socket readable and the loop spins; with it the peer sees a close, not a hang.
    private var reserve: Int32

    /// Binds and listens. `port` 0 picks a free port (see `boundPort`).
    public init(loop: Loop, host: String, port: Int, backlog: Int32 = 1024,
                onAccept: @escaping (TCPConnection) -> Void) throws(UVError) {
        self.loop = loop
        self.onAccept = onAccept
        var address = sockaddr_storage()
        try SocketAddress.make(host: host, port: port, into: &address)
        fd = try Socket.open(family: Int32(address.ss_family))
        reserve = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
        do throws(UVError) {
            Socket.setOption(fd, SOL_SOCKET, SO_REUSEADDR, true)  // a restart binds while old peers linger in TIME_WAIT
            // IPV6ONLY so "::" and "0.0.0.0" can be bound side by side.
            if Int32(address.ss_family) == AF_INET6 { Socket.setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, true) }
            try uvCheck(Socket.bind(fd, &address), "bind \(host):\(port)")
            guard listen(fd, backlog) == 0 else { throw UVError(Socket.lastError, "listen \(host):\(port)") }
            try uvCheck(loop.poller.change(fd, from: 0, to: EPOLLIN.rawValue, owner: Poller.data(for: self)), "epoll_ctl")
        } catch {
            Glibc.close(fd)
            if reserve >= 0 { Glibc.close(reserve) }
            open = false
            throw error
        }
        loop.openSockets += 1
        _ = Unmanaged.passRetained(self)  // released in finishClose
    }

    /// The port actually bound (useful after binding port 0).
    public var boundPort: Int {
        guard open, var storage = Socket.address(of: fd, peer: false) else { return 0 }
        return SocketAddress.port(of: &storage)
    }

    public func close() {
        guard open else { return }
        open = false
        onAccept = nil
        onAcceptError = nil
        loop.poller.remove(fd, from: EPOLLIN.rawValue)
        Glibc.close(fd)
        fd = -1
        if reserve >= 0 { Glibc.close(reserve) }
        loop.finishCloseLater(self)
    }

    func finishClose() {
        loop.openSockets -= 1
        Unmanaged.passUnretained(self).release()  // may run deinit; touch nothing after this line
    }

    /// Peers are waiting (called by the loop's `Poller`).
    func pollReady(_ events: UInt32) {
        for _ in 0..<Self.acceptsPerEventMax {
            guard open else { return }  // closed earlier in this batch, or by `onAccept`
            let peer = spacehub_accept(fd, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if peer >= 0 {
                onAccept?(TCPConnection(loop: loop, fd: peer))
                continue
            }
            let error = -peer
            switch error {
            case EAGAIN: return
            case EINTR, ECONNABORTED: continue  // the peer gave up while queued
            case EMFILE, ENFILE:
                acceptFailed(UVError(-error, "accept"))
                guard shedOnePeer() else { return }
            default:
                acceptFailed(UVError(-error, "accept"))
                return
            }
        }
    }

    /// Out of descriptors: frees the reserve to accept one waiting peer and close it at once.
    private func shedOnePeer() -> Bool {
        guard reserve >= 0 else { return false }
        Glibc.close(reserve)
        let peer = spacehub_accept(fd, Int32(SOCK_CLOEXEC.rawValue))
        if peer >= 0 { Glibc.close(peer) }
        reserve = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
        return peer >= 0
    }

    private func acceptFailed(_ error: UVError) {
        acceptErrors += 1
        onAcceptError?(error)
    }

    deinit {
        precondition(!open, "TCPListener freed while listening")
    }
}

@available(*, unavailable) extension TCPListener: Sendable {}
