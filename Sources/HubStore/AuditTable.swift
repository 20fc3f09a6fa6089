/// Rows of `audit_logs`: who did what to which record, append-only (triggers refuse UPDATE
/// and DELETE). Written in the same transaction as the change they record.
public enum AuditTable {
    public struct Entry: Sendable, Equatable {
        public let id: String
        public let adminID: String?
        public let action: String
        public let resource: String
        public let resourceID: String?
        /// JSON text of the values before and after; nil where not applicable.
        public let oldValues: String?
        public let newValues: String?
        public let ipAddress: String?
        public let userAgent: String?
        public let createdAt: Int64

        public init(id: String, adminID: String?, action: String, resource: String, resourceID: String?, oldValues: String?,
                    newValues: String?, ipAddress: String?, userAgent: String?, createdAt: Int64) {
            self.id = id
            self.adminID = adminID
            self.action = action
            self.resource = resource
            self.resourceID = resourceID
            self.oldValues = oldValues
            self.newValues = newValues
            self.ipAddress = ipAddress
            self.userAgent = userAgent
            self.createdAt = createdAt
        }
    }

    public static func insert(_ entry: Entry, _ db: Database) throws(StoreError) {
        try db.execute("""
            INSERT INTO audit_logs (id, admin_id, action, resource, resource_id, old_values, new_values, ip_address, user_agent, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [
                .text(entry.id), .optional(entry.adminID), .text(entry.action), .text(entry.resource), .optional(entry.resourceID),
                .optional(entry.oldValues), .optional(entry.newValues), .optional(entry.ipAddress), .optional(entry.userAgent),
                .instant(entry.createdAt),
            ])
    }

    public struct Filter: Sendable {
        public var actor: String?
        public var resource: String?
        public var from: Int64?
        public var to: Int64?
        public init(actor: String? = nil, resource: String? = nil, from: Int64? = nil, to: Int64? = nil) {
            self.actor = actor
            self.resource = resource
            self.from = from
            self.to = to
        }
    }

    /// Newest first. Ids carry whole seconds only, so insertion order (the rowid of an
    /// append-only table) orders the rows of one second.
    public static func list(_ filter: Filter, limit: Int, offset: Int, _ db: Database) throws(StoreError) -> (entries: [Entry], total: Int) {
        var clauses: [String] = []
        var parameters: [SQLValue] = []
        if let actor = filter.actor { clauses.append("admin_id = ?"); parameters.append(.text(actor)) }
        if let resource = filter.resource { clauses.append("resource = ?"); parameters.append(.text(resource)) }
        if let from = filter.from { clauses.append("created_at >= ?"); parameters.append(.instant(from)) }
        if let to = filter.to { clauses.append("created_at < ?"); parameters.append(.instant(to)) }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let entries = try db.query("""
            SELECT id, admin_id, action, resource, resource_id, old_values, new_values, ip_address, user_agent, created_at
            FROM audit_logs \(whereClause) ORDER BY created_at DESC, rowid DESC LIMIT \(limit) OFFSET \(offset)
            """, parameters) { row in
            Entry(id: row.string(0), adminID: row.optionalString(1), action: row.string(2), resource: row.string(3),
                  resourceID: row.optionalString(4), oldValues: row.optionalString(5), newValues: row.optionalString(6),
                  ipAddress: row.optionalString(7), userAgent: row.optionalString(8), createdAt: row.int64(9))
        }
        let total = try db.scalar("SELECT COUNT(*) FROM audit_logs \(whereClause)", parameters) ?? 0
        return (entries, Int(total))
    }
}
