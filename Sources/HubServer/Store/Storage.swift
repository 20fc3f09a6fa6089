import HubHTTP
import HubLoop
import HubStore

/// The hub's doors to the store (SQLite or PostgreSQL): reads (`read`), answered without blocking
/// the loop thread, and the group-commit writer whose results come back to the loop through the
/// inbox.
///
/// Reads: on SQLite the loop's own read-only connection answers at once (WAL pages in memory, no
/// network: a point read costs microseconds, less than a hop to a thread and back); on PostgreSQL
/// every read is a round trip to a server that may be slow or gone, so it runs on a read thread
/// (`ReadThreads`) and its completion comes back on the loop through the inbox. Callers see one
/// interface and never know which ran.
final class Storage {
    /// The loop's connection: start-up reads (before the loop runs), and on SQLite every read.
    /// Code running on the loop after start-up goes through `read`, never through this directly.
    let reader: Database
    let writer: Writer
    let location: StoreLocation
    private let loop: Loop
    /// Read connections for big reads on libuv's threadpool (ICS feeds), on either store.
    let reads: ReadConnections
    /// PostgreSQL's `read`s, on threads of their own (nil on SQLite).
    private let readThreads: ReadThreads?
    private let inbox: LoopInbox
    /// Writes submitted whose completion has not run yet (loop thread): what tests of the whole
    /// hub in process wait to reach zero (`TestHub.settle`); the writer's own `queueDepth` does not
    /// count completions still on their way through the inbox.
    private(set) var pendingWrites = 0
    /// Reads on the read threads whose completion has not run yet (loop thread; PostgreSQL only).
    private(set) var pendingReads = 0
    /// Told (on the loop) when a write failed because the store went away mid-commit: whether
    /// its COMMIT took effect is unknown (PostgreSQL's connection broke after COMMIT was sent).
    /// The bookings service adopts what did commit (`BookingService.commitOutcomeUnknown`).
    var commitOutcomeUnknown: (() -> Void)?

    /// `readTimeoutMs` bounds how long a read waits for PostgreSQL's answer
    /// (`PostgresSettings.answerTimeoutMs`), on the read threads' connections as on the loop's
    /// (start-up reads): a frozen server or a cut network fails a read after it instead of
    /// holding a thread. SQLite's reads are local.
    init(location: StoreLocation, durability: Database.Durability, busyTimeoutMs: Int, batchMax: Int, readTimeoutMs: Int,
         loop: Loop, inbox: LoopInbox) throws(StoreError) {
        self.location = location
        self.loop = loop
        self.inbox = inbox
        // The writer opens first: it creates the file and switches it to WAL.
        writer = try Writer(location, durability: durability, busyTimeoutMs: busyTimeoutMs, batchMax: batchMax) { work in
            inbox.post(work)
        }
        var readerLocation = location
        if case .postgres(var settings) = location {
            settings.answerTimeoutMs = readTimeoutMs
            readerLocation = .postgres(settings)
        }
        reader = try Database(readerLocation, readOnly: true, durability: durability, busyTimeoutMs: busyTimeoutMs)
        reads = ReadConnections(location: readerLocation, busyTimeoutMs: busyTimeoutMs)
        if case .postgres = location {
            readThreads = ReadThreads(location: readerLocation, busyTimeoutMs: busyTimeoutMs)
        } else {
            readThreads = nil
        }
    }

    /// What a request is told when the store cannot answer a read: "no row" and "the store
    /// failed" are never confused, so a member is not told their account is gone because the
    /// database blinked.
    static let unavailable = APIError.unavailable("store_unavailable", "the store cannot be read right now; retry")

    /// Runs `query` against the store and `completion` on the loop thread with its result: at
    /// once on SQLite, after a read thread's round trip on PostgreSQL (see the type's comment).
    /// `query` must only read.
    func read<T: Sendable>(_ query: @escaping @Sendable (Database) throws -> T,
                           completion: @escaping (Result<T, any Error>) -> Void) {
        loop.assertOnLoopThread()
        guard let readThreads else {
            completion(Result { try query(reader) })
            return
        }
        pendingReads += 1
        let bound = LoopBound { [unowned self] (result: Result<T, any Error>) in
            pendingReads -= 1
            completion(result)
        }
        readThreads.submit { [inbox] database in
            let result: Result<T, any Error> = database.map { database in Result { try query(database) } }
                ?? .failure(StoreError.unreachable("PostgreSQL cannot be reached for reads"))
            // A closed inbox (shutdown) drops the answer: nothing waits for it any more.
            _ = inbox.post { bound.value(result) }
        }
    }

    /// `read` of a row that must exist: completes with it, `404` naming `what` when there is none,
    /// `503 store_unavailable` when the store cannot answer.
    func find<T: Sendable>(_ what: String, _ query: @escaping @Sendable (Database) throws -> T?,
                           completion: @escaping (Result<T, APIError>) -> Void) {
        read(query) { read in
            switch read {
            case .success(let row?): completion(.success(row))
            case .success(nil): completion(.failure(.notFound(what)))
            case .failure: completion(.failure(Self.unavailable))
            }
        }
    }

    /// `read` for a request: `then` runs with the value and may throw; a store failure answers
    /// `503 store_unavailable`, an error thrown by `then` answers with that error.
    func read<T: Sendable>(for responder: Responder, _ query: @escaping @Sendable (Database) throws -> T,
                           then: @escaping (T) throws(APIError) -> Void) {
        read(query) { result in
            responder.continuing { () throws(APIError) in
                guard case .success(let value) = result else { throw Self.unavailable }
                try then(value)
            }
        }
    }

    /// Runs `work` in the next commit group; `completion` runs on the loop thread after COMMIT.
    func write<R: Sendable>(_ work: @escaping @Sendable (Database) throws -> R,
                            completion: @escaping (Result<R, any Error>) -> Void) {
        loop.assertOnLoopThread()
        pendingWrites += 1
        let bound = LoopBound { [unowned self] (result: Result<R, any Error>) in
            pendingWrites -= 1
            if case .failure(let error as StoreError) = result, error.isUnavailable { commitOutcomeUnknown?() }
            completion(result)
        }
        writer.submit(work) { result in bound.value(result) }
    }

    /// Commits what is queued and stops the writer and read threads (shutdown).
    func close() {
        writer.stop()
        readThreads?.stop()
    }
}

@available(*, unavailable) extension Storage: Sendable {}
