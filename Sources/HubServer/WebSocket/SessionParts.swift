// What one real-time connection keeps between messages, apart from its socket: small value
// types with the rules of `HubSession`, which tests drive without a connection.

/// The channels one connection is subscribed to: a few at most (`websocket.subscriptionsMax`),
/// most often one (a kiosk's `availability`). The first is kept inline, so the most common idle
/// connection allocates nothing for its subscriptions (a `Set` cost ~100 bytes each).
struct SubscribedChannels: Sequence {
    private var first: String?
    private var others: [String] = []

    var count: Int { (first == nil ? 0 : 1) + others.count }

    func contains(_ channel: String) -> Bool { first == channel || others.contains(channel) }

    /// Adds `channel`; false when it was there already.
    mutating func insert(_ channel: String) -> Bool {
        guard !contains(channel) else { return false }
        if first == nil { first = channel } else { others.append(channel) }
        return true
    }

    /// Removes `channel`; false when it was not there.
    mutating func remove(_ channel: String) -> Bool {
        if first == channel {
            first = others.popLast()
            return true
        }
        guard let index = others.firstIndex(of: channel) else { return false }
        others.remove(at: index)
        return true
    }

    mutating func removeAll() {
        first = nil
        others = []
    }

    struct Iterator: IteratorProtocol {
        fileprivate var first: String?
        fileprivate var others: IndexingIterator<[String]>

        mutating func next() -> String? {
            if let value = first {
                first = nil
                return value
            }
            return others.next()
        }
    }

    func makeIterator() -> Iterator { Iterator(first: first, others: others.makeIterator()) }
}

/// Live events held back per channel while snapshots of it are on their way
/// (`Realtime.sendSnapshot`, a read on PostgreSQL's read threads): so no event overtakes the
/// snapshot it is newer than. Counted per snapshot (two in flight hold until both are sent),
/// dropped with the channel's subscription, and bounded.
struct SnapshotHolds {
    /// Events held at most for one connection. A store that answers slower than this many events
    /// arrive is not waited for: the connection closes (`Outcome.overflow`).
    static let eventsMax = 1024

    enum Outcome: Equatable {
        /// Not held: send it now.
        case deliver
        /// Kept, to be sent when the channel's last snapshot is.
        case held
        /// Past `eventsMax`: everything held is dropped; close the connection.
        case overflow
    }

    private struct Held {
        var snapshots = 0
        var events: [PublishedEvent] = []
    }

    private var channels: [String: Held] = [:]

    /// A snapshot of `channel` is on its way: hold its live events until it is sent.
    mutating func hold(_ channel: String) {
        channels[channel, default: Held()].snapshots += 1
    }

    /// What to do with a live event of `channel`.
    mutating func receive(_ event: PublishedEvent, on channel: String) -> Outcome {
        guard !channels.isEmpty, channels[channel] != nil else { return .deliver }
        guard channels[channel]!.events.count < Self.eventsMax else {
            channels.removeAll()
            return .overflow
        }
        channels[channel]!.events.append(event)
        return .held
    }

    /// A snapshot of `channel` was sent: once it was the last one on its way, the events held
    /// back, in order, to send now; none before.
    mutating func release(_ channel: String) -> [PublishedEvent] {
        guard var held = channels[channel] else { return [] }
        held.snapshots -= 1
        guard held.snapshots <= 0 else {
            channels[channel] = held
            return []
        }
        channels[channel] = nil
        return held.events
    }

    /// The channel was unsubscribed: its snapshots and held events are not wanted any more.
    mutating func drop(_ channel: String) {
        channels[channel] = nil
    }
}

/// The `?client=` kinds of open sessions and how many sessions each has. A session keeps its
/// kind's slot, not its text. A kind is gone when its last session closes: `?client=` is the
/// client's own word, and kinds nobody uses any more must not accumulate (their slots are reused).
struct ClientKinds {
    private var names: [String] = []
    private var sessions: [Int] = []
    private var slots: [String: UInt32] = [:]
    private var freeSlots: [UInt32] = []

    /// Counts a session of `kind` in and answers its slot.
    mutating func enter(_ kind: String) -> UInt32 {
        if let slot = slots[kind] {
            sessions[Int(slot)] += 1
            return slot
        }
        let slot: UInt32
        if let free = freeSlots.popLast() {
            slot = free
            names[Int(slot)] = kind
            sessions[Int(slot)] = 1
        } else {
            slot = UInt32(names.count)
            names.append(kind)
            sessions.append(1)
        }
        slots[kind] = slot
        return slot
    }

    /// Counts a session of the kind in `slot` out.
    mutating func leave(_ slot: UInt32) {
        let index = Int(slot)
        precondition(sessions[index] > 0, "a client kind left more often than it entered")
        sessions[index] -= 1
        guard sessions[index] == 0 else { return }
        slots[names[index]] = nil
        names[index] = ""
        freeSlots.append(slot)
    }

    /// Open sessions by kind, kinds with none left out.
    var counts: [String: Int] {
        var counts: [String: Int] = [:]
        for (name, slot) in slots { counts[name] = sessions[Int(slot)] }
        return counts
    }

    /// Kinds with a slot (tests: freed ones are reused, not kept).
    var slotCount: Int { names.count }
}
