/// An incremental HTTP/1.1 request parser (RFC 9112), a pure value type.
///
/// The caller keeps the bytes not yet consumed in one buffer and passes all of them on every
/// call; between two results the buffer only grows at its end. The parser remembers how far it
/// has looked, so each byte is scanned once however the input is split. When a request is
/// complete the caller drops `consumed` bytes from the front and the parser starts afresh.
///
/// Ambiguities that enable request smuggling are refused (400): `Content-Length` together with
/// `Transfer-Encoding`, differing `Content-Length` values, malformed chunk sizes, obs-fold
/// continuation lines, whitespace before a colon, and bare LF where CRLF is required.
///
/// ```swift
/// var parser = HTTPRequestParser(limits: HTTPLimits())
/// switch try parser.parse(buffer) {
/// case .needMore: break
/// case .continueExpected: send("HTTP/1.1 100 Continue\r\n\r\n")
/// case .request(let request, let consumed): handle(request); buffer.removeFirst(consumed)
/// }
/// ```
public struct HTTPRequestParser: Sendable {
    public enum Result: Sendable {
        case needMore
        /// The head is complete and carries `Expect: 100-continue`; the body has not all arrived.
        /// Returned once per request.
        case continueExpected
        case request(HTTPRequest, consumed: Int)
    }

    private enum State: Sendable {
        /// Looking for the end of the head; `scanned` bytes have been checked already.
        case head(scanned: Int, requestLineEnd: Int?)
        case fixedBody(HTTPRequestHead, bodyStart: Int, length: Int)
        case chunkSizeLine(HTTPRequestHead, position: Int, body: [UInt8])
        case chunkData(HTTPRequestHead, position: Int, remaining: Int, body: [UInt8])
        case chunkDataEnd(HTTPRequestHead, position: Int, body: [UInt8])
        case trailers(HTTPRequestHead, position: Int, trailerBytes: Int, body: [UInt8])
    }

    public let limits: HTTPLimits
    private var state = State.head(scanned: 0, requestLineEnd: nil)
    private var continueSent = false

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// True when no part of a request has been seen since the last complete one.
    public var isIdle: Bool {
        if case .head(let scanned, _) = state { return scanned == 0 }
        return false
    }

    public mutating func parse(_ input: UnsafeRawBufferPointer) throws(HTTPParseError) -> Result {
        let bytes = input.bindMemory(to: UInt8.self)
        while true {
            switch state {
            case .head(let scanned, let requestLineEnd):
                guard let head = try scanHead(bytes, scanned: scanned, requestLineEnd: requestLineEnd) else {
                    return .needMore
                }
                try startBody(head.head, bodyStart: head.end)

            case .fixedBody(let head, let bodyStart, let length):
                guard bytes.count - bodyStart >= length else { return continueIfExpected(head) }
                let body = Array(UnsafeBufferPointer(rebasing: bytes[bodyStart..<(bodyStart + length)]))
                return finish(head, body: body, consumed: bodyStart + length)

            case .chunkSizeLine(let head, let position, let body):
                let lineMax = limits.chunkLineBytesMax
                guard let lineEnd = try HTTPMessageSyntax.findLineEnd(bytes, from: position, max: lineMax) else {
                    return continueIfExpected(head)
                }
                let size = try HTTPMessageSyntax.parseChunkSize(bytes, position, lineEnd - 1)
                if size == 0 {
                    state = .trailers(head, position: lineEnd + 1, trailerBytes: 0, body: body)
                } else {
                    guard body.count + size <= limits.bodyBytesMax else { throw Self.bodyTooLarge(limits) }
                    state = .chunkData(head, position: lineEnd + 1, remaining: size, body: body)
                }

            case .chunkData(let head, let position, let remaining, var body):
                let available = min(remaining, bytes.count - position)
                guard available > 0 else { return continueIfExpected(head) }
                state = .head(scanned: 0, requestLineEnd: nil)  // drop the reference so `body` stays unique
                body.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<(position + available)]))
                if available == remaining {
                    state = .chunkDataEnd(head, position: position + available, body: body)
                } else {
                    state = .chunkData(head, position: position + available, remaining: remaining - available, body: body)
                    return .needMore
                }

            case .chunkDataEnd(let head, let position, let body):
                guard bytes.count - position >= 2 else { return .needMore }
                guard bytes[position] == 0x0D, bytes[position + 1] == 0x0A else {
                    throw .bad("bad_chunk", "chunk data not followed by CRLF")
                }
                state = .chunkSizeLine(head, position: position + 2, body: body)

