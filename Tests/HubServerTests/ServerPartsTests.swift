import HubCore
import HubWire
import Testing

@testable import HubServer

@Suite struct RateLimiterTests {
    @Test func bucketEmptiesThenRefills() {
        let limiter = RateLimiter()
        let rule = RateLimiter.Rule(capacity: 3, periodSeconds: 60)
        for _ in 0..<3 { #expect(limiter.take("k", rule: rule, nowMs: 0) == nil) }
        let retry = limiter.take("k", rule: rule, nowMs: 0)
        #expect(retry == 20, "one token every 20 s")
        #expect(limiter.take("other", rule: rule, nowMs: 0) == nil, "keys are independent")
        #expect(limiter.take("k", rule: rule, nowMs: 20_000) == nil, "a token refilled after 20 s")
        #expect(limiter.take("k", rule: rule, nowMs: 20_000) != nil)
    }

    /// A flood of new keys never grows the buckets past `keysMax`, and costs no sort or scan: the
    /// older generation is dropped whole. A key in use keeps its bucket across generations.
    @Test func memoryIsBoundedAndABusyKeyKeepsItsBucket() {
        let limiter = RateLimiter()
        let rule = RateLimiter.Rule(capacity: 2, periodSeconds: 3600)
        #expect(limiter.take("busy", rule: rule, nowMs: 0) == nil)
        #expect(limiter.take("busy", rule: rule, nowMs: 0) == nil)
        for round in 0..<3 {
            for index in 0..<(RateLimiter.keysMax / 2) { _ = limiter.take("flood-\(round)-\(index)", rule: rule, nowMs: 0) }
            #expect(limiter.count <= RateLimiter.keysMax)
            // Touched once a generation, the busy key is still empty: it was not forgiven.
            #expect(limiter.take("busy", rule: rule, nowMs: 0) != nil)
        }
    }
}

@Suite struct KeyedSerialQueueTests {
    @Test func operationsOnOneKeyRunInOrderOneAtATime() {
        let queue = KeyedSerialQueue()
        var log: [String] = []
        var finishFirst: (() -> Void)?
        queue.run("a") { done in log.append("a1 start"); finishFirst = { log.append("a1 end"); done() } }
        queue.run("a") { done in log.append("a2"); done() }
        queue.run("b") { done in log.append("b1"); done() }
        #expect(log == ["a1 start", "b1"], "a2 waits for a1; b does not")
        finishFirst?()
        #expect(log == ["a1 start", "b1", "a1 end", "a2"])
        #expect(queue.busyCount == 0)
    }
}

@Suite struct BrokerTests {
    final class Collector: EventSubscriber {
        var deliveredSeq: Int64 = 0
        var received: [(Int64, String)] = []
        func receive(_ event: PublishedEvent, channel: String) { received.append((event.seq, channel)) }
    }

    func event(_ seq: Int64, _ channels: [String], ms: Int64 = 1000) -> PublishedEvent {
        PublishedEvent(seq: seq, type: "t", channels: channels, payload: Array("{}".utf8), timestampMs: ms)
    }

    @Test func aSubscriberOnTwoChannelsGetsAnEventOnce() {
        let broker = Broker(epoch: "e", lastSeq: 0, history: [], historyCountMax: 100, historyAgeSeconds: 3600)
        let subscriber = Collector()
        broker.subscribe(subscriber, to: "availability")
        broker.subscribe(subscriber, to: "availability:x")
        broker.publish([event(1, ["availability", "availability:x"]), event(2, ["availability:y"])], nowMs: 1000)
        #expect(subscriber.received.map(\.0) == [1])
    }

    @Test func missedEventsAreReplayedOrResyncIsRequired() {
        let broker = Broker(epoch: "e", lastSeq: 0, history: [], historyCountMax: 100, historyAgeSeconds: 3600)
        broker.publish((1...150).map { event($0, $0 % 2 == 0 ? ["a"] : ["b"]) }, nowMs: 1000)
        guard case .events(let missed) = broker.missed(since: 140, channels: ["a"]) else {
            Issue.record("expected events")
            return
        }
        #expect(missed.map(\.seq) == [142, 144, 146, 148, 150])
        guard case .resyncRequired = broker.missed(since: 10, channels: ["a"]) else {
            Issue.record("history keeps only 100 events: seq 11 is gone")
            return
        }
        guard case .resyncRequired = broker.missed(since: 999, channels: ["a"]) else {
            Issue.record("a seq from the future is from another history")
            return
        }
        guard case .events(let none) = broker.missed(since: 150, channels: ["a"]), none.isEmpty else {
            Issue.record("nothing missed at the head")
            return
        }
    }

