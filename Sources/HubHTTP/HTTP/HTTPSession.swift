import HubLoop
import HubWire

/// Serves HTTP/1.1 on one connection: parses requests in order, runs one at a time, writes
/// responses in order (pipelined requests wait in the buffer), and enforces the request and
/// idle deadlines when the server's sweeper asks.
final class HTTPSession: TCPConnectionDelegate, Sweepable, ResponseSink {
    /// `unowned(unsafe)`: the server closes every session before it goes (a checked `unowned`
    /// paid a reference-count round trip on every access, several per request).
    private unowned(unsafe) let server: HTTPServer
    let connection: TCPConnection
    let peer: String
    var sweepSlot = -1

    /// Bytes received and not yet consumed, from `bufferStart`. Released when empty, so an idle
    /// keep-alive connection holds no buffer.
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    private var parser: HTTPRequestParser
    private var inFlight: Responder?
    private var processing = false
    private var peerClosed = false
    private var detached = false
    /// Close once the current response is written (parse error, Connection: close, shutdown).
    private var closeAfterResponse = false
    /// Loop time by which the request now arriving must be complete; nil between requests.
    private var requestDeadlineMs: UInt64?
    private var lastActivityMs: UInt64

    init(server: HTTPServer, connection: TCPConnection) {
        self.server = server
        self.connection = connection
        self.peer = connection.peerAddress() ?? "unknown"
        self.parser = HTTPRequestParser(limits: server.limits)
        self.lastActivityMs = connection.loop.nowMs
    }

    var isOpen: Bool { connection.isOpen && !detached }
    var isIdle: Bool { inFlight == nil && bufferStart == buffer.count }

