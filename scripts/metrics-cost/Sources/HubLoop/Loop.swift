#if canImport(Glibc)
import Glibc
#endif

/// HubLoop's `Loop.hrtimeNs()`: libuv's `uv_hrtime` is `clock_gettime(CLOCK_MONOTONIC)` on Linux.
public enum Loop {
    public static func hrtimeNs() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
