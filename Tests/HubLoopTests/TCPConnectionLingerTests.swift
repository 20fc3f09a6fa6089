import Foundation
import Testing

@testable import HubLoop

#if canImport(Glibc)
import Glibc
#endif

/// Answers the first bytes it reads with `answer`, then closes after the flush, lingering.
private final class Refuser: TCPConnectionDelegate {
    let answer: [UInt8]
    var reads = 0
    var closed = 0
    var closedAtMs: UInt64?
    var onClose: (() -> Void)?

    init(_ answer: String) {
        self.answer = Array(answer.utf8)
    }

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        reads += 1
        connection.write(answer)
        connection.closeAfterFlush(linger: true)
    }

    func connectionDidReachEOF(_ connection: TCPConnection) { connection.close() }
    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        closed += 1
        closedAtMs = Loop.hrtimeNs() / 1_000_000
        onClose?()
    }
}

/// What the client thread saw; read after the loop ended.
private final class ClientLog: @unchecked Sendable {
    var sendErrors: [Int32] = []
    var received: [UInt8] = []
    var eofAtMs: UInt64 = 0
}

/// Runs a loop whose listener hands its one connection to `refuser`, and `client` (given the
/// port) on a thread of its own; returns once the connection has closed.
private func serveOne(_ refuser: Refuser, client: @escaping @Sendable (Int) -> Void) {
    withLoop(timeoutMs: 10_000) { loop, done in
        var listener: TCPListener!
        listener = try! TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in  // port 0 cannot be taken
            connection.setDelegate(refuser)
            connection.startReading()
            listener.close()
        }
        refuser.onClose = done
        let port = listener.boundPort
        Thread.detachNewThread { client(port) }
    }
}

@Suite struct TCPConnectionLingerTests {
    /// A peer still sending when we answer and close (the body of a refused request, the rest
    /// of a message too big to take): every send it makes succeeds, it reads our answer and then
    /// the end of stream, never a reset; what it sent after the answer never reaches the delegate.
    @Test func aPeerStillSendingReadsTheAnswerAndTheEndOfStream() {
        let refuser = Refuser("HTTP/1.1 413 Content Too Large\r\n\r\n")
        let log = ClientLog()
        let clientDone = DispatchSemaphore(value: 0)
        serveOne(refuser) { port in
            let client = BlockingClient(port: port)
            client.send(Array("POST / HTTP/1.1\r\n".utf8))
            usleep(100_000)  // the answer and our FIN are on their way before the rest is sent
            let chunk = [UInt8](repeating: UInt8(ascii: "b"), count: 64 * 1024)
            for _ in 0..<16 {
                let sent = chunk.withUnsafeBytes { Glibc.send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent < 0 { log.sendErrors.append(errno) }
            }
            log.received = client.read(count: 1 << 20)  // to EOF
            client.close()
            clientDone.signal()
        }
        // The loop ends when our side closes; the client may still be reading (ThreadSanitizer
        // saw this test read `log` while the client thread wrote it).
        clientDone.wait()
        #expect(log.sendErrors.isEmpty, "sends after our answer failed with errno \(log.sendErrors)")
        #expect(log.received == refuser.answer, "the answer, then the end of stream")
        #expect(refuser.reads == 1, "bytes read while lingering are dropped, not delivered")
        #expect(refuser.closed == 1)
    }

    /// A peer that never closes its side is closed `lingerMs` after our answer, not held open.
    @Test func aPeerThatNeverClosesIsClosedAfterTheLingerTime() {
        let refuser = Refuser("bye")
        let log = ClientLog()
        let clientMayClose = DispatchSemaphore(value: 0)
        serveOne(refuser) { port in
            let client = BlockingClient(port: port)
            client.send(Array("hello".utf8))
            log.received = client.read(count: 100)  // to EOF: our side shut down
            log.eofAtMs = Loop.hrtimeNs() / 1_000_000
            clientMayClose.wait()  // open, silent, until the hub has given up on it
            client.close()
        }
        clientMayClose.signal()
        #expect(log.received == Array("bye".utf8))
        #expect(refuser.closed == 1)
        let waited = Int64(refuser.closedAtMs ?? 0) - Int64(log.eofAtMs)
        #expect(waited + 100 >= Int64(TCPConnection.lingerMs), "closed \(waited) ms after the end of stream")
    }
}
