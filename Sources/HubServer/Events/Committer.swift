import HubLoop
import HubStore
import HubWire

/// A domain event waiting for its transaction: `type` and `payload` as subscribers will see
/// them, and the channels it goes to. The payload is serialized when the event is made: the same
/// bytes go to the event log, to the subscribers and, where a request's answer is the same view
/// (a new booking's 201), into that answer.
struct DomainEvent {
    let type: EventType
    let channels: [Channel]
    /// The payload's JSON text.
    let payload: [UInt8]

    init(type: EventType, channels: [Channel], payload: JSON) {
        self.init(type: type, channels: channels, encoded: payload.bytes)
    }

    init(type: EventType, channels: [Channel], encoded payload: [UInt8]) {
        self.type = type
        self.channels = channels
        self.payload = payload
    }
}

/// Commits a change together with its events, then publishes the events.
///
/// The events are appended to `event_log` inside the same transaction as the change, where the
/// writer assigns their `seq`. Only after COMMIT are they handed to the broker, and only then
/// does the caller's completion run (which answers the client): nothing is broadcast or
/// acknowledged that could still be lost.
final class Committer {
    private let storage: Storage
    private let broker: Broker
    /// Stamps the events (`timestampMs`; the history's age is measured on it too).
    let clock: any Clock
    /// Told after each commit that appended events (the follower rings the other hubs).
    var committedEvents: (() -> Void)?
    /// The highest `seq` this hub has committed: a write's answer carries it (`X-Event-Seq`), and
    /// a read that sends it back is answered once the hub has published that far (ReadYourWrites).
    private(set) var highestSeq: Int64 = 0

    init(storage: Storage, broker: Broker, clock: any Clock) {
        self.storage = storage
        self.broker = broker
        self.clock = clock
    }

    func commit<R: Sendable>(events: [DomainEvent] = [], _ work: @escaping @Sendable (Database) throws -> R,
                             completion: @escaping (Result<R, any Error>) -> Void) {
        let encoded = events.map { EncodedEvent(type: $0.type.rawValue, channels: $0.channels.map(\.name), payload: $0.payload) }
        let clock = clock
        storage.write({ db in
            let result = try work(db)
            let nowMs = clock.milliseconds
            // Pipelined on PostgreSQL: the numbers are read when the writer syncs, before COMMIT.
            var seqs: [PendingInteger] = []
            seqs.reserveCapacity(encoded.count)
            for event in encoded {
                seqs.append(try EventLogTable.send(type: event.type, channels: event.channels.joined(separator: " "),
                                                   payloadUTF8: event.payload, at: nowMs, db))
            }
            return Committed(result: result, seqs: seqs, timestampMs: nowMs)
        }) { [self, broker, committedEvents] outcome in
            switch outcome {
            case .success(let committed):
                if let last = committed.seqs.last?.value { highestSeq = max(highestSeq, last) }
                if !committed.seqs.isEmpty {
                    committedEvents?()
                    let published = zip(encoded, committed.seqs).map { event, seq in
                        assert(seq.value != nil, "the writer syncs a group's statements before it commits")
                        return PublishedEvent(seq: seq.value ?? 0, type: event.type, channels: event.channels, payload: event.payload,
                                       timestampMs: committed.timestampMs)
                    }
                    broker.publish(published, nowMs: committed.timestampMs)
                }
                completion(.success(committed.result))
            case .failure(let error):
                completion(.failure(error))
            }
        }
    }

    private struct EncodedEvent: Sendable {
        let type: String
        let channels: [String]
        let payload: [UInt8]
    }

    private struct Committed<R: Sendable>: Sendable {
        let result: R
        /// Answered by the time the group committed (the writer syncs before COMMIT).
        let seqs: [PendingInteger]
        let timestampMs: Int64
    }
}

@available(*, unavailable) extension Committer: Sendable {}
