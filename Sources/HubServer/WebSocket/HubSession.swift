import HubCore
import HubHTTP
import HubLoop
import HubWire

/// One real-time client on `/ws`: its principal, its subscriptions, and the small protocol it
/// speaks (`auth`, `subscribe`, `unsubscribe`, `resume`, `ping`). Every server message is
/// `{"type": …, "payload": …}`; events add `channel`, `seq` and `ts`.
final class HubSession: WebSocketHandler, EventSubscriber {
    private unowned let realtime: Realtime
    /// Strong, and dropped when the socket closes (`webSocketDidClose`), which breaks the cycle
    /// with the socket's `handler`. A `weak` reference moved the socket's reference count to a side
    /// table, and every event delivered paid for the slow retain and release that brings: 15% of
    /// the hub's CPU time at fan-out saturation.
    private(set) var socket: WebSocketConnection?
    /// Boxed: an anonymous connection (a kiosk, most of the idle ones) keeps 8 bytes for it
    /// instead of the 56 of a `Principal?`.
    private(set) var principal: Principal? {
        get { signedIn?.principal }
        set { signedIn = newValue.map(SignedIn.init) }
    }
    private var signedIn: SignedIn?
    private(set) var channels = SubscribedChannels()
    var deliveredSeq: Int64 = 0
    /// The messages this connection may still send (`websocket.rateLimits.messagesPerMinute`).
    private var messageBudget: TokenBucket?
    /// After the budget's optional tag, where it fills padding (a word less per connection).
    private var authExpiredNotified = false
    /// Kiosk or dashboard, as the client says (`?client=`): its slot in `Realtime.clientKinds`,
    /// counted for analytics. Four bytes in padding where the text took sixteen, which kept the
    /// object one malloc size class up (BENCHMARKS.md, Idle connections).
    let clientKind: UInt32
    /// Live events of channels whose snapshot is still being read (`Realtime.sendSnapshot`),
    /// sent after it. Empty unless a snapshot comes from the store (PostgreSQL).
    private var heldEvents = SnapshotHolds()

    private final class SignedIn {
        let principal: Principal
        init(_ principal: Principal) { self.principal = principal }
    }


    init(realtime: Realtime, principal: Principal?, clientKind: UInt32) {
        self.realtime = realtime
        self.clientKind = clientKind
        signedIn = principal.map(SignedIn.init)
    }

    // MARK: WebSocketHandler

    func webSocketDidOpen(_ socket: WebSocketConnection) {
        guard self.socket == nil else { return }
        self.socket = socket
        deliveredSeq = realtime.broker.lastSeq
        realtime.sessionOpened(self)
    }

    func webSocket(_ socket: WebSocketConnection, didReceiveText text: [UInt8]) {
        // Before parsing: a flood costs a bucket check per message, not a JSON parse.
        let allowance = Double(realtime.limits.allowance(.webSocketMessagesPerConnection))
        let nowMs = Int64(socket.loopNowMs)
        var budget = messageBudget ?? TokenBucket(capacity: allowance, nowMs: nowMs)
        let refused = budget.take(capacity: allowance, periodSeconds: 60, nowMs: nowMs) != nil
        messageBudget = budget
        if refused {
            realtime.limits.countRefusal(.webSocketMessagesPerConnection)
            // RFC 6455 §7.4.1 1008: a message that violates policy.
            socket.close(code: WebSocketCloseCode.policyViolation, reason: "rate limited: too many messages", waitForPeer: false)
            return
        }
        let message: JSONObject
        do {
            guard case .object(let object) = try JSONParser.parse(text) else {
                reply(error: "malformed_message", "messages are JSON objects with a \"type\"")
                return
            }
            message = object
        } catch {
            // Text that is not JSON at all: the payload is inconsistent with what this endpoint
            // accepts (RFC 6455 §7.4.1, 1007).
            socket.close(code: WebSocketCloseCode.invalidPayload, reason: "messages must be JSON", waitForPeer: false)
            return
        }
        realtime.handle(message, from: self)
    }

