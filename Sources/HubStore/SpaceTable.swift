import Foundation
import HubCore

/// Rows of `coworking_plans` and `event_spaces`, both read as `Space`.
public enum SpaceTable {
    public static func loadAll(_ db: Database) throws(StoreError) -> [Space] {
        var spaces = try db.query("""
            SELECT id, name, description, price_minor, currency, duration, seats, features, is_popular, is_active,
                   opening_hours, time_zone, min_minutes, max_minutes, blackout_dates, version, created_at, updated_at
            FROM coworking_plans ORDER BY created_at, id
            """) { row in
            Space(id: row.string(0), kind: .coworking, name: row.string(1), description: row.string(2),
                  capacity: row.int(6), seats: row.int(6),
                  price: Money(minorUnits: row.int64(3), currency: Currency(code: row.string(4)) ?? .ngn),
                  priceUnit: PriceUnit(rawValue: row.string(5)) ?? .day, features: decodeStrings(row.string(7)),
                  popular: row.bool(8), isActive: row.bool(9), hours: decodeHours(row.string(10)),
                  zone: Zone(row.string(11)) ?? .lagos, minimumMinutes: row.int(12), maximumMinutes: row.int(13),
                  blackoutDates: decodeDates(row.string(14)), version: row.int(15), createdAt: row.int64(16),
                  updatedAt: row.int64(17))
        }
        spaces += try db.query("""
            SELECT id, name, description, capacity, price_per_hour_minor, currency, features, images, is_active,
                   opening_hours, time_zone, min_minutes, max_minutes, buffer_minutes, blackout_dates, version,
                   created_at, updated_at
            FROM event_spaces ORDER BY created_at, id
            """) { row in
            Space(id: row.string(0), kind: .event, name: row.string(1), description: row.string(2), capacity: row.int(3),
                  price: Money(minorUnits: row.int64(4), currency: Currency(code: row.string(5)) ?? .ngn),
                  features: decodeStrings(row.string(6)), images: decodeStrings(row.string(7)), isActive: row.bool(8),
                  hours: decodeHours(row.string(9)), zone: Zone(row.string(10)) ?? .lagos, minimumMinutes: row.int(11),
                  maximumMinutes: row.int(12), bufferMinutes: row.int(13), blackoutDates: decodeDates(row.string(14)),
                  version: row.int(15), createdAt: row.int64(16), updatedAt: row.int64(17))
        }
        return spaces
    }

    /// `a = excluded.a, b = excluded.b, …` for an upsert that replaces every column but the key.
    private static func replacing(_ columns: String) -> String {
        columns.split(separator: ",").map { column in
            let name = column.trimmingCharacters(in: .whitespaces)
            return "\(name) = excluded.\(name)"
        }.joined(separator: ", ")
    }

    /// Inserts or replaces the row of `space` in its kind's table.
    public static func save(_ space: Space, _ db: Database) throws(StoreError) {
        switch space.kind {
        case .coworking:
            try db.execute("""
                INSERT INTO coworking_plans (id, name, description, price_minor, currency, duration, seats,
                    features, is_popular, is_active, opening_hours, time_zone, min_minutes, max_minutes, blackout_dates,
                    version, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET \(Self.replacing("name, description, price_minor, currency, duration, seats, features, is_popular, is_active, opening_hours, time_zone, min_minutes, max_minutes, blackout_dates, version, created_at, updated_at"))
                """, [
                    .text(space.id), .text(space.name), .text(space.description), .integer(space.price.minorUnits),
                    .text(space.price.currency.code), .text(space.priceUnit.rawValue), .int(space.seats),
                    .text(encodeStrings(space.features)), .bool(space.popular), .bool(space.isActive),
                    .text(encodeHours(space.hours)), .text(space.zone.identifier), .int(space.minimumMinutes),
                    .int(space.maximumMinutes), .text(encodeDates(space.blackoutDates)), .int(space.version),
                    .instant(space.createdAt), .instant(space.updatedAt),
                ])
        case .event:
            try db.execute("""
                INSERT INTO event_spaces (id, name, description, capacity, price_per_hour_minor, currency,
                    features, images, is_active, opening_hours, time_zone, min_minutes, max_minutes, buffer_minutes,
                    blackout_dates, version, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET \(Self.replacing("name, description, capacity, price_per_hour_minor, currency, features, images, is_active, opening_hours, time_zone, min_minutes, max_minutes, buffer_minutes, blackout_dates, version, created_at, updated_at"))
                """, [
                    .text(space.id), .text(space.name), .text(space.description), .int(space.capacity),
                    .integer(space.price.minorUnits), .text(space.price.currency.code), .text(encodeStrings(space.features)),
                    .text(encodeStrings(space.images)), .bool(space.isActive), .text(encodeHours(space.hours)),
                    .text(space.zone.identifier), .int(space.minimumMinutes), .int(space.maximumMinutes),
                    .int(space.bufferMinutes), .text(encodeDates(space.blackoutDates)), .int(space.version),
                    .instant(space.createdAt), .instant(space.updatedAt),
                ])
        }
    }

    public static func count(_ db: Database) throws(StoreError) -> Int {
        Int(try db.scalar("SELECT (SELECT COUNT(*) FROM coworking_plans) + (SELECT COUNT(*) FROM event_spaces)") ?? 0)
    }

    // MARK: Column encodings (JSON text, as the seed's JSONB columns)

    static func encodeStrings(_ values: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(values)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func decodeStrings(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    /// `[[open, close] | null] × 7`, Monday first, minutes after local midnight.
    static func encodeHours(_ hours: WeeklyHours) -> String {
        let days = hours.days.map { window in window.map { "[\($0.open),\($0.close)]" } ?? "null" }
        return "[" + days.joined(separator: ",") + "]"
    }

    static func decodeHours(_ text: String) -> WeeklyHours {
        guard let days = try? JSONDecoder().decode([[Int]?].self, from: Data(text.utf8)), days.count == 7 else {
            return .always
        }
        return WeeklyHours(days: days.map { pair in
            guard let pair, pair.count == 2 else { return nil }
            return WeeklyHours.Window(open: pair[0], close: pair[1])
        })
    }

    static func encodeDates(_ dates: Set<LocalDate>) -> String {
        encodeStrings(dates.sorted().map(\.description))
    }

    static func decodeDates(_ text: String) -> Set<LocalDate> {
        Set(decodeStrings(text).compactMap(LocalDate.init))
    }
}
