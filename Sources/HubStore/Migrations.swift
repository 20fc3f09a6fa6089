import CSQLite

/// Versioned schema changes, applied in order and recorded in `PRAGMA user_version` (PostgreSQL:
/// the `schema_version` row).
///
/// The tables follow the seed's schema (`api-integration-guide.md`), adapted: ids are UUID
/// text, money is integer minor units with its currency, instants are UTC Unix seconds, spaces
/// carry a time zone, seats, hours and buffers, bookings a hold expiry and a version. Beyond the
/// seed: refresh and reset tokens (stored hashed), an access-token denylist, an email outbox,
/// the event log for resume, idempotency keys, webhook receipts, refunds and calendar feeds.
/// Migrations only ever append: a released migration is never edited.
public enum Migrations {
    /// SQLite's history; `postgres` (Migrations+PostgreSQL.swift) is the same history in
    /// PostgreSQL's dialect, version for version.
    public static let sqlite: [String] = [v1, notifications, appliedPayments, postgresOnly, postgresOnly, revokedAccessSubject]

    public static var latestVersion: Int { sqlite.count }

    /// A version that changes only PostgreSQL's schema (how it arbitrates bookings): SQLite's
    /// side of it is empty, so both histories keep one numbering.
    static let postgresOnly = "-- PostgreSQL only"

    /// The schema version `database` is at: SQLite's `PRAGMA user_version`, PostgreSQL's
    /// `schema_version` row (0 for an empty database).
    public static func version(_ database: Database) throws(StoreError) -> Int {
        switch database.dialect {
        case .sqlite:
            return Int(try database.scalar("PRAGMA user_version") ?? 0)
        case .postgres:
            guard try database.scalar("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_version'") == 1
            else { return 0 }
            return Int(try database.scalar("SELECT version FROM schema_version") ?? 0)
        }
    }

    /// Brings `database` to the latest version. Returns the versions applied.
    @discardableResult
    public static func migrate(_ database: Database) throws(StoreError) -> [Int] {
        switch database.dialect {
        case .sqlite:
            var applied: [Int] = []
            for version in try pending(database) {
                try database.transaction { () throws(StoreError) in
                    try database.executeScript(sqlite[version - 1])
                    try database.execute("PRAGMA user_version = \(version)")
                }
                applied.append(version)
            }
            return applied
        case .postgres:
            // One transaction under an advisory lock: hubs starting together on one database
            // take turns, and the later ones find the versions applied.
            return try database.transaction { () throws(StoreError) in
                try database.execute("SELECT pg_advisory_xact_lock(?)", [.integer(AdvisoryLock.migrations)])
                try database.execute("""
                    CREATE TABLE IF NOT EXISTS schema_version (one boolean PRIMARY KEY DEFAULT true CHECK (one), version integer NOT NULL)
                    """)
                let versions = try pending(database)
                for version in versions {
                    try database.executeScript(postgres[version - 1])
                    try database.execute("""
                        INSERT INTO schema_version (one, version) VALUES (true, ?)
                        ON CONFLICT (one) DO UPDATE SET version = excluded.version
                        """, [.int(version)])
                }
                return versions
            }
        }
    }

    /// The versions `database` lacks, in order; throws when it is newer than this build.
    private static func pending(_ database: Database) throws(StoreError) -> [Int] {
        let current = try version(database)
        guard current <= latestVersion else {
            throw StoreError(code: SQLITE_ERROR, message: "database schema version \(current) is newer than this build (\(latestVersion))")
        }
        return Array((current + 1)..<(latestVersion + 1))
    }

