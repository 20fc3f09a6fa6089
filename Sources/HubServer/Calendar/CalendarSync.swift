import HubCore
import HubCrypto
import HubHTTP
import HubLoop
import HubStore
import Logging

/// Members' calendar connections and the sync of their bookings to Google Calendar and Outlook,
/// plus the ICS feeds.
///
/// Loop thread only. Provider calls and large reads run on the threadpool (`submit`) and come
/// back here to be stored through the writer. Work for one member runs one at a time
/// (`serial`), so two syncs never refresh the same token at once.
///
/// Booking changes of connected members are synced as they commit (`bookingChanged`). Whatever
/// that misses (a provider outage, a restart between commit and sync, a connection made after
/// the booking) is caught by the reconciliation every `calendar.syncIntervalSeconds`, which
/// finds bookings whose stored `synced_version` is behind. Creates are idempotent on the
/// provider side (`CalendarEventsAPI`), so at-least-once never duplicates events.
final class CalendarSync: BookingObserver {
    /// Bookings per reconciliation at most.
    static let reconcileBatchMax = 50
    /// Events in one ICS feed at most (a member's latest, or a space's window).
    static let feedEventsMax = 2000
    /// How far ahead a space's public feed looks.
    static let spaceFeedFutureSeconds: Int64 = 400 * 86_400

    let loop: Loop
    let clock: any Clock
    let storage: Storage
    private let bookings: BookingService
    private let logger: Logger
    let settings: [CalendarProvider: ProviderSettings]
    /// Nil when `CALENDAR_TOKEN_KEY` is not set: connections are refused, feeds still work.
    let vault: TokenVault?
    var reads: ReadConnections { storage.reads }
    let pastSeconds: Int64
    private let intervalMs: UInt64
    private(set) var connectedUsers: Set<String>
    private let serial = KeyedSerialQueue()
    private var jobs = 0
    private var timer: Timer?
    private var stopping = false
    private var reconciling = false

    /// `calendar` is the calendar section of the configuration; `clock` the hub's (sync
    /// schedule, token expiry, records). Large reads run on `storage.reads` on the threadpool.
    /// Only the leader reconciles (`Leadership`); it learns of connections made on other hubs
    /// there (the set below is this hub's view, a shortcut for changes it is told of).
    private let leadership: Leadership

    init(loop: Loop, storage: Storage, bookings: BookingService, calendar: Config.Calendar, leadership: Leadership,
         clock: any Clock, logger: Logger) throws {
        self.loop = loop
        self.leadership = leadership
        self.clock = clock
        self.storage = storage
        self.bookings = bookings
        self.logger = logger
        settings = ProviderSettings.all(calendar)
        vault = calendar.tokenKey.isEmpty ? nil : ConfigLoader.decodeKey(calendar.tokenKey).map(TokenVault.init)
        pastSeconds = Int64(calendar.feedPastDays) * 86_400
        intervalMs = UInt64(calendar.syncIntervalSeconds) * 1000
        connectedUsers = Set(try CalendarIntegrationTable.connectedUserIDs(storage.reader))
    }

    /// Nothing is running on the threadpool for us (shutdown waits for this).
    var isIdle: Bool { jobs == 0 }

    func start() {
        let timer = Timer(loop: loop)
        timer.start(afterMs: intervalMs, repeatMs: intervalMs) { [unowned self] in self.reconcile() }
        timer.unref()
        self.timer = timer
    }

    func beginShutdown() {
        stopping = true
        timer?.close()
        timer = nil
    }

    static let notConfigured = APIError.unavailable(
        "calendar_not_configured", "calendar connections are disabled: set CALENDAR_TOKEN_KEY (32 bytes, hex or base64) to store provider tokens")

    // MARK: Booking changes

