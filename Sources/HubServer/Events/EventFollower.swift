import Dispatch
import Foundation
import HubCore
import HubLoop
import HubStore
import HubWire
import Logging
import Synchronization

/// Follows the shared event log on PostgreSQL, where several hubs write one history: on a thread
/// and a session of its own, it reads the other hubs' events after the last one it read, with
/// the rows they changed, and hands them to the loop in `seq` order (`FollowedChanges`), which
/// applies them to this hub's state and publishes them. This hub's own events it skips (`origin`):
/// they were published as they were committed.
///
/// Woken by a doorbell: after a commit each hub rings (`NOTIFY spacehub_events`, sent here, after
/// the commit and outside it, at most once per `doorbellGapMs`), and every follower that listens
/// reads at once. A notification is never the truth (it is lost when a session drops): the table
/// is, and a poll every `pollMs` reads it whatever rang. `seq` is gapless and visible in commit
/// order (`EventLogTable`), so reading `seq > after` never skips an event that commits later.
///
/// The same session holds this hub's bid for leadership (`Leadership`): a session-level advisory
/// lock, tried while not held, which the server releases when the session ends (a hub killed,
/// cut off or stopped), so another hub takes the background work over.
final class EventFollower: Sendable {
    /// What one read found: events in `seq` order and the current rows of what they changed.
    struct Batch: Sendable {
        let events: [EventLogTable.Entry]
        /// Bookings named by the events (`booking_updated`'s `id`), as they are now.
        let bookings: [Booking]
        /// Every space, when an event changed one (the catalogue is small).
        let spaces: [Space]?
        /// The log was pruned past this hub's position while it could not read: the events up to
        /// this `seq` are gone (the broker starts its history over after it).
        let skippedTo: Int64?
    }

    /// What the follower tells the loop: a batch, that leadership was won or lost, or that the
    /// database is no longer the one this hub started on (a restore or a promoted standby seen
    /// after a reconnection: `EventLogTable.historyIdentity`). After that it reads nothing more.
    enum Report: Sendable {
        case batch(Batch)
        case leadership(Bool)
        case historyReplaced(was: String, now: String)
    }

    static let channel = "spacehub_events"
    static let batchMax = 1000

    private struct State {
        var stopping = false
        var ringing = false
        var reading = false
        /// Read every event after this `seq`, this hub's own too (`readAll`).
        var readAllFrom: Int64?
        /// How far the log has been read (`position`).
        var position: Int64 = 0
    }

    private let state = Mutex(State())
    private let location: StoreLocation
    private let pollMs: Int
    private let doorbell: Bool
    private let doorbellGapMs: Int
    /// A pipe: `signal` writes a byte, the thread's waits watch the other end.
    private let wake: Int32
    private let wakeWriter: Int32
    private let finished = DispatchSemaphore(value: 0)
    private let inbox: LoopInbox
    private let logger: Logger
    private let start: Int64
    private let opened: SessionHandoff
    /// Whether this hub won leadership when the follower was made (before anything runs).
    let leadsAtStart: Bool
    /// The history's identity when the follower was made; checked again on every new session.
    private let identity: String?

    /// Opens the follower's session, listens, and bids for leadership once, on the calling
    /// thread: a hub alone on its database leads from its first moment. Follows from `after`
    /// (the last `seq` this hub has) once `run` starts it.
    init(location: StoreLocation, after: Int64, pollMs: Int, doorbell: Bool, doorbellGapMs: Int = 2, inbox: LoopInbox,
         logger: Logger) throws(StoreError) {
        self.location = location
        self.start = after
        self.pollMs = pollMs
        self.doorbell = doorbell
        self.doorbellGapMs = doorbellGapMs
        self.inbox = inbox
        self.logger = logger
        var session = Session(database: try Database(location, busyTimeoutMs: 5000))
        try Self.listen(&session, doorbell: doorbell)
        leadsAtStart = try Self.bid(session.database)
        identity = try EventLogTable.historyIdentity(session.database)
        session.leading = leadsAtStart
        opened = SessionHandoff(session)
        var ends: [Int32] = [-1, -1]
        precondition(pipe(&ends) == 0, "pipe: \(errno)")
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        wake = ends[0]
        wakeWriter = ends[1]
    }

    deinit {
        close(wake)
        close(wakeWriter)
    }

    /// Starts following; `apply` runs on the loop thread with each report.
    func run(applying apply: @escaping (Report) -> Void) {
        let bound = LoopBound(apply)
        let inbox = inbox
        let thread = Thread { [self] in
            follow(opened.take()) { report in _ = inbox.post { bound.value(report) } }
        }
        thread.name = "spacehub-follow"
        thread.start()
    }

