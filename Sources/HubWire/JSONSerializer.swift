extension JSON {
    /// Compact UTF-8 serialisation, appended to `out`.
    public func serialize(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let literal): out.append(contentsOf: literal.utf8)
        case .string(let value): JSON.appendQuoted(value, into: &out)
        case .raw(let text): out.append(contentsOf: text)
        case .array(let elements):
            out.append(0x5B)
            for (offset, element) in elements.enumerated() {
                if offset > 0 { out.append(0x2C) }
                element.serialize(into: &out)
            }
            out.append(0x5D)
        case .object(let object):
            out.append(0x7B)
            for (offset, member) in object.members.enumerated() {
                if offset > 0 { out.append(0x2C) }
                JSON.appendQuoted(member.key, into: &out)
                out.append(0x3A)
                member.value.serialize(into: &out)
            }
            out.append(0x7D)
        }
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        serialize(into: &out)
        return out
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Writes `value` as a JSON string literal. Escapes what RFC 8259 §7 requires plus U+2028
    /// and U+2029 (so the output is also safe inside a `<script>` block), and `<` as `\u003c`
    /// so a string can never close a script element.
    public static func appendQuoted(_ value: String, into out: inout [UInt8]) {
        out.append(0x22)
        var value = value
        value.withUTF8 { bytes in
            // Runs of bytes that need no escape are copied at once; API strings are mostly that.
            var runStart = 0
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x3C || byte == 0xE2 else {
                    index += 1
                    continue
                }
                if runStart < index { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                switch byte {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
                case 0x0D: out.append(contentsOf: [0x5C, 0x72])
                case 0x09: out.append(contentsOf: [0x5C, 0x74])
                case 0x3C: out.append(contentsOf: "\\u003c".utf8)
                case 0xE2:
                    // U+2028 / U+2029 are E2 80 A8 / E2 80 A9; other E2 sequences pass through.
                    if index + 2 < bytes.count, bytes[index + 1] == 0x80, bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9 {
                        out.append(contentsOf: (bytes[index + 2] == 0xA8 ? "\\u2028" : "\\u2029").utf8)
                        index += 3
                        runStart = index
                        continue
                    }
                    out.append(byte)
                default:  // the other control characters
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hexDigit(byte >> 4))
                    out.append(hexDigit(byte & 0x0F))
                }
                index += 1
                runStart = index
            }
            if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count])) }
        }
        out.append(0x22)
    }
}

@inline(__always)
private func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x61 + nibble - 10 }