    // MARK: TCPConnectionDelegate

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        lastActivityMs = connection.loop.nowMs
        if requestDeadlineMs == nil && inFlight == nil {
            requestDeadlineMs = lastActivityMs + server.requestTimeoutMs
        }
        if bufferStart == buffer.count && inFlight == nil && !processing && dispatchInPlace(bytes) { return }
        buffer.append(contentsOf: bytes)
        if inFlight != nil {
            // A pipelining client may send ahead; hold at most one more maximal request.
            if buffer.count - bufferStart > server.limits.bodyBytesMax + server.limits.headerBytesMax + 16 * 1024 {
                connection.stopReading()
            }
            return
        }
        processBuffer()
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        peerClosed = true
        if inFlight == nil {
            // RFC 9112 §9.6: a half-closed client may still read; answer what is complete, then close.
            processBuffer()
            if inFlight == nil { connection.closeAfterFlush() }
        }
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        inFlight = nil  // the responder holds us: a handler still working drops its answer
        if !detached { server.sessionClosed(self) }
    }

    // MARK: Requests

    private func processBuffer() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        while inFlight == nil && !closeAfterResponse && connection.isOpen && !detached {
            if bufferStart == buffer.count {
                buffer = []
                bufferStart = 0
                requestDeadlineMs = nil
                return
            }
            let parsed = buffer.withUnsafeBytes { raw in
                Result { () throws(HTTPParseError) in try parser.parse(UnsafeRawBufferPointer(rebasing: raw[bufferStart...])) }
            }
            let result: HTTPRequestParser.Result
            switch parsed {
            case .success(let value): result = value
            case .failure(let error):
                refuse(error)
                return
            }
            switch result {
            case .needMore:
                if requestDeadlineMs == nil { requestDeadlineMs = connection.loop.nowMs + server.requestTimeoutMs }
                compactBuffer()
                return
            case .continueExpected:
                connection.write(Self.continueResponse)
            case .request(let head, let consumed):
                bufferStart += consumed
                requestDeadlineMs = nil
                dispatch(head)
            }
        }
    }

    /// The common case, a whole request arriving while nothing is buffered: parsed where the
    /// loop read it and dispatched, and only bytes after it (pipelined) copied into `buffer`.
    /// Saves an allocation and a copy of every request. Anything else (part of a request, an
    /// `Expect: 100-continue`, a malformed one) is left to `processBuffer`: the trial ran on a
    /// copy of the parser, so the bytes are parsed there from the same state.
    private func dispatchInPlace(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !closeAfterResponse && connection.isOpen && !detached else { return false }
        var trial = parser
        guard case .success(.request(let head, let consumed)) = Result(catching: { () throws(HTTPParseError) in
            try trial.parse(bytes)
        }) else { return false }
        parser = trial
        buffer = consumed < bytes.count ? Array(UnsafeRawBufferPointer(rebasing: bytes[consumed...])) : []
        bufferStart = 0
        requestDeadlineMs = nil
        dispatch(head)  // answered at once, `complete` serves what followed; else its answer will
        return true
    }

    private static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    private func compactBuffer() {
        if bufferStart > 0 && bufferStart * 2 >= buffer.count {
            buffer.removeFirst(bufferStart)
            bufferStart = 0
        }
    }

    private func dispatch(_ parsed: HTTPRequest) {
        let client = ClientAddress.resolve(peer: peer, headers: parsed.head.headers, trusted: server.trustedProxies,
                                           header: server.proxyHeader)
        let request = Request(head: parsed.head, body: parsed.body, id: server.requestID(parsed.head),
                              client: client, startedNs: Loop.hrtimeNs(), jsonBytesMax: server.jsonBytesMax)
        let responder = Responder(session: self, request: request)
        inFlight = responder
        if !parsed.head.keepAlive || server.isShuttingDown { closeAfterResponse = true }
        server.handle(request, responder)
    }

    /// Called by the responder. Writes the response; serves the next pipelined request.
    func complete(_ responder: Responder, _ response: HTTPResponse) {
        guard inFlight === responder, connection.isOpen, !detached else { return }
        inFlight = nil
        let request = responder.request
        if server.isShuttingDown || peerClosed { closeAfterResponse = true }
        // Serialized straight into the connection's pending buffer (a loop spare): no array of
        // its own per response.
        let closing = closeAfterResponse
        connection.write { server.serialize(response, for: request, closing: closing, into: &$0) }
        lastActivityMs = connection.loop.nowMs
        server.logAccess(request, status: response.status, bytes: response.body.count)
        server.observe(request, response)
        if closeAfterResponse {
            connection.closeAfterFlush()
            return
        }
        connection.startReading()
        processBuffer()
    }

    /// Answers a malformed request and closes: after a framing error we cannot know where the
    /// next request would start.
    private func refuse(_ error: HTTPParseError) {
        closeAfterResponse = true
        let apiError = APIError(error.status, error.code, error.message)
        var response = HTTPResponse(status: error.status, body: apiError.body.bytes)
        response.headers.set("content-type", "application/json; charset=utf-8")
        connection.write { server.serializeBare(response, into: &$0) }
        // The client may still be sending (the body we refused as too large): linger, or the
        // reset for its unread bytes can reach it before our answer. Not while shutting down,
        // which waits for every session to end.
        connection.closeAfterFlush(linger: !server.isShuttingDown)
        server.countParseError(error)
    }

    /// The CORS headers an answer to `request` carries, for a handler that writes its own head.
    func corsHeaders(for request: Request) -> HTTPHeaders {
        var headers = HTTPHeaders()
        server.addCORSHeaders(for: request, to: &headers)
        return headers
    }

    /// Stops serving HTTP on this connection and hands it, with unconsumed bytes, to its new owner.
    func detach() -> (connection: TCPConnection, leftover: [UInt8])? {
        guard connection.isOpen, !detached else { return nil }
        detached = true
        if let request = inFlight?.request { server.observeTakeover(request) }
        inFlight = nil
        let leftover = Array(buffer[bufferStart...])
        buffer = []
        bufferStart = 0
        server.sessionDetached(self)
        return (connection, leftover)
    }

    // MARK: Deadlines

    func sweep(nowMs: UInt64) {
        guard connection.isOpen, !detached else { return }
        if inFlight != nil { return }  // handlers bound their own waits
        if let deadline = requestDeadlineMs, nowMs >= deadline {
            // RFC 9110 §15.5.9: 408 when the client did not finish its request in time.
            refuse(HTTPParseError(status: 408, code: "request_timeout", message: "request not received in time"))
            return
        }
        if requestDeadlineMs == nil && nowMs >= lastActivityMs + server.idleTimeoutMs {
            connection.close()
        }
    }

    /// Graceful shutdown: idle connections close now. A request being served, or still arriving,
    /// is finished first: `dispatch` and `complete` see the server shutting down and close after
    /// its response (the request and grace deadlines bound a peer that never finishes sending).
    func beginShutdown() {
        if connection.isLingering {
            connection.close()  // answered already; shutdown does not wait for its peer
            return
        }
        if inFlight == nil && bufferStart == buffer.count {
            connection.closeAfterFlush()
        }
    }
}

@available(*, unavailable) extension HTTPSession: Sendable {}
