import Foundation

/// An IANA time zone and the conversions between UTC instants and local wall-clock times.
///
/// Members pick dates and times in the space's zone; the index and the database hold UTC. A local
/// time that falls in a daylight-saving gap does not exist, one in an overlap exists twice;
/// both are refused rather than guessed (`Resolution`). `Africa/Lagos` has neither, but a hub
/// configured for `Europe/London` does.
public struct Zone: Hashable, Sendable, CustomStringConvertible {
    public static let defaultIdentifier = "Africa/Lagos"

    public let identifier: String
    private let rules: Rules

    public init?(_ identifier: String) {
        guard let rules = Self.interned(identifier) else { return nil }
        self.identifier = identifier
        self.rules = rules
    }

    /// A zone's rules, made once per identifier. Foundation's offset lookups take a lock and call
    /// into ICU (2% of a booking request's CPU, BENCHMARKS.md); a zone whose offset has not changed
    /// since `fixedSince` and will not by its rules (Lagos: +01:00 since 1919) answers from a
    /// constant for instants from then on.
    final class Rules: Sendable {
        let timeZone: TimeZone
        let fixedOffset: Int64?

        init(_ timeZone: TimeZone) {
            self.timeZone = timeZone
            let since = Date(timeIntervalSince1970: TimeInterval(Zone.fixedSince))
            fixedOffset = timeZone.nextDaylightSavingTimeTransition(after: since) == nil
                ? Int64(timeZone.secondsFromGMT(for: since)) : nil
        }
    }

    /// 2000-01-01T00:00:00Z: no booking is older.
    static let fixedSince: Int64 = 946_684_800

    /// Whether offsets from `fixedSince` on come from a constant (tests).
    var hasFixedOffset: Bool { rules.fixedOffset != nil }

    /// Time zones by identifier, made once each: every booking row read from the store names its
    /// zone, and `TimeZone(identifier:)` costs about a microsecond (a second over a million-row
    /// start-up). Bounded by the IANA database (~600 names); unknown names are not remembered.
    private static let cache = ZoneCache()

    private static func interned(_ identifier: String) -> Rules? {
        if let known = cache.lookup(identifier) { return known }
        guard let made = TimeZone(identifier: identifier) else { return nil }
        let rules = Rules(made)
        cache.store(rules, for: identifier)
        return rules
    }

    public static let lagos = Zone(defaultIdentifier)!  // tzdata always has Africa/Lagos

    public var description: String { identifier }

    /// Offset from UTC in seconds at `instant`.
    public func offset(at instant: Int64) -> Int64 {
        if let fixed = rules.fixedOffset, instant >= Self.fixedSince { return fixed }
        return Int64(rules.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant))))
    }

    public enum Resolution: Equatable, Sendable {
        case unique(Int64)
        /// Skipped by a forward transition (spring forward).
        case nonexistent
        /// Repeated by a backward transition; both instants listed.
        case ambiguous(Int64, Int64)
    }

    /// The UTC instant(s) at which the wall clock in this zone shows `date` `time`.
    public func resolve(_ date: LocalDate, _ time: LocalTime) -> Resolution {
        let local = date.daysSinceEpoch * 86_400 + Int64(time.minutes) * 60
        // Offsets a day either side cover any transition that could affect this local time.
        // Each distinct offset gives a candidate instant; those the wall clock really shows at
        // are the answers (no collections: this runs several times per booking request).
        let before = offset(at: local - 86_400)
        let here = offset(at: local)
        let after = offset(at: local + 86_400)
        var earliest: Int64?
        var latest: Int64?
        func consider(_ candidateOffset: Int64) {
            let instant = local - candidateOffset
            guard localSeconds(of: instant) == local else { return }
            earliest = min(earliest ?? instant, instant)
            latest = max(latest ?? instant, instant)
        }
        consider(before)
        if here != before { consider(here) }
        if after != before && after != here { consider(after) }
        guard let earliest, let latest else { return .nonexistent }
        return earliest == latest ? .unique(earliest) : .ambiguous(earliest, latest)
    }

    /// Seconds since the epoch as the local wall clock reads them (instant + offset).
    public func localSeconds(of instant: Int64) -> Int64 { instant + offset(at: instant) }

    /// The local date and time at `instant`.
    public func local(_ instant: Int64) -> (date: LocalDate, time: LocalTime) {
        let seconds = localSeconds(of: instant)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let minutes = Int((seconds - days * 86_400) / 60)
        return (LocalDate(daysSinceEpoch: days), LocalTime(minutes: minutes)!)  // 0..<1440 by construction
    }

    /// The instant at which `date` begins locally (first instant whose local date is `date`).
    public func startOfDay(_ date: LocalDate) -> Int64 {
        switch resolve(date, LocalTime(minutes: 0)!) {
        case .unique(let instant): return instant
        case .ambiguous(let first, _): return first
        case .nonexistent:
            // Midnight skipped (a few zones jump at 00:00): the day starts at the transition.
            let guess = date.daysSinceEpoch * 86_400 - offset(at: date.daysSinceEpoch * 86_400)
            var instant = guess - 7200
            while local(instant).date < date { instant += 60 }
            return instant
        }
    }

    /// ISO 8601 with the local offset: "2024-01-15T09:00:00+01:00".
    public func iso8601(_ instant: Int64) -> String {
        let offset = offset(at: instant)  // once: every view of a booking formats a few of these
        return ISO8601Text.format(localSeconds: instant + offset, offsetSeconds: offset)
    }

    /// `iso8601(instant)`'s text appended to `out`.
    public func appendISO8601(_ instant: Int64, to out: inout [UInt8]) {
        let offset = offset(at: instant)
        ISO8601Text.append(localSeconds: instant + offset, offsetSeconds: offset, to: &out)
    }

    public static func == (lhs: Zone, rhs: Zone) -> Bool { lhs.identifier == rhs.identifier }
    public func hash(into hasher: inout Hasher) { hasher.combine(identifier) }
}

