import Foundation
import Testing

@testable import HubLoop

#if canImport(Glibc)
import Glibc
#endif

/// Writes the accepted connection's script, then closes after the flush.
private final class Writer: TCPConnectionDelegate {
    let script: (TCPConnection) -> Void
    var closed = 0

    init(_ script: @escaping (TCPConnection) -> Void) {
        self.script = script
    }

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {}
    func connectionDidReachEOF(_ connection: TCPConnection) { connection.close() }
    func connectionDidDrain(_ connection: TCPConnection) {}
    func connectionDidClose(_ connection: TCPConnection, error: UVError?) { closed += 1 }
}

/// Accepts one connection, runs `writer.script` on it, closes after the flush, and returns what
/// a blocking client read until EOF (after waiting `readDelayMs`, so big queues meet a full socket).
private func exchange(_ writer: Writer, expecting count: Int, readDelayMs: UInt32 = 0) -> [UInt8] {
    let received = UncheckedBytes()
    let finished = DispatchSemaphore(value: 0)
    withLoop(timeoutMs: 20_000) { loop, done in
        var listener: TCPListener!
        listener = try! TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in  // port 0 cannot be taken
            connection.setDelegate(writer)
            writer.script(connection)
            connection.closeAfterFlush()  // the loop ends once every byte is handed to the kernel
            listener.close()
            done()
        }
        let port = listener.boundPort
        Thread.detachNewThread {
            let client = BlockingClient(port: port)
            if readDelayMs > 0 { usleep(readDelayMs * 1000) }
            received.bytes = client.read(count: count + 1)  // one more than expected: read to EOF
            client.close()
            finished.signal()
        }
    }
    finished.wait()
    return received.bytes
}

private final class UncheckedBytes: @unchecked Sendable {
    var bytes: [UInt8] = []  // written by the client thread, read after the loop ended
}

@Suite struct TCPConnectionWriteTests {
    /// Adopted arrays (one of them queued twice), copied bytes and bytes encoded in place, all in
    /// one turn, leave in the order written: one writev over chunks of both kinds.
    @Test func writesOfEveryKindInOneTurnArriveInOrder() {
        let shared = Array("shared|".utf8)
        let writer = Writer { connection in
            connection.write(shared)
            Array("copied|".utf8).withUnsafeBytes { connection.write($0) }
            connection.write { $0.append(contentsOf: "encoded|".utf8) }
            connection.write { $0.append(contentsOf: "more|".utf8) }
            connection.write(shared)
            connection.write([])
            connection.write(Array("last".utf8))
        }
        let expected = Array("shared|copied|encoded|more|shared|last".utf8)
        #expect(exchange(writer, expecting: expected.count) == expected)
        #expect(shared == Array("shared|".utf8), "an adopted array is never written into")
    }

    /// More chunks than one writev takes (`Loop.ioVectorsMax`) and more bytes than the socket
    /// buffer holds: the first writes fill the socket, the rest is coalesced into a write request,
    /// and every byte arrives once, in order.
    @Test func aQueueLargerThanTheSocketIsWrittenWholeAndInOrder() {
        let chunkCount = Loop.ioVectorsMax * 2 + 17
        let chunks = (0..<chunkCount).map { index in [UInt8](repeating: UInt8(index % 251), count: 4096) }
        let writer = Writer { connection in
            for (index, chunk) in chunks.enumerated() {
                connection.write(chunk)
                if index % 100 == 0 { connection.write { $0.append(UInt8(index % 256)) } }
            }
        }
        var expected: [UInt8] = []
        for (index, chunk) in chunks.enumerated() {
            expected += chunk
            if index % 100 == 0 { expected.append(UInt8(index % 256)) }
        }
        let received = exchange(writer, expecting: expected.count, readDelayMs: 200)
        #expect(received.count == expected.count)
        #expect(received == expected)
    }

    /// After its flush a connection keeps neither a chunk list nor a buffer: both went back to
    /// the loop, so thousands of idle subscribers hold no write memory.
    @Test func aFlushedConnectionHoldsNoWriteStorage() {
        var holds: [Bool] = []
        withLoop { loop, done in
            var listener: TCPListener!
            var accepted: TCPConnection?
            let writer = Writer { _ in }
            listener = try! TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
                connection.setDelegate(writer)
                connection.write(Array("frame".utf8))
                connection.write { $0.append(contentsOf: "reply".utf8) }
                holds.append(connection.holdsWriteStorage)
                accepted = connection
                listener.close()
            }
            let port = listener.boundPort
            let client = BlockingClient(port: port)
            let check = HubLoop.Timer(loop: loop)
            check.start(afterMs: 100) {
                holds.append(accepted?.holdsWriteStorage ?? true)
                #expect(client.read(count: 10) == Array("framereply".utf8))
                check.close()
                accepted?.close()
                client.close()
                done()
            }
        }
        #expect(holds == [true, false])
    }

    /// Every idle connection pays for this object: its one-byte fields sit together at the end,
    /// so it stays within the 144-byte malloc chunk (interleaved with the words they padded it
    /// into the next size class; BENCHMARKS.md, Idle connections). Reordering fields shows here.
    @Test func aConnectionObjectStaysInItsMallocSizeClass() {
        var usable = 0
        withLoop { loop, done in
            var listener: TCPListener!
            listener = try! TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
                usable = mallocUsableSize(Unmanaged.passUnretained(connection).toOpaque())
                connection.close()
                listener.close()
                done()
            }
            BlockingClient(port: listener.boundPort).close()
        }
        #expect(usable > 0 && usable <= 136, "\(usable) usable bytes")
    }
}

/// glibc's `malloc_usable_size`, which the Glibc module does not import: the bytes the chunk
/// behind `pointer` holds (its malloc size class, less the chunk header).
private func mallocUsableSize(_ pointer: UnsafeMutableRawPointer) -> Int {
    typealias Function = @convention(c) (UnsafeMutableRawPointer) -> Int
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_usable_size") else { return 0 }
    return unsafeBitCast(symbol, to: Function.self)(pointer)
}
