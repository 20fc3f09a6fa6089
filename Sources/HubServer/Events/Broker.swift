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
/// Loop thread only. Events enter through `publish` after their transaction committed: this
/// hub's own from the committer, and on PostgreSQL every hub's from the follower of the event
/// log (`EventFollower`). They go out strictly in `seq` order, each once: an event already
/// published is dropped, and one whose predecessors have not arrived waits for them (on a shared
/// database another hub committed those; the follower brings them, and `onGap` asks it to read
/// at once).
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
    /// Events that arrived before one they follow, by `seq`.
    private var waiting: [Int64: PublishedEvent] = [:]
    /// Told when events wait for a `seq` not seen yet.
    var onGap: (() -> Void)?
    /// Resumes waiting for this hub to publish up to a client's position (`afterReaching`).
    private var catchUps: [CatchUp] = []
    /// Whether other hubs write this history too (PostgreSQL): a client may then be ahead of this
    /// hub, and waits for it; with one hub a position beyond `lastSeq` is from another history.
    var isShared = false

    /// Whether a client at `seq` is ahead of this hub and should wait for it (`afterReaching`)
    /// rather than be told to resync: only when other hubs write this history.
    func isBehind(_ seq: Int64) -> Bool { isShared && seq > lastSeq }

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
    /// history, in `seq` order: see the type's note for events that arrive early or twice.
    func publish(_ events: [PublishedEvent], nowMs: Int64) {
        var ready = events.startIndex
        // The common case, one hub: the events continue the history, in order.
        while ready < events.endIndex, events[ready].seq == lastSeq + Int64(ready - events.startIndex) + 1 { ready += 1 }
        for event in events[ready...] where event.seq > lastSeq { waiting[event.seq] = event }
        publishing = true
        for event in events[..<ready] { deliver(event) }
        while !waiting.isEmpty, let event = waiting.removeValue(forKey: lastSeq + 1) { deliver(event) }
        publishing = false
        for (id, channel) in deferredRemovals { remove(id, from: channel) }
        deferredRemovals.removeAll()
        trimHistory(nowMs: nowMs)
        if !waiting.isEmpty { onGap?() }
        if !catchUps.isEmpty { runCatchUps() }
    }

    private func deliver(_ event: PublishedEvent) {
        lastSeq = event.seq
        // The same event waiting (this hub's own, ahead of a gap the follower just filled).
        if !waiting.isEmpty { waiting.removeValue(forKey: event.seq) }
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

    /// The log no longer holds the events up to `seq` (pruned while this hub could not read
    /// it): the history starts over after it, and a client resuming from before it resyncs.
    func skip(to seq: Int64) {
        guard seq > lastSeq else { return }
        lastSeq = seq
        history.removeAll()
        historyStart = 0
        waiting = waiting.filter { $0.key > seq }
        runCatchUps()
    }

    /// Events waiting for their predecessors (`/metrics`).
    var waitingCount: Int { waiting.count }

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

    /// How long a client ahead of this hub waits for it (`afterReaching`) before it is told to
    /// resync: the follower brings events within milliseconds while the store answers.
    static let catchUpWaitMs: UInt64 = 2000
    /// Clients waiting for this hub at once, at most. One more is answered at once as if its
    /// wait had timed out (`503 not_caught_up`, or a resync): a flood of positions from the
    /// future holds no more than this many timers.
    static let catchUpsMax = 4096

    /// Runs `body` once this hub has published up to `seq`, or after `timeoutMs` if it has not
    /// by then. A client resuming from another hub may be ahead of this one by the events the
    /// follower has not brought yet: it waits for them instead of being told to resync.
    func afterReaching(_ seq: Int64, timeoutMs: UInt64, loop: Loop, _ body: @escaping () -> Void) {
        guard seq > lastSeq, catchUps.count < Self.catchUpsMax else { return body() }
        let waiter = CatchUp(seq: seq, timer: Timer(loop: loop), body: body)
        catchUps.append(waiter)
        onGap?()
        waiter.timer.start(afterMs: timeoutMs) { [unowned self, unowned waiter] in
            guard let index = catchUps.firstIndex(where: { $0 === waiter }) else { return }
            finish(catchUps.remove(at: index))
        }
    }

    /// Clients waiting for this hub (`/metrics`).
    var catchUpCount: Int { catchUps.count }

    /// Runs the waits this hub has now reached, in one pass over the list.
    private func runCatchUps() {
        guard catchUps.contains(where: { $0.seq <= lastSeq }) else { return }
        var reached: [CatchUp] = []
        catchUps.removeAll { waiter in
            guard waiter.seq <= lastSeq else { return false }
            reached.append(waiter)
            return true
        }
        for waiter in reached { finish(waiter) }
    }

    private func finish(_ waiter: CatchUp) {
        waiter.timer.close()
        waiter.body()
    }

    private final class CatchUp {
        let seq: Int64
        let timer: Timer
        let body: () -> Void

        init(seq: Int64, timer: Timer, body: @escaping () -> Void) {
            self.seq = seq
            self.timer = timer
            self.body = body
        }
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
