/// The PostgreSQL advisory-lock keys the hub takes, in one place so no two uses collide. Both are
/// below 2^32, so `pg_locks` shows them as `objid` (with `classid` 0).
enum AdvisoryLock {
    /// Held by `StoreClaim` for a hub's life: one hub per database.
    static let hub: Int64 = 730_806_110
    /// Held by `Migrations.migrate` for its transaction: hubs migrating one database take turns.
    static let migrations: Int64 = 730_806_111
}