    /// The `seq` up to which the log has been read (any thread): every event up to it was either
    /// brought to the loop or is this hub's own.
    var position: Int64 { state.withLock { $0.position } }

    /// This hub committed events: ring the other hubs' doorbells (any thread).
    func ring() {
        guard doorbell else { return }
        state.withLock { $0.ringing = true }
        signal()
    }

    /// Read now: events wait for a `seq` this hub has not seen (any thread).
    func readNow() {
        state.withLock { $0.reading = true }
        signal()
    }

    /// Read every event after `seq`, this hub's own included (any thread). The follower skips this
    /// hub's events, which it published as it committed them, but one whose commit's outcome the
    /// hub never learned (the connection broke after COMMIT) was not published: the broker waits
    /// at its `seq` until this brings it.
    func readAll(after seq: Int64) {
        state.withLock { $0.readAllFrom = min($0.readAllFrom ?? seq, seq) }
        signal()
    }

    /// Ends the thread; returns when it has ended. A leader's lock goes with its session.
    func stop() {
        state.withLock { $0.stopping = true }
        signal()
        finished.wait()
    }

    private func signal() {
        var one: UInt8 = 1
        _ = write(wakeWriter, &one, 1)  // a full pipe is awake already
    }

    private func drainWake() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while Glibc.read(wake, &bytes, bytes.count) > 0 {}
    }

    // MARK: The thread

    private struct Session {
        let database: Database
        /// The server process the session's `LISTEN` and lock belong to.
        var listeningOn: Int32?
        var leading = false
    }

    /// The session `init` opened, taken by the thread when it starts (after `init` returned).
    private final class SessionHandoff: @unchecked Sendable {
        private var session: Session?
        init(_ session: Session) { self.session = session }
        func take() -> Session? {
            defer { session = nil }
            return session
        }
    }

    private static func listen(_ session: inout Session, doorbell: Bool) throws(StoreError) {
        if doorbell { try session.database.execute("LISTEN \(channel)") }
        session.listeningOn = session.database.sessionID
    }

    private static func bid(_ db: Database) throws(StoreError) -> Bool {
        try db.scalar("SELECT CASE WHEN pg_try_advisory_lock(?) THEN 1 ELSE 0 END", [.integer(AdvisoryLock.leader)]) == 1
    }

    private func follow(_ opened: Session?, report: (Report) -> Void) {
        var after = start
        var session = opened
        var lastRingNs: UInt64 = 0
        var failures = 0
        var bidNs = DispatchTime.now().uptimeNanoseconds
        // Whether to read the log this turn: not when only this hub's own ring woke the thread
        // (it rings the others; nothing new is there for it). The poll reads whatever rang.
        var shouldRead = true
        var pollAtNs = DispatchTime.now().uptimeNanoseconds
        var replaced = false
        while !state.withLock({ $0.stopping }) {
            if replaced {  // nothing more to read: wait for the stop
                var descriptor = pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
                _ = poll(&descriptor, 1, 1000)
                drainWake()
                continue
            }
            do {
                var reconnected = false
                if session == nil {
                    var fresh = Session(database: try Database(location, busyTimeoutMs: 5000))
                    try Self.listen(&fresh, doorbell: doorbell)
                    session = fresh
                    bidNs = 0
                    reconnected = true
                }
                let db = session!.database  // opened above
                if db.sessionID != session!.listeningOn {
                    // The session broke and was opened again: its LISTEN and its lock are gone.
                    if session!.leading { report(.leadership(false)) }
                    session!.leading = false
                    try Self.listen(&session!, doorbell: doorbell)
                    bidNs = 0
                    reconnected = true
                }
                // Checked before bidding: a hub on a replaced database must not lead on it.
                if reconnected, let identity, let now = try EventLogTable.historyIdentity(db), now != identity {
                    replaced = true
                    session = nil
                    report(.historyReplaced(was: identity, now: now))
                    continue
                }
                let now = DispatchTime.now().uptimeNanoseconds
                if !session!.leading, bidNs == 0 || now - bidNs >= 1_000_000_000 {
                    bidNs = now
                    if try Self.bid(db) {
                        session!.leading = true
                        report(.leadership(true))
                    }
                }
                let (ring, requested, readAllFrom) = state.withLock { state in
                    defer { state.ringing = false; state.reading = false; state.readAllFrom = nil }
                    return (state.ringing, state.reading, state.readAllFrom)
                }
                if requested || DispatchTime.now().uptimeNanoseconds >= pollAtNs { shouldRead = true }
                if ring {
                    let gapNs = UInt64(doorbellGapMs) * 1_000_000
                    let since = DispatchTime.now().uptimeNanoseconds - lastRingNs
                    if since < gapNs { usleep(UInt32((gapNs - since) / 1000)) }
                    try db.execute("NOTIFY \(Self.channel)")
                    lastRingNs = DispatchTime.now().uptimeNanoseconds
                }
                if let from = readAllFrom {
                    let events = try EventLogTable.after(from, limit: Self.batchMax, db)
                    if let last = events.last {
                        report(.batch(try batch(of: events, skippedTo: nil, db)))
                        after = max(after, last.seq)
                        if events.count == Self.batchMax { readAll(after: last.seq) }
                    }
                }
                if shouldRead {
                    let (batch, position) = try readBatch(after: after, db)
                    after = position
                    state.withLock { $0.position = position }
                    if let batch { report(.batch(batch)) }
                    pollAtNs = DispatchTime.now().uptimeNanoseconds + UInt64(pollMs) * 1_000_000
                    shouldRead = batch?.events.count == Self.batchMax
                    if shouldRead { continue }
                }
                failures = 0
                shouldRead = try waitForWork(session!, until: pollAtNs)
            } catch {
                failures += 1
                if failures == 1 || failures % 50 == 0 {
                    logger.warning("following the event log failed; retrying", metadata: ["error": .string("\(error)")])
                }
                if session?.leading == true {
                    session!.leading = false
                    report(.leadership(false))
                }
                session = nil  // a new session: it listens and bids again
                shouldRead = true
                var descriptor = pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
                _ = poll(&descriptor, 1, Int32(min(1000, 100 * failures)))
                drainWake()
            }
        }
        session = nil
        finished.signal()
    }

    /// Waits for a doorbell of another hub (true: read), the poll's time (true), or a ring,
    /// read request or stop of this one (the loop sees which). This session's own doorbells come
    /// back to it: they are no reason to read.
    private func waitForWork(_ session: Session, until deadline: UInt64) throws(StoreError) -> Bool {
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return true }
            let senders = try session.database.awaitNotifications(timeoutMs: Int((deadline - now) / 1_000_000) + 1, wake: wake)
            drainWake()
            if senders.contains(where: { $0 != session.listeningOn }) { return true }
            if state.withLock({ $0.stopping || $0.ringing || $0.reading || $0.readAllFrom != nil }) { return false }
        }
    }

    /// The other hubs' events after `after` (and how far this read covered): up to the log's head,
    /// or `batchMax` events. Nil when there are none and nothing was pruned.
    private func readBatch(after: Int64, _ db: Database) throws(StoreError) -> (Batch?, Int64) {
        let (head, oldest) = try EventLogTable.bounds(db)
        guard head > after else { return (nil, after) }
        // Pruned past this hub's position (it could not read for longer than the history lasts).
        let kept = oldest ?? head + 1
        let skippedTo: Int64? = kept > after + 1 ? kept - 1 : nil
        let from = max(after, skippedTo ?? after)
        let events = try EventLogTable.between(from, through: head, notFrom: EventLogTable.thisProcess, limit: Self.batchMax, db)
        let position = events.count == Self.batchMax ? events.last!.seq : head  // non-empty: batchMax of them
        guard !events.isEmpty || skippedTo != nil else { return (nil, position) }
        return (try batch(of: events, skippedTo: skippedTo, db), position)
    }

    /// `events` with the current rows of what they changed.
    private func batch(of events: [EventLogTable.Entry], skippedTo: Int64?, _ db: Database) throws(StoreError) -> Batch {
        var bookingIDs: [String] = []
        var spacesChanged = false
        for event in events {
            switch event.type {
            case EventType.bookingUpdated.rawValue:
                if let id = Self.bookingID(event.payload) { bookingIDs.append(id) }
            case EventType.spaceUpdated.rawValue:
                spacesChanged = true
            default:
                break
            }
        }
        let bookings = try BookingTable.find(ids: Array(Set(bookingIDs)), db)
        let spaces = spacesChanged ? try SpaceTable.loadAll(db) : nil
        return Batch(events: events, bookings: bookings, spaces: spaces, skippedTo: skippedTo)
    }

    /// The booking a `booking_updated` names (its payload is the booking's view).
    static func bookingID(_ payload: String) -> String? {
        (try? JSONParser.parse(payload))?["id"]?.stringValue
    }
}
