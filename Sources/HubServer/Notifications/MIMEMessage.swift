import Foundation
import HubCore
import HubCrypto

/// One email ready to leave: addresses, rendered content and the identity of its outbox row.
struct OutgoingEmail: Sendable {
    let outboxID: Int64
    let template: String
    let from: String
    let fromName: String
    let to: String
    let content: RenderedEmail
    /// Stable across retries of the same outbox row (`<outbox-ID-CREATED@domain>`), so a receiver
    /// that keeps Message-IDs can drop the duplicate that at-least-once delivery may produce.
    let messageID: String
    /// Unix seconds for the Date header.
    let date: Int64

    init(outboxID: Int64, template: String, from: String, fromName: String, to: String, content: RenderedEmail,
         createdAt: Int64, date: Int64) {
        self.outboxID = outboxID
        self.template = template
        self.from = from
        self.fromName = fromName
        self.to = to
        self.content = content
        let domain = from.split(separator: "@").last.map(String.init) ?? "spacehub.local"
        self.messageID = "<outbox-\(outboxID)-\(createdAt)@\(domain)>"
        self.date = date
    }
}

/// RFC 5322 / MIME (RFC 2045–2047) encoding of an `OutgoingEmail`: a `multipart/alternative`
/// with a text and an HTML part, both UTF-8 in quoted-printable, so the whole message is 7-bit
/// and any SMTP server takes it without 8BITMIME. Lines end in CRLF and stay under 78 characters.
enum MIMEMessage {
    /// The message bytes (header and body), CRLF line endings, ending in CRLF.
    static func compose(_ email: OutgoingEmail, boundary: String = "=_spacehub_" + Hex.encode(SecureRandom.bytes(count: 12))) -> [UInt8] {
        // "=_" cannot occur in quoted-printable output ("=" is always followed by hex or a line
        // break), so this boundary never collides with the parts it separates (RFC 2045 §6.7).
        var lines: [String] = [
            "Date: \(headerDate(email.date))",
            "From: \(mailbox(name: email.fromName, address: email.from))",
            "To: \(singleLine(email.to))",
            "Subject: \(encodedWords(email.content.subject, prefixLength: "Subject: ".count))",
            "Message-ID: \(email.messageID)",
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "X-SpaceHub-Template: \(singleLine(email.template))",
            "X-SpaceHub-Outbox-Id: \(email.outboxID)",
            "",
            "This is a multi-part message in MIME format.",
        ]
        for (type, body) in [("text/plain", email.content.text), ("text/html", email.content.html)] {
            lines += [
                "--\(boundary)",
                "Content-Type: \(type); charset=utf-8",
                "Content-Transfer-Encoding: quoted-printable",
                "",
                quotedPrintable(body),
            ]
        }
        lines.append("--\(boundary)--")
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// RFC 5321 §4.5.2: a line starting with "." gets another "." in front, so no line of the
    /// message can be the lone "." that ends DATA. Expects CRLF line endings.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(message.count + 16)
        var atLineStart = true
        for byte in message {
            if atLineStart && byte == 0x2E { output.append(0x2E) }
            output.append(byte)
            atLineStart = byte == 0x0A
        }
        return output
    }

    /// RFC 5322 §3.3 date-time in UTC: "Tue, 25 Nov 2025 15:23:00 +0000".
    static func headerDate(_ instant: Int64) -> String {
        let days = instant >= 0 ? instant / 86_400 : (instant - 86_399) / 86_400
        let date = LocalDate(daysSinceEpoch: days)
        let second = Int(instant - days * 86_400)
        let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[date.weekday - 1]), \(two(date.day)) \(months[date.month - 1]) \(date.year) "
            + "\(two(second / 3600)):\(two(second / 60 % 60)):\(two(second % 60)) +0000"
    }

    /// `"Display Name" <address>`, the name quoted or encoded as needed.
    static func mailbox(name: String, address: String) -> String {
        let cleanName = singleLine(name)
        guard !cleanName.isEmpty else { return "<\(singleLine(address))>" }
        let display: String
        if cleanName.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 }) {
            display = "\"" + cleanName.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        } else {
            display = encodedWords(cleanName, prefixLength: "From: ".count)
        }
        return "\(display) <\(singleLine(address))>"
    }

    /// Header text: as is when it is short printable ASCII, else RFC 2047 encoded-words
    /// (`=?UTF-8?B?…?=`), each under 76 characters and never splitting a character, folded onto
    /// continuation lines.
    static func encodedWords(_ text: String, prefixLength: Int) -> String {
        let clean = singleLine(text)
        if clean.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }),
           prefixLength + clean.utf8.count <= 78, !clean.contains("=?") {
            return clean
        }
        // 45 bytes of UTF-8 become 60 base64 characters; with "=?UTF-8?B?" and "?=" a word is 72.
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in clean {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45, !chunk.isEmpty {
                words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    /// Quoted-printable (RFC 2045 §6.7) of UTF-8 text: line breaks become CRLF, lines are
    /// soft-broken ("=" at the end) to at most 76 characters, "=" and non-ASCII bytes are
    /// escaped, and so are a line's trailing spaces and tabs (rule 3).
    static func quotedPrintable(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var output: [String] = []
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            let bytes = Array(line.utf8)
            var tokens: [String] = []
            tokens.reserveCapacity(bytes.count)
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                switch byte {
                case 0x21...0x3C, 0x3E...0x7E: tokens.append(String(UnicodeScalar(byte)))
                case 0x20, 0x09: tokens.append(isLast ? escape(byte) : String(UnicodeScalar(byte)))
                default: tokens.append(escape(byte))
                }
            }
            var current = ""
            for token in tokens {
                if current.utf8.count + token.utf8.count > 75 {
                    output.append(current + "=")
                    current = ""
                }
                current += token
            }
            output.append(current)
        }
        return output.joined(separator: "\r\n")
    }

    private static func escape(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "=\(digits[Int(byte >> 4)])\(digits[Int(byte & 0x0F)])"
    }

    /// Line breaks and other control characters replaced by spaces: header values come from
    /// configuration and member input and must not start new header fields.
    static func singleLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
    }
}
