import HubCore
import HubLoop
import HubStore
import HubWire
import Logging

/// What the event follower brings, applied on the loop thread: the state other hubs changed is
/// mirrored here (spaces, bookings, settings, suspensions), then the events are published to
/// this hub's subscribers in `seq` order, each once (`Broker.publish` drops those this hub
/// published itself).
final class FollowedChanges {
    let broker: Broker
    let bookings: BookingService
    let catalog: SpaceCatalog
    let settings: LiveSettings
    let auth: AuthService
    let leadership: Leadership
    let logger: Logger
    private var watchdog: Timer?
    /// Reports still in the inbox at shutdown are dropped: the store is closing.
    private var stopped = false
    /// The database was replaced under this hub (`EventFollower.Report.historyReplaced`): its
    /// state is another history's. The hub stops so that its next start adopts the new epoch.
    var onHistoryReplaced: (() -> Void)?

    init(broker: Broker, bookings: BookingService, catalog: SpaceCatalog, settings: LiveSettings, auth: AuthService,
         leadership: Leadership, logger: Logger) {
        self.broker = broker
        self.bookings = bookings
        self.catalog = catalog
        self.settings = settings
        self.auth = auth
        self.leadership = leadership
        self.logger = logger
    }

    /// Starts `follower` and, every second, a look at the broker: behind what the follower has
    /// read (or waiting), at the `seq` it was at a second ago, means an event the follower skips
    /// as this hub's own was never published (its commit's outcome was unknown): everything after
    /// it is read again.
    func start(_ follower: EventFollower, loop: Loop) {
        follower.run(applying: { [weak self] report in self?.apply(report) })
        var stuckAt: Int64 = -1
        let timer = Timer(loop: loop)
        timer.start(afterMs: 1000, repeatMs: 1000) { [broker, logger] in
            guard broker.waitingCount > 0 || follower.position > broker.lastSeq else { return stuckAt = -1 }
            if broker.lastSeq == stuckAt {
                logger.warning("events wait for one this hub never published; reading the log again", metadata: [
                    "after": .stringConvertible(stuckAt)])
                follower.readAll(after: stuckAt)
            }
            stuckAt = broker.lastSeq
        }
        timer.unref()
        watchdog = timer
    }

    func stop() {
        stopped = true
        watchdog?.close()
        watchdog = nil
    }

    /// After a stretch of the log was pruned unread: the changes it held are read from the tables
    /// instead. Every booking that holds time now, the rows of those this hub holds that no
    /// longer do, the catalogue and the settings, applied as followed rows are (newer versions
    /// only). Revocations are read every few seconds anyway (docs/SCALING.md).
    private func resynchronise() {
        let now = bookings.clock.seconds
        let tracked = Array(bookings.live.ids)
        bookings.storage.read({ db in
            let holding = try BookingTable.holdingTime(now: now, completedSince: now - BookingService.completedRetentionSeconds, db)
            let holdingIDs = Set(holding.map(\.id))
            let gone = try BookingTable.find(ids: tracked.filter { !holdingIDs.contains($0) }, db)
            return (holding + gone, try SpaceTable.loadAll(db), try SettingsTable.all(db))
        }) { [self] read in
            guard case .success(let (rows, spaces, stored)) = read else {
                logger.error("could not read the bookings again after the log was pruned past this hub; restart it")
                return
            }
            apply(spaces)
            bookings.applyFollowed(rows)
            SettingsStore.apply(stored: stored, to: settings)
            logger.notice("bookings read again after the log was pruned past this hub", metadata: ["rows": .stringConvertible(rows.count)])
        }
    }

    private func apply(_ spaces: [Space]) {
        for space in spaces where catalog[space.id]?.version != space.version { bookings.spaceSaved(space) }
    }

    func apply(_ report: EventFollower.Report) {
        guard !stopped else { return }
        switch report {
        case .leadership(let leading):
            logger.notice(leading ? "this hub now leads the background work" : "this hub no longer leads the background work")
            leadership.set(leading, nowMs: bookings.loop.nowMs)
        case .batch(let batch):
            apply(batch)
        case .historyReplaced(let was, let now):
            logger.critical("""
                the database was replaced under this hub (a restore or a promoted standby): stopping; \
                its next start adopts a new event epoch and rebuilds from the new database
                """, metadata: ["was": .string(was), "now": .string(now)])
            stopped = true
            onHistoryReplaced?()
        }
    }

    private func apply(_ batch: EventFollower.Batch) {
        apply(batch.spaces ?? [])
        bookings.applyFollowed(batch.bookings)
        let now = bookings.clock.seconds
        // Applying one's own change again is harmless: both are idempotent.
        for entry in batch.events where entry.seq > broker.lastSeq {
            switch entry.type {
            case EventType.settingsUpdated.rawValue:
                guard case .object(let changes)? = try? JSONParser.parse(entry.payload) else { continue }
                for change in changes {
                    do throws(SettingsStore.Invalid) {
                        try SettingsStore.apply(change.key, change.value, to: settings)
                    } catch {
                        logger.warning("a setting saved by another hub does not apply here", metadata: [
                            "key": .string(change.key), "error": .string(error.message)])
                    }
                }
            case EventType.userUpdated.rawValue:
                guard let user = try? JSONParser.parse(entry.payload), let id = user["id"]?.stringValue,
                      let status = user["status"]?.stringValue else { continue }
                let suspended = status == User.Status.suspended.rawValue
                auth.setSuspended(id, suspended)
                if suspended { auth.revokeSubject(id, now: now) }
            default:
                break
            }
        }
        if let skipped = batch.skippedTo, skipped > broker.lastSeq {
            logger.warning("the event log was pruned past this hub's position: resuming clients from before it resync",
                           metadata: ["from": .stringConvertible(broker.lastSeq), "to": .stringConvertible(skipped)])
            broker.skip(to: skipped)
            resynchronise()
        }
        broker.publish(batch.events.map(PublishedEvent.init), nowMs: bookings.clock.milliseconds)
    }
}
