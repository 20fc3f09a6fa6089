import Foundation
import HubCrypto
import HubLoop
import HubWire

#if canImport(Glibc)
import Glibc
#endif

/// A request to another service (a payment gateway, an email or calendar API).
public struct OutboundRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)] = []
    public var body: [UInt8] = []
    /// Bound on connecting, and on each wait for bytes to write or read.
    public var timeoutSeconds: Int = 15
    /// Whether sending it twice has the effect of sending it once (RFC 9110 §9.2.2): GET, HEAD,
    /// PUT, DELETE and OPTIONS are; a POST is only when the caller knows the server dedupes it (a
    /// payment initialised under a reference of the caller's, an event inserted under a fixed id).
    /// Only an idempotent request is retried once its bytes may have reached the server.
    public var isIdempotent: Bool

    public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = [], timeoutSeconds: Int = 15,
         isIdempotent: Bool? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutSeconds = timeoutSeconds
        self.isIdempotent = isIdempotent ?? ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(method)
    }

    public static func json(_ method: String, _ url: String, _ body: JSON?, headers: [(String, String)] = [],
                     timeoutSeconds: Int = 15, isIdempotent: Bool? = nil) -> OutboundRequest {
        var request = OutboundRequest(method: method, url: url, headers: headers, timeoutSeconds: timeoutSeconds,
                                      isIdempotent: isIdempotent)
        if let body {
            request.body = body.bytes
            request.headers.append(("Content-Type", "application/json"))
        }
        request.headers.append(("Accept", "application/json"))
        return request
    }
}

public struct OutboundResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    public let body: [UInt8]

    public init(status: Int, headers: HTTPHeaders, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var json: JSON? { try? JSONParser.parse(body) }
    public var isSuccess: Bool { (200..<300).contains(status) }
}

public enum OutboundError: Error, Sendable, CustomStringConvertible {
    case invalidURL(String)
    case connect(String)
    case timedOut
    case tls(String)
    case malformedResponse(String)
    /// The request was written, wholly or in part, and no complete answer came back: the server
    /// may have acted on it. A non-idempotent request is never sent again after this; the caller
    /// asks the server what happened instead.
    case indefinite(String)

    /// Whether trying again might help (network trouble), as opposed to a request we got wrong.
    public var isTransient: Bool {
        switch self {
        case .connect, .timedOut, .tls, .malformedResponse, .indefinite: true
        case .invalidURL: false
        }
    }

    /// Whether the server may have received the request (so may have acted on it).
    public var mayHaveReachedServer: Bool {
        if case .indefinite = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid URL \(url)"
        case .connect(let reason): "cannot connect: \(reason)"
        case .timedOut: "timed out"
        case .tls(let reason): "TLS: \(reason)"
        case .malformedResponse(let reason): "malformed response: \(reason)"
        case .indefinite(let reason): "no complete answer after sending (\(reason)); it may have taken effect"
        }
    }
}

/// A small blocking HTTP/1.1 client for worker threads (never the loop): one request per
/// connection (`Connection: close`), http and https (OpenSSL through `TLSClientStream`, peer and
/// host name verified), every wait bounded. Its requests name the application in `User-Agent`.
public struct OutboundHTTP: Sendable {
    /// Largest response body we read; provider answers are small JSON documents.
    public static let responseBytesMax = 4 << 20

    /// `User-Agent` of every request (`name/version`).
    public let userAgent: String

    public init(userAgent: String) {
        self.userAgent = userAgent
    }

