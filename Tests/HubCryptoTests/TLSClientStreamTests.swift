import Foundation
import Synchronization
@testable import HubCrypto
import Testing

/// Against a real `openssl s_server` on loopback. Serialized: each test owns one child process,
/// and the 2-core machine should not run several handshakes' key generation at once.
@Suite(.serialized)
struct TLSClientStreamTests {
    init() {
        // OpenSSL writes with write(2); a test whose peer is gone must get EPIPE, not die.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Runs `body` with a fresh server and a connected socket, always cleaning both up.
    func withServer(timeoutMs: Int = 5_000, _ body: (TLSTestServer, Int32) throws -> Void) throws {
        let server = try TLSTestServer()
        defer { server.stop() }
        let fd = try server.connect(timeoutMs: timeoutMs)
        defer { close(fd) }
        try body(server, fd)
    }

    func trustingContext() throws -> TLSClientContext {
        try TLSClientContext(trustedCertificatesFile: TLSTestCertificate.shared.get().certificatePath)
    }

    /// Writes `line` + "\n" and reads until a newline arrives (bounded by the socket timeout).
    func echo(_ line: String, over stream: TLSClientStream) throws -> String {
        try stream.write(Array((line + "\n").utf8))
        var received: [UInt8] = []
        while !received.contains(UInt8(ascii: "\n")) {
            guard try stream.read(appendingTo: &received, maxCount: 4096) > 0 else { break }
        }
        return String(decoding: received, as: UTF8.self)
    }

    @Test func handshakeWithoutVerificationCarriesData() throws {
        try withServer { _, fd in
            let stream = try TLSClientStream(fd: fd, serverName: "localhost", verifyPeer: false)
            #expect(["TLSv1.3", "TLSv1.2"].contains(stream.protocolVersion))
            #expect(try echo("hello", over: stream) == "olleh\n")
            stream.shutdown()
            stream.shutdown()  // idempotent
        }
    }

    @Test func selfSignedCertificateIsRejectedByTheSystemTrustStore() throws {
        try withServer { _, fd in
            let error = try #require(throws: CryptoError.self) {
                _ = try TLSClientStream(fd: fd, serverName: "localhost")
            }
            #expect(error.kind == .certificateRejected)
            #expect(error.function == "SSL_connect")
            #expect(error.message.contains("self-signed") || error.message.contains("self signed"))
        }
    }

    @Test func trustedCertificateWithMatchingNameVerifies() throws {
        let context = try trustingContext()
        try withServer { _, fd in
            let stream = try TLSClientStream(fd: fd, serverName: "localhost", verifyPeer: true, context: context)
            #expect(try echo("verified", over: stream) == "deifirev\n")
            stream.shutdown()
        }
    }