    func webSocket(_ socket: WebSocketConnection, didReceiveBinary bytes: [UInt8]) {
        // §7.4.1 1003: "received a type of data it cannot accept".
        socket.close(code: WebSocketCloseCode.unsupportedData, reason: "binary messages are not supported", waitForPeer: false)
    }

    func webSocketDidClose(_ socket: WebSocketConnection) {
        guard self.socket != nil else { return }  // told once: Realtime counts opens and closes
        self.socket = nil
        for channel in channels { realtime.broker.unsubscribe(self, from: channel) }
        channels.removeAll()
        realtime.sessionClosed(self)
    }

    func webSocketTick(_ socket: WebSocketConnection, nowMs: UInt64) {
        guard let principal, !authExpiredNotified, AuthService.hasExpired(principal, now: realtime.auth.clock.seconds) else { return }
        // The token ran out: private channels stop; the client may send a fresh `auth`.
        authExpiredNotified = true
        dropPrivateChannels()
        self.principal = nil
        send(["type": "auth_expired", "payload": ["message": "the access token expired; send {\"type\":\"auth\",\"token\":…}"]])
    }

    // MARK: EventSubscriber

    func receive(_ event: PublishedEvent, channel: String) {
        switch heldEvents.receive(event, on: channel) {
        case .deliver: socket?.send(frame: event.webSocketFrame(channel: channel))
        case .held: break
        case .overflow:
            // The store answers slower than events arrive: close with 1011 (an unexpected
            // condition) rather than hold more; the client reconnects and resumes.
            socket?.close(code: WebSocketCloseCode.internalError, reason: "snapshot not ready; reconnect", waitForPeer: false)
        }
    }

    /// Holds the channel's live events back until as many `releaseEvents` (a snapshot of it is
    /// on its way).
    func holdEvents(of channel: String) {
        heldEvents.hold(channel)
    }

    /// Once the last snapshot on its way has been sent: the events held back, in order, then live
    /// delivery again.
    func releaseEvents(of channel: String) {
        for event in heldEvents.release(channel) { socket?.send(frame: event.webSocketFrame(channel: channel)) }
    }

    // MARK: Used by Realtime

    func send(_ message: JSON) {
        socket?.send(json: message)
    }

    func reply(error code: String, _ message: String, id: JSON? = nil, channel: String? = nil) {
        var payload: JSONObject = ["code": .string(code), "message": .string(message)]
        if let id { payload["id"] = id }
        if let channel { payload["channel"] = .string(channel) }
        send(["type": "error", "payload": .object(payload)])
    }

    @discardableResult
    func subscribe(_ channel: String) -> Bool {
        guard channels.insert(channel) else { return false }
        realtime.broker.subscribe(self, to: channel)
        return true
    }

    func unsubscribe(_ channel: String) {
        guard channels.remove(channel) else { return }
        heldEvents.drop(channel)  // a snapshot still on its way is dropped (Realtime.sendSnapshot)
        realtime.broker.unsubscribe(self, from: channel)
    }

    func authenticate(_ principal: Principal) {
        self.principal = principal
        authExpiredNotified = false
        realtime.sessionAuthenticated(self)
    }

    func dropPrivateChannels() {
        for channel in channels where !(Channel(name: channel)?.isPublic ?? false) {
            unsubscribe(channel)
        }
    }

    /// Closes with an application code (`HubCloseCode`).
    func close(code: UInt16, reason: String) {
        socket?.close(code: code, reason: reason)
    }

    /// The session behind this connection's token ended: nothing private is sent any more, the
    /// client is told why (`session_ended`, then close 4401, or 4403 when suspended).
    func endSession(_ reason: APIError) {
        dropPrivateChannels()
        principal = nil
        send(["type": "session_ended", "payload": ["code": .string(reason.code), "message": .string(reason.message)]])
        close(code: HubCloseCode.closing(for: reason), reason: reason.code)
    }
}

@available(*, unavailable) extension HubSession: Sendable {}
