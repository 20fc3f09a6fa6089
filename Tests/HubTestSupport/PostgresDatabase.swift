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

    /// `migrated`: a copy of a database already at the latest schema version (made once per test
    /// process, `template`), which is much cheaper than running every migration for each test.
    public init(_ function: String = #function, migrated: Bool = false) throws {
        let admin = try Database(.postgres(PostgresSettings(url: Self.adminURL!)))
        name = "t_" + function.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(40) + "_" + UUID().uuidString.prefix(8).lowercased()
        if migrated {
            try admin.execute("CREATE DATABASE \(name) OWNER spacehub TEMPLATE \(try Self.template.get())")
        } else {
            try admin.execute("CREATE DATABASE \(name) OWNER spacehub")
        }
        url = Self.url(of: name)
        location = .postgres(PostgresSettings(url: url))
    }

    private static func url(of name: String) -> String {
        let base = roleURL!
        return String(base[..<base.lastIndex(of: "/")!]) + "/" + name
    }

    /// The migrated database `migrated` copies: made on first use, dropped when the process exits.
    /// No connection to it stays open (a database being copied must have none).
    private static let template: Result<String, any Error> = Result { try makeTemplate() }

    private static func makeTemplate() throws -> String {
        let name = "t_template_\(getpid())_" + UUID().uuidString.prefix(8).lowercased()
        try Database(.postgres(PostgresSettings(url: adminURL!))).execute("CREATE DATABASE \(name) OWNER spacehub")
        try Migrations.migrate(try Database(.postgres(PostgresSettings(url: url(of: name)))))
        atexit { PostgresDatabase.dropTemplate() }
        return name
    }

    private static func dropTemplate() {
        guard case .success(let name) = template, let admin = try? Database(.postgres(PostgresSettings(url: adminURL!))) else { return }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
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
