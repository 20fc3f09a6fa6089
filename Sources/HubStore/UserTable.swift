import HubCore

/// Rows of `users`.
public enum UserTable {
    static let columns = "id, email, password_hash, first_name, last_name, phone, email_verified, status, created_at, updated_at"

    static func decode(_ row: Row) -> User {
        User(id: row.string(0), email: row.string(1), passwordHash: row.string(2), firstName: row.string(3),
             lastName: row.string(4), phone: row.optionalString(5), emailVerified: row.bool(6),
             status: User.Status(rawValue: row.string(7)) ?? .active, createdAt: row.int64(8), updatedAt: row.int64(9))
    }

    public static func insert(_ user: User, _ db: Database) throws(StoreError) {
        try db.execute("INSERT INTO users (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            .text(user.id), .text(user.email), .text(user.passwordHash), .text(user.firstName), .text(user.lastName),
            .optional(user.phone), .bool(user.emailVerified), .text(user.status.rawValue), .instant(user.createdAt),
            .instant(user.updatedAt),
        ])
    }

    public static func find(_ id: String, _ db: Database) throws(StoreError) -> User? {
        try db.queryOne("SELECT \(columns) FROM users WHERE id = ?", [.text(id)], decode)
    }

    public static func find(email: String, _ db: Database) throws(StoreError) -> User? {
        try db.queryOne("SELECT \(columns) FROM users WHERE email = ?", [.text(email)], decode)
    }

    public static func updateProfile(_ user: User, _ db: Database) throws(StoreError) {
        try db.execute("UPDATE users SET first_name = ?, last_name = ?, phone = ?, updated_at = ? WHERE id = ?", [
            .text(user.firstName), .text(user.lastName), .optional(user.phone), .instant(user.updatedAt), .text(user.id),
        ])
    }

    public static func updatePassword(userID: String, hash: String, now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", [.text(hash), .instant(now), .text(userID)])
    }

    public static func updateStatus(userID: String, status: User.Status, reason: String?, now: Int64,
                                    _ db: Database) throws(StoreError) {
        try db.execute("UPDATE users SET status = ?, suspended_reason = ?, updated_at = ? WHERE id = ?", [
            .text(status.rawValue), .optional(reason), .instant(now), .text(userID),
        ])
    }

    /// A user with their booking count and total paid (minor units), for the admin desk.
    public struct Summary: Sendable {
        public let user: User
        public let bookingCount: Int
        public let paidMinor: Int64
        public let suspendedReason: String?
    }

    /// Newest first (insertion order breaks ties within a second); `search` matches name, email
    /// or phone (case-insensitive substring).
    /// `paidMinor` counts payments in `currency` only (a sum of two currencies means nothing).
    public static func search(_ search: String?, currency: String, limit: Int, offset: Int,
                              _ db: Database) throws(StoreError) -> (users: [Summary], total: Int) {
        let filter = search.map { "%" + escapeLike($0.lowercased()) + "%" }
        let whereClause = { (position: Int) in
            filter == nil ? "" : """
                WHERE lower(u.email) LIKE ?\(position) ESCAPE '\\' OR lower(u.first_name || ' ' || u.last_name) LIKE ?\(position) ESCAPE '\\'
                   OR u.phone LIKE ?\(position) ESCAPE '\\'
                """
        }
        let parameters: [SQLValue] = filter.map { [.text($0)] } ?? []
        let rows = try db.query("\(summarySelect) \(whereClause(2)) ORDER BY u.created_at DESC, u.rowid DESC LIMIT \(limit) OFFSET \(offset)",
                                [.text(currency)] + parameters, decodeSummary)
        let total = try db.scalar("SELECT COUNT(*) FROM users u \(whereClause(1))", parameters) ?? 0
        return (rows, Int(total))
    }

    /// One user's summary, by id; `paidMinor` in `currency`.
    public static func summary(_ id: String, currency: String, _ db: Database) throws(StoreError) -> Summary? {
        try db.queryOne("\(summarySelect) WHERE u.id = ?2", [.text(currency), .text(id)], decodeSummary)
    }

    private static let summarySelect = """
        SELECT u.id, u.email, u.password_hash, u.first_name, u.last_name, u.phone, u.email_verified, u.status,
               u.created_at, u.updated_at,
               (SELECT COUNT(*) FROM bookings b WHERE b.user_id = u.id),
               (SELECT COALESCE(SUM(p.amount_minor - p.refunded_minor), 0) FROM payments p
                 WHERE p.user_id = u.id AND p.status IN ('successful', 'refunded') AND p.currency = ?1),
               u.suspended_reason
        FROM users u
        """

    private static func decodeSummary(_ row: Row) -> Summary {
        Summary(user: decode(row), bookingCount: row.int(10), paidMinor: row.int64(11), suspendedReason: row.optionalString(12))
    }

    static func escapeLike(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out
    }
}

/// Rows of `admin_users`.
public enum AdminTable {
    static let columns = "id, email, password_hash, name, role, is_active, last_login, created_at, updated_at"

    static func decode(_ row: Row) -> AdminUser {
        AdminUser(id: row.string(0), email: row.string(1), passwordHash: row.string(2), name: row.string(3),
                  role: AdminUser.Role(rawValue: row.string(4)) ?? .admin, isActive: row.bool(5),
                  lastLogin: row.optionalInt64(6), createdAt: row.int64(7), updatedAt: row.int64(8))
    }

    public static func insert(_ admin: AdminUser, _ db: Database) throws(StoreError) {
        try db.execute("INSERT INTO admin_users (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            .text(admin.id), .text(admin.email), .text(admin.passwordHash), .text(admin.name), .text(admin.role.rawValue),
            .bool(admin.isActive), .optionalInstant(admin.lastLogin), .instant(admin.createdAt), .instant(admin.updatedAt),
        ])
    }

    public static func find(_ id: String, _ db: Database) throws(StoreError) -> AdminUser? {
        try db.queryOne("SELECT \(columns) FROM admin_users WHERE id = ?", [.text(id)], decode)
    }

    public static func find(email: String, _ db: Database) throws(StoreError) -> AdminUser? {
        try db.queryOne("SELECT \(columns) FROM admin_users WHERE email = ?", [.text(email)], decode)
    }

    public static func recordLogin(_ id: String, at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("UPDATE admin_users SET last_login = ? WHERE id = ?", [.instant(now), .text(id)])
    }

    public static func count(_ db: Database) throws(StoreError) -> Int {
        Int(try db.scalar("SELECT COUNT(*) FROM admin_users") ?? 0)
    }

    /// Every administrator, oldest first (`spacehub admin list`).
    public static func all(_ db: Database) throws(StoreError) -> [AdminUser] {
        try db.query("SELECT \(columns) FROM admin_users ORDER BY created_at, rowid", [], decode)
    }

    public static func updatePassword(_ id: String, hash: String, at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("UPDATE admin_users SET password_hash = ?, updated_at = ? WHERE id = ?", [.text(hash), .instant(now), .text(id)])
    }

    public static func setActive(_ id: String, _ active: Bool, at now: Int64, _ db: Database) throws(StoreError) {
        try db.execute("UPDATE admin_users SET is_active = ?, updated_at = ? WHERE id = ?", [.bool(active), .instant(now), .text(id)])
    }
}
