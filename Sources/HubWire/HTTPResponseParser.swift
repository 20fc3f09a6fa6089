/// An incremental HTTP/1.1 response parser (RFC 9112), a pure value type: what the hub reads back
/// from the services it calls.
///
/// The contract is `HTTPRequestParser`'s: the caller keeps the bytes not yet consumed in one buffer
/// and passes all of them on every call; between two results the buffer only grows at its end, and
/// each byte is scanned once however the input is split. When the peer closes the connection the
/// caller calls `finish`, which completes a response whose body runs to the close (RFC 9112 §6.3
/// rule 8) and refuses one cut short.
///
/// What the request parser refuses is refused here too, since a response read two ways splits one
/// answer into two: bare LF, obs-fold, whitespace before a colon, control characters in values,
/// `Content-Length` with `Transfer-Encoding`, differing `Content-Length` values, transfer codings
/// other than chunked (and any in HTTP/1.0), malformed chunk sizes, and anything over
/// `HTTPResponseLimits`. Chunk sizes have at most 15 hex digits and every length is compared with
/// a limit before it is added to an index, so no arithmetic on peer numbers can overflow.
///
/// Interim 1xx responses (RFC 9110 §15.2) are read and skipped; 101 is refused, as we never ask to
/// switch protocols. Responses to HEAD, and 204 and 304, have no body (RFC 9112 §6.3 rule 1).
///
/// ```swift
/// var parser = HTTPResponseParser()
/// while try socket.read(appendingTo: &received) > 0 {
///     if case .response(let response, _) = try parser.parse(received) { return response }
/// }
/// return try parser.finish(received)  // the peer closed the connection
/// ```
public struct HTTPResponseParser: Sendable {
    public enum Result: Sendable {
        case needMore
        case response(HTTPResponse, consumed: Int)
    }

    private enum State: Sendable {
        /// Looking for the end of a head that starts at `start` (past `interim` 1xx responses);
        /// `scanned` bytes have been checked already.
        case head(start: Int, scanned: Int, statusLineEnd: Int?, interim: Int)
        case fixedBody(HTTPResponse, bodyStart: Int, length: Int)
        /// No length given: the body is every byte until the peer closes (RFC 9112 §6.3 rule 8).
        case untilClose(HTTPResponse, bodyStart: Int)
        /// Chunked framing; the response's body holds the chunks so far.
        case chunkSizeLine(HTTPResponse, position: Int)
        case chunkData(HTTPResponse, position: Int, remaining: Int)
        case chunkDataEnd(HTTPResponse, position: Int)
        case trailers(HTTPResponse, position: Int, trailerBytes: Int)

        static let initial = State.head(start: 0, scanned: 0, statusLineEnd: nil, interim: 0)
    }

    public let limits: HTTPResponseLimits
    /// The request was HEAD: the response has no body whatever its headers say.
    public let answersHead: Bool
    private var state = State.initial

    public init(limits: HTTPResponseLimits = HTTPResponseLimits(), answersHead: Bool = false) {
        self.limits = limits
        self.answersHead = answersHead
    }

    /// True when no part of a response has been seen since the last complete one: a close now
    /// loses nothing.
    public var isIdle: Bool {
        if case .head(_, let scanned, _, _) = state { return scanned == 0 }
        return false
    }

