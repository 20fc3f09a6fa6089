import HubLoop

/// Something that receives events: a WebSocket session, an SSE stream, a long-poll waiter.
protocol EventSubscriber: AnyObject {
    /// Highest `seq` delivered. Events arrive in `seq` order, so a subscriber on several
    /// channels an event belongs to gets it once: the broker skips `seq <= deliveredSeq`.
    var deliveredSeq: Int64 { get set }
    func receive(_ event: PublishedEvent, channel: String)
}

/// Channels, their subscribers, and the recent history that makes resume possible.
///
/// Loop thread only. Events enter through `publish` after their transaction committed, in
/// `seq` order (the writer assigns `seq` inside the transaction and the inbox preserves order).
final class Broker {
    /// Identifies this history. It changes when the event log is reset (a new database), so a
    /// client holding a `seq` from another history is told to resync instead of getting
    /// someone else's numbers.
    let epoch: String
    private(set) var lastSeq: Int64
    private var history: [PublishedEvent] = []
    private var historyStart = 0
    private let historyCountMax: Int
    private let historyAgeMs: Int64
    private var channels: [String: SubscriberSet] = [:]
    private var publishing = false
    private var deferredRemovals: [(ObjectIdentifier, String)] = []
    /// Deliveries made, for analytics and benchmarks.
    private(set) var deliveries = 0
    /// Events published, by type (`/metrics`).
    private(set) var publishedByType: [String: Int] = [:]

    init(epoch: String, lastSeq: Int64, history: [PublishedEvent], historyCountMax: Int, historyAgeSeconds: Int) {
        self.epoch = epoch
        self.lastSeq = lastSeq
        self.history = history
        self.historyCountMax = historyCountMax
        self.historyAgeMs = Int64(historyAgeSeconds) * 1000
    }

    // MARK: Subscriptions

    func subscribe(_ subscriber: any EventSubscriber, to channel: String) {
        if channels[channel] == nil { channels[channel] = SubscriberSet() }
        channels[channel]!.insert(subscriber)  // created on the line above
    }

    func unsubscribe(_ subscriber: any EventSubscriber, from channel: String) {
        if publishing {
            deferredRemovals.append((ObjectIdentifier(subscriber), channel))
            return
        }
        remove(ObjectIdentifier(subscriber), from: channel)
    }

    private func remove(_ id: ObjectIdentifier, from channel: String) {
        guard var set = channels[channel] else { return }
        channels[channel] = nil  // keep `set` unique while mutating it
        set.remove(id)
        if !set.isEmpty { channels[channel] = set }
    }

    func subscriberCount(_ channel: String) -> Int { channels[channel]?.count ?? 0 }

    /// Every channel with subscribers and their number (`/metrics` sums them by kind at scrape time:
    /// one pass over the channels, none over subscribers).
    func forEachChannel(_ body: (_ channel: String, _ subscribers: Int) -> Void) {
        for (channel, set) in channels { body(channel, set.count) }
    }

    /// Events kept for resume.
    var historyCount: Int { history.count - historyStart }

    // MARK: Publishing

    /// Delivers committed events to every subscriber of their channels and appends them to the
    /// history.
    func publish(_ events: [PublishedEvent], nowMs: Int64) {
        publishing = true
        for event in events {
            precondition(event.seq > lastSeq, "events published out of order: \(event.seq) after \(lastSeq)")
            lastSeq = event.seq
            history.append(event)
            publishedByType[event.type, default: 0] += 1
            for channel in event.channels {
                guard let set = channels[channel] else { continue }
                for subscriber in set.members where subscriber.deliveredSeq < event.seq {
                    subscriber.deliveredSeq = event.seq
                    subscriber.receive(event, channel: channel)
                    deliveries += 1
                }
            }
        }
        publishing = false
        for (id, channel) in deferredRemovals { remove(id, from: channel) }
        deferredRemovals.removeAll()
        trimHistory(nowMs: nowMs)
    }

    private func trimHistory(nowMs: Int64) {
        let liveCount = history.count - historyStart
        var drop = max(0, liveCount - historyCountMax)
        while historyStart + drop < history.count, history[historyStart + drop].timestampMs < nowMs - historyAgeMs {
            drop += 1
        }
        historyStart += drop
        // Compact once the dead prefix is as long as what is kept.
        if historyStart > 1024 && historyStart * 2 > history.count {
            history.removeFirst(historyStart)
            historyStart = 0
        }
    }

    // MARK: Resume

    enum Replay {
        /// The events after the given `seq` on the given channels, oldest first.
        case events([PublishedEvent])
        /// History no longer reaches back that far (or the seq is from another epoch).
        case resyncRequired
    }

    /// What a client that last saw `since` on `channels` has missed.
    func missed(since: Int64, channels wanted: Set<String>, limit: Int = .max) -> Replay {
        if since > lastSeq { return .resyncRequired }  // from another history
        if since == lastSeq { return .events([]) }
        let oldest = historyStart < history.count ? history[historyStart].seq : lastSeq + 1
        // seq numbers are contiguous, so every event after `since` is here iff `since + 1 >= oldest`.
        guard since + 1 >= oldest else { return .resyncRequired }
        var found: [PublishedEvent] = []
        var index = historyStart + Int(since + 1 - oldest)
        while index < history.count, found.count < limit {
            let event = history[index]
            if event.channels.contains(where: wanted.contains) { found.append(event) }
            index += 1
        }
        return .events(found)
    }

    /// The channel an event should be labelled with for a subscriber holding `subscribed`.
    static func matchingChannel(_ event: PublishedEvent, _ subscribed: Set<String>) -> String? {
        event.channels.first(where: subscribed.contains)
    }
}

@available(*, unavailable) extension Broker: Sendable {}

/// A channel's subscribers: an array for fast iteration plus positions for O(1) removal.
private struct SubscriberSet {
    private(set) var members: [any EventSubscriber] = []
    private var positions: [ObjectIdentifier: Int] = [:]

    var count: Int { members.count }
    var isEmpty: Bool { members.isEmpty }

    mutating func insert(_ subscriber: any EventSubscriber) {
        let id = ObjectIdentifier(subscriber)
        guard positions[id] == nil else { return }
        positions[id] = members.count
        members.append(subscriber)
    }

    mutating func remove(_ id: ObjectIdentifier) {
        guard let position = positions.removeValue(forKey: id) else { return }
        let last = members.removeLast()
        if position < members.count {
            members[position] = last
            positions[ObjectIdentifier(last)] = position
        }
    }
}
