#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where the services read the time (UTC, for timestamps, holds and token expiry; the loop's
/// clock is monotonic and cannot be compared with instants stored in the database). The hub runs
/// on `SystemClock`; tests drive a `ManualClock` and never sleep.
public protocol Clock: AnyObject, Sendable {
    /// Unix seconds.
    var seconds: Int64 { get }
    /// Unix milliseconds.
    var milliseconds: Int64 { get }
}

/// The machine's real-time clock.
public final class SystemClock: Clock {
    public init() {}
    public var seconds: Int64 { WallClock.seconds() }
    public var milliseconds: Int64 { WallClock.milliseconds() }
}

/// A clock that moves only when told: tests of holds, reminders and expiry without waiting.
public final class ManualClock: Clock {
    private let now: Mutex<Int64>

    /// Starts at `milliseconds` (Unix).
    public init(milliseconds: Int64) { now = Mutex(milliseconds) }

    public var seconds: Int64 { now.withLock { $0 } / 1000 }
    public var milliseconds: Int64 { now.withLock { $0 } }

    public func advance(seconds: Int64) { now.withLock { $0 += seconds * 1000 } }
    public func advance(milliseconds: Int64) { now.withLock { $0 += milliseconds } }
}

/// The real-time clock read directly, for code with no service to carry a `Clock` (log lines,
/// HTTP `Date` headers, parsers of expiry in foreign formats).
public enum WallClock {
    public static func seconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec)
    }

    public static func milliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
