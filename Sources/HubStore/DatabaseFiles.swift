#if canImport(Glibc)
import Glibc
#endif

/// The files of a hub's database on disk: who may read them, and which process owns them.
public enum DatabaseFiles {
    /// Owner only. The database holds password hashes, refresh-token hashes and sealed calendar
    /// tokens. SQLite gives `-wal` and `-shm` the permissions of the database file, so creating
    /// the file `0600` before SQLite first opens it keeps all three private.
    public static let privateMode: mode_t = 0o600

    /// Creates an empty database file readable by its owner only, unless it exists. SQLite
    /// would create it `0644` (`SQLITE_DEFAULT_FILE_PERMISSIONS`) less the umask.
    public static func createPrivately(_ path: String) throws(DatabaseFileError) {
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, privateMode)
        if fd >= 0 {
            close(fd)
            return
        }
        guard errno == EEXIST else { throw DatabaseFileError("cannot create \(path): \(String(cString: strerror(errno)))") }
    }

    /// Whether every account on the machine may read or write the file (the "other" bits).
    public static func isWorldAccessible(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return info.st_mode & 0o007 != 0
    }

    /// An exclusive claim on a database by one hub process: `<path>.lock`, held with `flock` for
    /// the process's life and released by the kernel when it exits, however it exits (kill -9
    /// included). Two hubs on one SQLite file would both decide bookings from their own index
    /// and double-book; the second one refuses to start, naming the file and the first.
    public final class Lock {
        public let path: String
        private var fd: Int32

        /// Takes the lock, or throws naming the process that holds it.
        public init(database: String) throws(DatabaseFileError) {
            path = database + ".lock"
            fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, DatabaseFiles.privateMode)
            guard fd >= 0 else { throw DatabaseFileError("cannot open \(path): \(String(cString: strerror(errno)))") }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let reason = errno == EWOULDBLOCK
                    ? "the database \(database) is in use by another hub (pid \(Self.holder(fd) ?? "unknown"), lock file \(path)); "
                        + "stop it first, or give this one another database (SPACEHUB_DB)"
                    : "cannot lock \(path): \(String(cString: strerror(errno)))"
                close(fd)
                throw DatabaseFileError(reason)
            }
            let pid = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }

        /// Gives the database up (the process exiting does the same).
        public func release() {
            guard fd >= 0 else { return }
            close(fd)  // closing the only descriptor releases the flock
            fd = -1
        }

        deinit { release() }

        private static func holder(_ fd: Int32) -> String? {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 31, 0) }
            guard count > 0 else { return nil }
            let text = String(decoding: buffer[0..<count], as: UTF8.self).filter(\.isNumber)
            return text.isEmpty ? nil : text
        }
    }
}

public struct DatabaseFileError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

@available(*, unavailable) extension DatabaseFiles.Lock: Sendable {}
