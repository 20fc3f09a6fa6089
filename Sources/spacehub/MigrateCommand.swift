import ArgumentParser
import HubStore

/// `spacehub migrate`: brings the configured database to the latest schema and exits. `serve`
/// does the same at start; this lets a deployment migrate as a separate step.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the database schema, then exit.",
        discussion: """
            Opens the database named by store.url (DATABASE_URL, PostgreSQL) or else store.path \
            (SPACEHUB_DB, SQLite; the file and its directory are created when missing), and applies \
            every pending migration in order. \
            Safe to run again: an up-to-date database is left alone. Exit code 2 for a bad configuration, \
            1 when the database cannot be opened or migrated.
            """
    )

    @Option(help: "Path of the JSON configuration file (default: config/spacehub.json when present).")
    var config: String?

    func run() throws {
        let loaded = try CommandSupport.loadConfig(path: config)
        let (_, applied, lock) = try CommandSupport.openMigrated(loaded)
        defer { lock?.release() }
        let path = loaded.store.location.description
        if applied.isEmpty {
            print("\(path) is up to date (schema version \(Migrations.latestVersion))")
        } else {
            let versions = applied.map(String.init).joined(separator: ", ")
            print("\(path) migrated to schema version \(Migrations.latestVersion) (applied: \(versions))")
        }
    }
}
