import HubWire

/// Takes secrets out of text bound for a place outside the hub (Sentry). Reports are built from
/// chosen fields, never from request headers, bodies or raw paths; this is the second line, for
/// the free text they carry (error messages, provider replies).
///
/// - what the log redacts (`LogRedaction`: credential query parameters, ICS feed tokens);
/// - every configured secret (JWT key, Paystack and SendGrid keys, SMTP password, OAuth client
///   secrets, the metrics token, the DSN's own key) is replaced wherever it appears;
/// - `Bearer …` and `Basic …` credentials;
/// - the value of any `name=value`, `name: value` or `"name":"value"` whose name says token,
///   password, secret, signature, authorization, credential or …key, or is `code` (`?token=`, a
///   form's `password=`, an OAuth code);
/// - in free text (`scrubText`), random-looking pieces: 20 or more URL-safe characters between
///   `/` and `.` mixing at least two of upper case, lower case and digits, which is how access,
///   refresh, reset and feed tokens, the parts of a JWT and API keys look, while words,
///   snake_case codes, host names and UUIDs (booking and payment ids) stay readable.
struct Scrubber: Sendable {
    static let mask = "[redacted]"
    /// Runs at least this long are judged by their characters (`scrubText`).
    static let randomRunMin = 20
    private static let sensitiveParts = ["token", "password", "passwd", "secret", "signature", "authorization", "credential"]

    /// `?token=`, `password=`, `apiKey:`, `client_secret=`, an OAuth `code=`.
    static func isSensitiveName(_ name: String) -> Bool {
        name == "code" || name.hasSuffix("key") || sensitiveParts.contains { name.contains($0) }
    }

    private let secrets: [String]

    /// `secrets`: the configured ones; empty and very short values (which would mask common
    /// words) are ignored.
    init(secrets: [String]) {
        self.secrets = secrets.filter { $0.utf8.count >= 6 }.sorted { $0.utf8.count > $1.utf8.count }
    }

