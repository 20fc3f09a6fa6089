import HubCore
import HubLoop
import Testing

@testable import HubServer

/// The pieces that let several hubs share one event log, without a hub: the broker's ordering of
/// events that arrive early, late or twice, and the memory of released bookings.
@Suite struct SharedLogPartsTests {
    final class Collector: EventSubscriber {
        var deliveredSeq: Int64 = 0
        var received: [Int64] = []
        func receive(_ event: PublishedEvent, channel: String) { received.append(event.seq) }
    }

    func event(_ seq: Int64) -> PublishedEvent {
        PublishedEvent(seq: seq, type: "t", channels: ["a"], payload: Array("{}".utf8), timestampMs: 1000)
    }

    func broker(lastSeq: Int64 = 0) -> (Broker, Collector) {
        let broker = Broker(epoch: "e", lastSeq: lastSeq, history: [], historyCountMax: 100, historyAgeSeconds: 3600)
        let collector = Collector()
        collector.deliveredSeq = lastSeq
        broker.subscribe(collector, to: "a")
        return (broker, collector)
    }

    /// This hub's own event committed after another hub's that the follower has not brought yet:
    /// it waits, the gap is reported, and both go out in order once the other arrives.
    @Test func anEventAheadOfItsPredecessorWaitsForIt() {
        let (broker, subscriber) = broker()
        var gaps = 0
        broker.onGap = { gaps += 1 }
        broker.publish([event(1)], nowMs: 1000)
        broker.publish([event(3)], nowMs: 1000)
        #expect(subscriber.received == [1])
        #expect(broker.lastSeq == 1 && broker.waitingCount == 1 && gaps == 1)
        broker.publish([event(2), event(3)], nowMs: 1000)  // the follower brings 2, and 3 again
        #expect(subscriber.received == [1, 2, 3])
        #expect(broker.lastSeq == 3 && broker.waitingCount == 0 && gaps == 1)
    }

    /// The follower reads back this hub's own events: already published, they are dropped.
    @Test func anEventPublishedAlreadyIsNotPublishedAgain() {
        let (broker, subscriber) = broker()
        broker.publish([event(1), event(2)], nowMs: 1000)
        broker.publish([event(1), event(2), event(3)], nowMs: 1000)
        #expect(subscriber.received == [1, 2, 3])
        guard case .events(let missed) = broker.missed(since: 0, channels: ["a"]) else {
            Issue.record("history reaches back to 0")
            return
        }
        #expect(missed.map(\.seq) == [1, 2, 3], "each event once in the history too")
    }

    /// The log was pruned past this hub's position: the history starts over after it, a resume
    /// from before it resyncs, and what follows is published.
    @Test func aSkippedStretchRestartsTheHistory() {
        let (broker, subscriber) = broker(lastSeq: 10)
        broker.publish([event(11)], nowMs: 1000)
        broker.skip(to: 40)
        broker.publish([event(41)], nowMs: 1000)
        #expect(subscriber.received == [11, 41])
        guard case .resyncRequired = broker.missed(since: 11, channels: ["a"]) else {
            Issue.record("events 12…40 are gone: a client at 11 must resync")
            return
        }
        guard case .events(let missed) = broker.missed(since: 40, channels: ["a"]) else {
            Issue.record("a client at 40 is served")
            return
        }
        #expect(missed.map(\.seq) == [41])
    }

    /// A client ahead of this hub waits for it: at once when the hub is there, when the events
    /// arrive, or at the timeout when they do not.
    @Test func aClientAheadWaitsUntilTheHubCatchesUpOrTheTimeout() {
        let loop = Loop()
        let (broker, _) = broker(lastSeq: 5)
        var ran: [String] = []
        broker.afterReaching(5, timeoutMs: 60_000, loop: loop) { ran.append("at once") }
        broker.afterReaching(7, timeoutMs: 60_000, loop: loop) { ran.append("caught up") }
        broker.afterReaching(9, timeoutMs: 20, loop: loop) { ran.append("timed out") }
        #expect(ran == ["at once"])
        broker.publish([event(6), event(7)], nowMs: 1000)
        #expect(ran == ["at once", "caught up"])
        loop.run()
        #expect(ran == ["at once", "caught up", "timed out"])
        #expect(broker.lastSeq == 7)
        _ = loop.close()
    }

    /// At most `catchUpsMax` clients wait at once; one more is answered at once as if its wait
    /// had ended, and the waits reached go out in one pass.
    @Test func waitsForTheHubAreBounded() {
        let loop = Loop()
        let (broker, _) = broker(lastSeq: 0)
        var reached = 0
        var early = 0
        for seq in 1...Int64(Broker.catchUpsMax) {
            broker.afterReaching(seq % 2 == 0 ? 2 : 1_000, timeoutMs: 60_000, loop: loop) { reached += 1 }
        }
        #expect(broker.catchUpCount == Broker.catchUpsMax)
        broker.afterReaching(3, timeoutMs: 60_000, loop: loop) { early += 1 }
        #expect(early == 1)
        #expect(reached == 0)
        broker.publish([event(1), event(2)], nowMs: 1000)
        #expect(reached == Broker.catchUpsMax / 2)
        #expect(broker.catchUpCount == Broker.catchUpsMax / 2)
        broker.afterReaching(3, timeoutMs: 10, loop: loop) { early += 1 }
        #expect(early == 1)
        broker.skip(to: 1_000)
        #expect(reached == Broker.catchUpsMax)
        #expect(early == 2)
        #expect(broker.catchUpCount == 0)
        loop.run()
        _ = loop.close()
    }

    @Test func aReleaseIsRememberedAtItsVersionAndTheOldestForgotten() {
        func entry(_ version: Int) -> RecentReleases.Entry {
            RecentReleases.Entry(version: version, status: .cancelled, paymentState: .paid)
        }
        var releases = RecentReleases()
        releases.record("a", entry(3))
        releases.record("a", entry(4))
        #expect(releases.entry(of: "a") == entry(4))
        for index in 0..<RecentReleases.capacity { releases.record("b\(index)", entry(1)) }
        #expect(releases.entry(of: "a") == nil, "the oldest goes first")
        #expect(releases.entry(of: "b0")?.version == 1)
        #expect(releases.entry(of: "b\(RecentReleases.capacity - 1)")?.version == 1)
    }

    /// A hub leading from its start sends mail at once; one that took over waits out the grace
    /// (the last leader's sends under way are finished and recorded by then); one that lost the
    /// lead does nothing.
    @Test func aHubThatTookTheLeadOverWaitsOutTheGrace() {
        let founding = Leadership(isLeader: true)
        #expect(founding.leads(settledForMs: 40_000, nowMs: 0))
        let follower = Leadership(isLeader: false)
        var gained = 0
        follower.whenGained { gained += 1 }
        #expect(!follower.leads(settledForMs: 40_000, nowMs: 1_000))
        follower.set(true, nowMs: 1_000)
        #expect(gained == 1 && follower.isLeader)
        #expect(!follower.leads(settledForMs: 40_000, nowMs: 40_999))
        #expect(follower.leads(settledForMs: 40_000, nowMs: 41_000))
        follower.set(false, nowMs: 50_000)
        #expect(!follower.leads(settledForMs: 40_000, nowMs: 90_000))
        follower.set(true, nowMs: 90_000)
        #expect(gained == 2 && !follower.leads(settledForMs: 40_000, nowMs: 100_000))
    }
}
