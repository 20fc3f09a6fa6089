import Foundation
import HubLoop
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` on a fresh loop, with a guard timer that fails the test instead of hanging, and
/// checks that every handle was closed at the end (the loop closes cleanly).
func withLoop(timeoutMs: UInt64 = 5000, _ body: (Loop, @escaping () -> Void) -> Void) {
    let loop = Loop()
    let guardTimer = HubLoop.Timer(loop: loop)
    var timedOut = false
    guardTimer.start(afterMs: timeoutMs) {
        timedOut = true
        loop.stop()
    }
    guardTimer.unref()
    body(loop) { guardTimer.close() }
    loop.run()
    #expect(!timedOut, "the test's loop timed out")
    guardTimer.close()
    #expect(loop.close(), "a handle was left open")
}

/// A blocking client on its own thread: connects, sends, reads until `expect` bytes or EOF.
final class BlockingClient: @unchecked Sendable {
    let fd: Int32

    init(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(rc == 0, "connect failed")
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func read(count: Int) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < count {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if n <= 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    func close() { Glibc.close(fd) }
}

/// Echoes what it reads and records how the connection ended.
final class EchoDelegate: TCPConnectionDelegate {
    var received = 0
    var closed = 0
    var eofs = 0
    var onClose: (() -> Void)?

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        received += bytes.count
        connection.write(bytes)
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        eofs += 1
        connection.closeAfterFlush()
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        closed += 1
        onClose?()
    }
}

@Suite struct LoopTests {
    @Test func echoesOverLoopbackAndClosesEveryHandle() {
        let echo = EchoDelegate()
        withLoop { loop, done in
            var listener: TCPListener!
            listener = try! TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in  // port 0 cannot be taken
                connection.setDelegate(echo)
                connection.startReading()
            }
            echo.onClose = {
                listener.close()
                done()
            }
            let port = listener.boundPort
            let payload = Array(repeating: UInt8(ascii: "x"), count: 200_000)
            Thread.detachNewThread {
                let client = BlockingClient(port: port)
                client.send(payload)
                let back = client.read(count: payload.count)
                #expect(back == payload)
                client.close()
            }
        }
        #expect(echo.received == 200_000)
        #expect(echo.eofs == 1)
        #expect(echo.closed == 1, "the close callback runs exactly once")
    }

    @Test func bindingATakenPortFails() {
        withLoop { loop, done in
            let first = try! TCPListener(loop: loop, host: "127.0.0.1", port: 0) { $0.close() }
            #expect(throws: UVError.self) {
                _ = try TCPListener(loop: loop, host: "127.0.0.1", port: first.boundPort) { $0.close() }
            }
            first.close()
            done()
        }
    }

    @Test func timerFiresRepeatedlyUntilStopped() {
        var fired = 0
        withLoop { loop, done in
            let timer = HubLoop.Timer(loop: loop)
            timer.start(afterMs: 1, repeatMs: 1) {
                fired += 1
                if fired == 5 {
                    timer.close()
                    done()
                }
            }
        }
        #expect(fired == 5)
    }

    @Test func inboxRunsWorkPostedFromOtherThreadsOnTheLoop() {
        var ran = 0
        withLoop { loop, done in
            let inbox = LoopInbox(loop: loop)
            let bound = LoopBound({ ran += 1; if ran == 1000 { inbox.close(); done() } })
            for _ in 0..<4 {
                Thread.detachNewThread {
                    for _ in 0..<250 { inbox.post { bound.value() } }
                }
            }
        }
        #expect(ran == 1000)
    }

    @Test func workQueueRunsOffTheLoopAndCompletesOnIt() {
        var results: [Int] = []
        let loopThread = pthread_self()
        withLoop { loop, done in
            for value in 0..<8 {
                WorkQueue.submit(on: loop, work: { () -> (Int, Bool) in
                    (value * value, pthread_equal(pthread_self(), loopThread) != 0)
                }) { result in
                    #expect(!result.1, "work ran on the loop thread")
                    results.append(result.0)
                    if results.count == 8 { done() }
                }
            }
        }
        #expect(results.sorted() == (0..<8).map { $0 * $0 })
    }

    /// A peer that stops reading fills our queue; past the high-water mark we stop reading its
    /// requests, so it cannot make us buffer without bound.
    @Test func readingPausesAboveTheHighWaterMark() {
        final class Flooder: TCPConnectionDelegate {
            var reads = 0
            var unsentAtPause = 0
            func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
                reads += 1
                // Answer every byte with 4 KiB: the client never reads them.
                for _ in 0..<bytes.count { connection.write([UInt8](repeating: 0x41, count: 4096)) }
                unsentAtPause = connection.unsentBytes
            }
            func connectionDidReachEOF(_ connection: TCPConnection) { connection.close() }
            func connectionDidDrain(_ connection: TCPConnection) {}
            func connectionDidClose(_ connection: TCPConnection, error: UVError?) {}
        }
        let flooder = Flooder()
        withLoop { loop, done in
            var server: TCPConnection?
            let listener = try! TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
                connection.writeBytesHighWater = 256 * 1024
                connection.setDelegate(flooder)
                connection.startReading()
                server = connection
            }
            let port = listener.boundPort
            let check = HubLoop.Timer(loop: loop)
            let client = BlockingClient(port: port)
            Thread.detachNewThread {
                for _ in 0..<200 {
                    client.send([UInt8](repeating: 0x42, count: 100))
                    usleep(1000)
                }
            }
            check.start(afterMs: 600) {
                check.close()
                listener.close()
                server?.close()
                client.close()
                done()
            }
        }
        #expect(flooder.unsentAtPause > 256 * 1024, "the queue passed the mark")
        #expect(flooder.reads < 200, "reading stopped before the client's 200 sends were all read")
    }
}
