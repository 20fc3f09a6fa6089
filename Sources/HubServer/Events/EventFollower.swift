import Dispatch
import Foundation
import HubCore
import HubLoop
import HubStore
import HubWire
import Logging
import Synchronization

/// Follows the shared event log on PostgreSQL, where several hubs write one history: on a thread
/// and a session of its own, it reads the events after the last one it read, with the rows they
/// changed, and hands them to the loop in `seq` order (`HubServices.follow`), which applies them
/// to this hub's state and publishes them.
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

    /// What the follower tells the loop: a batch, or that leadership was won or lost.
    enum Report: Sendable {
        case batch(Batch)
        case leadership(Bool)
    }

    static let channel = "spacehub_events"
    static let batchMax = 1000

    private struct State {
        var stopping = false
        var ringing = false
        var reading = false
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
        while !state.withLock({ $0.stopping }) {
            do {
                if session == nil {
                    var fresh = Session(database: try Database(location, busyTimeoutMs: 5000))
                    try Self.listen(&fresh, doorbell: doorbell)
                    session = fresh
                    bidNs = 0
                }
                let db = session!.database  // opened above
                if db.sessionID != session!.listeningOn {
                    // The session broke and was opened again: its LISTEN and its lock are gone.
                    if session!.leading { report(.leadership(false)) }
                    session!.leading = false
                    try Self.listen(&session!, doorbell: doorbell)
                    bidNs = 0
                }
                let now = DispatchTime.now().uptimeNanoseconds
                if !session!.leading, bidNs == 0 || now - bidNs >= 1_000_000_000 {
                    bidNs = now
                    if try Self.bid(db) {
                        session!.leading = true
                        report(.leadership(true))
                    }
                }
                let (ring, _) = state.withLock { state in
                    defer { state.ringing = false; state.reading = false }
                    return (state.ringing, state.reading)
                }
                if ring {
                    let gapNs = UInt64(doorbellGapMs) * 1_000_000
                    let since = DispatchTime.now().uptimeNanoseconds - lastRingNs
                    if since < gapNs { usleep(UInt32((gapNs - since) / 1000)) }
                    try db.execute("NOTIFY \(Self.channel)")
                    lastRingNs = DispatchTime.now().uptimeNanoseconds
                }
                let batch = try readBatch(after: after, db)
                failures = 0
                if let last = batch?.events.last {
                    after = last.seq
                    report(.batch(batch!))  // non-nil: it has events
                    if batch!.events.count == Self.batchMax { continue }
                }
                try waitForWork(session!)
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
                var descriptor = pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
                _ = poll(&descriptor, 1, Int32(min(1000, 100 * failures)))
                drainWake()
            }
        }
        session = nil
        finished.signal()
    }

    /// Waits for a doorbell of another hub, a ring or read request of this one, or the poll.
    /// This session's own doorbells come back to it: they are no reason to read.
    private func waitForWork(_ session: Session) throws(StoreError) {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(pollMs) * 1_000_000
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return }
            let senders = try session.database.awaitNotifications(timeoutMs: Int((deadline - now) / 1_000_000) + 1, wake: wake)
            drainWake()
            if senders.contains(where: { $0 != session.listeningOn }) { return }
            if state.withLock({ $0.stopping || $0.ringing || $0.reading }) { return }
        }
    }

    private func readBatch(after: Int64, _ db: Database) throws(StoreError) -> Batch? {
        let events = try EventLogTable.after(after, limit: Self.batchMax, db)
        guard let first = events.first else { return nil }
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
        return Batch(events: events, bookings: bookings, spaces: spaces, skippedTo: first.seq > after + 1 ? first.seq - 1 : nil)
    }

    /// The booking a `booking_updated` names (its payload is the booking's view).
    static func bookingID(_ payload: String) -> String? {
        (try? JSONParser.parse(payload))?["id"]?.stringValue
    }
}
