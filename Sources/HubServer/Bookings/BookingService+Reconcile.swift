import HubCore
import HubLoop
import HubStore

/// After a commit whose outcome the hub could not learn. PostgreSQL's connection can break after
/// COMMIT was sent and before its answer came: the hub answered 503 and released what the write
/// had reserved, but the database may hold the booking. A client retrying with its
/// `Idempotency-Key` gets that booking back (the key's record committed with it); here the index
/// catches up, so availability agrees with the database again.
extension BookingService {
    /// How long before a commit failed its bookings may have been decided (their `created_at`):
    /// a group waits in the writer's queue and for locks, bounded by the statement timeout.
    static let uncertainCommitSlackSeconds: Int64 = 300

    /// Schedules `adoptCommitted`, tried each second until the store answers (loop thread).
    func commitOutcomeUnknown() {
        let since = clock.seconds - Self.uncertainCommitSlackSeconds
        uncertainSince = min(uncertainSince ?? since, since)
        uncertainCommits += 1
        guard reconcileTimer == nil else { return }
        let timer = Timer(loop: loop)
        var reading = false
        timer.start(afterMs: 1000, repeatMs: 1000) { [unowned self] in
            guard let since = uncertainSince, !reading else { return }
            reading = true
            let covered = uncertainCommits
            adoptCommitted(since: since, now: clock.seconds) { [unowned self] result in
                reading = false
                guard case .success(let adopted) = result else { return }  // the store is still away: next second
                if adopted > 0 {
                    logger.warning("adopted bookings whose commit outcome was unknown", metadata: ["bookings": .stringConvertible(adopted)])
                }
                // A commit whose outcome became unknown while this read was on its way may have
                // committed after the read: the next second reads again.
                guard uncertainCommits == covered else { return }
                uncertainSince = nil
                reconcileTimer?.close()
                reconcileTimer = nil
            }
        }
        timer.unref()
        reconcileTimer = timer
    }

    /// Tracks and reserves the bookings that hold time in the database, were created since
    /// `since` and are not tracked here: those whose commit took effect although the hub was not
    /// told. Completes with how many.
    func adoptCommitted(since: Int64, now: Int64, completion: @escaping (Result<Int, any Error>) -> Void) {
        releasedDuringAdoption = releasedDuringAdoption ?? []
        storage.read({ try BookingTable.createdBetween(from: since, to: now + 1, $0) }) { [self] read in
            let released = releasedDuringAdoption ?? []
            releasedDuringAdoption = nil
            // Whether a hold still holds time is judged now, not when the read began.
            completion(read.map { adopt($0, skipping: released, now: clock.seconds) })
        }
    }

    private func adopt(_ recent: [Booking], skipping released: Set<String>, now: Int64) -> Int {
        var adopted = 0
        for booking in recent where live[booking.id] == nil && !released.contains(booking.id) {
            let holdsTime = booking.status == .confirmed || (booking.status == .pending && (booking.holdExpiresAt ?? .max) > now)
            guard holdsTime else { continue }
            if case .conflict = index.reserve(booking.id, on: booking.spaceID, during: booking.range,
                                              tentative: booking.status == .pending) {
                // Only when the store itself does not refuse overlaps (SQLite, written past the
                // hub): tracked all the same, the database being the truth.
                logger.error("an adopted booking overlaps the index", metadata: ["booking": .string(booking.id)])
            }
            track(booking)
            adopted += 1
        }
        return adopted
    }
}