            case .trailers(let head, let position, let trailerBytes, let body):
                // Trailer fields are read and dropped: nothing we serve depends on them.
                let lineMax = limits.headerBytesMax
                guard let lineEnd = try HTTPMessageSyntax.findLineEnd(bytes, from: position, max: lineMax) else {
                    return .needMore
                }
                let lineLength = lineEnd - 1 - position
                if lineLength == 0 {
                    return finish(head, body: body, consumed: lineEnd + 1)
                }
                let total = trailerBytes + lineLength + 2
                guard total <= limits.headerBytesMax else {
                    throw HTTPParseError(status: 431, code: "headers_too_large", message: "trailer section too large")
                }
                state = .trailers(head, position: lineEnd + 1, trailerBytes: total, body: body)
            }
        }
    }

    // MARK: Head

    private struct ParsedHead {
        var head: HTTPRequestHead
        var end: Int
    }

    private mutating func scanHead(
        _ bytes: UnsafeBufferPointer<UInt8>, scanned: Int, requestLineEnd: Int?
    ) throws(HTTPParseError) -> ParsedHead? {
        var lineEnd = requestLineEnd
        let start = Self.leadingEmptyLines(bytes)
        var index = max(scanned, start)
        let count = bytes.count
        while index < count {
            if bytes[index] == 0x0A {
                guard index > 0, bytes[index - 1] == 0x0D else { throw .bad("bare_lf", "line ending without CR") }
                if lineEnd == nil {
                    lineEnd = index
                } else if index >= 3, bytes[index - 2] == 0x0A {
                    // "\r\n\r\n": the empty line that ends the head.
                    state = .head(scanned: index + 1, requestLineEnd: lineEnd)
                    let head = try parseHead(bytes, start: start, requestLineEnd: lineEnd!, headEnd: index + 1)
                    return ParsedHead(head: head, end: index + 1)
                }
            }
            index += 1
            // Both limits count content bytes only, so exactly the limit passes: the request line
            // without its CRLF (RFC 9112 §3), and the field lines with their CRLFs but without the
            // empty line ending the head. A CR just read may still start that line ending.
            let endsWithCR = bytes[index - 1] == 0x0D
            if lineEnd == nil {
                if index - start - (endsWithCR ? 1 : 0) > limits.requestLineBytesMax {
                    throw HTTPParseError(status: 414, code: "uri_too_long", message: "request line too long")
                }
            } else {
                let atLineStart = bytes[index - 2] == 0x0A
                if index - lineEnd! - 1 - (endsWithCR && atLineStart ? 1 : 0) > limits.headerBytesMax {
                    throw HTTPParseError(status: 431, code: "headers_too_large", message: "header section too large")
                }
            }
        }
        state = .head(scanned: index, requestLineEnd: lineEnd)
        return nil
    }

    /// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
    /// We skip up to four, so a stream of CRLFs still hits the request-line limit.
    private static func leadingEmptyLines(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var start = 0
        while start < 8, start + 1 < bytes.count, bytes[start] == 0x0D, bytes[start + 1] == 0x0A { start += 2 }
        return start
    }

    private func parseHead(
        _ bytes: UnsafeBufferPointer<UInt8>, start: Int, requestLineEnd: Int, headEnd: Int
    ) throws(HTTPParseError) -> HTTPRequestHead {
        let requestLine = UnsafeBufferPointer(rebasing: bytes[start..<(requestLineEnd - 1)])
        let (method, target, minor) = try Self.parseRequestLine(requestLine)
        var headers = HTTPHeaders()
        var lineStart = requestLineEnd + 1
        let headersEnd = headEnd - 2  // the final CRLF
        while lineStart < headersEnd {
            var lineStop = lineStart
            while bytes[lineStop] != 0x0A { lineStop += 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<(lineStop - 1)])
            guard headers.count < limits.headerCountMax else {
                throw HTTPParseError(status: 431, code: "too_many_headers", message: "more than \(limits.headerCountMax) header fields")
            }
            let (name, value) = try HTTPMessageSyntax.parseField(line)
            headers.addLowercased(name, value)
            lineStart = lineStop + 1
        }
        var head = HTTPRequestHead(method: method, target: target, versionMinor: minor, headers: headers)
        if target.utf8.first == 0x2F {
            // origin-form, almost every request: nothing more to check.
        } else if target.hasPrefix("http://") || target.hasPrefix("https://") {
            // absolute-form (RFC 9112 §3.2.2): route on its path. The authority ends at the first
            // "/" or "?" (RFC 3986 §3.2), so "http://h?next=/admin" has path "/", not "/admin".
            let afterScheme = target.dropFirst(target.hasPrefix("https://") ? 8 : 7)
            let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" } ?? afterScheme.endIndex
            let split = afterScheme[authorityEnd...].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            head.path = split[0].isEmpty ? "/" : String(split[0])
            head.query = split.count > 1 ? String(split[1]) : ""
        } else if target == "*" {
            guard method == "OPTIONS" else { throw .bad("bad_target", "asterisk-form is only for OPTIONS") }
        } else if !target.hasPrefix("/") {
            throw .bad("bad_target", "request target must be origin-form")
        }
        let hosts = headers.count(of: "host")
        if hosts > 1 || (minor >= 1 && hosts == 0) {
            // RFC 9112 §3.2: "A server MUST respond with a 400 … to any HTTP/1.1 request message
            // that lacks a Host header field and to any request message that contains more than one"
            // (HTTP/1.0 included).
            throw .bad("bad_host", hosts == 0 ? "missing Host header" : "more than one Host header")
        }
        if minor >= 1 {
            head.keepAlive = !headers.containsToken("connection", "close")
        } else {
            head.keepAlive = headers.containsToken("connection", "keep-alive")
        }
        if minor >= 1, let expect = headers["expect"] {
            guard expect.lowercased() == "100-continue" else {
                throw HTTPParseError(status: 417, code: "expectation_failed", message: "unsupported Expect: \(expect)")
            }
            head.expectsContinue = true
        }
        return head
    }

    private static func parseRequestLine(
        _ line: UnsafeBufferPointer<UInt8>
    ) throws(HTTPParseError) -> (String, String, Int) {
        guard let firstSpace = line.firstIndex(of: 0x20) else { throw .bad("bad_request_line", "malformed request line") }
        guard let lastSpace = line.lastIndex(of: 0x20), lastSpace > firstSpace + 1 else {
            throw .bad("bad_request_line", "malformed request line")
        }
        let methodBytes = UnsafeBufferPointer(rebasing: line[0..<firstSpace])
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(isTokenByte) else {
            throw .bad("bad_method", "malformed method")
        }
        let targetBytes = UnsafeBufferPointer(rebasing: line[(firstSpace + 1)..<lastSpace])
        guard targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .bad("bad_target", "request target contains spaces or control characters")
        }
        let version = UnsafeBufferPointer(rebasing: line[(lastSpace + 1)...])
        // "HTTP/" DIGIT "." DIGIT
        guard version.count == 8, version[0] == 0x48, version[1] == 0x54, version[2] == 0x54, version[3] == 0x50,
              version[4] == 0x2F, version[6] == 0x2E, isDigit(version[5]), isDigit(version[7])
        else { throw .bad("bad_version", "malformed HTTP version") }
        guard version[5] == 0x31 else {
            throw HTTPParseError(status: 505, code: "http_version_not_supported", message: "only HTTP/1.x is supported")
        }
        let minor = Int(version[7] - 0x30)
        return (String(decoding: methodBytes, as: UTF8.self), String(decoding: targetBytes, as: UTF8.self), min(minor, 1))
    }

    // MARK: Body

    private mutating func startBody(_ head: HTTPRequestHead, bodyStart: Int) throws(HTTPParseError) {
        let lengths = head.headers.values("content-length")
        let codings = head.headers.values("transfer-encoding")
        if !codings.isEmpty {
            guard lengths.isEmpty else {
                throw .bad("ambiguous_length", "both Content-Length and Transfer-Encoding")
            }
            guard head.versionMinor >= 1 else { throw .bad("bad_transfer_encoding", "Transfer-Encoding in HTTP/1.0") }
            guard HTTPMessageSyntax.isChunkedOnly(codings) else {
                throw HTTPParseError(status: 501, code: "unsupported_transfer_encoding",
                                     message: "only Transfer-Encoding: chunked is supported")
            }
            state = .chunkSizeLine(head, position: bodyStart, body: [])
            return
        }
        var length = 0
        if !lengths.isEmpty {
            guard let value = try HTTPMessageSyntax.contentLength(lengths) else { throw Self.bodyTooLarge(limits) }
            length = value
        }
        guard length <= limits.bodyBytesMax else { throw Self.bodyTooLarge(limits) }
        state = .fixedBody(head, bodyStart: bodyStart, length: length)
    }

    private mutating func continueIfExpected(_ head: HTTPRequestHead) -> Result {
        if head.expectsContinue && !continueSent {
            continueSent = true
            return .continueExpected
        }
        return .needMore
    }

    private mutating func finish(_ head: HTTPRequestHead, body: [UInt8], consumed: Int) -> Result {
        state = .head(scanned: 0, requestLineEnd: nil)
        continueSent = false
        return .request(HTTPRequest(head: head, body: body), consumed: consumed)
    }

    private static func bodyTooLarge(_ limits: HTTPLimits) -> HTTPParseError {
        HTTPParseError(status: 413, code: "payload_too_large", message: "request body exceeds \(limits.bodyBytesMax) bytes")
    }
}

@inline(__always)
private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

/// tchar (RFC 9110 §5.6.2): "!#$%&'*+-.^_`|~", digits and letters.
@inline(__always)
func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
    default: return false
    }
}