/// UTC instants as ISO 8601 text ("2024-01-15T08:00:00Z") and back.
public enum UTC {
    public static func iso8601(_ instant: Int64) -> String {
        ISO8601Text.format(localSeconds: instant, offsetSeconds: nil)
    }

    /// Parses "YYYY-MM-DDTHH:MM[:SS][.fff](Z|±HH:MM)". Fractions are dropped.
    public static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 17, bytes[10] == 0x54 || bytes[10] == 0x20,
              let date = LocalDate(String(decoding: bytes[0..<10], as: UTF8.self)),
              let hour = LocalDate.number(bytes[11..<13]), bytes[13] == 0x3A, let minute = LocalDate.number(bytes[14..<16]),
              hour < 24, minute < 60
        else { return nil }
        var index = 16
        var second = 0
        if index < bytes.count, bytes[index] == 0x3A {
            guard bytes.count >= index + 3, let parsed = LocalDate.number(bytes[(index + 1)..<(index + 3)]), parsed < 60 else { return nil }
            second = parsed
            index += 3
            if index < bytes.count, bytes[index] == 0x2E {
                index += 1
                while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
            }
        }
        guard index < bytes.count else { return nil }
        var offset: Int64 = 0
        if bytes[index] == 0x5A {
            index += 1
        } else if bytes[index] == 0x2B || bytes[index] == 0x2D, bytes.count >= index + 6, bytes[index + 3] == 0x3A,
                  let oh = LocalDate.number(bytes[(index + 1)..<(index + 3)]), let om = LocalDate.number(bytes[(index + 4)..<(index + 6)]) {
            offset = Int64(oh * 3600 + om * 60) * (bytes[index] == 0x2D ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        return date.daysSinceEpoch * 86_400 + Int64(hour * 3600 + minute * 60 + second) - offset
    }
}

/// Formats wall-clock seconds as "YYYY-MM-DDTHH:MM:SS" plus "Z" or "±HH:MM", straight into the
/// string's storage: views format several of these per booking, on the loop thread.
enum ISO8601Text {
    /// The longest text `write` makes: "2024-01-15T09:00:00+01:00".
    static let lengthMax = 25

    static func format(localSeconds: Int64, offsetSeconds: Int64?) -> String {
        String(unsafeUninitializedCapacity: lengthMax) { write(localSeconds: localSeconds, offsetSeconds: offsetSeconds, into: $0) }
    }

    /// Appends the text to `out` without a String in between (views written straight as bytes).
    static func append(localSeconds: Int64, offsetSeconds: Int64?, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: lengthMax) { buffer in
            let length = write(localSeconds: localSeconds, offsetSeconds: offsetSeconds, into: buffer)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<length]))
        }
    }

    /// Writes the text into `buffer` (at least `lengthMax` bytes); returns its length.
    private static func write(localSeconds: Int64, offsetSeconds: Int64?, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let days = localSeconds >= 0 ? localSeconds / 86_400 : (localSeconds - 86_399) / 86_400
        let second = Int(localSeconds - days * 86_400)
        let date = LocalDate(daysSinceEpoch: days)
        var index = 0
        func put(_ byte: UInt8) {
            buffer[index] = byte
            index += 1
        }
        func two(_ value: Int) {
            put(0x30 + UInt8(value / 10 % 10))
            put(0x30 + UInt8(value % 10))
        }
        two(date.year / 100)
        two(date.year % 100)
        put(0x2D)
        two(date.month)
        put(0x2D)
        two(date.day)
        put(0x54)
        two(second / 3600)
        put(0x3A)
        two(second / 60 % 60)
        put(0x3A)
        two(second % 60)
        if let offset = offsetSeconds {
            put(offset < 0 ? 0x2D : 0x2B)
            let magnitude = Int(offset.magnitude)
            two(magnitude / 3600)
            put(0x3A)
            two(magnitude / 60 % 60)
        } else {
            put(0x5A)
        }
        return index
    }
}

/// A lock-guarded dictionary: zones are made on the loop thread and on the threadpool.
private final class ZoneCache: @unchecked Sendable {
    private let lock = NSLock()
    private var zones: [String: Zone.Rules] = [:]
    /// More names than the IANA database has: only made-up identifiers that happen to resolve could
    /// reach it, and then the cache simply stops growing.
    private static let entriesMax = 2048

    func lookup(_ identifier: String) -> Zone.Rules? {
        lock.lock()
        defer { lock.unlock() }
        return zones[identifier]
    }

    func store(_ zone: Zone.Rules, for identifier: String) {
        lock.lock()
        defer { lock.unlock() }
        if zones.count < Self.entriesMax { zones[identifier] = zone }
    }
}
