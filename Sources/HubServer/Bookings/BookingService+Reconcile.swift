import HubCore
import HubLoop
import HubStore

/// After a commit whose outcome the hub could not learn. PostgreSQL's connection can break after
/// COMMIT was sent and before its answer came: the hub answered 503 and released what the write
/// had reserved, but the database may hold the booking. A client retrying with its
/// `Idempotency-Key` gets that booking back (the key's record committed with it); here the index
/// catches up, so availability agrees with the database again.
extension BookingService {
    /// How far back adoption looks for bookings the hub does not track. An uncertain commit is
    /// adopted within seconds of the store answering again; an hour covers a long outage.
    static let uncertainCommitWindowSeconds: Int64 = 3600

    /// Schedules `adoptCommitted`, tried each second until the store answers (loop thread).
    func commitOutcomeUnknown() {
        guard reconcileTimer == nil else { return }
        let timer = Timer(loop: loop)
        timer.start(afterMs: 1000, repeatMs: 1000) { [unowned self] in
            guard let adopted = try? adoptCommitted(now: clock.seconds) else { return }  // still away: next second
            if adopted > 0 {
                logger.warning("adopted bookings whose commit outcome was unknown", metadata: ["bookings": .stringConvertible(adopted)])
            }
            reconcileTimer?.close()
            reconcileTimer = nil
        }
        timer.unref()
        reconcileTimer = timer
    }

    /// Tracks and reserves the bookings that hold time in the database, were created in the last
    /// `uncertainCommitWindowSeconds` and are not tracked here: those whose commit took effect
    /// although the hub was not told. Returns how many.
    func adoptCommitted(now: Int64) throws(StoreError) -> Int {
        let recent = try BookingTable.createdBetween(from: now - Self.uncertainCommitWindowSeconds, to: now + 1, storage.reader)
        var adopted = 0
        for booking in recent where live[booking.id] == nil {
            let holdsTime = booking.status == .confirmed || (booking.status == .pending && (booking.holdExpiresAt ?? .max) > now)
            guard holdsTime else { continue }
            if case .conflict = index.reserve(booking.id, on: booking.spaceID, during: booking.range,
                                              tentative: booking.status == .pending) {
                // The database accepted it, so its constraint found no overlap: the index holds a
                // reservation the database does not (released on its own failed commit).
                logger.error("an adopted booking overlaps the index", metadata: ["booking": .string(booking.id)])
            }
            track(booking)
            adopted += 1
        }
        return adopted
    }
}
