import HubCore

/// Rows of `calendar_integrations`: a member's OAuth connection to Google Calendar or Outlook.
/// Tokens are stored sealed (AES-256-GCM, sealed and opened by the server, never here).
public enum CalendarIntegrationTable {
    public struct Integration: Sendable, Equatable {
        public let id: String
        public let userID: String
        /// "google" or "outlook".
        public let provider: String
        public var providerUserID: String?
        public var accessToken: [UInt8]?
        public var refreshToken: [UInt8]?
        /// Unix seconds when the access token lapses.
        public var tokenExpiresAt: Int64?
        public var calendarID: String?
        public var isActive: Bool
        public let createdAt: Int64
        public var updatedAt: Int64
        public var lastSyncedAt: Int64?
        public var lastError: String?

        public init(id: String, userID: String, provider: String, providerUserID: String?, accessToken: [UInt8]?,
                    refreshToken: [UInt8]?, tokenExpiresAt: Int64?, calendarID: String?, isActive: Bool = true,
                    createdAt: Int64, updatedAt: Int64, lastSyncedAt: Int64? = nil, lastError: String? = nil) {
            self.id = id
            self.userID = userID
            self.provider = provider
            self.providerUserID = providerUserID
            self.accessToken = accessToken
            self.refreshToken = refreshToken
            self.tokenExpiresAt = tokenExpiresAt
            self.calendarID = calendarID
            self.isActive = isActive
            self.createdAt = createdAt
            self.updatedAt = updatedAt
            self.lastSyncedAt = lastSyncedAt
            self.lastError = lastError
        }
    }

    static let columns = """
        id, user_id, provider, provider_user_id, access_token, refresh_token, token_expires_at, calendar_id, is_active,
        created_at, updated_at, last_synced_at, last_error
        """

    static func decode(_ row: Row) -> Integration {
        Integration(id: row.string(0), userID: row.string(1), provider: row.string(2), providerUserID: row.optionalString(3),
                    accessToken: row.isNull(4) ? nil : row.blob(4), refreshToken: row.isNull(5) ? nil : row.blob(5),
                    tokenExpiresAt: row.optionalInt64(6), calendarID: row.optionalString(7), isActive: row.bool(8),
                    createdAt: row.int64(9), updatedAt: row.int64(10), lastSyncedAt: row.optionalInt64(11),
                    lastError: row.optionalString(12))
    }

    private static func blob(_ bytes: [UInt8]?) -> SQLValue { bytes.map(SQLValue.blob) ?? .null }