    /// For values the hub chose (ids, route patterns, codes): configured secrets and credentials.
    func scrub(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingAll(secret, with: Self.mask)
        }
        return Self.maskNamedValues(Self.maskCredentials(LogRedaction.scrub(result)))
    }

    /// For free text (error messages): also every random-looking run.
    func scrubText(_ text: String) -> String {
        Self.maskRandomRuns(scrub(text))
    }

    /// Every string in `value` as free text (`scrubText`). JSON text already written (a view,
    /// `JSON.raw`) is parsed first, so its strings are scrubbed too; text that does not parse is
    /// dropped rather than sent unscrubbed.
    func scrubText(_ value: JSON) -> JSON {
        switch value {
        case .string(let text): .string(scrubText(text))
        case .array(let values): .array(values.map(scrubText))
        case .object(let object): .object(JSONObject(object.members.map { ($0.key, scrubText($0.value)) }))
        case .raw(let text): (try? JSONParser.parse(text)).map(scrubText) ?? .null
        case .null, .bool, .number: value
        }
    }

    // MARK: Rules

    private static func isRunByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x2B || byte == 0x2F || byte == 0x3D || byte == 0x7E
    }

    /// `Bearer x`, `Basic x` (any case): the credential after it.
    static func maskCredentials(_ text: String) -> String {
        var bytes = Array(text.utf8)
        var changed = false
        for scheme in ["bearer ", "basic "] {
            var index = 0
            while let found = find(scheme, in: bytes, from: index) {
                var end = found + scheme.utf8.count
                while end < bytes.count && bytes[end] == 0x20 { end += 1 }
                let start = end
                while end < bytes.count && isRunByte(bytes[end]) { end += 1 }
                if end > start && !(bytes[start...].starts(with: mask.utf8)) {
                    bytes.replaceSubrange(start..<end, with: mask.utf8)
                    changed = true
                    index = start + mask.utf8.count
                } else {
                    index = max(end, found + 1)
                }
            }
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : text
    }

    /// `name=value`, `name: value` and `"name":"value"` where the name is sensitive.
    static func maskNamedValues(_ text: String) -> String {
        var bytes = Array(text.utf8)
        var changed = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == 0x3D || byte == 0x3A else {  // = or :
                index += 1
                continue
            }
            // The name before the separator (skipping a closing quote).
            var nameEnd = index
            if nameEnd > 0 && bytes[nameEnd - 1] == 0x22 { nameEnd -= 1 }
            var nameStart = nameEnd
            while nameStart > 0 && (isRunByte(bytes[nameStart - 1]) && bytes[nameStart - 1] != 0x2F) { nameStart -= 1 }
            let name = String(decoding: bytes[nameStart..<nameEnd], as: UTF8.self).lowercased()
            guard isSensitiveName(name) else {
                index += 1
                continue
            }
            var start = index + 1
            while start < bytes.count && bytes[start] == 0x20 { start += 1 }
            let quoted = start < bytes.count && bytes[start] == 0x22
            if quoted { start += 1 }
            // A quoted value ends at its quote; `name=value` (a query or form) at a space or
            // `&`; `name: value` (a header) may hold spaces (`Bearer x`) and ends at `,` or `;`.
            let equals = byte == 0x3D
            var end = start
            while end < bytes.count {
                let next = bytes[end]
                if quoted ? next == 0x22 : (next == 0x26 || next == 0x2C || next == 0x3B || next == 0x22 || (equals && next == 0x20)) {
                    break
                }
                end += 1
            }
            if end > start && !bytes[start...].starts(with: mask.utf8) {
                bytes.replaceSubrange(start..<end, with: mask.utf8)
                changed = true
                index = start + mask.utf8.count
            } else {
                index = end + 1
            }
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : text
    }

    static func maskRandomRuns(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var changed = false
        var index = 0
        while index < bytes.count {
            // Pieces between separators a path or a host name has: each judged on its own, so
            // `/api/calendar/feed/<token>` keeps its path and a JWT's three parts go.
            let byte = bytes[index]
            guard isRunByte(byte), byte != 0x2F, byte != 0x2E else {
                out.append(byte)
                index += 1
                continue
            }
            var end = index
            while end < bytes.count && isRunByte(bytes[end]) && bytes[end] != 0x2F && bytes[end] != 0x2E { end += 1 }
            let piece = bytes[index..<end]
            if pieceLooksRandom(piece) {
                out.append(contentsOf: mask.utf8)
                changed = true
            } else {
                out.append(contentsOf: piece)
            }
            index = end
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    /// A piece of 20+ characters mixing two of upper, lower and digits that is not a UUID.
    private static func pieceLooksRandom(_ piece: ArraySlice<UInt8>) -> Bool {
        guard piece.count >= randomRunMin, !isUUID(piece) else { return false }
        var digits = false, upper = false, lower = false
        for byte in piece {
            if (0x30...0x39).contains(byte) { digits = true }
            if (0x41...0x5A).contains(byte) { upper = true }
            if (0x61...0x7A).contains(byte) { lower = true }
        }
        return [digits, upper, lower].filter { $0 }.count >= 2
    }

    /// 8-4-4-4-12 hex digits: the hub's booking, payment and user ids.
    private static func isUUID(_ piece: ArraySlice<UInt8>) -> Bool {
        guard piece.count == 36 else { return false }
        for (offset, byte) in piece.enumerated() {
            if [8, 13, 18, 23].contains(offset) {
                if byte != 0x2D { return false }
            } else if !((0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) || (0x41...0x46).contains(byte)) {
                return false
            }
        }
        return true
    }

    private static func find(_ needle: String, in bytes: [UInt8], from start: Int) -> Int? {
        let pattern = Array(needle.utf8)
        guard bytes.count >= pattern.count, start <= bytes.count - pattern.count else { return nil }
        for index in start...(bytes.count - pattern.count) {
            var matches = true
            for (offset, expected) in pattern.enumerated() {
                var byte = bytes[index + offset]
                if (0x41...0x5A).contains(byte) { byte += 0x20 }
                if byte != expected {
                    matches = false
                    break
                }
            }
            if matches { return index }
        }
        return nil
    }
}

extension String {
    /// Every occurrence of `target` replaced (byte-wise, no Foundation).
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        let bytes = Array(utf8)
        let pattern = Array(target.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if index + pattern.count <= bytes.count && bytes[index..<(index + pattern.count)].elementsEqual(pattern) {
                out.append(contentsOf: replacement.utf8)
                index += pattern.count
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
