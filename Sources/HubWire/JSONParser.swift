/// Why a document is not JSON, with the byte offset where parsing stopped.
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    public let offset: Int
    public let reason: String

    public var description: String { "\(reason) at byte \(offset)" }
}

/// A strict RFC 8259 parser: no comments, no trailing commas, no leading zeros, no lone
/// surrogates, no control characters in strings, valid UTF-8 only, and no duplicate keys in an
/// object (two parsers reading one document differently is how smuggling starts).
///
/// Linear in the input: every byte is looked at a bounded number of times, duplicate keys are
/// found with a hash set once an object passes `linearKeysMax` members, and the caps below bound
/// how much one document can make us allocate. A parser on the loop thread that is quadratic
/// anywhere lets one anonymous request stall every client (a 406 KiB object of 32k keys once held
/// the loop for 9.4 s).
public struct JSONParser {
    /// Deepest nesting accepted. API documents are two or three levels deep; the bound keeps a
    /// hostile `[[[[…` from exhausting the stack. On breach: `JSONError`.
    public static let depthMax = 64
    /// Most members in one object. The largest object the API takes is a space (~20 fields) or a
    /// settings update (~20 keys); 1,024 leaves room and bounds the handlers' per-key lookups.
    /// On breach: `JSONError`.
    public static let membersMax = 1024
    /// Most values (scalars, arrays and objects) in one document. A space with every list at its
    /// cap (366 blackout dates, 50 features, 20 images) is under 500 values; 16,384 bounds the
    /// work and memory of a 1 MiB body of `[1,1,1,…` to a few milliseconds. On breach: `JSONError`.
    public static let valuesMax = 16_384
    /// Objects up to this many members check for a duplicate key by comparing with each earlier
    /// key (no allocation); larger ones switch to a hash set.
    public static let linearKeysMax = 16

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    private var values = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSON {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONError) in try parse(buffer) }
    }

    public static func parse(_ text: String) throws(JSONError) -> JSON {
        try parse(Array(text.utf8))
    }

    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONError) -> JSON {
        var parser = JSONParser(buffer)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.index == buffer.count else { throw parser.error("unexpected data after the document") }
        return value
    }

    private func error(_ reason: String) -> JSONError { JSONError(offset: index, reason: reason) }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONError) -> JSON {
        guard index < bytes.count else { throw error("unexpected end of input") }
        values += 1
        guard values <= Self.valuesMax else { throw error("more than \(Self.valuesMax) values in one document") }
        switch bytes[index] {
        case 0x7B: return try parseObject()
        case 0x5B: return try parseArray()
        case 0x22: return .string(try parseString())
        case 0x74: try expectLiteral("true"); return .bool(true)
        case 0x66: try expectLiteral("false"); return .bool(false)
        case 0x6E: try expectLiteral("null"); return .null
        case 0x2D, 0x30...0x39: return .number(try parseNumber())
        default: throw error("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw error("invalid literal") }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] {
            throw error("invalid literal")
        }
        index += count
    }

    private mutating func enter() throws(JSONError) {
        depth += 1
        guard depth <= Self.depthMax else { throw error("nesting deeper than \(Self.depthMax)") }
    }

    private mutating func parseObject() throws(JSONError) -> JSON {
        try enter()
        index += 1
        var members: [(key: String, value: JSON)] = []
        var seen: Set<JSONKey> = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == 0x7D {
            index += 1
            depth -= 1
            return .object(JSONObject(members))
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == 0x22 else { throw error("expected a string key") }
            let keyOffset = index
            let key = try parseString()
            guard members.count < Self.membersMax else {
                throw JSONError(offset: keyOffset, reason: "more than \(Self.membersMax) members in one object")
            }
            if Self.isDuplicate(key, members: members, seen: &seen) {
                throw JSONError(offset: keyOffset, reason: "duplicate key \"\(key)\"")
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == 0x3A else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            members.append((key, try parseValue()))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input") }
            if bytes[index] == 0x2C {
                index += 1
                continue
            }
            guard bytes[index] == 0x7D else { throw error("expected ',' or '}'") }
            index += 1
            depth -= 1
            return .object(JSONObject(members))
        }
    }

    /// Whether `key` is already a member. Small objects compare with each key; at
    /// `linearKeysMax` the keys so far move into `seen`, which then answers in O(1).
    private static func isDuplicate(_ key: String, members: [(key: String, value: JSON)], seen: inout Set<JSONKey>) -> Bool {
        if members.count < linearKeysMax {
            return members.contains { JSONObject.sameKey($0.key, key) }
        }
        if seen.isEmpty {
            seen.reserveCapacity(members.count * 2)
            for member in members { seen.insert(JSONKey(member.key)) }
        }
        return !seen.insert(JSONKey(key)).inserted
    }

    private mutating func parseArray() throws(JSONError) -> JSON {
        try enter()
        index += 1
        var elements: [JSON] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == 0x5D {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input") }
            if bytes[index] == 0x2C {
                index += 1
                continue
            }
            guard bytes[index] == 0x5D else { throw error("expected ',' or ']'") }
            index += 1
            depth -= 1
            return .array(elements)
        }
    }

    private mutating func parseNumber() throws(JSONError) -> String {
        let start = index
        if bytes[index] == 0x2D { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
        if bytes[index] == 0x30 {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("leading zero in number") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid fraction") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            index += 1
            if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    private mutating func parseString() throws(JSONError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes. Find the closing quote, then validate the UTF-8 once.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x22 {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
                guard let text = String(validating: raw, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                index += 1
                return text
            }
            if byte == 0x5C { break }
            if byte < 0x20 { throw error("control character in string") }
            index += 1
        }
        guard index < bytes.count else { throw error("unterminated string") }
        return try parseEscapedString(from: start)
    }

    private mutating func parseEscapedString(from start: Int) throws(JSONError) -> String {
        var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x22 {
                index += 1
                guard let text = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                return text
            }
            if byte < 0x20 { throw error("control character in string") }
            if byte != 0x5C {
                out.append(byte)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { throw error("unterminated escape") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75: try appendUnicodeEscape(into: &out)
            default: throw error("invalid escape")
            }
        }
        throw error("unterminated string")
    }

    private mutating func appendUnicodeEscape(into out: inout [UInt8]) throws(JSONError) {
        var scalar = try readHex4()
        if (0xD800..<0xDC00).contains(scalar) {
            // A high surrogate must be followed by an escaped low surrogate (RFC 8259 §7).
            guard bytes.count - index >= 6, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else {
                throw error("lone surrogate")
            }
            index += 2
            let low = try readHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("lone surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw error("lone surrogate")
        }
        // Valid by construction: surrogates were handled above.
        out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
    }

    private mutating func readHex4() throws(JSONError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw error("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}

/// An object key compared and hashed by its UTF-8 bytes, as `JSONObject.sameKey` compares keys
/// (String's own `==` and hash use canonical equivalence, under which "\u{212A}" equals "K").
private struct JSONKey: Hashable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (lhs: JSONKey, rhs: JSONKey) -> Bool { JSONObject.sameKey(lhs.text, rhs.text) }

    func hash(into hasher: inout Hasher) {
        for byte in text.utf8 { hasher.combine(byte) }
    }
}

@inline(__always)
private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
