/// When to ping a quiet WebSocket peer and when to give up on it: pure, stepped by the caller's
/// clock (`WebSocketConnection` feeds it loop time on every read and every sweep).
///
/// A peer silent for `intervalMs` is pinged; one still silent `intervalMs` after that ping is
/// closed. Any byte from the peer counts as an answer (RFC 6455 §5.5.3: an unsolicited pong, or
/// any traffic, proves liveness). So a closed peer was silent for two intervals at least and had a
/// full interval to answer its ping. Deciding on silence alone ("silent two intervals → close")
/// is not the same when sweeps are as coarse as the interval: a pong arriving just after a sweep
/// can reach two intervals of silence at a sweep that never pinged again, closing a peer that
/// answered every ping.
///
///     var keepalive = WebSocketKeepalive(intervalMs: 30_000, nowMs: 0)
///     keepalive.sweep(nowMs: 30_000)   // .ping
///     keepalive.received(nowMs: 30_020)
///     keepalive.sweep(nowMs: 60_000)   // .none: heard from it 29,980 ms ago
public struct WebSocketKeepalive: Sendable {
    public enum Action: Equatable { case none, ping, close }

    public let intervalMs: UInt64
    public private(set) var lastReceivedMs: UInt64
    /// When the unanswered ping went out; nil when none is outstanding.
    public private(set) var pingSentMs: UInt64?

    public init(intervalMs: UInt64, nowMs: UInt64) {
        precondition(intervalMs > 0, "a keepalive interval is positive")
        self.intervalMs = intervalMs
        self.lastReceivedMs = nowMs
    }

    /// Bytes arrived from the peer.
    public mutating func received(nowMs: UInt64) {
        lastReceivedMs = nowMs
        pingSentMs = nil
    }

    /// What to do at a sweep; `.ping` means the caller sends one now.
    public mutating func sweep(nowMs: UInt64) -> Action {
        if let sent = pingSentMs {
            return nowMs &- sent >= intervalMs ? .close : .none
        }
        guard nowMs &- lastReceivedMs >= intervalMs else { return .none }
        pingSentMs = nowMs
        return .ping
    }
}
