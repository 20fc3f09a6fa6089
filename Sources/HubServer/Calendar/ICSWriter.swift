import HubCore

/// Writes iCalendar (RFC 5545) content lines: CRLF endings, folding at 75 octets, TEXT escaping.
///
///     var ics = ICSWriter()
///     ics.line("BEGIN", "VCALENDAR")
///     ics.line("SUMMARY", ICSWriter.text("Room A; 2nd floor"))   // SUMMARY:Room A\; 2nd floor
///     let bytes = ics.bytes
struct ICSWriter {
    /// RFC 5545 §3.1: "Lines of text SHOULD NOT be longer than 75 octets, excluding the line break."
    static let lineOctetsMax = 75

    private(set) var bytes: [UInt8] = []

    /// Appends `NAME:VALUE` (the name may carry parameters: `DTSTART;TZID=Africa/Lagos`), folded.
    /// `value` must already be in its value type's form (use `text` for TEXT values).
    mutating func line(_ name: String, _ value: String) {
        append(folded: Array("\(name):\(value)".utf8))
    }

    /// §3.1: a long line is split by inserting CRLF and one space; continuation lines therefore
    /// carry 74 octets of content. Splits never fall inside a UTF-8 sequence (§3.1: "SHOULD NOT
    /// … split a multi-octet sequence").
    private mutating func append(folded line: [UInt8]) {
        var start = 0
        var limit = Self.lineOctetsMax
        while line.count - start > limit {
            var end = start + limit
            while end > start + 1 && line[end] & 0xC0 == 0x80 { end -= 1 }  // back up to a character start
            bytes += line[start..<end]
            bytes += [0x0D, 0x0A, 0x20]
            start = end
            limit = Self.lineOctetsMax - 1
        }
        bytes += line[start...]
        bytes += [0x0D, 0x0A]
    }

    /// A TEXT value (§3.3.11): backslash, semicolon and comma escaped, line breaks as `\n`,
    /// other control characters dropped.
    static func text(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count + 8)
        var previousWasCR = false
        for scalar in value.unicodeScalars {
            defer { previousWasCR = scalar == "\r" }
            switch scalar {
            case "\\": escaped += "\\\\"
            case ";": escaped += "\\;"
            case ",": escaped += "\\,"
            case "\r": escaped += "\\n"
            case "\n": if !previousWasCR { escaped += "\\n" }
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { continue }
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// DATE-TIME in UTC (§3.3.5 form #2): `20250115T080000Z`.
    static func utc(_ instant: Int64) -> String {
        compact(UTC.iso8601(instant))
    }

    /// DATE-TIME as the wall clock shows it in `zone` (§3.3.5 form #3, used with TZID):
    /// `20250115T090000`.
    static func local(_ instant: Int64, zone: Zone) -> String {
        let seconds = zone.localSeconds(of: instant)
        return compact(String(UTC.iso8601(seconds).dropLast()))
    }

    /// "2025-01-15T08:00:00Z" → "20250115T080000Z".
    private static func compact(_ iso: String) -> String {
        String(iso.filter { $0 != "-" && $0 != ":" })
    }

    /// UTC-OFFSET (§3.3.14): `+0100`, `-0430`, seconds only when not zero.
    static func offset(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let magnitude = abs(seconds)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let base = "\(sign)\(two(magnitude / 3600))\(two(magnitude / 60 % 60))"
        return magnitude % 60 == 0 ? base : base + two(magnitude % 60)
    }
}
