import ArgumentParser
import Foundation
import HubServer
import HubStore

/// `spacehub backup --to FILE`: a consistent copy of the database, taken while the hub serves.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database to a new file, consistently, while the hub keeps serving.",
        discussion: """
            The copy holds every transaction committed before it began (SQLite's VACUUM INTO on a read \
            transaction of its own; the hub goes on committing meanwhile), passes PRAGMA integrity_check, and is \
            created readable by its owner only. FILE must not exist. Restore it with `spacehub restore`.
            """
    )

    @Option(help: "The backup file to create.") var to: String
    @Option(help: "Path of the JSON configuration file (default: config/spacehub.json when present).")
    var config: String?

    func run() throws {
        let loaded = try CommandSupport.loadConfig(path: config)
        try CommandSupport.requireSQLite(loaded, "backup")
        let source = loaded.store.path
        guard FileManager.default.fileExists(atPath: source) else { throw CommandSupport.fail("there is no database at \(source)") }
        let began = Date()
        do {
            let bytes = try Backup.copy(from: source, to: to)
            print(String(format: "backed up %@ to %@ (%lld bytes, integrity ok, %.1f s)", source, to, bytes,
                         Date().timeIntervalSince(began)))
        } catch {
            throw CommandSupport.fail("backup failed: \(error)")
        }
    }
}

/// `spacehub restore --from FILE`: puts a backup in place of the database (the hub stopped).
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the database with a backup (the hub must be stopped); rotates the event epoch.",
        discussion: """
            Checks the backup (PRAGMA integrity_check), keeps the current database beside it as \
            <file>.before-restore-<time>, puts the backup in place, migrates it to this version's schema, and \
            gives its event history a new epoch: clients resuming from the old history are told to resync \
            instead of being fed a different one. Refuses while a hub uses the database.
            """
    )

    @Option(help: "The backup file to restore.") var from: String
    @Option(help: "Path of the JSON configuration file (default: config/spacehub.json when present).")
    var config: String?

    func run() throws {
        let loaded = try CommandSupport.loadConfig(path: config)
        try CommandSupport.requireSQLite(loaded, "restore")
        let path = loaded.store.path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let lock: DatabaseFiles.Lock
        do {
            lock = try DatabaseFiles.Lock(database: path)
        } catch {
            throw CommandSupport.fail("\(error)")
        }
        defer { lock.release() }
        do {
            let kept = try Backup.restore(from: from, to: path, now: Int64(Date().timeIntervalSince1970))
            let database = try Database(path: path)
            try Migrations.migrate(database)
            print("restored \(from) to \(path); new event epoch\(kept.map { "; the previous database is kept at \($0)" } ?? "")")
        } catch {
            throw CommandSupport.fail("restore failed: \(error)")
        }
    }
}
