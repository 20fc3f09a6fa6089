extension Migrations {
    /// Email delivery and calendar sync (issue 10), appended after `v1`.
    ///
    /// - `outbox` is rebuilt (SQLite cannot change a CHECK in place) to allow the `skipped` status
    ///   (a reminder whose booking was cancelled or moved before it went out) and to record
    ///   `last_attempt_at`, so the backoff is visible: `next_attempt_at - last_attempt_at` is the
    ///   delay chosen after the latest failure. Rows and ids are copied unchanged; AUTOINCREMENT
    ///   continues after the largest id ever assigned (the counter is carried over).
    /// - `calendar_integrations` gains the outcome of its latest sync, and at most one active
    ///   connection per user and provider (a reconnect replaces the tokens of the active row).
    static let notifications = """
        CREATE TABLE outbox_rebuilt (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            dedupe_key TEXT UNIQUE,
            recipient TEXT NOT NULL,
            template TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead', 'skipped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            sent_at INTEGER,
            last_attempt_at INTEGER
        );
        INSERT INTO outbox_rebuilt (id, kind, dedupe_key, recipient, template, payload, status, attempts, next_attempt_at,
                                    last_error, created_at, sent_at)
            SELECT id, kind, dedupe_key, recipient, template, payload, status, attempts, next_attempt_at, last_error,
                   created_at, sent_at
            FROM outbox;
        -- Carry the AUTOINCREMENT counter over, so ids of deleted rows are never handed out again.
        DELETE FROM sqlite_sequence WHERE name = 'outbox_rebuilt';
        INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_rebuilt', seq FROM sqlite_sequence WHERE name = 'outbox';
        DROP TABLE outbox;
        ALTER TABLE outbox_rebuilt RENAME TO outbox;
        CREATE INDEX idx_outbox_due ON outbox(status, next_attempt_at);

        ALTER TABLE calendar_integrations ADD COLUMN last_synced_at INTEGER;
        ALTER TABLE calendar_integrations ADD COLUMN last_error TEXT;
        CREATE UNIQUE INDEX idx_calendar_integrations_one_active ON calendar_integrations(user_id, provider) WHERE is_active = 1;
        CREATE INDEX idx_calendar_events_integration ON calendar_events(integration_id);
        """
}