    public static func insert(_ integration: Integration, _ db: Database) throws(StoreError) {
        try db.execute("""
            INSERT INTO calendar_integrations (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [
                .text(integration.id), .text(integration.userID), .text(integration.provider),
                .optional(integration.providerUserID), blob(integration.accessToken), blob(integration.refreshToken),
                .optionalInstant(integration.tokenExpiresAt), .optional(integration.calendarID), .bool(integration.isActive),
                .instant(integration.createdAt), .instant(integration.updatedAt), .optionalInstant(integration.lastSyncedAt),
                .optional(integration.lastError),
            ])
    }

    /// Replaces the tokens of an active connection (a reconnect, or a refresh).
    public static func updateTokens(_ id: String, accessToken: [UInt8], refreshToken: [UInt8]?, expiresAt: Int64,
                                    providerUserID: String?, at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("""
            UPDATE calendar_integrations SET access_token = ?, refresh_token = COALESCE(?, refresh_token), token_expires_at = ?,
                provider_user_id = COALESCE(?, provider_user_id), updated_at = ?
            WHERE id = ? AND is_active = 1
            """, [.blob(accessToken), blob(refreshToken), .instant(expiresAt), .optional(providerUserID), .instant(now), .text(id)])
    }

    public static func find(_ id: String, _ db: Database) throws(StoreError) -> Integration? {
        try db.queryOne("SELECT \(columns) FROM calendar_integrations WHERE id = ?", [.text(id)], decode)
    }

    /// A member's active connections, oldest first; only `provider` when given.
    public static func active(userID: String, provider: String? = nil, _ db: Database) throws(StoreError) -> [Integration] {
        if let provider {
            return try db.query("""
                SELECT \(columns) FROM calendar_integrations WHERE user_id = ? AND provider = ? AND is_active = 1 ORDER BY created_at
                """, [.text(userID), .text(provider)], decode)
        }
        return try db.query("SELECT \(columns) FROM calendar_integrations WHERE user_id = ? AND is_active = 1 ORDER BY created_at, provider",
                            [.text(userID)], decode)
    }

    /// Members with at least one active connection (loaded at start for the booking hook).
    public static func connectedUserIDs(_ db: Database) throws(StoreError) -> [String] {
        try db.query("SELECT DISTINCT user_id FROM calendar_integrations WHERE is_active = 1", []) { $0.string(0) }
    }

    /// Disconnects: inactive, tokens erased (they are useless to us afterwards and a liability).
    @discardableResult
    public static func deactivate(_ id: String, reason: String?, at now: Int64, _ db: Database) throws(StoreError) -> Bool {
        try db.execute("""
            UPDATE calendar_integrations SET is_active = 0, access_token = NULL, refresh_token = NULL, updated_at = ?,
                last_error = COALESCE(?, last_error)
            WHERE id = ? AND is_active = 1
            """, [.instant(now), .optional(reason), .text(id)]) == 1
    }

    /// The outcome of a sync: success clears the error.
    public static func recordSync(_ id: String, error: String?, at now: Int64, _ db: Database) throws(StoreError) {
        if let error {
            try db.execute("UPDATE calendar_integrations SET last_error = ? WHERE id = ?", [.text(String(error.prefix(500))), .text(id)])
        } else {
            try db.execute("UPDATE calendar_integrations SET last_synced_at = ?, last_error = NULL WHERE id = ?",
                           [.instant(now), .text(id)])
        }
    }
}

/// Rows of `calendar_events`: which provider event mirrors which booking, and at which booking
/// version it was last written.
public enum CalendarEventTable {
    public struct Link: Sendable, Equatable {
        public let bookingID: String
        public let integrationID: String
        public let externalID: String
        public let syncedVersion: Int

        public init(bookingID: String, integrationID: String, externalID: String, syncedVersion: Int) {
            self.bookingID = bookingID
            self.integrationID = integrationID
            self.externalID = externalID
            self.syncedVersion = syncedVersion
        }
    }

    public static func forBooking(_ bookingID: String, _ db: Database) throws(StoreError) -> [Link] {
        try db.query("SELECT booking_id, integration_id, external_id, synced_version FROM calendar_events WHERE booking_id = ?",
                     [.text(bookingID)]) { Link(bookingID: $0.string(0), integrationID: $0.string(1), externalID: $0.string(2), syncedVersion: $0.int(3)) }
    }

    public static func upsert(_ link: Link, at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("""
            INSERT INTO calendar_events (booking_id, integration_id, external_id, synced_version, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(booking_id, integration_id) DO UPDATE SET external_id = excluded.external_id,
                synced_version = excluded.synced_version, updated_at = excluded.updated_at
            """, [.text(link.bookingID), .text(link.integrationID), .text(link.externalID), .int(link.syncedVersion), .instant(now)])
    }

    public static func remove(bookingID: String, integrationID: String, _ db: Database) throws(StoreError) {
        try db.execute("DELETE FROM calendar_events WHERE booking_id = ? AND integration_id = ?",
                       [.text(bookingID), .text(integrationID)])
    }

    /// Bookings whose provider events are behind, for the periodic reconciliation: upcoming
    /// confirmed bookings of connected members never written or written at an older version,
    /// and cancelled or expired bookings whose event still exists. At most `limit`.
    public static func behind(now: Int64, limit: Int, _ db: Database) throws(StoreError) -> [(bookingID: String, userID: String)] {
        try db.query("""
            SELECT DISTINCT b.id, b.user_id FROM calendar_integrations i
            JOIN bookings b ON b.user_id = i.user_id
            LEFT JOIN calendar_events e ON e.booking_id = b.id AND e.integration_id = i.id
            WHERE i.is_active = 1 AND (
                (b.status = 'confirmed' AND b.ends_at > ? AND (e.booking_id IS NULL OR e.synced_version < b.version))
                OR (b.status = 'pending' AND b.ends_at > ? AND e.booking_id IS NOT NULL AND e.synced_version < b.version)
                OR (b.status IN ('cancelled', 'expired') AND e.booking_id IS NOT NULL))
            LIMIT ?
            """, [.instant(now), .instant(now), .int(limit)]) { (bookingID: $0.string(0), userID: $0.string(1)) }
    }
}

/// The secret per-member ICS feed URL: only the SHA-256 of its token is stored
/// (`users.calendar_feed_token_hash`, unique), so a database leak does not reveal feed URLs.
public enum CalendarFeedTable {
    /// Sets (rotates) or clears the member's feed token hash. Returns false for an unknown user.
    @discardableResult
    public static func setTokenHash(userID: String, hash: String?, at now: Int64, _ db: Database) throws(StoreError) -> Bool {
        try db.execute("UPDATE users SET calendar_feed_token_hash = ?, updated_at = ? WHERE id = ?",
                       [.optional(hash), .instant(now), .text(userID)]) == 1
    }

    /// The member whose feed token hashes to `tokenHash`; nil for none, or a suspended member
    /// (whose feed answers 404 until reinstated).
    public static func user(tokenHash: String, _ db: Database) throws(StoreError) -> User? {
        try db.queryOne("SELECT \(UserTable.columns) FROM users WHERE calendar_feed_token_hash = ? AND status <> 'suspended'",
                        [.text(tokenHash)], UserTable.decode)
    }

    public static func hasFeed(userID: String, _ db: Database) throws(StoreError) -> Bool {
        try db.scalar("SELECT COUNT(*) FROM users WHERE id = ? AND calendar_feed_token_hash IS NOT NULL", [.text(userID)]) == 1
    }
}

extension BookingTable {
    /// Confirmed bookings starting in `(after, through]` that have no outbox row with their
    /// reminder key yet (`reminder:<id>:<starts_at>`), earliest first.
    public static func awaitingReminder(after: Int64, through: Int64, limit: Int,
                                        _ db: Database) throws(StoreError) -> [Booking] {
        try db.query("""
            SELECT \(columns) FROM bookings
            WHERE status = 'confirmed' AND starts_at > ? AND starts_at <= ?
              AND NOT EXISTS (SELECT 1 FROM outbox WHERE dedupe_key = 'reminder:' || bookings.id || ':' || \(db.epochSeconds("bookings.starts_at")))
            ORDER BY starts_at LIMIT ?
            """, [.instant(after), .instant(through), .int(limit)], decode)
    }
}