    public func send(_ request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        guard let target = Target(request.url) else { return .failure(.invalidURL(request.url)) }
        let fd: Int32
        switch Self.connect(host: target.host, port: target.port, timeoutSeconds: request.timeoutSeconds) {
        case .success(let socket): fd = socket
        case .failure(let error): return .failure(error)
        }
        defer { Glibc.close(fd) }
        var timeout = timeval(tv_sec: request.timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let stream: any ByteStream
        if target.secure {
            do {
                stream = try TLSByteStream(TLSClientStream(fd: fd, serverName: target.host))
            } catch {
                return .failure(error.kind == .timedOut ? .timedOut : .tls(error.message))
            }
        } else {
            stream = PlainByteStream(fd: fd)
        }
        defer { stream.shutdown() }
        var head = "\(request.method) \(target.pathAndQuery) HTTP/1.1\r\nHost: \(target.hostHeader)\r\n"
        head += "User-Agent: \(userAgent)\r\nConnection: close\r\nContent-Length: \(request.body.count)\r\n"
        for (name, value) in request.headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        // From the first byte written on, a failure leaves the outcome unknown: the server may
        // have read the whole request before the connection broke or the answer timed out.
        do {
            try stream.write(Array(head.utf8) + request.body)
            var received: [UInt8] = []
            var parser = HTTPResponseParser(limits: HTTPResponseLimits(bodyBytesMax: Self.responseBytesMax))
            while received.count <= Self.responseBytesMax + 64 * 1024 {
                if try stream.read(appendingTo: &received, maxCount: 64 * 1024) == 0 { break }
                if case .response(let response, _) = try parser.parse(received) {
                    return .success(OutboundResponse(status: response.status, headers: response.headers,
                                                     body: response.body))
                }
            }
            let response = try parser.finish(received)  // closed (or over budget): whole, or incomplete_response
            return .success(OutboundResponse(status: response.status, headers: response.headers, body: response.body))
        } catch let error as OutboundError {
            return .failure(.indefinite(error.description))
        } catch {
            return .failure(.indefinite("\(error)"))
        }
    }

    /// Resolves and connects with a deadline (non-blocking connect, then poll).
    public static func connect(host: String, port: Int, timeoutSeconds: Int) -> Result<Int32, OutboundError> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var results: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &results)
        guard rc == 0, let first = results else {
            return .failure(.connect("cannot resolve \(host): \(String(cString: gai_strerror(rc)))"))
        }
        defer { freeaddrinfo(results) }
        return connect(to: first, timeoutSeconds: timeoutSeconds).mapError { error in
            if case .connect(let reason) = error { return .connect("\(host):\(port): \(reason)") }
            return error
        }
    }

    /// Connects to the first address of the list that accepts within `timeoutSeconds`. An address
    /// that refuses or does not answer in time is passed over for the next one (a host with a
    /// dead IPv6 route and a working IPv4 one must not fail the call); when none answers, the
    /// failure says why the last one did not, `.timedOut` when every one of them timed out.
    static func connect(to addresses: UnsafeMutablePointer<addrinfo>, timeoutSeconds: Int) -> Result<Int32, OutboundError> {
        var lastError = "no address"
        var timedOutEverywhere = true
        var candidate: UnsafeMutablePointer<addrinfo>? = addresses
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var result = Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
            if result != 0 && errno == EINPROGRESS {
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&poller, 1, Int32(timeoutSeconds * 1000))
                if ready == 1 {
                    var soError: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                    result = soError == 0 ? 0 : -1
                    if soError != 0 { errno = soError }
                } else {
                    let reason = ready == 0 ? "timed out" : String(cString: strerror(errno))
                    Glibc.close(fd)
                    lastError = reason
                    if ready != 0 { timedOutEverywhere = false }
                    continue
                }
            }
            if result == 0 {
                _ = fcntl(fd, F_SETFL, flags)
                return .success(fd)
            }
            lastError = String(cString: strerror(errno))
            timedOutEverywhere = false
            Glibc.close(fd)
        }
        return .failure(timedOutEverywhere && lastError == "timed out" ? .timedOut : .connect(lastError))
    }

    /// The parts of an http(s) URL a request needs.
    struct Target {
        let secure: Bool
        let host: String
        let port: Int
        let pathAndQuery: String

        var hostHeader: String { (secure && port == 443) || (!secure && port == 80) ? host : "\(host):\(port)" }

        init?(_ url: String) {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                  scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
            else { return nil }
            secure = scheme == "https"
            self.host = host
            port = components.port ?? (secure ? 443 : 80)
            let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
            pathAndQuery = components.percentEncodedQuery.map { "\(path)?\($0)" } ?? path
        }
    }
}

/// Bytes over a socket, plain or TLS (outbound calls, and clients of other protocols such as SMTP).
public protocol ByteStream {
    func write(_ bytes: [UInt8]) throws
    func read(appendingTo buffer: inout [UInt8], maxCount: Int) throws -> Int
    func shutdown()
}

public struct PlainByteStream: ByteStream {
    public let fd: Int32

    public init(fd: Int32) { self.fd = fd }

    public func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw errno == EAGAIN ? OutboundError.timedOut : OutboundError.connect(String(cString: strerror(errno)))
            }
            offset += written
        }
    }

    public func read(appendingTo buffer: inout [UInt8], maxCount: Int) throws -> Int {
        var chunk = [UInt8](repeating: 0, count: maxCount)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, maxCount, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw errno == EAGAIN ? OutboundError.timedOut : OutboundError.connect(String(cString: strerror(errno)))
            }
            buffer.append(contentsOf: chunk[0..<count])
            return count
        }
    }

    public func shutdown() {}
}

public struct TLSByteStream: ByteStream {
    public let stream: TLSClientStream

    public init(_ stream: TLSClientStream) { self.stream = stream }

    public func write(_ bytes: [UInt8]) throws {
        do { try stream.write(bytes) } catch { throw Self.map(error) }
    }

    public func read(appendingTo buffer: inout [UInt8], maxCount: Int) throws -> Int {
        do {
            return try stream.read(appendingTo: &buffer, maxCount: maxCount)
        } catch where error.kind == .connectionClosed {
            return 0  // closed without close_notify: the response framing tells whether we have it all
        } catch {
            throw Self.map(error)
        }
    }

    public func shutdown() { stream.shutdown() }

    private static func map(_ error: CryptoError) -> OutboundError {
        error.kind == .timedOut ? .timedOut : .tls(error.message)
    }
}

extension OutboundHTTP {
    /// Sends with bounded retries (exponential backoff: 200 ms, 400 ms, …), on the calling worker
    /// thread. An idempotent request is retried on network errors and 5xx answers; any other only
    /// while it certainly never reached the server (no connection, no TLS session): a 5xx or a
    /// lost answer after it was written may mean it took effect, and sending a refund twice
    /// refunds twice.
    public func send(_ request: OutboundRequest, retries: Int) -> Result<OutboundResponse, OutboundError> {
        var attempt = 0
        while true {
            let result = send(request)
            let retryable: Bool
            switch result {
            case .success(let response): retryable = response.status >= 500 && request.isIdempotent
            case .failure(let error): retryable = error.isTransient && (request.isIdempotent || !error.mayHaveReachedServer)
            }
            if !retryable || attempt >= retries { return result }
            usleep(UInt32(200_000 << min(attempt, 5)))
            attempt += 1
        }
    }

    /// Runs `send` on libuv's threadpool and completes on the loop thread.
    public func send(_ request: OutboundRequest, retries: Int, on loop: Loop,
                     completion: @escaping (Result<OutboundResponse, OutboundError>) -> Void) {
        WorkQueue.submit(on: loop, work: { [self] in send(request, retries: retries) }, completion: completion)
    }
}
