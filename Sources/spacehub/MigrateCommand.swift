import ArgumentParser
import Foundation
import HubStore

/// `spacehub migrate`: brings the configured database to the latest schema and exits. `serve`
/// does the same at start; this lets a deployment migrate as a separate step. With `--from` and
/// `--to` it copies a SQLite hub's data into an empty PostgreSQL database instead.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the database schema, or copy a SQLite hub into PostgreSQL, then exit.",
        discussion: """
            Opens the database named by store.url (DATABASE_URL, PostgreSQL) or else store.path \
            (SPACEHUB_DB, SQLite; the file and its directory are created when missing), and applies \
            every pending migration in order. Safe to run again: an up-to-date database is left alone. \
            Exit code 2 for a bad configuration, 1 when the database cannot be opened or migrated.

            spacehub migrate --from sqlite:var/spacehub.sqlite --to postgresql://user:pass@host/db copies \
            every table (users, spaces, bookings, payments, refunds, outbox, audit log, event log and its \
            epoch) into an empty PostgreSQL database, in one transaction. Stop the hub first: the SQLite \
            file is locked while the copy reads it.
            """
    )

    @Option(help: "Path of the JSON configuration file (default: config/spacehub.json when present).")
    var config: String?

    @Option(help: "Copy from this SQLite database (sqlite:PATH) …")
    var from: String?

    @Option(help: "… into this empty PostgreSQL database (postgresql://…).")
    var to: String?

    func validate() throws {
        guard (from == nil) == (to == nil) else { throw ValidationError("--from and --to go together") }
        if let from, !from.hasPrefix("sqlite:") { throw ValidationError("--from takes sqlite:PATH") }
        if let to, !PostgresSettings.isURL(to) { throw ValidationError("--to takes a postgresql:// URL") }
    }

    func run() throws {
        if let from, let to { return try copy(from: String(from.dropFirst("sqlite:".count)), to: to) }
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

    private func copy(from path: String, to url: String) throws {
        let settings = PostgresSettings(url: url)
        do {
            guard FileManager.default.fileExists(atPath: path) else { throw StoreCopy.Refusal(description: "\(path) does not exist") }
            // No hub may write the file meanwhile: the copy would miss what it commits after.
            let lock = try DatabaseFiles.Lock(database: path)
            defer { lock.release() }
            let source = try Database(path: path, readOnly: true)
            var target = settings
            target.statementTimeoutMs = 0  // a large table's copy is one long transaction
            let report = try StoreCopy.copy(from: source, to: try Database(.postgres(target)))
            for (table, rows) in report where rows > 0 { print("\(table)\t\(rows)") }
            print("copied \(path) into \(settings.redactedURL) (\(report.reduce(0) { $0 + $1.rows }) rows)")
        } catch {
            throw CommandSupport.fail("cannot copy \(path) into \(settings.redactedURL): \(error)")
        }
    }
}
