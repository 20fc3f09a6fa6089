/// An HTTP/1.1 response to serialise. Bodies are bytes; `Content-Length` is always sent
/// (we never stream a response of unknown length except SSE, which has its own writer).
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Writes the status line, headers, `Content-Length` and body. RFC 9110 §8.6: no length for 1xx
    /// and 204, and none for 304, which may carry one only if it equals the length of the 200 it
    /// stands for (we do not keep that). `bodyOmitted` is for HEAD: the length is sent but not the
    /// bytes. `lengthOmitted` is
    /// for a stream that runs until the connection closes (Server-Sent Events): neither length nor
    /// body is written.
    public func serialize(into out: inout [UInt8], bodyOmitted: Bool = false, lengthOmitted: Bool = false) {
        serialize(into: &out, bodyOmitted: bodyOmitted, lengthOmitted: lengthOmitted) { _ in }
    }

    /// As `serialize(into:bodyOmitted:lengthOmitted:)`, with `appendHeaders` writing more header
    /// lines (`appendHeader`) after the response's own: what the server adds to every answer
    /// (request id, date, CORS) goes straight into the output instead of into a copy of
    /// `headers`, which cost a copy of the header list per response.
    public func serialize(into out: inout [UInt8], bodyOmitted: Bool = false, lengthOmitted: Bool = false,
                          appendHeaders: (inout [UInt8]) -> Void) {
        out.reserveCapacity(out.count + 256 + body.count)
        Self.appendStatusLine(status, into: &out)
        for field in headers.fields { Self.appendHeader(field.name, field.value, into: &out) }
        appendHeaders(&out)
        if status != 204 && status != 304 && !(100..<200).contains(status) && !lengthOmitted {
            out.append(contentsOf: Self.contentLengthName)
            appendDecimal(body.count, into: &out)
            out.append(contentsOf: Self.crlf)
        }
        out.append(contentsOf: Self.crlf)
        if !bodyOmitted && !lengthOmitted { out.append(contentsOf: body) }
    }

    public func serialized(bodyOmitted: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        serialize(into: &out, bodyOmitted: bodyOmitted)
        return out
    }

    // Byte arrays rather than string literals' `utf8` views: appending an array is one copy,
    // appending a view went through the generic sequence path.
    static let crlf: [UInt8] = [0x0D, 0x0A]
    static let colonSpace: [UInt8] = [0x3A, 0x20]
    static let contentLengthName = Array("Content-Length: ".utf8)
    static let statusLineStart = Array("HTTP/1.1 ".utf8)

    static func appendStatusLine(_ status: Int, into out: inout [UInt8]) {
        out.append(contentsOf: statusLineStart)
        appendDecimal(status, into: &out)
        out.append(0x20)
        appendUTF8(HTTPStatus.reason(status), into: &out)
        out.append(contentsOf: crlf)
    }

    /// One header line, `Name: value` and CRLF. The value must be a valid field value (the
    /// server's own, or one `HTTPHeaders` accepted).
    public static func appendHeader(_ name: String, _ value: String, into out: inout [UInt8]) {
        appendHeaderName(HTTPHeaders.lower(name), into: &out)  // as `HTTPHeaders.add` keeps it
        out.append(contentsOf: colonSpace)
        appendUTF8(value, into: &out)
        out.append(contentsOf: crlf)
    }

    /// Header names go out in their canonical capitalisation (`Content-Type`): some clients
    /// (and people reading captures) expect it, though names are case-insensitive.
    static func appendHeaderName(_ name: String, into out: inout [UInt8]) {
        var name = name
        name.withUTF8 { bytes in
            // Copied at once, then capitalised in place (appending byte by byte checked capacity
            // for every byte).
            let start = out.count
            out.append(contentsOf: bytes)
            out.withUnsafeMutableBufferPointer { written in
                var upper = true
                for index in start..<written.count {
                    let byte = written[index]
                    if upper && byte &- 0x61 < 26 { written[index] = byte - 0x20 }
                    upper = byte == 0x2D
                }
            }
        }
    }
}

/// Appends a string's UTF-8 bytes in one copy from its storage.
@inline(__always)
public func appendUTF8(_ text: String, into out: inout [UInt8]) {
    var text = text
    text.withUTF8 { out.append(contentsOf: $0) }
}

/// Appends the decimal digits of a non-negative integer without allocating a String.
public func appendDecimal(_ value: Int, into out: inout [UInt8]) {
    precondition(value >= 0)
    if value < 10 {
        out.append(0x30 + UInt8(value))
        return
    }
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: decimalDigitsMax) { digits in
        let end = writeDecimal(UInt64(value), into: digits, at: 0)
        out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[..<end]))
    }
}

/// The most digits `writeDecimal` writes (`UInt64.max` has 20).
public let decimalDigitsMax = 20

/// Writes the decimal digits of `value` into `out` from `start`, which must leave room for them
/// (`decimalDigitsMax` always does); answers the index after the last digit.
@inline(__always)
public func writeDecimal(_ value: UInt64, into out: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
    var digits = 0
    var rest = value
    repeat {
        digits += 1
        rest /= 10
    } while rest > 0
    rest = value
    for position in stride(from: start + digits - 1, through: start, by: -1) {
        out[position] = 0x30 + UInt8(rest % 10)
        rest /= 10
    }
    return start + digits
}

/// Reason phrases for the statuses we send.
public enum HTTPStatus {
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 426: "Upgrade Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}
