import CLibUV

#if canImport(Glibc)
import Glibc
#endif

extension TCPConnection {
    /// Opens a connection to `host:port` (a numeric IPv4 or IPv6 address), for clients on the
    /// loop: the load tool, tests. The hub itself only accepts.
    ///
    /// Throws when the connect cannot start (bad address, no descriptor); then `completion` never
    /// runs. Otherwise `completion` runs exactly once on the loop thread, in a later phase than
    /// this call: with the connected connection, which the caller gives a delegate and starts
    /// reading, or with the error (ECONNREFUSED, ECANCELED when closed first), the connection
    /// already closed.
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
        let fd = try Socket.open(family: Int32(address.ss_family))
        if let source {
            var local = sockaddr_storage()
            do {
                try SocketAddress.make(host: source, port: 0, into: &local)
            } catch {
                Glibc.close(fd)
                throw error
            }
            let bound = Socket.bind(fd, &local)
            guard bound == 0 else {
                Glibc.close(fd)
                throw UVError(bound, "bind \(source)")
            }
        }
        let length = Socket.length(of: address)
        let rc = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        let error = rc == 0 ? 0 : errno
        guard error == 0 || error == EINPROGRESS || error == ECONNREFUSED else {
            Glibc.close(fd)
            throw UVError(-error, "connect \(host):\(port)")
        }
        let connection = TCPConnection(loop: loop, fd: fd, connecting: true)
        loop.connects[ObjectIdentifier(connection)] = completion
        if error == ECONNREFUSED {
            // Refused at once (loopback): reported through the completion, as a refusal that
            // takes a round trip is.
            connection.fail(UVError(-error, "connect"))
        } else {
            connection.updateInterest()  // writable once the connect ends, at once if it has
        }
    }
}