    func bookingChanged(_ booking: Booking, _ change: BookingChange) {
        guard vault != nil, connectedUsers.contains(booking.userID) else { return }
        // A completed booking is already right in the calendar; a new pending hold is not an event yet.
        if change == .completed || change == .created { return }
        sync(bookingID: booking.id, userID: booking.userID, providers: nil, force: false) { [logger] result in
            if case .failure(let error) = result { logger.warning("calendar sync of \(booking.id) failed: \(error.message)") }
        }
    }

    func reconcile() {
        guard !reconciling, !stopping, vault != nil, leadership.isLeader else { return }
        reconciling = true
        let reads = self.reads
        let now = clock.seconds
        submit({ () -> [(bookingID: String, userID: String)] in
            (try? reads.read { db in try CalendarEventTable.behind(now: now, limit: Self.reconcileBatchMax, db) }) ?? []
        }) { [self] behind in
            reconciling = false
            for entry in behind {
                sync(bookingID: entry.bookingID, userID: entry.userID, providers: nil, force: false) { _ in }
            }
        }
    }

    // MARK: Sync

    /// Brings the provider events of one booking in line with it, for the member's connections
    /// (only `providers` when given). `force` writes even when the stored version is current.
    func sync(bookingID: String, userID: String, providers: Set<CalendarProvider>?, force: Bool,
              completion: @escaping (Result<[SyncResult], APIError>) -> Void) {
        guard let vault else { return completion(.failure(Self.notConfigured)) }
        guard !stopping else { return completion(.failure(.unavailable("shutting_down", "the hub is shutting down; retry"))) }
        serial.run(userID) { [self] done in
            let finish: (Result<[SyncResult], APIError>) -> Void = { result in
                done()
                completion(result)
            }
            bookings.find(bookingID, where: { $0.userID == userID }) { [self] found in
                let booking: Booking
                switch found {
                case .success(let owned): booking = owned
                case .failure(let error): return finish(.failure(error))
                }
                storage.read({ db in
                    (try CalendarEventTable.forBooking(bookingID, db), try CalendarIntegrationTable.active(userID: userID, db))
                }) { [self] read in
                    guard case .success(let (links, active)) = read else {
                        return finish(.failure(.unavailable("store_unavailable", "could not read calendar connections")))
                    }
                    let targets = active
                        .filter { providers?.contains(CalendarProvider(rawValue: $0.provider) ?? .google) ?? true }
                        .map { integration in
                            CalendarSyncRunner.Target(integration: integration, link: links.first { $0.integrationID == integration.id })
                        }
                    run(booking, targets: targets, force: force, vault: vault, userID: userID, completion: finish)
                }
            }
        }
    }

    /// The provider calls of one sync (threadpool), then storing what they changed.
    private func run(_ booking: Booking, targets: [CalendarSyncRunner.Target], force: Bool, vault: TokenVault, userID: String,
                     completion: @escaping (Result<[SyncResult], APIError>) -> Void) {
        guard !stopping else { return completion(.failure(.unavailable("shutting_down", "the hub is shutting down; retry"))) }
        guard !targets.isEmpty else { return completion(.success([])) }
        let task = CalendarSyncRunner.Task(booking: booking, targets: targets, force: force, vault: vault, settings: settings,
                                           clock: clock)
        submit({ CalendarSyncRunner.run(task) }) { [self] results in
            store(results, userID: userID) {
                completion(.success(results))
            }
        }
    }

