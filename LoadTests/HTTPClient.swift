import Foundation
import HubWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A minimal blocking HTTP/1.1 client over one keep-alive TCP connection, for load generation:
/// one thread per connection, requests written whole, responses read by Content-Length.
/// (HubLoop has no outbound connect on main yet; a load generator does not need an event loop.)
final class BlockingHTTPConnection {
    struct Response {
        let status: Int
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> JSON { try JSONParser.parse(body) }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Largest response we accept (head plus body): grids and lists are far smaller.
    static let responseBytesMax = 8 << 20

    private let socket: Int32
    private let host: String
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// Bytes received and not yet consumed: the start of the next response.
    private var pending: [UInt8] = []

    init(host: String = "127.0.0.1", port: Int) throws {
        self.host = "\(host):\(port)"
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(fd)
            throw Failure(description: "bad IPv4 address \(host)")
        }
        let rc = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "connect \(host):\(port): errno \(code)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        socket = fd
    }

    deinit { close(socket) }

    /// The request head and body as bytes, ready to send (and re-send).
    func encode(_ method: String, _ path: String, token: String? = nil, body: [UInt8]? = nil) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (body ?? [])
    }

    func request(_ method: String, _ path: String, token: String? = nil, json: JSON? = nil) throws -> Response {
        try send(encode(method, path, token: token, body: json.map { Array($0.text.utf8) }))
    }

    /// Writes `bytes` (one whole request) and reads one response.
    func send(_ bytes: [UInt8]) throws -> Response {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(socket, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw Failure(description: "write: errno \(errno)") }
                offset += written
            }
        }
        return try readResponse()
    }

    private func readResponse() throws -> Response {
        var headEnd: Int?
        var scanFrom = 0
        while true {
            if let end = Self.find(crlfcrlfIn: pending, from: scanFrom) {
                headEnd = end
                break
            }
            scanFrom = max(0, pending.count - 3)
            try fill()
        }
        let head = pending[..<headEnd!]
        let (status, contentLength) = try Self.parseHead(head)
        let bodyStart = headEnd! + 4
        guard contentLength <= Self.responseBytesMax else { throw Failure(description: "response of \(contentLength) bytes") }
        while pending.count < bodyStart + contentLength { try fill() }
        let body = Array(pending[bodyStart..<(bodyStart + contentLength)])
        pending.removeFirst(bodyStart + contentLength)
        return Response(status: status, body: body)
    }

    private func fill() throws {
        let count = buffer.withUnsafeMutableBytes { read(socket, $0.baseAddress!, $0.count) }
        if count < 0 && errno == EINTR { return }
        guard count > 0 else { throw Failure(description: count == 0 ? "connection closed by the hub" : "read: errno \(errno)") }
        pending.append(contentsOf: buffer[..<count])
        guard pending.count <= Self.responseBytesMax else { throw Failure(description: "response too large") }
    }

    static func find(crlfcrlfIn bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = start
        while index + 3 < bytes.count {
            if bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 { return index }
            index += 1
        }
        return nil
    }

    /// "HTTP/1.1 201 Created" and a Content-Length header (chunked bodies are not expected from the hub).
    static func parseHead(_ head: ArraySlice<UInt8>) throws -> (status: Int, contentLength: Int) {
        let lines = head.split(separator: 10, omittingEmptySubsequences: false).map { line in
            line.last == 13 ? line.dropLast() : line
        }
        guard let statusLine = lines.first, statusLine.count >= 12, statusLine.starts(with: Array("HTTP/1.1 ".utf8)) else {
            throw Failure(description: "not an HTTP/1.1 status line")
        }
        let digits = statusLine.dropFirst(9).prefix(3)
        guard digits.count == 3, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw Failure(description: "bad status code") }
        let status = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
        var contentLength = 0
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: 58) else { continue }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if name == "content-length" {
                guard let length = Int(value), length >= 0 else { throw Failure(description: "bad Content-Length") }
                contentLength = length
            } else if name == "transfer-encoding" {
                throw Failure(description: "Transfer-Encoding \(value) is not supported by this client")
            }
        }
        return (status, contentLength)
    }
}
