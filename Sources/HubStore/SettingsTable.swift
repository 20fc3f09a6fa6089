/// Rows of `system_settings`: typed values as JSON text, keyed by name.
public enum SettingsTable {
    public static func all(_ db: Database) throws(StoreError) -> [(key: String, value: String)] {
        try db.query("SELECT key, value FROM system_settings ORDER BY key", []) { ($0.string(0), $0.string(1)) }
    }

    public static func set(_ key: String, value: String, description: String?, by adminID: String?, at now: Int64,
                           _ db: Database) throws(StoreError) {
        try db.execute("""
            INSERT INTO system_settings (key, value, description, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at
            """, [.text(key), .text(value), .optional(description), .optional(adminID), .instant(now)])
    }
}