    /// Stores what a sync changed: refreshed tokens, event links, the connection's last outcome.
    /// A connection whose refresh token died is deactivated.
    private func store(_ results: [SyncResult], userID: String, completion: @escaping () -> Void) {
        let changed = results.filter { $0.action != .unchanged || $0.tokens != nil }
        guard !changed.isEmpty else { return completion() }
        let now = clock.seconds
        storage.write({ db in
            for result in changed {
                if let tokens = result.tokens {
                    try CalendarIntegrationTable.updateTokens(result.integrationID, accessToken: tokens.access, refreshToken: tokens.refresh,
                                                              expiresAt: tokens.expiresAt, providerUserID: nil, at: now, db)
                }
                switch result.link {
                case .keep: break
                case .set(let link): try CalendarEventTable.upsert(link, at: now, db)
                case .remove(let bookingID): try CalendarEventTable.remove(bookingID: bookingID, integrationID: result.integrationID, db)
                }
                if let error = result.error {
                    if error.reauthorize {
                        try CalendarIntegrationTable.deactivate(result.integrationID, reason: error.message, at: now, db)
                    } else {
                        try CalendarIntegrationTable.recordSync(result.integrationID, error: error.description, at: now, db)
                    }
                } else if result.action != .unchanged {
                    try CalendarIntegrationTable.recordSync(result.integrationID, error: nil, at: now, db)
                }
            }
        }) { [self] outcome in
            if case .failure(let error) = outcome {
                // The provider side is done; the next sync redoes it idempotently.
                logger.error("storing a calendar sync failed: \(error)")
            }
            for result in changed where result.error != nil {
                logger.warning("calendar sync with \(result.provider.rawValue) failed: \(result.error!.message)")  // checked in the filter
            }
            if changed.contains(where: { $0.error?.reauthorize == true }) { refreshConnected(userID) }
            completion()
        }
    }

    private func refreshConnected(_ userID: String) {
        storage.read({ try CalendarIntegrationTable.active(userID: userID, $0) }) { [self] read in
            guard case .success(let active) = read else { return }  // unchanged until the next outcome
            if active.isEmpty { connectedUsers.remove(userID) } else { connectedUsers.insert(userID) }
        }
    }

    // MARK: Connections

    /// The member's active connections, for a request (503 when the store cannot answer).
    func connections(userID: String, for responder: Responder, then: @escaping ([CalendarIntegrationTable.Integration]) throws(APIError) -> Void) {
        storage.read(for: responder, { try CalendarIntegrationTable.active(userID: userID, $0) }, then: then)
    }

    /// Exchanges `code` at the provider and stores the sealed tokens. Nothing is stored when the
    /// exchange fails. A member already connected to `provider` gets the new tokens on the same
    /// connection (its synced events stay linked).
    func connect(userID: String, provider: CalendarProvider, code: String, redirectURI: String,
                 completion: @escaping (Result<CalendarIntegrationTable.Integration, APIError>) -> Void) {
        guard let vault else { return completion(.failure(Self.notConfigured)) }
        guard let providerSettings = settings[provider], providerSettings.isConfigured else {
            return completion(.failure(.unavailable("provider_not_configured",
                                                    "\(provider.displayName) is not configured on this hub (client id and secret)")))
        }
        serial.run(userID) { [self] done in
            storage.read({ try CalendarIntegrationTable.active(userID: userID, provider: provider.rawValue, $0) }) { [self] read in
                guard case .success(let active) = read else {
                    done()
                    return completion(.failure(.unavailable("store_unavailable", "could not read calendar connections")))
                }
                exchange(code, userID: userID, provider: provider, providerSettings: providerSettings, redirectURI: redirectURI,
                         vault: vault, existing: active.first) { result in
                    done()
                    completion(result)
                }
            }
        }
    }