    @Test func trustedCertificateForAnotherNameIsRejected() throws {
        let context = try trustingContext()
        try withServer { _, fd in
            let error = try #require(throws: CryptoError.self) {
                _ = try TLSClientStream(fd: fd, serverName: "api.paystack.co", verifyPeer: true, context: context)
            }
            #expect(error.kind == .certificateRejected)
            #expect(error.message.contains("hostname mismatch"))
        }
    }

    /// IP literals are checked against IP SANs (and sent without SNI, RFC 6066 §3).
    @Test func ipLiteralIsVerifiedAgainstIPAddressNames() throws {
        let context = try trustingContext()
        try withServer { _, fd in
            let stream = try TLSClientStream(fd: fd, serverName: "127.0.0.1", verifyPeer: true, context: context)
            #expect(try echo("ip", over: stream) == "pi\n")
        }
        try withServer { _, fd in
            let error = try #require(throws: CryptoError.self) {
                _ = try TLSClientStream(fd: fd, serverName: "10.0.0.1", verifyPeer: true, context: context)
            }
            #expect(error.kind == .certificateRejected)
            #expect(error.message.contains("IP address mismatch"))
        }
    }

    /// SO_RCVTIMEO expiring inside SSL_read surfaces as `.timedOut`, and the stream stays usable.
    @Test func readPastTheSocketTimeoutThrowsTimedOut() throws {
        try withServer(timeoutMs: 200) { _, fd in
            let stream = try TLSClientStream(fd: fd, serverName: "localhost", verifyPeer: false)
            var buffer: [UInt8] = [1, 2]
            let error = try #require(throws: CryptoError.self) {
                _ = try stream.read(appendingTo: &buffer, maxCount: 100)
            }
            #expect(error.kind == .timedOut)
            #expect(error.function == "SSL_read")
            #expect(buffer == [1, 2])  // nothing appended on failure
            TLSTestSocket.setTimeouts(fd, milliseconds: 5_000)
            #expect(try echo("again", over: stream) == "niaga\n")
        }
    }

    @Test func readAppendsToExistingBytes() throws {
        try withServer { _, fd in
            let stream = try TLSClientStream(fd: fd, serverName: "localhost", verifyPeer: false)
            try stream.write(Array("ab\n".utf8))
            var buffer = Array("prefix:".utf8)
            while !buffer.contains(UInt8(ascii: "\n")) {
                guard try stream.read(appendingTo: &buffer, maxCount: 1) > 0 else { break }
            }
            #expect(String(decoding: buffer, as: UTF8.self) == "prefix:ba\n")
        }
    }

    /// s_server answers CLOSE with close_notify (SSL_shutdown): a clean EOF, read returns 0.
    @Test func closeNotifyFromServerReadsAsZero() throws {
        try withServer { _, fd in
            let stream = try TLSClientStream(fd: fd, serverName: "localhost", verifyPeer: false)
            try stream.write(Array("CLOSE\n".utf8))
            var buffer: [UInt8] = []
            var reads = 0
            while try stream.read(appendingTo: &buffer, maxCount: 4096) > 0 {
                reads += 1
                try #require(reads < 100, "no EOF after \(reads) reads")
            }
            stream.shutdown()
        }
    }

    /// The server process dies mid-session: TCP FIN without close_notify is `.connectionClosed`
    /// (a possible truncation, RFC 8446 §6.1), and the stream refuses further use.
    @Test func eofWithoutCloseNotifyIsConnectionClosed() throws {
        try withServer { server, fd in
            let stream = try TLSClientStream(fd: fd, serverName: "localhost", verifyPeer: false)
            #expect(try echo("alive", over: stream) == "evila\n")
            server.stop()
            var buffer: [UInt8] = []
            let error = try #require(throws: CryptoError.self) {
                _ = try stream.read(appendingTo: &buffer, maxCount: 4096)
            }
            #expect(error.kind == .connectionClosed)
            let again = try #require(throws: CryptoError.self) { try stream.write([1]) }
            #expect(again.message == "stream failed earlier")
            stream.shutdown()  // no SSL_shutdown after a fatal error; must not crash
        }
    }

    @Test func handshakeWithSilentPeerTimesOut() throws {
        let (client, peer) = try TLSTestSocket.pair(timeoutMs: 200)
        defer {
            close(client)
            close(peer)
        }
        let error = try #require(throws: CryptoError.self) {
            _ = try TLSClientStream(fd: client, serverName: "localhost", verifyPeer: false)
        }
        #expect(error.kind == .timedOut)
    }

    @Test func handshakeWithNonTLSPeerFails() throws {
        let (client, peer) = try TLSTestSocket.pair(timeoutMs: 2_000)
        defer {
            close(client)
            close(peer)
        }
        let reply = Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8)
        #expect(Glibc.write(peer, reply, reply.count) == reply.count)
        let error = try #require(throws: CryptoError.self) {
            _ = try TLSClientStream(fd: client, serverName: "localhost", verifyPeer: false)
        }
        #expect(error.kind == .library)
        #expect(error.code != 0)
    }

    @Test func handshakeWithPeerThatHangsUpIsConnectionClosed() throws {
        let (client, peer) = try TLSTestSocket.pair(timeoutMs: 2_000)
        defer { close(client) }
        Glibc.shutdown(peer, Int32(SHUT_WR))  // EOF for the client, but its ClientHello can still be written
        let error = try #require(throws: CryptoError.self) {
            _ = try TLSClientStream(fd: client, serverName: "localhost", verifyPeer: false)
        }
        close(peer)
        #expect(error.kind == .connectionClosed)
    }

    @Test func sharedContextIsCreatedOnceAcrossThreads() throws {
        let contexts = Mutex<[ObjectIdentifier]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            if let context = try? TLSClientContext.shared() {
                contexts.withLock { $0.append(ObjectIdentifier(context)) }
            }
        }
        let identifiers = contexts.withLock { $0 }
        #expect(identifiers.count == 8)
        #expect(Set(identifiers).count == 1)
    }
}
