@testable import HubHTTP
import Testing

/// `WebSocketKeepalive` stepped by hand, sweeps once a second as in the hub.
@Suite struct WebSocketKeepaliveTests {
    @Test func silentPeerIsPingedAfterAnIntervalAndClosedAnIntervalLater() {
        var keepalive = WebSocketKeepalive(intervalMs: 1000, nowMs: 0)
        #expect(keepalive.sweep(nowMs: 999) == .none)
        #expect(keepalive.sweep(nowMs: 1000) == .ping)
        #expect(keepalive.sweep(nowMs: 1999) == .none)
        #expect(keepalive.sweep(nowMs: 2000) == .close)
    }

    @Test func anyBytesAnswerThePing() {
        var keepalive = WebSocketKeepalive(intervalMs: 1000, nowMs: 0)
        #expect(keepalive.sweep(nowMs: 1000) == .ping)
        keepalive.received(nowMs: 1500)
        #expect(keepalive.pingSentMs == nil)
        #expect(keepalive.sweep(nowMs: 2000) == .none)
        #expect(keepalive.sweep(nowMs: 2500) == .ping)
    }

    /// The case that closed a live peer when silence alone decided: the pong lands one
    /// millisecond after the ping's sweep, the next sweep finds 999 ms of silence (no ping), and
    /// the one after finds 1,999 ms... then sweeps drift late by a millisecond each. The peer
    /// answers every ping, so it must never be closed.
    @Test func peerAnsweringEveryPingIsNeverClosedWhateverTheSweepPhase() {
        for pongDelayMs: UInt64 in [0, 1, 2, 5, 500, 999] {
            for driftMs: UInt64 in [0, 1, 3] {
                var keepalive = WebSocketKeepalive(intervalMs: 1000, nowMs: 0)
                var nowMs: UInt64 = 0
                for _ in 0..<100 {
                    nowMs += 1000 + driftMs
                    switch keepalive.sweep(nowMs: nowMs) {
                    case .close:
                        Issue.record("closed at \(nowMs) ms (pong delay \(pongDelayMs), drift \(driftMs))")
                        return
                    case .ping:
                        keepalive.received(nowMs: nowMs + pongDelayMs)
                    case .none:
                        break
                    }
                }
            }
        }
    }

    /// The last byte arrives at any phase of the once-a-second sweep.
    @Test func closedPeerWasSilentForTwoIntervalsAtLeast() {
        for lastByteMs: UInt64 in [0, 1, 400, 999] {
            var keepalive = WebSocketKeepalive(intervalMs: 1000, nowMs: lastByteMs)
            var nowMs: UInt64 = 1000
            while keepalive.sweep(nowMs: nowMs) != .close { nowMs += 1000 }
            #expect(nowMs - lastByteMs >= 2000)
            #expect(nowMs - lastByteMs < 4000)
        }
    }
}
