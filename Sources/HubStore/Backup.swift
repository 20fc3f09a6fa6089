import Foundation

/// Consistent copies of a live database, and putting one back.
///
/// `copy` uses `VACUUM INTO` on a connection of its own: SQLite copies the database as one read
/// transaction sees it (in WAL mode the hub's writer goes on committing meanwhile; the copy holds
/// every transaction committed before its read began and none after), compacted, into a new file.
/// The copy is written under a temporary name, checked with `PRAGMA integrity_check`, made
/// owner-only and renamed into place, so a half-written backup never carries the final name.
public enum Backup {
    /// Copies the database at `source` into a new file at `destination` (which must not exist).
    /// Returns the copy's size in bytes.
    @discardableResult
    public static func copy(from source: String, to destination: String) throws -> Int64 {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw DatabaseFileError("\(destination) exists; a backup never overwrites a file")
        }
        let temporary = destination + ".partial"
        try? FileManager.default.removeItem(atPath: temporary)
        let database = try Database(path: source, readOnly: true)
        try database.execute("VACUUM INTO ?", [.text(temporary)])
        do {
            try check(temporary)
            chmod(temporary, DatabaseFiles.privateMode)
            try FileManager.default.moveItem(atPath: temporary, toPath: destination)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: destination)
        return (attributes[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// `PRAGMA integrity_check` of the database at `path`: throws unless it answers "ok".
    public static func check(_ path: String) throws {
        let database = try Database(path: path, readOnly: true)
        let answer = try database.query("PRAGMA integrity_check") { $0.string(0) }
        guard answer == ["ok"] else {
            throw DatabaseFileError("\(path) fails its integrity check: \(answer.prefix(5).joined(separator: "; "))")
        }
    }

    /// Puts the backup at `source` in place of the database at `destination` (no hub may be
    /// using it: the caller holds its `DatabaseFiles.Lock`). The backup is checked first; the old
    /// database and its WAL are kept beside it as `<name>.before-restore-<time>` until the caller
    /// is sure. The restored database gets a new event epoch (`rotateEpoch`).
    public static func restore(from source: String, to destination: String, now: Int64) throws -> String? {
        try check(source)
        let temporary = destination + ".restoring"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.copyItem(atPath: source, toPath: temporary)
        chmod(temporary, DatabaseFiles.privateMode)
        var kept: String?
        if FileManager.default.fileExists(atPath: destination) {
            // Checkpoint the old WAL into its file first, so the kept copy is whole on its own.
            if let old = try? Database(path: destination) { _ = try? old.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
            let aside = "\(destination).before-restore-\(now)"
            try FileManager.default.moveItem(atPath: destination, toPath: aside)
            kept = aside
        }
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: destination + suffix) }
        try FileManager.default.moveItem(atPath: temporary, toPath: destination)
        let restored = try Database(path: destination)
        try rotateEpoch(restored)
        return kept
    }

    /// A new identity for the event history. A restored file's `seq` rewinds to the backup's
    /// while clients hold later numbers of the old history: with a new epoch, a client resuming
    /// by `(epoch, seq)` is told to resync instead of being fed a different history.
    public static func rotateEpoch(_ database: Database) throws {
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let epoch = bytes.map { String(format: "%02x", $0) }.joined()
        try MetaTable.set("event_epoch", epoch, database)
    }
}
