/// The PostgreSQL advisory-lock keys the hub takes, in one place so no two uses collide. Both are
/// below 2^32, so `pg_locks` shows them as `objid` (with `classid` 0).
public enum AdvisoryLock {
    /// Held by the hub that leads the background work of hubs sharing one database (their
    /// event followers bid for it), for as long as its session lives. (730_806_110 was the
    /// one-hub-per-database claim of versions before several hubs could share a database.)
    public static let leader: Int64 = 730_806_113
    /// Held by `Migrations.migrate` for its transaction: hubs migrating one database take turns.
    static let migrations: Int64 = 730_806_111
    /// Held by a starting hub while it decides the event epoch (`HubServices.decideEpoch`).
    public static let epoch: Int64 = 730_806_112
}
