import Foundation
import Testing

@testable import HubLoop

#if canImport(Glibc)
import Glibc
#endif

/// Closes its peer connection, then its own, on the first bytes it reads; records what it heard.
private final class Closer: TCPConnectionDelegate {
    var peer: TCPConnection?
    var reads = 0
    var closes: [UVError?] = []

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        reads += 1
        peer?.close()
        connection.close()
    }

    func connectionDidReachEOF(_ connection: TCPConnection) { connection.close() }
    func connectionDidDrain(_ connection: TCPConnection) {}
    func connectionDidClose(_ connection: TCPConnection, error: UVError?) { closes.append(error) }
}

/// The loop's own epoll set (`Poller`): events for sockets closed in the same batch, hang-ups
/// while bytes wait for room.
@Suite struct PollerTests {
    /// Two connections readable in the same turn, each closing the other (and itself) when it
    /// reads: the first read closes the second, whose event (taken in the same batch) must be dropped, not
    /// delivered to a closed connection or its freed memory (ASan runs this suite too).
    @Test func anEventForASocketClosedEarlierInTheSameBatchIsDropped() {
        let first = Closer()
        let second = Closer()
        var clients: [BlockingClient] = []
        withLoop { loop, done in
            var accepted: [TCPConnection] = []
            var listener: TCPListener!
            listener = try! TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
                accepted.append(connection)
                guard accepted.count == 2 else { return }
                listener.close()
                first.peer = accepted[1]
                second.peer = accepted[0]
                accepted[0].setDelegate(first)
                accepted[1].setDelegate(second)
                accepted[0].startReading()
                accepted[1].startReading()
                accepted = []
                done()
            }
            // Both connect and send before the loop runs: both sockets are readable when the
            // loop first asks epoll after accepting them.
            clients = (0..<2).map { _ in BlockingClient(port: listener.boundPort) }
            for client in clients { client.send(Array("ping".utf8)) }
        }
        for client in clients { client.close() }
        #expect(first.reads + second.reads == 1, "the second read went to a connection already closed")
        #expect(first.closes.count == 1 && second.closes.count == 1)
        first.peer = nil
        second.peer = nil
    }

    /// A peer that goes away while bytes wait for room in its socket: the hang-up wakes the
    /// pending write, which fails, and the connection closes with the error instead of waiting
    /// (or spinning on the hang-up epoll reports every turn).
    @Test func aPeerGoneWhileBytesWaitClosesTheConnectionWithTheError() {
        let delegate = Closer()
        withLoop(timeoutMs: 10_000) { loop, done in
            var listener: TCPListener!
            listener = try! TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
                listener.close()
                connection.setDelegate(delegate)
                connection.write([UInt8](repeating: 0x61, count: 32 << 20))  // far more than the socket buffers hold
                done()
            }
            let client = BlockingClient(port: listener.boundPort)
            Thread.detachNewThread {
                usleep(200_000)  // the hub's flush has met a full socket
                var linger = linger(l_onoff: 1, l_linger: 0)  // close with a reset
                setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
                client.close()
            }
        }
        #expect(delegate.closes.count == 1)
        if let error = delegate.closes.first ?? nil {
            #expect(["ECONNRESET", "EPIPE"].contains(error.name), "closed with \(error)")
        } else {
            Issue.record("the connection closed without an error")
        }
    }

    /// A listener takes at most `acceptsPerEventMax` waiting peers per turn, so a flood of
    /// connects cannot hold the loop; the rest are taken in the turns after.
    @Test func aListenerAcceptsABoundedNumberOfPeersPerTurn() throws {
        let loop = Loop()
        var accepted: [TCPConnection] = []
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { accepted.append($0) }
        let waiting = TCPListener.acceptsPerEventMax + 40
        let clients = (0..<waiting).map { _ in BlockingClient(port: listener.boundPort) }  // queued in the backlog
        loop.runOnce()
        #expect(accepted.count == TCPListener.acceptsPerEventMax)
        var turns = 1
        while accepted.count < waiting && turns < 100 {
            loop.runOnce()
            turns += 1
        }
        #expect(accepted.count == waiting)
        for connection in accepted { connection.close() }
        accepted = []
        listener.close()
        for client in clients { client.close() }
        #expect(loop.close())
    }
}
