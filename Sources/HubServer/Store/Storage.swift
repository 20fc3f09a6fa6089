import HubHTTP
import HubLoop
import HubStore

/// The hub's two doors to the store (SQLite or PostgreSQL): a read connection for point reads on
/// the loop thread, and the group-commit writer whose results come back to the loop through the
/// inbox.
final class Storage {
    let reader: Database
    let writer: Writer
    let location: StoreLocation
    private let loop: Loop
    /// Writes submitted whose completion has not run yet (loop thread): what tests of the whole
    /// hub in process wait to reach zero (`TestHub.settle`); the writer's own `queueDepth` does not
    /// count completions still on their way through the inbox.
    private(set) var pendingWrites = 0
    /// Told (on the loop) when a write failed because the store went away mid-commit: whether
    /// its COMMIT took effect is unknown (PostgreSQL's connection broke after COMMIT was sent).
    /// The bookings service adopts what did commit (`BookingService.commitOutcomeUnknown`).
    var commitOutcomeUnknown: (() -> Void)?

    /// `loopReadTimeoutMs` bounds how long the loop waits for one read's answer from PostgreSQL
    /// (`PostgresSettings.answerTimeoutMs`); SQLite's reads are local.
    init(location: StoreLocation, durability: Database.Durability, busyTimeoutMs: Int, batchMax: Int, loopReadTimeoutMs: Int,
         loop: Loop, inbox: LoopInbox) throws(StoreError) {
        self.location = location
        self.loop = loop
        // The writer opens first: it creates the file and switches it to WAL.
        writer = try Writer(location, durability: durability, busyTimeoutMs: busyTimeoutMs, batchMax: batchMax) { work in
            inbox.post(work)
        }
        var readerLocation = location
        if case .postgres(var settings) = location {
            settings.answerTimeoutMs = loopReadTimeoutMs
            readerLocation = .postgres(settings)
        }
        reader = try Database(readerLocation, readOnly: true, durability: durability, busyTimeoutMs: busyTimeoutMs)
    }

    /// A point read on the loop's connection where "no row" and "the store cannot answer" must
    /// not be confused: nil for no row, `503 store_unavailable` when the store failed (PostgreSQL
    /// away), so a member is not told their account is gone because the database blinked.
    func lookup<T>(_ read: (Database) throws -> T?) throws(APIError) -> T? {
        do {
            return try read(reader)
        } catch {
            throw APIError.unavailable("store_unavailable", "the store cannot be read right now; retry")
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

    /// Commits what is queued and stops the writer thread (shutdown).
    func close() {
        writer.stop()
    }
}

@available(*, unavailable) extension Storage: Sendable {}
