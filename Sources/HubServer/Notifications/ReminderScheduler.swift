import HubCore
import HubLoop
import HubStore
import HubWire
import Logging

/// Queues `booking-reminder` for confirmed bookings that start within the lead time
/// (`email.reminderLeadHours`, 24 h by default), on a loop timer.
///
/// Once only: each reminder carries the outbox dedupe key `reminder:<bookingId>:<startsAt>`, and
/// the sweep selects only bookings without a row for their key, in the same transaction that
/// inserts it. A restart, or a booking moved away and back to the same time, finds the key
/// taken and queues nothing; a booking moved to a new time gets a reminder for the new time.
/// The sender skips a reminder whose booking was cancelled or moved after it was queued.
final class ReminderScheduler: BookingObserver {
    /// Bookings reminded per sweep at most; the next sweep takes the rest.
    static let remindersPerSweepMax = 200

    private let loop: Loop
    private let storage: Storage
    private let delivery: EmailDelivery
    private let clock: any Clock
    private let leadSeconds: Int64
    private let sweepMs: UInt64
    private let logger: Logger
    private var timer: Timer?
    private var sweeping = false

    /// Only the leader sweeps (`Leadership`).
    private let leadership: Leadership

    init(loop: Loop, storage: Storage, delivery: EmailDelivery, config: Config.Email, leadership: Leadership, clock: any Clock,
         logger: Logger) {
        self.clock = clock
        self.leadership = leadership
        self.loop = loop
        self.storage = storage
        self.delivery = delivery
        leadSeconds = Int64(config.reminderLeadHours) * 3600
        sweepMs = UInt64(config.reminderSweepSeconds) * 1000
        self.logger = logger
    }

    func start() {
        let timer = Timer(loop: loop)
        timer.start(afterMs: min(sweepMs, 5000), repeatMs: sweepMs) { [unowned self] in self.sweep() }
        timer.unref()
        self.timer = timer
    }

    func stop() {
        timer?.close()
        timer = nil
    }

    /// Runs a sweep soon (a booking was just confirmed or moved).
    func bookingChanged(_ booking: Booking, _ change: BookingChange) {
        switch change {
        case .confirmed, .paid, .rescheduled: sweep()
        default: break
        }
    }

    func sweep() {
        guard !sweeping, timer != nil, leadership.isLeader else { return }
        sweeping = true
        let now = clock.seconds
        let lead = leadSeconds
        // The select and the inserts share the writer's transaction, so two sweeps can never
        // both find a booking unreminded.
        storage.write({ db -> Int in
            let due = try BookingTable.awaitingReminder(after: now, through: now + lead, limit: Self.remindersPerSweepMax, db)
            for booking in due {
                try Outbox.enqueue(.bookingReminder, booking: booking, extra: [
                    "startsAt": .int64(booking.range.start), "startsAtUtc": .string(UTC.iso8601(booking.range.start)),
                ], dedupeKey: "reminder:\(booking.id):\(booking.range.start)", at: now, db)
            }
            return due.count
        }) { [self] result in
            sweeping = false
            switch result {
            case .success(let count) where count > 0:
                logger.info("queued \(count) booking reminder(s)")
                delivery.kick()
            case .success:
                break
            case .failure(let error):
                logger.warning("reminder sweep failed: \(error)")
            }
        }
    }
}

@available(*, unavailable) extension ReminderScheduler: Sendable {}
