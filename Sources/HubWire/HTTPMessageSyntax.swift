/// The parts of HTTP/1.1 message syntax (RFC 9112) that requests and responses share: field lines,
/// `Content-Length` values, chunk-size lines and CRLF line ends. `HTTPRequestParser` and
/// `HTTPResponseParser` keep their own states and limits and call these, so each rule that stops
/// request smuggling or response splitting is written, tested and fixed once.
///
/// Errors are `HTTPParseError`s with status 400, the request parser's; the response parser keeps
/// their codes and drops the status.
enum HTTPMessageSyntax {
    /// Parses one field line, CRLF excluded, into a lower-cased name and a value without its
    /// surrounding whitespace.
    static func parseField(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> (String, String) {
        guard let first = line.first else { throw .bad("bad_header", "empty header line") }
        if first == 0x20 || first == 0x09 {
            // RFC 9112 §5.2: obs-fold; we reject rather than unfold, since proxies disagree on it.
            throw .bad("obs_fold", "folded header lines are not accepted")
        }
        guard let colon = line.firstIndex(of: 0x3A), colon > 0 else {
            throw .bad("bad_header", "header line without a name")
        }
        for byte in line[0..<colon] {
            // RFC 9112 §5.1: no whitespace between field name and colon; a server MUST reject it
            // (a proxy MUST remove it from a response, so a client that sees it refuses it too).
            guard isTokenByte(byte) else { throw .bad("bad_header", "invalid character in header name") }
        }
        // Lower-cased straight into the string's storage (no intermediate array: this runs for
        // every field of every request).
        let name = String(unsafeUninitializedCapacity: colon) { storage in
            for offset in 0..<colon { storage[offset] = asciiLowercased(line[offset]) }
            return colon
        }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd, line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
        while valueEnd > valueStart, line[valueEnd - 1] == 0x20 || line[valueEnd - 1] == 0x09 { valueEnd -= 1 }
        let value = UnsafeBufferPointer(rebasing: line[valueStart..<valueEnd])
        for byte in value where (byte < 0x20 && byte != 0x09) || byte == 0x7F {
            throw .bad("bad_header", "control character in header value")
        }
        return (name, String(decoding: value, as: UTF8.self))
    }

    /// The length every `Content-Length` field agrees on (RFC 9112 §6.3 rule 5: anything else is
    /// unrecoverable). RFC 9110 §8.6 lets a list of identical values be read as that one value.
    /// Nil when a value has more than 15 digits: more than any body we accept, and at 19 digits no
    /// longer an `Int`; the caller answers its "too large" error.
    static func contentLength(_ values: [String]) throws(HTTPParseError) -> Int? {
        var length: Int?
        for item in values.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            let digits = item.trimmingSpaces()
            guard !digits.isEmpty, digits.utf8.allSatisfy(isDigit) else {
                throw .bad("bad_content_length", "Content-Length is not a number")
            }
            guard digits.utf8.count <= 15, let parsed = Int(digits) else { return nil }
            if let length, length != parsed { throw .bad("ambiguous_length", "differing Content-Length values") }
            length = parsed
        }
        precondition(length != nil, "contentLength needs at least one value")  // split never returns []
        return length
    }

    /// The transfer codings of `values` are exactly `chunked`, the only one we implement (RFC 9112
    /// §7: it must come last; anything before it would be a compression we never asked for).
    static func isChunkedOnly(_ values: [String]) -> Bool {
        values.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces().lowercased() } == ["chunked"]
    }

    /// Finds the LF ending a CRLF line that starts at `from`; nil when more bytes are needed.
    /// `max` bounds the line without its CRLF.
    static func findLineEnd(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, max: Int) throws(HTTPParseError) -> Int? {
        var index = from
        while index < bytes.count {
            if bytes[index] == 0x0A {
                guard index > from, bytes[index - 1] == 0x0D else { throw .bad("bare_lf", "line ending without CR") }
                return index
            }
            index += 1
            // `max` counts the line without its CRLF; the byte just read may be the CR.
            if index - from - (bytes[index - 1] == 0x0D ? 1 : 0) > max {
                throw .bad("bad_chunk", "chunk or trailer line too long")
            }
        }
        return nil
    }

    /// RFC 9112 §7.1: chunk-size [ chunk-ext ], that is 1*HEXDIG then optional `;ext`, in bytes
    /// [start, end), CRLF excluded. At most 15 digits, so the size is below 2^60 and adding it to
    /// any length we hold cannot overflow.
    static func parseChunkSize(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(HTTPParseError)
        -> Int
    {
        var size = 0
        var index = start
        var digits = 0
        while index < end, let digit = hexValue(bytes[index]) {
            digits += 1
            // 15 hex digits already exceed any body we accept; more is an overflow attempt.
            guard digits <= 15 else { throw .bad("bad_chunk", "chunk size too long") }
            size = size * 16 + digit
            index += 1
        }
        guard digits > 0 else { throw .bad("bad_chunk", "malformed chunk size") }
        while index < end, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        guard index == end || bytes[index] == 0x3B else { throw .bad("bad_chunk", "malformed chunk size") }
        return size
    }
}

@inline(__always)
private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

@inline(__always)
private func hexValue(_ byte: UInt8) -> Int? {
    switch byte {
    case 0x30...0x39: return Int(byte - 0x30)
    case 0x41...0x46: return Int(byte - 0x41 + 10)
    case 0x61...0x66: return Int(byte - 0x61 + 10)
    default: return nil
    }
}
