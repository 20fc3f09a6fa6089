import Foundation
import HubCrypto

#if canImport(Glibc)
import Glibc
import HubHTTP
#endif

/// How to reach the SMTP submission server.
struct SMTPSettings: Sendable {
    var host: String
    var port: Int
    var username: String
    var password: String
    /// Upgrade with STARTTLS (RFC 3207) and refuse to go on in clear when it is not offered.
    var startTLS: Bool
    /// Check the server's certificate and name. Only tests against a self-signed server turn it off.
    var verifyCertificate: Bool
    /// Our name in EHLO (the From domain).
    var heloName: String
    var timeoutSeconds: Int

    /// Port 465 is submissions (RFC 8314 §3.3): TLS from the first byte, no STARTTLS.
    var implicitTLS: Bool { port == 465 }
}

/// Delivers through an SMTP submission server (RFC 5321): EHLO, STARTTLS, AUTH PLAIN or
/// LOGIN (RFC 4954), MAIL FROM / RCPT TO / DATA with dot-stuffing, QUIT.
///
/// One connection per message: simple, and every message starts from a known state. A server
/// sending hundreds of messages a minute would want a kept-alive connection; the hub sends a
/// few per booking.
struct SMTPSender: EmailSender {
    let settings: SMTPSettings

    var name: String { "smtp" }

    func deliver(_ email: OutgoingEmail) -> DeliveryOutcome {
        do {
            let session = try SMTPSession(settings: settings)
            defer { session.close() }
            let detail = try session.send(from: email.from, to: email.to, message: MIMEMessage.compose(email))
            session.quit()
            return .delivered(detail: detail)
        } catch {
            return .failed(reason: "smtp \(settings.host):\(settings.port): \(error.message)", permanent: error.permanent)
        }
    }
}

/// A failed SMTP step. 5xx replies are permanent (RFC 5321 §4.2.1); 4xx replies and network
/// trouble are transient.
struct SMTPError: Error, Sendable {
    let message: String
    let permanent: Bool

    static func transient(_ message: String) -> SMTPError { SMTPError(message: message, permanent: false) }
    static func permanent(_ message: String) -> SMTPError { SMTPError(message: message, permanent: true) }
}

/// One reply: a code and its text lines (continuation lines joined).
struct SMTPReply: Sendable, Equatable {
    let code: Int
    let lines: [String]

    var text: String { lines.joined(separator: " / ") }
}

/// One SMTP conversation over a blocking socket, on a worker thread.
final class SMTPSession {
    /// Longest reply we read; EHLO answers are a few hundred bytes (RFC 5321 §4.5.3.1.5: a reply
    /// line is at most 512 octets).
    static let replyBytesMax = 64 * 1024

    private let settings: SMTPSettings
    private let fd: Int32
    private var stream: any ByteStream
    private var buffer: [UInt8] = []
    private var secured = false
    private var closed = false
    /// EHLO keywords, upper-cased ("STARTTLS", "AUTH PLAIN LOGIN", "SIZE 35882577").
    private(set) var extensions: [String] = []

