import HubLoop
import Testing

/// Records what a connection reports; echoes when asked to.
private final class Peer: TCPConnectionDelegate {
    var received: [UInt8] = []
    var eofs = 0
    var closes = 0
    var echo = false
    var onRead: ((Peer) -> Void)?

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        received.append(contentsOf: bytes)
        if echo { connection.write(bytes) }
        onRead?(self)
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        eofs += 1
        connection.closeAfterFlush()
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        closes += 1
    }
}

@Suite struct TCPConnectionConnectTests {
    /// Connect to a listener on 127.0.0.1:0, send, get the echo, close: every callback once, no
    /// handle left behind.
    @Test func connectsExchangesBytesAndClosesCleanly() throws {
        let loop = Loop()
        let server = Peer()
        server.echo = true
        var accepted = 0
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
            accepted += 1
            connection.setDelegate(server)
            connection.startReading()
        }
        let client = Peer()
        var completions = 0
        var clientConnection: TCPConnection?
        client.onRead = { peer in
            if peer.received.count == 5 { clientConnection?.close() }
        }
        try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener.boundPort) { result in
            completions += 1
            guard case .success(let connection) = result else {
                Issue.record("connect failed: \(result)")
                return
            }
            clientConnection = connection
            connection.setDelegate(client)
            connection.startReading()
            connection.write(Array("hello".utf8))
        }
        let guardTimer = Timer(loop: loop)
        guardTimer.start(afterMs: 5000) {
            Issue.record("timed out")
            loop.stop()
        }
        guardTimer.unref()
        while client.closes == 0 || server.closes == 0 {
            if !loop.runOnce() { break }
        }
        #expect(completions == 1)
        #expect(accepted == 1)
        #expect(client.received == Array("hello".utf8))
        #expect(server.received == Array("hello".utf8))
        #expect(server.eofs == 1)
        #expect(client.closes == 1 && server.closes == 1)
        clientConnection = nil
        guardTimer.close()
        listener.close()
        #expect(loop.close())
    }

    /// Nothing listens on the port: the completion reports ECONNREFUSED and the handle is closed.
    @Test func refusedConnectReportsTheErrorOnce() throws {
        let loop = Loop()
        // Bind a port, then free it, so nothing listens there.
        let probe = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { $0.close() }
        let port = probe.boundPort
        probe.close()
        loop.runOnce(wait: false)
        var results: [Result<TCPConnection, UVError>] = []
        try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port) { results.append($0) }
        let guardTimer = Timer(loop: loop)
        guardTimer.start(afterMs: 5000) { loop.stop() }
        guardTimer.unref()
        while results.isEmpty {
            if !loop.runOnce() { break }
        }
        #expect(results.count == 1)
        if case .failure(let error) = results.first {
            #expect(error.name == "ECONNREFUSED")
        } else {
            Issue.record("expected a failure, got \(results)")
        }
        results = []
        guardTimer.close()
        #expect(loop.close())
    }

    @Test func badAddressThrowsWithoutCallingBack() {
        let loop = Loop()
        var calls = 0
        #expect(throws: UVError.self) {
            try TCPConnection.connect(loop: loop, host: "not-an-address", port: 80) { _ in calls += 1 }
        }
        #expect(calls == 0)
        #expect(loop.close())
    }
}
