import Foundation

/// An `openssl s_server -rev` child process on 127.0.0.1 (it echoes each line reversed; a line
/// "CLOSE" ends the session), plus a self-signed certificate for `localhost` and 127.0.0.1.
///
/// Robust by construction: port 0 with the real port read from the server's "ACCEPT" line under
/// a deadline, one connection per server (`-naccept 1`), and the child killed by PID in `stop()`.
final class TLSTestServer {
    let port: UInt16
    private let process: Process
    private let input = Pipe()  // kept open: s_server must not see EOF on stdin

    /// Most time to wait for the server to report its port; it starts in ~50 ms.
    static let startDeadlineSeconds = 10.0

    init() throws {
        let certificate = try TLSTestCertificate.shared.get()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-rev",
            "-cert", certificate.certificatePath, "-key", certificate.keyPath,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = input
        try process.run()
        do {
            port = try Self.readPort(from: output.fileHandleForReading.fileDescriptor)
        } catch {
            process.terminate()
            process.waitUntilExit()
            throw error
        }
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A blocking TCP socket connected to the server, with receive/send timeouts.
    func connect(timeoutMs: Int = 5_000) throws -> Int32 {
        try TLSTestSocket.connect(port: port, timeoutMs: timeoutMs)
    }

    /// Reads stdout until "ACCEPT 127.0.0.1:<port>\n", polling so a stuck child cannot hang us.
    private static func readPort(from fd: Int32) throws -> UInt16 {
        let deadline = Date().addingTimeInterval(startDeadlineSeconds)
        var text = ""
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) >= 0 else { throw TLSTestError("poll: errno \(errno)") }
            if poller.revents == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 256)
            let count = Glibc.read(fd, &chunk, chunk.count)
            guard count > 0 else { throw TLSTestError("s_server exited before listening: \(text)") }
            text += String(decoding: chunk.prefix(count), as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("ACCEPT ") {
                if let colon = line.lastIndex(of: ":"), let port = UInt16(line[line.index(after: colon)...]) {
                    return port
                }
            }
        }
        throw TLSTestError("s_server did not report a port within \(startDeadlineSeconds) s: \(text)")
    }
}

struct TLSTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A self-signed certificate for CN=localhost with SANs DNS:localhost and IP:127.0.0.1, made once
/// per test process in a temporary directory that an atexit handler removes.
struct TLSTestCertificate: Sendable {
    let certificatePath: String
    let keyPath: String

    static let shared: Result<TLSTestCertificate, TLSTestError> = {
        do { return .success(try make()) } catch { return .failure(TLSTestError("\(error)")) }
    }()

    private static func make() throws -> TLSTestCertificate {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("hubcrypto-tls-\(getpid())-\(SecureRandomName.next())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        temporaryCertificateDirectory = directory.path
        atexit {
            if let path = temporaryCertificateDirectory { try? FileManager.default.removeItem(atPath: path) }
        }
        let certificate = TLSTestCertificate(
            certificatePath: directory.appendingPathComponent("cert.pem").path,
            keyPath: directory.appendingPathComponent("key.pem").path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", certificate.keyPath, "-out", certificate.certificatePath,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TLSTestError("openssl req exited with \(process.terminationStatus)")
        }
        return certificate
    }
}

/// Written once, inside `TLSTestCertificate.shared`'s one-time initializer; read at exit.
/// nonisolated(unsafe): atexit handlers cannot capture, so the path must be a global.
nonisolated(unsafe) private var temporaryCertificateDirectory: String?

/// A unique-enough directory suffix without pulling HubCrypto into the fixture.
enum SecureRandomName {
    static func next() -> String { String(UInt64.random(in: 0...UInt64.max), radix: 36) }
}

enum TLSTestSocket {
    static func connect(port: UInt16, timeoutMs: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TLSTestError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            throw TLSTestError("connect: errno \(errno)")
        }
        setTimeouts(fd, milliseconds: timeoutMs)
        return fd
    }

    static func setTimeouts(_ fd: Int32, milliseconds: Int) {
        var timeout = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        let size = socklen_t(MemoryLayout<timeval>.size)
        precondition(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, size) == 0, "SO_RCVTIMEO")
        precondition(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, size) == 0, "SO_SNDTIMEO")
    }

    /// A connected AF_UNIX pair: `[client, peer]`, for handshake failures that need no server.
    static func pair(timeoutMs: Int) throws -> (client: Int32, peer: Int32) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else {
            throw TLSTestError("socketpair: errno \(errno)")
        }
        setTimeouts(fds[0], milliseconds: timeoutMs)
        return (fds[0], fds[1])
    }
}
