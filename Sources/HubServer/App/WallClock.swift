#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time (UTC) for timestamps and token expiry. The loop's clock is monotonic and
/// cannot be compared with instants stored in the database.
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
