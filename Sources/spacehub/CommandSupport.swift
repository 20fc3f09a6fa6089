import ArgumentParser
import Foundation
import HubCore
import HubServer
import HubStore

/// What the one-shot commands (`migrate`, `admin create`) share with `serve`: the same config
/// loading, exit code 2 for a bad configuration, and opening the store with its schema current.
enum CommandSupport {
    /// `config/spacehub.json` (or `path`) plus the environment; exits 2 naming the bad key.
    static func loadConfig(path: String?) throws -> Config {
        do {
            return try ConfigLoader.load(path: path, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw fail("\(error)", code: 2)
        }
    }

    /// Opens the configured database, creating its directory (and the file, owner-only), and
    /// applies pending migrations, holding the database's lock (`DatabaseFiles.Lock`) until the
    /// command exits. While a hub serves the database: `alongsideHub` commands (creating an admin:
    /// one row, which SQLite's own locking serialises with the hub's writes) open it as it is,
    /// the others (migrating, seeding) refuse, naming the hub's process.
    /// On PostgreSQL there is no file to lock: migrations take their own advisory lock, and a
    /// command works beside running hubs as any client does.
    static func openMigrated(_ config: Config, alongsideHub: Bool = false) throws
        -> (database: Database, applied: [Int], lock: DatabaseFiles.Lock?) {
        guard case .sqlite(let path) = config.store.location else {
            do {
                let database = try Database(config.store.location)
                return (database, try Migrations.migrate(database), nil)
            } catch {
                throw fail("cannot open or migrate the database at \(config.store.location): \(error)")
            }
        }
        do {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            let claimed = Result { () throws(DatabaseFileError) in try DatabaseFiles.Lock(database: path) }
            if case .failure = claimed, alongsideHub, FileManager.default.fileExists(atPath: path) {
                let database = try Database(path: path, busyTimeoutMs: config.store.busyTimeoutMs)
                return (database, [], nil)  // the serving hub migrated it at its start
            }
            let lock = try claimed.get()
            try DatabaseFiles.createPrivately(path)
            let database = try Database(path: path, busyTimeoutMs: config.store.busyTimeoutMs)
            return (database, try Migrations.migrate(database), lock)
        } catch {
            throw fail("cannot open or migrate the database at \(path): \(error)")
        }
    }

    /// Fails a SQLite-only command (`backup`, `restore`) when the hub runs on PostgreSQL, whose
    /// own tools do that job (docs/POSTGRESQL.md).
    static func requireSQLite(_ config: Config, _ command: String) throws {
        guard case .postgres(let settings) = config.store.location else { return }
        throw fail("`spacehub \(command)` copies the SQLite file; this hub runs on PostgreSQL (\(settings.redactedURL)): "
                   + "use pg_dump/pg_restore or your provider's backups (docs/POSTGRESQL.md)")
    }

    /// The administrator with `email`, or a failure saying there is none.
    static func findAdmin(_ email: String, _ database: Database) throws -> AdminUser {
        guard let admin = try? AdminTable.find(email: email, database) else {
            throw fail("no administrator has the email \(email) (spacehub admin list shows them)")
        }
        return admin
    }

    /// Prints `message` to standard error and returns the exit code to throw.
    static func fail(_ message: String, code: Int32 = 1) -> ExitCode {
        FileHandle.standardError.write(Data("spacehub: \(message)\n".utf8))
        return ExitCode(code)
    }
}
