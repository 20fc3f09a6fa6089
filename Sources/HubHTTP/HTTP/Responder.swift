import HubLoop
import HubWire

/// Where a request's answer goes: its HTTP session (or, in tests, a recorder in the process).
public protocol ResponseSink: AnyObject {
    var isOpen: Bool { get }
    func complete(_ responder: Responder, _ response: HTTPResponse)
    func corsHeaders(for request: Request) -> HTTPHeaders
    /// Gives the connection to a new owner (WebSocket, SSE); nil when there is none to give.
    func detach() -> (connection: TCPConnection, leftover: [UInt8])?
}

/// Answers one request, exactly once, now or later (after a commit, a hash on the threadpool,
/// a call to a payment gateway). If the connection closed meanwhile, the answer is dropped.
public final class Responder {
    /// Strong, not weak: forming and loading a weak reference for every request cost more than the
    /// request's parsing of its request line. The session drops its in-flight responder when it
    /// answers, closes or hands its connection over, which ends the cycle; a late answer finds the
    /// session no longer open and is dropped.
    private let session: any ResponseSink
    public let request: Request
    public private(set) var isDone = false
    /// Headers added to whatever answer this request gets (the router's `X-Token-Ignored`).
    private var addedHeaders: [(String, String)] = []

    public init(session: any ResponseSink, request: Request) {
        self.session = session
        self.request = request
    }

    /// Whether the client is still there to receive an answer.
    public var isConnected: Bool { session.isOpen }

    public func send(_ response: HTTPResponse) {
        precondition(!isDone, "a request was answered twice")
        isDone = true
        var response = response
        for (name, value) in addedHeaders { response.headers.set(name, value) }
        session.complete(self, response)
    }

    /// Adds a header to the answer, whichever handler sends it.
    func addHeader(_ name: String, _ value: String) {
        addedHeaders.append((name, value))
    }

    public func json(_ value: JSON, status: Int = 200, headers: [(String, String)] = []) {
        json(encoded: value.bytes, status: status, headers: headers)
    }

    /// Answers with JSON text already serialized (a view that an event carries too).
    public func json(encoded body: [UInt8], status: Int = 200, headers: [(String, String)] = []) {
        var response = HTTPResponse(status: status, headers: HTTPHeaders(headers), body: body)
        response.headers.set("content-type", "application/json; charset=utf-8")
        send(response)
    }

    public func fail(_ error: APIError) {
        json(error.body, status: error.status, headers: error.headers)
    }

    /// Runs a later step of a handler (after a read, a commit, a call) that answers the request
    /// or throws: what it throws is the answer, as for the handler itself.
    public func continuing(_ step: () throws(APIError) -> Void) {
        do {
            try step()
        } catch {
            fail(error)
        }
    }

    /// The CORS headers the server adds to its answers of this request (none for an origin not on
    /// the allow-list), for a handler that takes the connection over and writes its own head.
    /// Ask before `takeOver`.
    public func corsHeaders() -> HTTPHeaders {
        session.corsHeaders(for: request)
    }

    /// Hands the connection to a new owner (WebSocket, Server-Sent Events) together with bytes
    /// the client already sent after this request. The HTTP session stops serving it.
    public func takeOver() -> (connection: TCPConnection, leftover: [UInt8])? {
        precondition(!isDone, "takeOver after the request was answered")
        isDone = true
        return session.detach()
    }
}

@available(*, unavailable) extension Responder: Sendable {}
