import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Clocks, percentiles and formatting shared by the load scenarios (the index benchmark keeps
/// its own private copies).
enum Load {
    /// CLOCK_MONOTONIC in nanoseconds.
    static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// The value at `fraction` of `sorted` (nearest rank); 0 when empty.
    static func percentile(_ sorted: [UInt64], _ fraction: Double) -> UInt64 {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }

    static func micro(_ nanoseconds: UInt64) -> String { String(format: "%.0f µs", Double(nanoseconds) / 1_000) }
    static func millis(_ nanoseconds: UInt64) -> String { String(format: "%.2f ms", Double(nanoseconds) / 1e6) }
    static func perSecond(_ count: Int, _ nanoseconds: UInt64) -> Double { Double(count) / (Double(nanoseconds) / 1e9) }
    static func grouped(_ value: Double) -> String {
        let whole = Int(value.rounded())
        var digits = String(whole)
        var out = ""
        while digits.count > 3 {
            out = "," + digits.suffix(3) + out
            digits = String(digits.dropLast(3))
        }
        return digits + out
    }

    /// This machine, for the record: CPU model, online cores, kernel.
    static func machine() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "\(cpu), \(sysconf(Int32(_SC_NPROCESSORS_ONLN))) cores online, Linux \(release)"
    }
}

extension Load {
    /// Sleeps the calling thread until CLOCK_MONOTONIC reaches `deadline` (ns).
    static func sleep(until deadline: UInt64) {
        let now = nanoseconds()
        guard deadline > now else { return }
        Thread.sleep(forTimeInterval: Double(deadline - now) / 1e9)
    }
}

import HubStore

extension Load {
    /// Bookings that hold time (pending or confirmed) and start before an earlier one of the same
    /// space has ended: zero when no exclusive space is double-booked. One pass over the
    /// (space_id, starts_at) index with a running maximum of end times.
    static func overlappingBookings(_ db: Database, statuses: String = "'pending', 'confirmed'") throws -> Int64 {
        try db.scalar("""
            SELECT COUNT(*) FROM (
              SELECT starts_at, MAX(ends_at) OVER (PARTITION BY space_id ORDER BY starts_at, id
                                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_end
              FROM bookings WHERE status IN (\(statuses)))
            WHERE previous_end > starts_at
            """) ?? 0
    }
}

extension Load {
    /// User + system CPU time of the whole process so far, in nanoseconds (getrusage).
    static func cpuNanoseconds() -> UInt64 {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func ns(_ time: timeval) -> UInt64 { UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_usec) * 1_000 }
        return ns(usage.ru_utime) + ns(usage.ru_stime)
    }
}

extension Load {
    /// Like `overlappingBookings`, for the event spaces of a hub's database: a booking that starts
    /// before an earlier one of its space has ended plus the space's buffer.
    static func overlappingEventBookings(_ db: Database) throws -> Int64 {
        try db.scalar("""
            SELECT COUNT(*) FROM (
              SELECT \(db.epochSeconds("b.starts_at")) AS start, MAX(\(db.epochSeconds("b.ends_at")) + e.buffer_minutes * 60) OVER (
                       PARTITION BY b.space_id ORDER BY b.starts_at, b.id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
              FROM bookings b JOIN event_spaces e ON e.id = b.space_id
              WHERE b.status IN ('pending', 'confirmed')) AS held
            WHERE reach > start
            """) ?? 0
    }
}

extension Load {
    /// User + system CPU time of process `pid` from /proc/<pid>/stat (fields 14 and 15, in clock ticks).
    static func processCPUNanoseconds(_ pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After "pid (comm)", field 3 (state) is fields[0]; utime and stime are fields 14 and 15.
        guard fields.count > 13, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        let ticks = UInt64(sysconf(Int32(_SC_CLK_TCK)))
        return (user + system) * 1_000_000_000 / ticks
    }
}
