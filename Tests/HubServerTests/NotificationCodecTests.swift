import HubCore
@testable import HubServer
import Testing

/// The pure encoders behind email and calendars, without sockets: quoted-printable, dot-stuffing,
/// encoded-words, template filling, retry schedule, iCalendar folding and escaping.
struct NotificationCodecTests {
    /// Decodes quoted-printable the way RFC 2045 §6.7 says a receiver must.
    static func decodeQP(_ encoded: String) -> String {
        var bytes: [UInt8] = []
        let input = Array(encoded.utf8)
        var index = 0
        while index < input.count {
            if input[index] == 0x3D {  // "="
                if index + 2 < input.count, input[index + 1] == 0x0D, input[index + 2] == 0x0A {
                    index += 3  // soft line break
                    continue
                }
                let hex = String(decoding: input[(index + 1)...(index + 2)], as: UTF8.self)
                bytes.append(UInt8(hex, radix: 16)!)  // well-formed in these tests
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    }

    @Test func quotedPrintableRoundTripsAndKeepsLinesShort() {
        let text = "Dear Zoë,\n\nYour booking = confirmed; total ₦30,000.00 \n" + String(repeating: "long-word ", count: 30) + "\t\nend"
        let encoded = MIMEMessage.quotedPrintable(text)
        for line in encoded.components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 76)
            #expect(!line.hasSuffix(" ") && !line.hasSuffix("\t"), "trailing whitespace is encoded (rule 3)")
        }
        #expect(encoded.utf8.allSatisfy { $0 < 0x80 })
        #expect(Self.decodeQP(encoded) == text)
    }

    @Test func dotStuffingDoublesLeadingDotsOnly() {
        let message = Array("a.b\r\n.\r\n..x\r\nok.\r\n".utf8)
        #expect(String(decoding: MIMEMessage.dotStuffed(message), as: UTF8.self) == "a.b\r\n..\r\n...x\r\nok.\r\n")
        #expect(String(decoding: MIMEMessage.dotStuffed(Array(".start".utf8)), as: UTF8.self) == "..start")
    }

    @Test func headersAreEncodedWordsWhenNotPlainASCIIAndNeverCarryLineBreaks() {
        #expect(MIMEMessage.encodedWords("Booking Confirmation - Room A", prefixLength: 9) == "Booking Confirmation - Room A")
        let encoded = MIMEMessage.encodedWords("Réservation confirmée – Salle Zoë " + String(repeating: "é", count: 40), prefixLength: 9)
        #expect(encoded.hasPrefix("=?UTF-8?B?"))
        for word in encoded.components(separatedBy: "\r\n ") { #expect(word.utf8.count <= 75) }
        #expect(MIMEMessage.singleLine("Room\r\nBcc: victim@example.com") == "Room  Bcc: victim@example.com")
        #expect(MIMEMessage.mailbox(name: "Nithub \"Space\"", address: "noreply@nithub.com") == #""Nithub \"Space\"" <noreply@nithub.com>"#)
    }

    @Test func headerDateIsRFC5322() {
        #expect(MIMEMessage.headerDate(0) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MIMEMessage.headerDate(1_705_309_200) == "Mon, 15 Jan 2024 09:00:00 +0000")
    }

    @Test func templatesEscapeVariablesInHTMLOnly() {
        let rendered = EmailRenderer.render(.bookingConfirmation, variables: [
            "userName": "<script>alert('x')</script> & co", "spaceName": "Room \"A\"", "siteName": "SpaceHub",
        ])
        #expect(rendered.subject == "Booking Confirmation - Room \"A\"")
        #expect(rendered.html.contains("Dear &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co,"))
        #expect(!rendered.html.contains("<script>"))
        #expect(rendered.text.contains("Dear <script>alert('x')</script> & co,"))
        #expect(!rendered.html.contains("{{") && !rendered.text.contains("{{"))
    }

    @Test func fillLeavesNonPlaceholdersAndEmptiesUnknownNames() {
        #expect(EmailRenderer.fill("{{a}} {{ b }} {{missing}} {{", ["a": "1"], escape: false) == "1 {{ b }}  {{")
        #expect(EmailRenderer.fill("x{{a}}y", ["a": "<"], escape: true) == "x&lt;y")
    }

    @Test func subjectsLoseLineBreaksFromVariables() {
        let rendered = EmailRenderer.render(.bookingCancelled, variables: ["spaceName": "Room\r\nBcc: x@example.com"])
        #expect(!rendered.subject.contains("\n") && !rendered.subject.contains("\r"))
    }

    @Test func retriesBackOffExponentiallyUpToTheCapThenStop() {
        let policy = RetryPolicy(baseSeconds: 30, capSeconds: 600, retriesMax: 6)
        #expect((1...6).map { policy.retryAt(afterAttempts: $0, now: 1000)! - 1000 } == [30, 60, 120, 240, 480, 600])
        #expect(policy.retryAt(afterAttempts: 7, now: 1000) == nil)
        #expect(RetryPolicy(baseSeconds: 1, capSeconds: .max, retriesMax: 100).delay(afterAttempts: 90) == 1 << 30)
    }

    @Test func icsLinesFoldAt75OctetsWithoutSplittingCharacters() {
        var ics = ICSWriter()
        let value = ICSWriter.text(String(repeating: "Zoë — ", count: 40))
        ics.line("DESCRIPTION", value)
        let text = String(decoding: ics.bytes, as: UTF8.self)  // decodes only if no sequence was split
        #expect(text.hasSuffix("\r\n"))
        let lines = ics.bytes.split(separator: 0x0A).map { Array($0.dropLast()) }  // drop the CR
        for (index, line) in lines.enumerated() {
            #expect(line.count <= 75)
            #expect(String(validating: line, as: UTF8.self) != nil)
            if index > 0 { #expect(line.first == 0x20) }
        }
        let unfolded = text.replacingOccurrences(of: "\r\n ", with: "")
        #expect(unfolded == "DESCRIPTION:\(value)\r\n")
    }

    @Test func icsTextEscaping() {
        #expect(ICSWriter.text("a,b;c\\d\r\ne\nf\u{7}") == "a\\,b\\;c\\\\d\\ne\\nf")
        #expect(ICSWriter.offset(3600) == "+0100")
        #expect(ICSWriter.offset(-16_200) == "-0430")
        #expect(ICSWriter.utc(1_705_309_200) == "20240115T090000Z")
        #expect(ICSWriter.local(1_705_309_200, zone: .lagos) == "20240115T100000")
    }

    @Test func formEncodingEscapesEverythingButUnreserved() {
        let body = String(decoding: OAuthClient.formEncoded([("code", "4/0A b+c&d=é"), ("redirect_uri", "http://x/cb")]), as: UTF8.self)
        #expect(body == "code=4%2F0A+b%2Bc%26d%3D%C3%A9&redirect_uri=http%3A%2F%2Fx%2Fcb")
    }
}
