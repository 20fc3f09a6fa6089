import Foundation
import HubStore

/// A fresh database on the test run's PostgreSQL: scripts/test.sh starts a private cluster
/// (scripts/pg.sh) and names it in `SPACEHUB_TEST_PG_ADMIN` (a superuser URL of its `postgres`
/// database) and `SPACEHUB_TEST_PG` (the URL with the `spacehub` role). Each test gets a database of
/// its own, dropped when the value goes.
public final class PostgresDatabase {
    public static let adminURL = ProcessInfo.processInfo.environment["SPACEHUB_TEST_PG_ADMIN"]
    public static let roleURL = ProcessInfo.processInfo.environment["SPACEHUB_TEST_PG"]
    public static var available: Bool { adminURL != nil && roleURL != nil }

    public let name: String
    public let location: StoreLocation
    /// The database's URL with the `spacehub` role, for a hub's `store.url`.
    public let url: String

    public init(_ function: String = #function) throws {
        let admin = try Database(.postgres(PostgresSettings(url: Self.adminURL!)))
        name = "t_" + function.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(40) + "_" + UUID().uuidString.prefix(8).lowercased()
        try admin.execute("CREATE DATABASE \(name) OWNER spacehub")
        let base = Self.roleURL!
        let url = String(base[..<base.lastIndex(of: "/")!]) + "/" + name
        self.url = url
        location = .postgres(PostgresSettings(url: url))
    }

    public func open(migrated: Bool = true) throws -> Database {
        let database = try Database(location)
        if migrated { try Migrations.migrate(database) }
        return database
    }

    deinit {
        if let admin = try? Database(.postgres(PostgresSettings(url: Self.adminURL!))) {
            _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }
}
