import Foundation
import HubCore

/// VTIMEZONE components (RFC 5545 §3.6.5) generated from the system's tz database, so that
/// `DTSTART;TZID=…` values mean the same instant in every client.
///
/// A zone without daylight saving (Africa/Lagos) gets one STANDARD observance with its fixed
/// offset. A zone with transitions gets one observance per transition between a year before the
/// first event and a year after the last (explicit onsets, no RRULE: exact even where the rules
/// changed over the years), after an initial observance for the offset in force at the start.
enum ICSTimeZone {
    /// Transitions written per zone at most: two a year over a feed's span.
    static let transitionsMax = 64

    static func write(_ zone: Zone, from start: Int64, to end: Int64, into ics: inout ICSWriter) {
        guard let timeZone = TimeZone(identifier: zone.identifier) else { return }
        ics.line("BEGIN", "VTIMEZONE")
        ics.line("TZID", zone.identifier)
        let rangeStart = Date(timeIntervalSince1970: TimeInterval(start - 366 * 86_400))
        let rangeEnd = Date(timeIntervalSince1970: TimeInterval(end + 366 * 86_400))
        let initialOffset = timeZone.secondsFromGMT(for: rangeStart)
        var transitions: [(at: Date, from: Int, to: Int)] = []
        var cursor = rangeStart
        while transitions.count < transitionsMax, let next = timeZone.nextDaylightSavingTimeTransition(after: cursor), next < rangeEnd {
            let before = timeZone.secondsFromGMT(for: next.addingTimeInterval(-1))
            let after = timeZone.secondsFromGMT(for: next)
            if before != after { transitions.append((next, before, after)) }
            cursor = next
        }
        // The observance in force at the start of the range. For a fixed-offset zone it is the
        // only one; 1970 is the customary onset for "always".
        let onset = transitions.isEmpty ? 0 : Int64(rangeStart.timeIntervalSince1970)
        observance(timeZone, at: Date(timeIntervalSince1970: TimeInterval(onset)), from: initialOffset, to: initialOffset,
                   into: &ics)
        for transition in transitions {
            observance(timeZone, at: transition.at, from: transition.from, to: transition.to, into: &ics)
        }
        ics.line("END", "VTIMEZONE")
    }

    /// One STANDARD or DAYLIGHT block. Its DTSTART is the onset as the wall clock read it just
    /// before (local time in TZOFFSETFROM, §3.8.2.4).
    private static func observance(_ timeZone: TimeZone, at onset: Date, from: Int, to: Int, into ics: inout ICSWriter) {
        let kind = timeZone.isDaylightSavingTime(for: onset) ? "DAYLIGHT" : "STANDARD"
        let instant = Int64(onset.timeIntervalSince1970)
        ics.line("BEGIN", kind)
        // The fixed-offset observance starts at local midnight 1970-01-01, the customary "always".
        let localOnset = instant == 0 ? 0 : instant + Int64(from)
        ics.line("DTSTART", String(ICSWriter.utc(localOnset).dropLast()))
        ics.line("TZOFFSETFROM", ICSWriter.offset(from))
        ics.line("TZOFFSETTO", ICSWriter.offset(to))
        if let name = timeZone.abbreviation(for: onset), !name.isEmpty {
            ics.line("TZNAME", ICSWriter.text(name))
        }
        ics.line("END", kind)
    }
}
