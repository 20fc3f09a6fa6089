import CLibUV

#if canImport(Glibc)
import Glibc
#endif

extension TCPConnection {
    /// Opens a connection to `host:port` (a numeric IPv4 or IPv6 address), for clients on the
    /// loop: the load tool, tests. The hub itself only accepts.
    ///
    /// Throws when the connect cannot start (bad address, no handle); then `completion` never
    /// runs. Otherwise `completion` runs exactly once on the loop thread, from the connect
    /// callback: with the connected connection, which the caller gives a delegate and starts
    /// reading, or with the error, the handle already closing.
    ///
    /// `source`, when given, is the local address to bind first (port 0: the kernel picks the
    /// port). A load tool holding more than ~28,000 connections to one server spreads them over
    /// several loopback sources, each with its own ephemeral port range.
    ///
    ///     try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: 8080) { result in
    ///         guard case .success(let connection) = result else { return }
    ///         connection.setDelegate(client)
    ///         connection.startReading()
    ///     }
    public static func connect(
        loop: Loop, host: String, port: Int, from source: String? = nil,
        completion: @escaping (Result<TCPConnection, UVError>) -> Void
    ) throws(UVError) {
        loop.assertOnLoopThread()
        var address = sockaddr_storage()
        try SocketAddress.make(host: host, port: port, into: &address)
        let connection = try TCPConnection(loop: loop)
        if let source {
            var local = sockaddr_storage()
            let bound: Int32
            do {
                try SocketAddress.make(host: source, port: 0, into: &local)
                bound = withUnsafePointer(to: &local) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_bind(connection.tcp, $0, 0) }
                }
            } catch {
                connection.close()
                throw error
            }
            guard bound == 0 else {
                connection.close()
                throw UVError(bound, "uv_tcp_bind \(source)")
            }
        }
        let request = ConnectRequest(connection: connection, completion: completion)
        let rc = request.start(to: &address)
        guard rc == 0 else {
            connection.close()
            throw UVError(rc, "uv_tcp_connect \(host):\(port)")
        }
    }
}

/// A `uv_connect_t` and what to do when it completes, alive until `connectCallback` runs.
/// libuv: the request "must remain valid until the callback is called" (docs/src/request.rst);
/// the connection is kept too, so nothing but the callback decides when the caller sees it.
private final class ConnectRequest {
    let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
    let connection: TCPConnection
    let completion: (Result<TCPConnection, UVError>) -> Void

    init(connection: TCPConnection, completion: @escaping (Result<TCPConnection, UVError>) -> Void) {
        self.connection = connection
        self.completion = completion
    }

    deinit {
        request.deallocate()
    }

    func start(to address: inout sockaddr_storage) -> Int32 {
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in connectCallback
        let rc = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                uv_tcp_connect(request, connection.tcp, $0, Self.connectCallback)
            }
        }
        if rc != 0 { Unmanaged<ConnectRequest>.fromOpaque(request.pointee.data).release() }  // no callback will run
        return rc
    }

    private static let connectCallback: uv_connect_cb = { request, status in
        let owner = Unmanaged<ConnectRequest>.fromOpaque(request!.pointee.data)
        let connect = owner.takeUnretainedValue()
        let connection = connect.connection
        // ECANCELED: the handle was closed while connecting; close() below is then a no-op.
        if status == 0 && connection.isOpen {
            connect.completion(.success(connection))
        } else {
            connection.close()
            connect.completion(.failure(UVError(status == 0 ? UV_ECANCELED.rawValue : status, "connect")))
        }
        owner.release()  // may free the request; touch nothing after this line
    }
}
