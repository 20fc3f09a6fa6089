/// Rows of `refresh_tokens`, `reset_tokens`, `revoked_access_tokens` and `subject_revocations`.
/// Tokens are stored as SHA-256 hex of their text: a stolen database yields no usable token.
public enum TokenTable {
    public struct Refresh: Sendable, Equatable {
        public let tokenHash: String
        public let subjectID: String
        public let subjectKind: String
        public let familyID: String
        public let expiresAt: Int64
        public let usedAt: Int64?
        public let revokedAt: Int64?
    }

    public static func insertRefresh(hash: String, subjectID: String, subjectKind: String, familyID: String, expiresAt: Int64,
                                     at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("""
            INSERT INTO refresh_tokens (token_hash, subject_id, subject_kind, family_id, expires_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?)
            """, [.text(hash), .text(subjectID), .text(subjectKind), .text(familyID), .instant(expiresAt), .instant(now)])
    }

    public static func findRefresh(hash: String, _ db: Database) throws(StoreError) -> Refresh? {
        try db.queryOne("""
            SELECT token_hash, subject_id, subject_kind, family_id, expires_at, used_at, revoked_at
            FROM refresh_tokens WHERE token_hash = ?
            """, [.text(hash)]) { row in
            Refresh(tokenHash: row.string(0), subjectID: row.string(1), subjectKind: row.string(2), familyID: row.string(3),
                    expiresAt: row.int64(4), usedAt: row.optionalInt64(5), revokedAt: row.optionalInt64(6))
        }
    }

    public static func markUsed(hash: String, at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?", [.instant(now), .text(hash)])
    }

    public static func revokeFamily(_ familyID: String, at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
                       [.instant(now), .text(familyID)])
    }

    public static func revokeSubject(_ subjectID: String, at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("UPDATE refresh_tokens SET revoked_at = ? WHERE subject_id = ? AND revoked_at IS NULL",
                       [.instant(now), .text(subjectID)])
        // Reset links mailed before (a suspension, a password changed or reset) stop working too.
        try db.execute("UPDATE reset_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL", [.instant(now), .text(subjectID)])
        try db.execute("""
            INSERT INTO subject_revocations (subject_id, revoked_before) VALUES (?, ?)
            ON CONFLICT(subject_id) DO UPDATE SET revoked_before = excluded.revoked_before
            """, [.text(subjectID), .instant(now)])
    }

    /// What the hub must know to refuse revoked tokens without reading the store per request.
    public struct Revocations: Sendable {
        /// Denied access tokens (and sessions) still unexpired, with their expiry.
        public var jtis: [String: Int64]
        /// Whose each of `jtis` was, where the row says (rows from before version 6 do not).
        public var jtiSubjects: [String: String] = [:]
        /// Per subject, the instant before which its tokens are void.
        public var subjects: [String: Int64]
        /// Per revoked subject, its sessions (refresh-token families) still live: each began at
        /// or after the revocation, since a revocation revokes every family it finds.
        public var liveSessions: [String: Set<String>]
        /// Members who are suspended.
        public var suspended: Set<String>
    }

    public static func revokeAccess(jti: String, expiresAt: Int64, subject: String, _ db: Database) throws(StoreError) {
        try db.execute("INSERT INTO revoked_access_tokens (jti, expires_at, subject_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                       [.text(jti), .instant(expiresAt), .text(subject)])
    }

    /// Denied access tokens still unexpired at `now`, per-subject revocation instants, the live
    /// sessions of revoked subjects, and suspended members.
    public static func loadRevocations(now: Int64, _ db: Database) throws(StoreError) -> Revocations {
        var loaded = Revocations(jtis: [:], subjects: [:], liveSessions: [:], suspended: try suspendedUsers(db))
        for (jti, expiry, subject) in try db.query("SELECT jti, expires_at, subject_id FROM revoked_access_tokens WHERE expires_at > ?",
                                                   [.instant(now)], { ($0.string(0), $0.int64(1), $0.optionalString(2)) }) {
            loaded.jtis[jti] = expiry
            if let subject { loaded.jtiSubjects[jti] = subject }
        }
        for (subject, before) in try db.query("SELECT subject_id, revoked_before FROM subject_revocations", [], {
            ($0.string(0), $0.int64(1))
        }) { loaded.subjects[subject] = before }
        for (subject, family) in try db.query("""
            SELECT DISTINCT r.subject_id, r.family_id FROM refresh_tokens r
            JOIN subject_revocations s ON s.subject_id = r.subject_id
            WHERE r.revoked_at IS NULL AND r.expires_at > ?
            """, [.instant(now)], { ($0.string(0), $0.string(1)) }) {
            loaded.liveSessions[subject, default: []].insert(family)
        }
        return loaded
    }

    /// Deletes expired rows (housekeeping).
    public static func prune(now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("DELETE FROM revoked_access_tokens WHERE expires_at <= ?", [.instant(now)])
        try db.execute("DELETE FROM refresh_tokens WHERE expires_at <= ?", [.instant(now - 86_400)])
        try db.execute("DELETE FROM reset_tokens WHERE expires_at <= ?", [.instant(now - 86_400)])
    }

    public static func insertReset(hash: String, userID: String, expiresAt: Int64, at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("INSERT INTO reset_tokens (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)",
                       [.text(hash), .text(userID), .instant(expiresAt), .instant(now)])
    }

    /// Marks a reset token used and returns its user, or nil when unknown, used, expired, or its
    /// member is suspended.
    public static func consumeReset(hash: String, at now: Int64, _ db: Database) throws(StoreError) -> String? {
        guard let userID = try db.queryOne("""
            SELECT r.user_id FROM reset_tokens r JOIN users u ON u.id = r.user_id
            WHERE r.token_hash = ? AND r.used_at IS NULL AND r.expires_at > ? AND u.status <> 'suspended'
            """, [.text(hash), .instant(now)], { $0.string(0) }) else { return nil }
        try db.execute("UPDATE reset_tokens SET used_at = ? WHERE token_hash = ?", [.instant(now), .text(hash)])
        return userID
    }

    /// User ids with status `suspended` (checked on every request).
    public static func suspendedUsers(_ db: Database) throws(StoreError) -> Set<String> {
        Set(try db.query("SELECT id FROM users WHERE status = 'suspended'", []) { $0.string(0) })
    }
}