    static let v1 = """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            first_name TEXT NOT NULL,
            last_name TEXT NOT NULL,
            phone TEXT,
            email_verified INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
            suspended_reason TEXT,
            calendar_feed_token_hash TEXT UNIQUE,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX idx_users_created_at ON users(created_at);

        CREATE TABLE admin_users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'super_admin')),
            is_active INTEGER NOT NULL DEFAULT 1,
            last_login INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );

        CREATE TABLE coworking_plans (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
            currency TEXT NOT NULL DEFAULT 'NGN',
            duration TEXT NOT NULL CHECK (duration IN ('hour', 'day', 'week', 'month')),
            seats INTEGER NOT NULL CHECK (seats >= 1),
            features TEXT NOT NULL DEFAULT '[]',
            is_popular INTEGER NOT NULL DEFAULT 0,
            is_active INTEGER NOT NULL DEFAULT 1,
            opening_hours TEXT NOT NULL,
            time_zone TEXT NOT NULL DEFAULT 'Africa/Lagos',
            min_minutes INTEGER NOT NULL,
            max_minutes INTEGER NOT NULL,
            blackout_dates TEXT NOT NULL DEFAULT '[]',
            version INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );

        CREATE TABLE event_spaces (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            capacity INTEGER NOT NULL CHECK (capacity >= 1),
            price_per_hour_minor INTEGER NOT NULL CHECK (price_per_hour_minor >= 0),
            currency TEXT NOT NULL DEFAULT 'NGN',
            features TEXT NOT NULL DEFAULT '[]',
            images TEXT NOT NULL DEFAULT '[]',
            is_active INTEGER NOT NULL DEFAULT 1,
            opening_hours TEXT NOT NULL,
            time_zone TEXT NOT NULL DEFAULT 'Africa/Lagos',
            min_minutes INTEGER NOT NULL,
            max_minutes INTEGER NOT NULL,
            buffer_minutes INTEGER NOT NULL DEFAULT 0,
            blackout_dates TEXT NOT NULL DEFAULT '[]',
            version INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );

        CREATE TABLE bookings (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            booking_type TEXT NOT NULL CHECK (booking_type IN ('coworking', 'event')),
            space_id TEXT NOT NULL,
            space_name TEXT NOT NULL,
            starts_at INTEGER NOT NULL,
            ends_at INTEGER NOT NULL CHECK (ends_at > starts_at),
            time_zone TEXT NOT NULL,
            booking_date TEXT NOT NULL,
            duration TEXT NOT NULL,
            amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
            currency TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'completed', 'cancelled', 'expired')),
            payment_status TEXT NOT NULL CHECK (payment_status IN ('pending', 'paid', 'failed', 'refunded')),
            hold_expires_at INTEGER,
            payment_reference TEXT,
            special_requests TEXT,
            refund_due INTEGER NOT NULL DEFAULT 0,
            cancel_reason TEXT,
            calendar_event_id TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            version INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX idx_bookings_user_created ON bookings(user_id, created_at DESC, id DESC);
        CREATE INDEX idx_bookings_space_start ON bookings(space_id, starts_at);
        CREATE INDEX idx_bookings_status_hold ON bookings(status, hold_expires_at);
        CREATE INDEX idx_bookings_starts_at ON bookings(starts_at);
        CREATE INDEX idx_bookings_created_at ON bookings(created_at);

        CREATE TABLE payments (
            id TEXT PRIMARY KEY,
            booking_id TEXT NOT NULL REFERENCES bookings(id),
            user_id TEXT NOT NULL REFERENCES users(id),
            amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
            currency TEXT NOT NULL,
            payment_method TEXT NOT NULL,
            payment_gateway TEXT NOT NULL,
            gateway_reference TEXT NOT NULL UNIQUE,
            access_code TEXT,
            authorization_url TEXT,
            gateway_response TEXT,
            status TEXT NOT NULL CHECK (status IN ('pending', 'successful', 'failed', 'cancelled', 'refunded')),
            refunded_minor INTEGER NOT NULL DEFAULT 0,
            flagged TEXT,
            verified_at INTEGER,
            verified_by TEXT REFERENCES admin_users(id),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX idx_payments_booking ON payments(booking_id);
        CREATE INDEX idx_payments_status_created ON payments(status, created_at DESC);
        CREATE INDEX idx_payments_user ON payments(user_id);
        -- At most one open (pending) payment per booking.
        CREATE UNIQUE INDEX idx_payments_one_open ON payments(booking_id) WHERE status = 'pending';

        CREATE TABLE refunds (
            id TEXT PRIMARY KEY,
            payment_id TEXT NOT NULL REFERENCES payments(id),
            amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
            status TEXT NOT NULL CHECK (status IN ('pending', 'processed', 'failed')),
            gateway_reference TEXT,
            reason TEXT,
            requested_by TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX idx_refunds_payment ON refunds(payment_id);

        CREATE TABLE webhook_receipts (
            gateway TEXT NOT NULL,
            event TEXT NOT NULL,
            event_key TEXT NOT NULL,
            payload TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            PRIMARY KEY (gateway, event, event_key)
        );

        CREATE TABLE calendar_integrations (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            provider TEXT NOT NULL CHECK (provider IN ('google', 'outlook')),
            provider_user_id TEXT,
            access_token BLOB,
            refresh_token BLOB,
            token_expires_at INTEGER,
            calendar_id TEXT,
            is_active INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX idx_calendar_integrations_user ON calendar_integrations(user_id);

        CREATE TABLE calendar_events (
            booking_id TEXT NOT NULL REFERENCES bookings(id),
            integration_id TEXT NOT NULL REFERENCES calendar_integrations(id),
            external_id TEXT NOT NULL,
            synced_version INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (booking_id, integration_id)
        );

        CREATE TABLE system_settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            description TEXT,
            updated_by TEXT,
            updated_at INTEGER NOT NULL
        );

        CREATE TABLE audit_logs (
            id TEXT PRIMARY KEY,
            admin_id TEXT,
            action TEXT NOT NULL,
            resource TEXT NOT NULL,
            resource_id TEXT,
            old_values TEXT,
            new_values TEXT,
            ip_address TEXT,
            user_agent TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX idx_audit_logs_admin ON audit_logs(admin_id, created_at DESC);
        CREATE INDEX idx_audit_logs_created ON audit_logs(created_at DESC);
        CREATE INDEX idx_audit_logs_resource ON audit_logs(resource, created_at DESC);
        -- Audit rows are append-only: the API has no path to change them, and neither has SQL.
        CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
            BEGIN SELECT RAISE(ABORT, 'audit_logs are append-only'); END;
        CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
            BEGIN SELECT RAISE(ABORT, 'audit_logs are append-only'); END;

        CREATE TABLE refresh_tokens (
            token_hash TEXT PRIMARY KEY,
            subject_id TEXT NOT NULL,
            subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'admin')),
            family_id TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            revoked_at INTEGER,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX idx_refresh_tokens_family ON refresh_tokens(family_id);
        CREATE INDEX idx_refresh_tokens_subject ON refresh_tokens(subject_id);

        CREATE TABLE revoked_access_tokens (
            jti TEXT PRIMARY KEY,
            expires_at INTEGER NOT NULL
        );

        CREATE TABLE subject_revocations (
            subject_id TEXT PRIMARY KEY,
            revoked_before INTEGER NOT NULL
        );

        CREATE TABLE reset_tokens (
            token_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            created_at INTEGER NOT NULL
        );

        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            dedupe_key TEXT UNIQUE,
            recipient TEXT NOT NULL,
            template TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            sent_at INTEGER
        );
        CREATE INDEX idx_outbox_due ON outbox(status, next_attempt_at);

        CREATE TABLE event_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            type TEXT NOT NULL,
            channels TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );

        CREATE TABLE idempotency_keys (
            principal_id TEXT NOT NULL,
            key TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            status INTEGER NOT NULL,
            body TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (principal_id, key)
        );
        CREATE INDEX idx_idempotency_created ON idempotency_keys(created_at);

        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """
}