    public mutating func parse(_ input: UnsafeRawBufferPointer) throws(HTTPResponseParseError) -> Result {
        let bytes = input.bindMemory(to: UInt8.self)
        while true {
            switch state {
            case .head(let start, let scanned, let statusLineEnd, let interim):
                guard
                    let head = try scanHead(
                        bytes, start: start, scanned: scanned, statusLineEnd: statusLineEnd, interim: interim)
                else { return .needMore }
                if (100..<200).contains(head.response.status) {
                    guard head.response.status != 101 else {
                        throw HTTPResponseParseError(
                            code: "unexpected_status", message: "101 Switching Protocols unasked")
                    }
                    guard interim < limits.interimResponsesMax else {
                        throw HTTPResponseParseError(
                            code: "too_many_interim_responses",
                            message: "more than \(limits.interimResponsesMax) interim responses")
                    }
                    state = .head(start: head.end, scanned: head.end, statusLineEnd: nil, interim: interim + 1)
                    continue
                }
                if let result = try startBody(head) { return result }

            case .fixedBody(var response, let bodyStart, let length):
                guard bytes.count - bodyStart >= length else { return .needMore }
                response.body = Array(UnsafeBufferPointer(rebasing: bytes[bodyStart..<(bodyStart + length)]))
                return finish(response, consumed: bodyStart + length)

            case .untilClose(_, let bodyStart):
                guard bytes.count - bodyStart <= limits.bodyBytesMax else { throw bodyTooLarge }
                return .needMore

            case .chunkSizeLine(let response, let position):
                let lineMax = limits.chunkLineBytesMax
                guard
                    let lineEnd = try rule({ () throws(HTTPParseError) in
                        try HTTPMessageSyntax.findLineEnd(bytes, from: position, max: lineMax)
                    })
                else { return .needMore }
                // At most 15 hex digits: `size` < 2^60, so the sum below cannot overflow.
                let size = try rule({ () throws(HTTPParseError) in
                    try HTTPMessageSyntax.parseChunkSize(bytes, position, lineEnd - 1)
                })
                if size == 0 {
                    state = .trailers(response, position: lineEnd + 1, trailerBytes: 0)
                } else {
                    guard response.body.count + size <= limits.bodyBytesMax else { throw bodyTooLarge }
                    state = .chunkData(response, position: lineEnd + 1, remaining: size)
                }

            case .chunkData(var response, let position, let remaining):
                // `remaining` is a chunk size within the body limit, and `available` never runs
                // past the input, so neither index below can overflow or leave the buffer.
                let available = min(remaining, bytes.count - position)
                guard available > 0 else { return .needMore }
                state = .initial  // drop the reference so `response.body` stays unique
                response.body.append(
                    contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<(position + available)]))
                if available == remaining {
                    state = .chunkDataEnd(response, position: position + available)
                } else {
                    state = .chunkData(response, position: position + available, remaining: remaining - available)
                    return .needMore
                }

            case .chunkDataEnd(let response, let position):
                guard bytes.count - position >= 2 else { return .needMore }
                guard bytes[position] == 0x0D, bytes[position + 1] == 0x0A else {
                    throw HTTPResponseParseError(code: "bad_chunk", message: "chunk data not followed by CRLF")
                }
                state = .chunkSizeLine(response, position: position + 2)

            case .trailers(let response, let position, let trailerBytes):
                // Trailer fields are read and dropped: nothing we call sends any we need.
                let lineMax = limits.headerBytesMax
                guard
                    let lineEnd = try rule({ () throws(HTTPParseError) in
                        try HTTPMessageSyntax.findLineEnd(bytes, from: position, max: lineMax)
                    })
                else { return .needMore }
                let lineLength = lineEnd - 1 - position
                if lineLength == 0 { return finish(response, consumed: lineEnd + 1) }
                let total = trailerBytes + lineLength + 2
                guard total <= limits.headerBytesMax else {
                    throw HTTPResponseParseError(code: "headers_too_large", message: "trailer section too large")
                }
                state = .trailers(response, position: lineEnd + 1, trailerBytes: total)
            }
        }
    }

    /// The peer closed the connection after sending `input` (every byte not yet consumed, as for
    /// `parse`): the response if `input` completes one, including one whose body runs to the close;
    /// else `incomplete_response`.
    public mutating func finish(_ input: UnsafeRawBufferPointer) throws(HTTPResponseParseError) -> HTTPResponse {
        if case .response(let response, _) = try parse(input) { return response }
        let bytes = input.bindMemory(to: UInt8.self)
        let reason: String
        switch state {
        case .untilClose(var response, let bodyStart):
            state = .initial
            response.body = Array(UnsafeBufferPointer(rebasing: bytes[bodyStart...]))
            return response
        case .head(let start, _, _, _):
            reason = bytes.count == start ? "connection closed before a response" : "connection closed inside the head"
        case .fixedBody:
            reason = "connection closed before Content-Length bytes arrived"
        case .chunkSizeLine, .chunkData, .chunkDataEnd, .trailers:
            reason = "connection closed inside the chunked body"
        }
        state = .initial
        throw HTTPResponseParseError(code: "incomplete_response", message: reason)
    }

    /// Parses `bytes`; see `parse(_: UnsafeRawBufferPointer)`.
    public mutating func parse(_ bytes: [UInt8]) throws(HTTPResponseParseError) -> Result {
        // `Array.withUnsafeBytes` rethrows untyped; a `Swift.Result` carries the typed error out.
        try bytes.withUnsafeBytes { raw in
            Swift.Result { () throws(HTTPResponseParseError) in try parse(raw) }
        }.get()
    }

    /// Finishes with `bytes`; see `finish(_: UnsafeRawBufferPointer)`.
    public mutating func finish(_ bytes: [UInt8]) throws(HTTPResponseParseError) -> HTTPResponse {
        try bytes.withUnsafeBytes { raw in
            Swift.Result { () throws(HTTPResponseParseError) in try finish(raw) }
        }.get()
    }

    // MARK: Head

    private struct ParsedHead {
        var response: HTTPResponse
        var versionMinor: Int
        var end: Int
    }

    private mutating func scanHead(
        _ bytes: UnsafeBufferPointer<UInt8>, start: Int, scanned: Int, statusLineEnd: Int?, interim: Int
    ) throws(HTTPResponseParseError) -> ParsedHead? {
        var lineEnd = statusLineEnd
        var index = scanned
        let count = bytes.count
        while index < count {
            if bytes[index] == 0x0A {
                guard index > start, bytes[index - 1] == 0x0D else {
                    throw HTTPResponseParseError(code: "bare_lf", message: "line ending without CR")
                }
                if lineEnd == nil {
                    lineEnd = index
                } else if bytes[index - 2] == 0x0A {
                    // "\r\n\r\n": the empty line that ends the head. index - 2 >= lineEnd here.
                    return try parseHead(bytes, start: start, statusLineEnd: lineEnd!, headEnd: index + 1)
                }
            }
            index += 1
            // Both limits count content bytes only, so exactly the limit passes: the status line
            // without its CRLF, and the field lines with their CRLFs but without the empty line
            // ending the head. A CR just read may still start that line ending.
            let endsWithCR = bytes[index - 1] == 0x0D
            if let lineEnd {
                let atLineStart = bytes[index - 2] == 0x0A  // index - 2 >= lineEnd: safe
                if index - lineEnd - 1 - (endsWithCR && atLineStart ? 1 : 0) > limits.headerBytesMax {
                    throw HTTPResponseParseError(code: "headers_too_large", message: "header section too large")
                }
            } else if index - start - (endsWithCR ? 1 : 0) > limits.statusLineBytesMax {
                throw HTTPResponseParseError(code: "status_line_too_long", message: "status line too long")
            }
        }
        state = .head(start: start, scanned: index, statusLineEnd: lineEnd, interim: interim)
        return nil
    }

    private func parseHead(
        _ bytes: UnsafeBufferPointer<UInt8>, start: Int, statusLineEnd: Int, headEnd: Int
    ) throws(HTTPResponseParseError) -> ParsedHead {
        let statusLine = UnsafeBufferPointer(rebasing: bytes[start..<(statusLineEnd - 1)])
        let (status, minor) = try Self.parseStatusLine(statusLine)
        var headers = HTTPHeaders()
        var lineStart = statusLineEnd + 1
        let headersEnd = headEnd - 2  // the final CRLF
        while lineStart < headersEnd {
            var lineStop = lineStart
            while bytes[lineStop] != 0x0A { lineStop += 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<(lineStop - 1)])
            guard headers.count < limits.headerCountMax else {
                throw HTTPResponseParseError(
                    code: "too_many_headers", message: "more than \(limits.headerCountMax) header fields")
            }
            let (name, value) = try rule({ () throws(HTTPParseError) in try HTTPMessageSyntax.parseField(line) })
            headers.addLowercased(name, value)
            lineStart = lineStop + 1
        }
        return ParsedHead(response: HTTPResponse(status: status, headers: headers), versionMinor: minor, end: headEnd)
    }

    /// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]. The SP before
    /// an empty reason phrase is often left out; we accept that, as browsers and curl do, since
    /// nothing can then be read two ways. The reason phrase is ignored (§4: a client SHOULD).
    private static func parseStatusLine(
        _ line: UnsafeBufferPointer<UInt8>
    ) throws(HTTPResponseParseError) -> (status: Int, versionMinor: Int) {
        func bad(_ message: String) -> HTTPResponseParseError {
            HTTPResponseParseError(code: "bad_status_line", message: message)
        }
        // "HTTP/" DIGIT "." DIGIT SP 3DIGIT
        guard line.count >= 12, line[0] == 0x48, line[1] == 0x54, line[2] == 0x54, line[3] == 0x50, line[4] == 0x2F,
            isDigit(line[5]), line[6] == 0x2E, isDigit(line[7]), line[8] == 0x20,
            isDigit(line[9]), isDigit(line[10]), isDigit(line[11])
        else { throw bad("malformed status line") }
        guard line[5] == 0x31 else {
            throw HTTPResponseParseError(code: "bad_version", message: "only HTTP/1.x is supported")
        }
        let status = Int(line[9] - 0x30) * 100 + Int(line[10] - 0x30) * 10 + Int(line[11] - 0x30)
        // RFC 9110 §15: the first digit is the class, 1 to 5; a client cannot act on others.
        guard (100...599).contains(status) else { throw bad("status code \(status) outside 100-599") }
        if line.count > 12 {
            guard line[12] == 0x20 else { throw bad("malformed status line") }
            // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ): no other control characters,
            // in particular no bare CR that another reader would take for a line end.
            for byte in line[13...] where (byte < 0x20 && byte != 0x09) || byte == 0x7F {
                throw bad("control character in reason phrase")
            }
        }
        return (status, min(Int(line[7] - 0x30), 1))
    }

    // MARK: Body

    /// Chooses the body's framing from the head (RFC 9112 §6.3); the response itself when it has
    /// no body.
    private mutating func startBody(_ head: ParsedHead) throws(HTTPResponseParseError) -> Result? {
        let response = head.response
        // Rule 1: no body after HEAD, or in a 204 or 304, whatever the header fields say.
        if answersHead || response.status == 204 || response.status == 304 {
            return finish(response, consumed: head.end)
        }
        let lengths = response.headers.values("content-length")
        let codings = response.headers.values("transfer-encoding")
        if !codings.isEmpty {
            // Rule 3: both present "ought to be handled as an error" (response splitting).
            guard lengths.isEmpty else {
                throw HTTPResponseParseError(
                    code: "ambiguous_length", message: "both Content-Length and Transfer-Encoding")
            }
            // RFC 9112 §6.1: Transfer-Encoding was added in HTTP/1.1; in a 1.0 message it means
            // the message was forwarded by something that did not frame it.
            guard head.versionMinor >= 1 else {
                throw HTTPResponseParseError(code: "bad_transfer_encoding", message: "Transfer-Encoding in HTTP/1.0")
            }
            // Rule 4 would read other codings to the close; we asked for none, so refuse them.
            guard HTTPMessageSyntax.isChunkedOnly(codings) else {
                throw HTTPResponseParseError(
                    code: "unsupported_transfer_encoding", message: "only Transfer-Encoding: chunked is supported")
            }
            state = .chunkSizeLine(response, position: head.end)
            return nil
        }
        if !lengths.isEmpty {
            // Rules 5 and 6: one agreed length, or an unrecoverable error.
            guard let length = try rule({ () throws(HTTPParseError) in try HTTPMessageSyntax.contentLength(lengths) }),
                length <= limits.bodyBytesMax
            else { throw bodyTooLarge }
            state = .fixedBody(response, bodyStart: head.end, length: length)
            return nil
        }
        state = .untilClose(response, bodyStart: head.end)
        return nil
    }

    private mutating func finish(_ response: HTTPResponse, consumed: Int) -> Result {
        state = .initial
        return .response(response, consumed: consumed)
    }

    private var bodyTooLarge: HTTPResponseParseError {
        HTTPResponseParseError(code: "payload_too_large", message: "response body exceeds \(limits.bodyBytesMax) bytes")
    }

    /// Runs a rule shared with the request parser, keeping its error code (its 400 is for requests).
    private func rule<Value>(_ body: () throws(HTTPParseError) -> Value) throws(HTTPResponseParseError) -> Value {
        do throws(HTTPParseError) {
            return try body()
        } catch {
            throw HTTPResponseParseError(error)
        }
    }
}

@inline(__always)
private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