    /// Connects, takes the greeting, says EHLO, upgrades to TLS and authenticates as configured.
    init(settings: SMTPSettings) throws(SMTPError) {
        self.settings = settings
        switch OutboundHTTP.connect(host: settings.host, port: settings.port, timeoutSeconds: settings.timeoutSeconds) {
        case .success(let socket): fd = socket
        case .failure(let error): throw .transient("\(error)")
        }
        var timeout = timeval(tv_sec: settings.timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        stream = PlainByteStream(fd: fd)
        do throws(SMTPError) {
            if settings.implicitTLS { try upgrade() }
            try expect(readReply(), 220, "greeting")
            try hello()
            if settings.startTLS && !secured {
                guard extensions.contains("STARTTLS") else {
                    throw SMTPError.transient("server does not offer STARTTLS; refusing to send in clear (email.smtp.starttls=false allows it)")
                }
                try expect(command("STARTTLS"), 220, "STARTTLS")
                // RFC 3207 §6 (and CVE-2011-0411): bytes the server sent before the handshake
                // must not be read as if they came over TLS.
                guard buffer.isEmpty else { throw SMTPError.transient("server sent data after its STARTTLS reply") }
                try upgrade()
                // RFC 3207 §4.2: forget what the server said before TLS and ask again.
                try hello()
            }
            if !settings.username.isEmpty { try authenticate() }
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Sends one message; returns the server's acceptance text (often its queue id).
    func send(from: String, to: String, message: [UInt8]) throws(SMTPError) -> String {
        for address in [from, to] where address.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "<" || $0 == ">" }) {
            throw .permanent("invalid address \(address.debugDescription)")
        }
        try expect(command("MAIL FROM:<\(from)>"), 250, "MAIL FROM")
        let rcpt = try command("RCPT TO:<\(to)>")
        guard rcpt.code == 250 || rcpt.code == 251 else { throw failure(rcpt, "RCPT TO") }
        try expect(command("DATA"), 354, "DATA")
        var data = MIMEMessage.dotStuffed(message)
        if data.suffix(2) != [0x0D, 0x0A] { data += [0x0D, 0x0A] }
        data += Array(".\r\n".utf8)
        try write(data)
        let accepted = try readReply()
        try expect(accepted, 250, "end of DATA")
        return accepted.text
    }

    /// Says goodbye; the answer does not matter any more.
    func quit() {
        _ = try? command("QUIT")
    }

    func close() {
        guard !closed else { return }
        closed = true
        stream.shutdown()
        Glibc.close(fd)
    }

    // MARK: Steps

    private func hello() throws(SMTPError) {
        let reply = try command("EHLO \(settings.heloName)")
        try expect(reply, 250, "EHLO")
        // The first line is the server's name; each further line is one extension.
        extensions = reply.lines.dropFirst().map { $0.uppercased() }
    }

    private func upgrade() throws(SMTPError) {
        do {
            let tls = try TLSClientStream(fd: fd, serverName: settings.host, verifyPeer: settings.verifyCertificate)
            stream = TLSByteStream(tls)
            secured = true
        } catch {
            throw .transient("TLS handshake failed: \(error.message)")
        }
    }

    /// AUTH PLAIN when offered, else AUTH LOGIN (RFC 4954; RFC 4616 for PLAIN).
    private func authenticate() throws(SMTPError) {
        let mechanisms = Set(extensions.filter { $0.hasPrefix("AUTH ") || $0.hasPrefix("AUTH=") }
            .flatMap { $0.dropFirst(5).split(separator: " ").map(String.init) })
        if mechanisms.contains("PLAIN") {
            let credentials = Array("\u{0}\(settings.username)\u{0}\(settings.password)".utf8)
            try expect(command("AUTH PLAIN \(Data(credentials).base64EncodedString())"), 235, "AUTH PLAIN")
        } else if mechanisms.contains("LOGIN") {
            try expect(command("AUTH LOGIN"), 334, "AUTH LOGIN")
            try expect(command(Data(settings.username.utf8).base64EncodedString()), 334, "AUTH LOGIN username")
            try expect(command(Data(settings.password.utf8).base64EncodedString()), 235, "AUTH LOGIN password")
        } else {
            throw .permanent("server offers neither AUTH PLAIN nor AUTH LOGIN (offers: \(mechanisms.sorted().joined(separator: " ")))")
        }
    }

    // MARK: Wire

    private func command(_ line: String) throws(SMTPError) -> SMTPReply {
        try write(Array((line + "\r\n").utf8))
        return try readReply()
    }

    private func expect(_ reply: SMTPReply, _ code: Int, _ step: String) throws(SMTPError) {
        guard reply.code == code else { throw failure(reply, step) }
    }

    private func failure(_ reply: SMTPReply, _ step: String) -> SMTPError {
        let message = "\(step) answered \(reply.code) \(reply.text)"
        return reply.code >= 500 ? .permanent(message) : .transient(message)
    }

    private func write(_ bytes: [UInt8]) throws(SMTPError) {
        do {
            try stream.write(bytes)
        } catch {
            throw .transient("write failed: \(error)")
        }
    }

    /// Reads one reply: lines "250-…" continue it, "250 …" (or a bare "250") ends it.
    func readReply() throws(SMTPError) -> SMTPReply {
        var lines: [String] = []
        var code = 0
        while true {
            guard let newline = buffer.firstIndex(of: 0x0A) else {
                guard buffer.count < Self.replyBytesMax else { throw .transient("reply longer than \(Self.replyBytesMax) bytes") }
                let count: Int
                do {
                    count = try stream.read(appendingTo: &buffer, maxCount: 4096)
                } catch {
                    throw .transient("read failed: \(error)")
                }
                if count == 0 { throw .transient("connection closed by the server") }
                continue
            }
            var line = Array(buffer[..<newline])
            buffer.removeFirst(newline + 1)
            if line.last == 0x0D { line.removeLast() }
            guard line.count >= 3, let parsed = Int(String(decoding: line[0..<3], as: UTF8.self)), (200...599).contains(parsed)
            else { throw .transient("malformed reply \(String(decoding: line.prefix(80), as: UTF8.self).debugDescription)") }
            if code != 0 && parsed != code { throw .transient("reply codes differ within one reply") }
            code = parsed
            lines.append(line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : "")
            if line.count == 3 || line[3] == 0x20 { return SMTPReply(code: code, lines: lines) }
            guard line[3] == 0x2D else { throw .transient("malformed reply separator") }
        }
    }
}

@available(*, unavailable) extension SMTPSession: Sendable {}  // one worker thread at a time
