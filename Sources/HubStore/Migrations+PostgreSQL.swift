extension Migrations {
    /// The same history in PostgreSQL's dialect: version N here is version N of `sqlite`, table for
    /// table and column for column, so `spacehub migrate` copies rows across and both stores answer
    /// the same queries. Types are PostgreSQL's own: instants `timestamptz`, money and counters
    /// `bigint` minor units, the ids the hub generates `uuid` (space ids stay text: they are the
    /// seed's slugs). Flags stay small integers (0/1), as the tables write them. Tables whose lists
    /// break ties by insertion order spell out SQLite's implicit `rowid` as an identity column.
    ///
    /// Beyond SQLite's schema, the database arbitrates bookings itself, for the day several hubs
    /// share it and as the last line of defence under one: an exclusion constraint refuses
    /// overlapping holds of an exclusive space (its buffer included, kept on the row as
    /// `blocked`), and a trigger, under a lock on the plan's row, refuses a seat beyond a plan's
    /// capacity. The event log's `seq` comes from a counter row bumped in the appending
    /// transaction: gapless and in commit order, which a SEQUENCE is not.
    ///
    /// A migration whose SQL both understand is one text in both lists (version 3).
    static let postgres: [String] = [postgresV1, postgresNotifications, appliedPayments, postgresOverlapKey, postgresEventOrigin,
                                     revokedAccessSubject]

    static let postgresV1 = """
        CREATE EXTENSION IF NOT EXISTS btree_gist;

        CREATE TABLE users (
            rowid bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            id uuid PRIMARY KEY,
            email text NOT NULL UNIQUE,
            password_hash text NOT NULL,
            first_name text NOT NULL,
            last_name text NOT NULL,
            phone text,
            email_verified smallint NOT NULL DEFAULT 0,
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
            suspended_reason text,
            calendar_feed_token_hash text UNIQUE,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX idx_users_created_at ON users(created_at);

        CREATE TABLE admin_users (
            rowid bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            id uuid PRIMARY KEY,
            email text NOT NULL UNIQUE,
            password_hash text NOT NULL,
            name text NOT NULL,
            role text NOT NULL CHECK (role IN ('admin', 'super_admin')),
            is_active smallint NOT NULL DEFAULT 1,
            last_login timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );

        CREATE TABLE coworking_plans (
            id text PRIMARY KEY,
            name text NOT NULL,
            description text NOT NULL DEFAULT '',
            price_minor bigint NOT NULL CHECK (price_minor >= 0),
            currency text NOT NULL DEFAULT 'NGN',
            duration text NOT NULL CHECK (duration IN ('hour', 'day', 'week', 'month')),
            seats integer NOT NULL CHECK (seats >= 1),
            features text NOT NULL DEFAULT '[]',
            is_popular smallint NOT NULL DEFAULT 0,
            is_active smallint NOT NULL DEFAULT 1,
            opening_hours text NOT NULL,
            time_zone text NOT NULL DEFAULT 'Africa/Lagos',
            min_minutes integer NOT NULL,
            max_minutes integer NOT NULL,
            blackout_dates text NOT NULL DEFAULT '[]',
            version bigint NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );

        CREATE TABLE event_spaces (
            id text PRIMARY KEY,
            name text NOT NULL,
            description text NOT NULL DEFAULT '',
            capacity integer NOT NULL CHECK (capacity >= 1),
            price_per_hour_minor bigint NOT NULL CHECK (price_per_hour_minor >= 0),
            currency text NOT NULL DEFAULT 'NGN',
            features text NOT NULL DEFAULT '[]',
            images text NOT NULL DEFAULT '[]',
            is_active smallint NOT NULL DEFAULT 1,
            opening_hours text NOT NULL,
            time_zone text NOT NULL DEFAULT 'Africa/Lagos',
            min_minutes integer NOT NULL,
            max_minutes integer NOT NULL,
            buffer_minutes integer NOT NULL DEFAULT 0,
            blackout_dates text NOT NULL DEFAULT '[]',
            version bigint NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );

        CREATE TABLE bookings (
            rowid bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            id uuid PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES users(id),
            booking_type text NOT NULL CHECK (booking_type IN ('coworking', 'event')),
            space_id text NOT NULL,
            space_name text NOT NULL,
            starts_at timestamptz NOT NULL,
            ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
            time_zone text NOT NULL,
            booking_date text NOT NULL,
            duration text NOT NULL,
            amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
            currency text NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'completed', 'cancelled', 'expired')),
            payment_status text NOT NULL CHECK (payment_status IN ('pending', 'paid', 'failed', 'refunded')),
            hold_expires_at timestamptz,
            payment_reference text,
            special_requests text,
            refund_due smallint NOT NULL DEFAULT 0,
            cancel_reason text,
            calendar_event_id text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            version bigint NOT NULL DEFAULT 1,
            -- What an event booking keeps from others: its own time and the space's buffer after
            -- it (set by bookings_blocked from the space's buffer when the time is written).
            -- [s, e + buffer) and [a, b + buffer) overlap iff s < b + buffer and a < e + buffer,
            -- the index's rule.
            blocked tstzrange
        );
        CREATE INDEX idx_bookings_user_created ON bookings(user_id, created_at DESC, id DESC);
        CREATE INDEX idx_bookings_space_start ON bookings(space_id, starts_at);
        CREATE INDEX idx_bookings_status_hold ON bookings(status, hold_expires_at);
        CREATE INDEX idx_bookings_starts_at ON bookings(starts_at);
        CREATE INDEX idx_bookings_created_at ON bookings(created_at);

        CREATE FUNCTION bookings_blocked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.booking_type = 'event' THEN
                NEW.blocked := tstzrange(NEW.starts_at, NEW.ends_at + make_interval(mins =>
                    COALESCE((SELECT buffer_minutes FROM event_spaces WHERE id = NEW.space_id), 0)), '[)');
            ELSE
                NEW.blocked := NULL;
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER bookings_blocked BEFORE INSERT OR UPDATE OF starts_at, ends_at, space_id, booking_type ON bookings
            FOR EACH ROW EXECUTE FUNCTION bookings_blocked();

        -- No two bookings holding time in one exclusive space overlap, buffers included.
        ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist (space_id WITH =, blocked WITH &&)
            WHERE (blocked IS NOT NULL AND status IN ('pending', 'confirmed', 'completed'));

        -- A coworking plan never holds more overlapping bookings than it has seats. No constraint
        -- says "at most N overlap", so a trigger checks the depth under a lock on the plan's row:
        -- writers to one plan take turns, and the count each sees is final (READ COMMITTED).
        CREATE FUNCTION bookings_seats() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            capacity integer;
            deepest bigint;
        BEGIN
            SELECT seats INTO capacity FROM coworking_plans WHERE id = NEW.space_id FOR UPDATE;
            IF capacity IS NULL THEN RETURN NEW; END IF;
            SELECT COALESCE(max(depth), 0) INTO deepest FROM (
                SELECT count(*) AS depth FROM (
                    SELECT NEW.starts_at AS instant
                    UNION SELECT starts_at FROM bookings
                        WHERE space_id = NEW.space_id AND id <> NEW.id AND status IN ('pending', 'confirmed', 'completed')
                          AND starts_at > NEW.starts_at AND starts_at < NEW.ends_at
                ) points
                JOIN bookings b ON b.space_id = NEW.space_id AND b.id <> NEW.id
                    AND b.status IN ('pending', 'confirmed', 'completed')
                    AND b.starts_at <= points.instant AND b.ends_at > points.instant
                GROUP BY points.instant
            ) depths;
            IF deepest + 1 > capacity THEN
                RAISE EXCEPTION 'plan % has no seat left between % and %', NEW.space_id, NEW.starts_at, NEW.ends_at
                    USING ERRCODE = 'exclusion_violation';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER bookings_seats BEFORE INSERT OR UPDATE OF starts_at, ends_at, status, space_id ON bookings
            FOR EACH ROW WHEN (NEW.booking_type = 'coworking' AND NEW.status IN ('pending', 'confirmed', 'completed'))
            EXECUTE FUNCTION bookings_seats();

        CREATE TABLE payments (
            rowid bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            id uuid PRIMARY KEY,
            booking_id uuid NOT NULL REFERENCES bookings(id),
            user_id uuid NOT NULL REFERENCES users(id),
            amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
            currency text NOT NULL,
            payment_method text NOT NULL,
            payment_gateway text NOT NULL,
            gateway_reference text NOT NULL UNIQUE,
            access_code text,
            authorization_url text,
            gateway_response text,
            status text NOT NULL CHECK (status IN ('pending', 'successful', 'failed', 'cancelled', 'refunded')),
            refunded_minor bigint NOT NULL DEFAULT 0,
            flagged text,
            verified_at timestamptz,
            verified_by uuid REFERENCES admin_users(id),
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX idx_payments_booking ON payments(booking_id);
        CREATE INDEX idx_payments_status_created ON payments(status, created_at DESC);
        CREATE INDEX idx_payments_user ON payments(user_id);
        CREATE UNIQUE INDEX idx_payments_one_open ON payments(booking_id) WHERE status = 'pending';

        CREATE TABLE refunds (
            rowid bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            id uuid PRIMARY KEY,
            payment_id uuid NOT NULL REFERENCES payments(id),
            amount_minor bigint NOT NULL CHECK (amount_minor > 0),
            status text NOT NULL CHECK (status IN ('pending', 'processed', 'failed')),
            gateway_reference text,
            reason text,
            requested_by text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX idx_refunds_payment ON refunds(payment_id);

        CREATE TABLE webhook_receipts (
            gateway text NOT NULL,
            event text NOT NULL,
            event_key text NOT NULL,
            payload text NOT NULL,
            received_at timestamptz NOT NULL,
            PRIMARY KEY (gateway, event, event_key)
        );

        CREATE TABLE calendar_integrations (
            id text PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES users(id),
            provider text NOT NULL CHECK (provider IN ('google', 'outlook')),
            provider_user_id text,
            access_token bytea,
            refresh_token bytea,
            token_expires_at timestamptz,
            calendar_id text,
            is_active smallint NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX idx_calendar_integrations_user ON calendar_integrations(user_id);

        CREATE TABLE calendar_events (
            booking_id uuid NOT NULL REFERENCES bookings(id),
            integration_id text NOT NULL REFERENCES calendar_integrations(id),
            external_id text NOT NULL,
            synced_version bigint NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (booking_id, integration_id)
        );

        CREATE TABLE system_settings (
            key text PRIMARY KEY,
            value text NOT NULL,
            description text,
            updated_by text,
            updated_at timestamptz NOT NULL
        );

        CREATE TABLE audit_logs (
            rowid bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            id text PRIMARY KEY,
            admin_id text,
            action text NOT NULL,
            resource text NOT NULL,
            resource_id text,
            old_values text,
            new_values text,
            ip_address text,
            user_agent text,
            created_at timestamptz NOT NULL
        );
        CREATE INDEX idx_audit_logs_admin ON audit_logs(admin_id, created_at DESC);
        CREATE INDEX idx_audit_logs_created ON audit_logs(created_at DESC);
        CREATE INDEX idx_audit_logs_resource ON audit_logs(resource, created_at DESC);
        CREATE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_logs are append-only';
        END $$;
        CREATE TRIGGER audit_logs_no_change BEFORE UPDATE OR DELETE ON audit_logs
            FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();

        CREATE TABLE refresh_tokens (
            token_hash text PRIMARY KEY,
            subject_id text NOT NULL,
            subject_kind text NOT NULL CHECK (subject_kind IN ('user', 'admin')),
            family_id text NOT NULL,
            expires_at timestamptz NOT NULL,
            used_at timestamptz,
            revoked_at timestamptz,
            created_at timestamptz NOT NULL
        );
        CREATE INDEX idx_refresh_tokens_family ON refresh_tokens(family_id);
        CREATE INDEX idx_refresh_tokens_subject ON refresh_tokens(subject_id);

        CREATE TABLE revoked_access_tokens (
            jti text PRIMARY KEY,
            expires_at timestamptz NOT NULL
        );

        CREATE TABLE subject_revocations (
            subject_id text PRIMARY KEY,
            revoked_before timestamptz NOT NULL
        );

        CREATE TABLE reset_tokens (
            token_hash text PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES users(id),
            expires_at timestamptz NOT NULL,
            used_at timestamptz,
            created_at timestamptz NOT NULL
        );

        CREATE TABLE outbox (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            kind text NOT NULL,
            dedupe_key text UNIQUE,
            recipient text NOT NULL,
            template text NOT NULL,
            payload text NOT NULL,
            status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL,
            last_error text,
            created_at timestamptz NOT NULL,
            sent_at timestamptz
        );
        CREATE INDEX idx_outbox_due ON outbox(status, next_attempt_at);

        CREATE TABLE event_log (
            seq bigint PRIMARY KEY,
            type text NOT NULL,
            channels text NOT NULL,
            payload text NOT NULL,
            created_at timestamptz NOT NULL
        );
        -- The last seq handed out. Appending bumps it in the appending transaction: a rollback gives
        -- the number back (no gaps), and its row lock, held to COMMIT, orders seq as commits are.
        CREATE TABLE event_log_head (
            one boolean PRIMARY KEY DEFAULT true CHECK (one),
            seq bigint NOT NULL
        );
        INSERT INTO event_log_head (one, seq) VALUES (true, 0);

        CREATE TABLE idempotency_keys (
            principal_id text NOT NULL,
            key text NOT NULL,
            request_hash text NOT NULL,
            status integer NOT NULL,
            body text NOT NULL,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (principal_id, key)
        );
        CREATE INDEX idx_idempotency_created ON idempotency_keys(created_at);

        CREATE TABLE meta (
            key text PRIMARY KEY,
            value text NOT NULL
        );
        """

    static let postgresNotifications = """
        ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
        ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'sent', 'dead', 'skipped'));
        ALTER TABLE outbox ADD COLUMN last_attempt_at timestamptz;

        ALTER TABLE calendar_integrations ADD COLUMN last_synced_at timestamptz;
        ALTER TABLE calendar_integrations ADD COLUMN last_error text;
        CREATE UNIQUE INDEX idx_calendar_integrations_one_active ON calendar_integrations(user_id, provider) WHERE is_active = 1;
        CREATE INDEX idx_calendar_events_integration ON calendar_events(integration_id);
        """

    /// Version 4: the overlap constraint compares a 64-bit hash of the space id instead of the
    /// text itself. btree_gist detoasts and collates a text key at every comparison, which was
    /// the largest part of the server's CPU per booking (BENCHMARKS.md, PostgreSQL); an integer
    /// compares in one instruction. Equal ids have equal hashes, so no overlap within a space can
    /// pass; two spaces whose ids collide (odds of 2^-64 per pair) would only see each other's
    /// bookings refused, never a double booking let through.
    static let postgresOverlapKey = """
        ALTER TABLE bookings ADD COLUMN blocked_space bigint;

        CREATE OR REPLACE FUNCTION bookings_blocked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.booking_type = 'event' THEN
                NEW.blocked := tstzrange(NEW.starts_at, NEW.ends_at + make_interval(mins =>
                    COALESCE((SELECT buffer_minutes FROM event_spaces WHERE id = NEW.space_id), 0)), '[)');
                NEW.blocked_space := hashtextextended(NEW.space_id, 0);
            ELSE
                NEW.blocked := NULL;
                NEW.blocked_space := NULL;
            END IF;
            RETURN NEW;
        END $$;
        UPDATE bookings SET blocked_space = hashtextextended(space_id, 0) WHERE blocked IS NOT NULL;

        ALTER TABLE bookings DROP CONSTRAINT bookings_no_overlap;
        ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist (blocked_space WITH =, blocked WITH &&)
            WHERE (blocked IS NOT NULL AND status IN ('pending', 'confirmed', 'completed'));
        """

    /// Version 5: which hub process appended each event (`EventLogTable.thisProcess`). Hubs
    /// sharing the database follow each other's events; a hub's follower skips its own, which it
    /// published when it committed them, instead of reading every one back with its payload.
    static let postgresEventOrigin = """
        ALTER TABLE event_log ADD COLUMN origin bigint NOT NULL DEFAULT 0;
        """
}
