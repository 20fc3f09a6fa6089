import CLibUV

#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket on one address (IPv4 or IPv6). Each accepted peer becomes a
/// `TCPConnection` handed to `onAccept`, which must set its delegate and start reading.
public final class TCPListener {
    public unowned let loop: Loop
    private let tcp = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
    private var open = true
    /// Dropped on close, as Timer drops its callback: a closure that captures the listener (to
    /// close it after one accept, as tests do) would otherwise keep it alive forever.
    private var onAccept: ((TCPConnection) -> Void)?
    /// Accept failures (EMFILE when out of descriptors); the listener keeps going.
    public private(set) var acceptErrors = 0
    public var onAcceptError: ((UVError) -> Void)?

    /// Binds and listens. `port` 0 picks a free port (see `boundPort`).
    public init(loop: Loop, host: String, port: Int, backlog: Int32 = 1024,
                onAccept: @escaping (TCPConnection) -> Void) throws(UVError) {
        self.loop = loop
        self.onAccept = onAccept
        var address = sockaddr_storage()
        do {
            try SocketAddress.make(host: host, port: port, into: &address)
        } catch {
            open = false  // deinit frees `tcp`
            throw error
        }
        let rc = uv_tcp_init(loop.raw, tcp)
        guard rc == 0 else {
            open = false
            throw UVError(rc, "uv_tcp_init")
        }
        tcp.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in closeCallback
        do {
            // IPV6ONLY so "::" and "0.0.0.0" can be bound side by side.
            let flags: UInt32 = host.contains(":") ? UV_TCP_IPV6ONLY.rawValue : 0
            let bindRC = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_bind(tcp, $0, flags) }
            }
            try uvCheck(bindRC, "bind \(host):\(port)")
            try uvCheck(uv_listen(tcp.asStream, backlog, Self.connectionCallback), "listen \(host):\(port)")
        } catch {
            close()
            throw error
        }
    }

    /// The port actually bound (useful after binding port 0).
    public var boundPort: Int {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getsockname(tcp, $0, &length) }
        }
        return SocketAddress.port(of: &storage)
    }

    public func close() {
        guard open else { return }
        open = false
        onAccept = nil
        onAcceptError = nil
        uv_close(tcp.asHandle, Self.closeCallback)
    }

    private static let connectionCallback: uv_connection_cb = { server, status in
        let listener = Unmanaged<TCPListener>.fromOpaque(server!.pointee.data).takeUnretainedValue()
        guard status == 0 else {
            listener.acceptFailed(UVError(status, "listen"))
            return
        }
        listener.acceptOne()
    }

    private func acceptOne() {
        guard open else { return }
        let connection: TCPConnection
        do {
            connection = try TCPConnection(loop: loop)
        } catch {
            acceptFailed(error)
            return
        }
        let rc = uv_accept(tcp.asStream, connection.tcp.asStream)
        guard rc == 0 else {
            connection.close()
            acceptFailed(UVError(rc, "uv_accept"))
            return
        }
        onAccept?(connection)
    }

    private func acceptFailed(_ error: UVError) {
        acceptErrors += 1
        onAcceptError?(error)
    }

    private static let closeCallback: uv_close_cb = { handle in
        let owner = Unmanaged<TCPListener>.fromOpaque(handle!.pointee.data)
        handle!.pointee.data = nil
        owner.release()
    }

    deinit {
        precondition(!open, "TCPListener freed while listening")
        tcp.deallocate()
    }
}

@available(*, unavailable) extension TCPListener: Sendable {}