    /// `connect` inside the member's serial turn: the provider's token exchange, then the row.
    private func exchange(_ code: String, userID: String, provider: CalendarProvider, providerSettings: ProviderSettings, redirectURI: String,
                          vault: TokenVault, existing: CalendarIntegrationTable.Integration?,
                          completion: @escaping (Result<CalendarIntegrationTable.Integration, APIError>) -> Void) {
        let integrationID = existing?.id ?? SecureRandom.uuidV7(nowMs: clock.milliseconds)
        let now = clock.seconds
        submit({
            CalendarConnector.connect(code: code, redirectURI: redirectURI, integrationID: integrationID, settings: providerSettings,
                                      vault: vault, now: now)
        }) { [self] result in
            let connection: CalendarConnector.Connection
            switch result {
            case .failure(let error): return completion(.failure(error.apiError))
            case .success(let made): connection = made
            }
            let now = clock.seconds
            let fresh = CalendarIntegrationTable.Integration(
                id: integrationID, userID: userID, provider: provider.rawValue, providerUserID: connection.accountName,
                accessToken: connection.tokens.access, refreshToken: connection.tokens.refresh,
                tokenExpiresAt: connection.tokens.expiresAt, calendarID: "primary", createdAt: now, updatedAt: now)
            let reconnect = existing != nil
            storage.write({ db -> CalendarIntegrationTable.Integration? in
                if reconnect {
                    try CalendarIntegrationTable.updateTokens(integrationID, accessToken: fresh.accessToken ?? [], refreshToken: fresh.refreshToken,
                                                              expiresAt: connection.tokens.expiresAt, providerUserID: connection.accountName,
                                                              at: now, db)
                } else {
                    try CalendarIntegrationTable.insert(fresh, db)
                }
                return try CalendarIntegrationTable.find(integrationID, db)
            }) { [self] stored in
                switch stored {
                case .success(let integration?):
                    connectedUsers.insert(userID)
                    completion(.success(integration))
                case .success(nil), .failure:
                    completion(.failure(.unavailable("store_unavailable", "the connection could not be saved; connect again")))
                }
            }
        }
    }

    /// Deactivates a member's connection and answers it as it now stands (inactive, no tokens),
    /// then asks the provider (best effort, after the commit) to revoke the tokens.
    func disconnect(userID: String, integrationID: String,
                    completion: @escaping (Result<CalendarIntegrationTable.Integration, APIError>) -> Void) {
        serial.run(userID) { [self] done in
            let finish: (Result<CalendarIntegrationTable.Integration, APIError>) -> Void = { result in
                done()
                completion(result)
            }
            storage.read({ try CalendarIntegrationTable.find(integrationID, $0) }) { [self] read in
                guard case .success(let integration) = read else { return finish(.failure(Storage.unavailable)) }
                guard let integration, integration.userID == userID, integration.isActive else {
                    return finish(.failure(.notFound("calendar connection")))
                }
                deactivate(integration, completion: finish)
            }
        }
    }

    private func deactivate(_ integration: CalendarIntegrationTable.Integration,
                            completion: @escaping (Result<CalendarIntegrationTable.Integration, APIError>) -> Void) {
        let integrationID = integration.id
        let now = clock.seconds
        storage.write({ db in try CalendarIntegrationTable.deactivate(integrationID, reason: nil, at: now, db) }) { [self] result in
            guard case .success = result else {
                return completion(.failure(.unavailable("store_unavailable", "could not disconnect; retry")))
            }
            refreshConnected(integration.userID)
            var disconnected = integration
            disconnected.isActive = false
            disconnected.accessToken = nil
            disconnected.refreshToken = nil
            disconnected.updatedAt = max(now, integration.updatedAt)
            completion(.success(disconnected))
            guard let vault, let provider = CalendarProvider(rawValue: integration.provider),
                  let providerSettings = settings[provider], !providerSettings.revokeURL.isEmpty
            else { return }
            submit({ CalendarConnector.revoke(integration, settings: providerSettings, vault: vault) }) { [logger] revoked in
                if !revoked { logger.notice("\(provider.displayName) did not confirm token revocation for \(integrationID)") }
            }
        }
    }

    // MARK: Threadpool

    func submit<R: Sendable>(_ work: @escaping @Sendable () -> R, completion: @escaping (R) -> Void) {
        jobs += 1
        WorkQueue.submit(on: loop, work: work) { [self] result in
            jobs -= 1
            completion(result)
        }
    }
}

@available(*, unavailable) extension CalendarSync: Sendable {}