    @Test func envelopeCarriesTheSeedsTypeAndPayload() throws {
        let published = event(7, ["availability"])
        let envelope = try JSONParser.parse(published.envelope(channel: "availability"))
        #expect(envelope["type"] == "t")
        #expect(envelope["payload"] == .object([:]))
        #expect(envelope["seq"]?.intValue == 7)
        #expect(envelope["channel"] == "availability")
    }
}

@Suite struct SubscribedChannelsTests {
    @Test func keepsEachChannelOnceInOrderAndRemovesAny() {
        var channels = SubscribedChannels()
        #expect(channels.count == 0 && Array(channels).isEmpty)
        let inserted = [channels.insert("availability"), channels.insert("availability"), channels.insert("bookings:u1"),
                        channels.insert("payments:u1")]
        #expect(inserted == [true, false, true, true], "the second availability was there already")
        #expect(Array(channels) == ["availability", "bookings:u1", "payments:u1"])
        #expect(channels.contains("bookings:u1") && !channels.contains("admin"))
        // Removing the first moves another into its place; every channel stays reachable.
        let removed = [channels.remove("availability"), channels.remove("availability")]
        #expect(removed == [true, false])
        #expect(channels.count == 2 && Set(channels) == ["bookings:u1", "payments:u1"])
        let second = channels.remove("bookings:u1")
        #expect(second)
        #expect(Array(channels) == ["payments:u1"])
        channels.removeAll()
        #expect(channels.count == 0 && !channels.contains("payments:u1"))
        let added = channels.insert("admin")
        #expect(added && Array(channels) == ["admin"])
    }
}

@Suite struct ClientKindsTests {
    @Test func countsSessionsByKindAndForgetsAKindWithNoneLeft() {
        var kinds = ClientKinds()
        let kiosk = kinds.enter("kiosk")
        let dashboard = kinds.enter("dashboard")
        #expect(kinds.enter("kiosk") == kiosk, "one slot per kind")
        #expect(kinds.counts == ["kiosk": 2, "dashboard": 1])
        kinds.leave(dashboard)
        #expect(kinds.counts == ["kiosk": 2], "a kind with no session left is gone")
        // Its slot serves the next new kind: slots do not accumulate with kinds nobody uses.
        let app = kinds.enter("app")
        #expect(app == dashboard && kinds.slotCount == 2)
        kinds.leave(kiosk)
        kinds.leave(kiosk)
        kinds.leave(app)
        #expect(kinds.counts.isEmpty)
        #expect(kinds.enter("dashboard") != kinds.enter("kiosk") && kinds.slotCount == 2)
    }
}

@Suite struct SnapshotHoldsTests {
    private func event(_ seq: Int64) -> PublishedEvent {
        PublishedEvent(seq: seq, type: "booking_updated", channels: ["payments:u1"], payload: Array("{}".utf8), timestampMs: 0)
    }

    @Test func eventsWaitForTheLastSnapshotOnItsWayThenComeInOrder() {
        var holds = SnapshotHolds()
        #expect(holds.receive(event(1), on: "payments:u1") == .deliver, "nothing held yet")
        holds.hold("payments:u1")
        holds.hold("payments:u1")  // a second snapshot of the channel, asked while the first is read
        #expect(holds.receive(event(2), on: "payments:u1") == .held)
        #expect(holds.receive(event(3), on: "availability") == .deliver, "other channels are not held")
        #expect(holds.receive(event(4), on: "payments:u1") == .held)
        #expect(holds.release("payments:u1").isEmpty, "one snapshot is still on its way")
        #expect(holds.receive(event(5), on: "payments:u1") == .held)
        #expect(holds.release("payments:u1").map(\.seq) == [2, 4, 5])
        #expect(holds.receive(event(6), on: "payments:u1") == .deliver, "live again")
        #expect(holds.release("payments:u1").isEmpty, "a release with nothing held sends nothing")
    }

    @Test func anUnsubscribedChannelDropsWhatItHeld() {
        var holds = SnapshotHolds()
        holds.hold("payments:u1")
        #expect(holds.receive(event(1), on: "payments:u1") == .held)
        holds.drop("payments:u1")
        #expect(holds.release("payments:u1").isEmpty, "the snapshot that arrives later brings nothing held")
        #expect(holds.receive(event(2), on: "payments:u1") == .deliver)
    }

    @Test func pastTheCapEverythingHeldIsDroppedAndTheConnectionMustClose() {
        var holds = SnapshotHolds()
        holds.hold("payments:u1")
        holds.hold("admin")
        for seq in 1...Int64(SnapshotHolds.eventsMax) {
            #expect(holds.receive(event(seq), on: "payments:u1") == .held)
        }
        #expect(holds.receive(event(9_999), on: "payments:u1") == .overflow)
        #expect(holds.release("payments:u1").isEmpty && holds.release("admin").isEmpty, "nothing is kept for a closing connection")
        #expect(holds.receive(event(10_000), on: "admin") == .deliver)
    }
}
