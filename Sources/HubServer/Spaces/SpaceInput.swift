import Foundation
import HubCore
import HubHTTP
import HubWire

/// Reads an admin's space or plan body onto a `Space`, validating each field (422 naming it).
enum SpaceInput {
    /// Monday to Friday 08:00–20:00, Saturday 09:00–17:00, Sunday closed.
    static let defaultHours = WeeklyHours.weekdays(open: 8 * 60, close: 20 * 60, saturday: .init(open: 9 * 60, close: 17 * 60))

    /// Seats of a plan created without `seats` (the seed's `CoworkingPlan` has no such field): a
    /// room of ten desks. The answer shows it, and `PUT` changes it.
    static let defaultPlanSeats = 10
    /// Fields the server owns that clients echo back (a form that loads a space and saves it
    /// sends its `id`; the seed's `EventSpace` carries `availability`, derived here from the
    /// opening hours). They are ignored, not refused; other unknown fields are refused.
    static let serverOwnedFields: Set<String> = [
        "id", "type", "availability", "priceUnit", "currency", "createdAt", "updatedAt", "version",
    ]
    static let commonFields: Set<String> = [
        "name", "description", "price", "features", "openingHours", "timeZone", "minDurationMinutes", "maxDurationMinutes",
        "blackoutDates", "isActive",
    ]
    /// A plan's fields and an event space's: one of the other kind is refused (it would be
    /// silently ignored otherwise).
    static let planFields = commonFields.union(["duration", "seats", "popular"])
    static let eventSpaceFields = commonFields.union(["capacity", "images", "bufferMinutes"])
    static let featuresMax = 50
    static let imagesMax = 20
    static let blackoutDatesMax = 366

    static func apply(_ body: JSONObject, to base: Space, creating: Bool) throws(APIError) -> Space {
        var space = base
        let known = base.kind == .coworking ? planFields : eventSpaceFields
        for key in body.keys where !known.contains(key) && !serverOwnedFields.contains(key) {
            throw APIError.invalid(key, "unknown_field", "\(key) is not a field of \(base.kind == .coworking ? "a coworking plan" : "an event space")")
        }
        if creating || body["name"] != nil { space.name = try Fields.name(body, "name") }
        if body["description"] != nil {
            space.description = try Fields.optionalString(body, "description", maxBytes: 4000) ?? ""
        }
        if creating || body["price"] != nil { space.price = try price(body, currency: space.price.currency) }
        if space.kind == .coworking {
            if creating || body["duration"] != nil { space.priceUnit = try priceUnit(body) }
            if body["seats"] != nil {
                space.seats = try Fields.int(body, "seats", 1...10_000)
            } else if creating {
                space.seats = defaultPlanSeats
            }
            space.capacity = space.seats
            if body["popular"] != nil { space.popular = try Fields.bool(body, "popular") }
        } else {
            if creating || body["capacity"] != nil { space.capacity = try Fields.int(body, "capacity", 1...100_000) }
            if body["images"] != nil { space.images = try strings(body, "images", max: imagesMax) }
            if body["bufferMinutes"] != nil { space.bufferMinutes = try Fields.int(body, "bufferMinutes", 0...720) }
        }
        if body["features"] != nil { space.features = try strings(body, "features", max: featuresMax) }
        if body["openingHours"] != nil { space.hours = try hours(body["openingHours"]!) }  // checked on this line
        if body["timeZone"] != nil {
            let identifier = try Fields.string(body, "timeZone", maxBytes: 64)
            guard let zone = Zone(identifier) else { throw APIError.invalid("timeZone", "unknown_time_zone", "\(identifier) is not an IANA time zone") }
            space.zone = zone
        }
        if body["minDurationMinutes"] != nil { space.minimumMinutes = try Fields.int(body, "minDurationMinutes", 1...(366 * 1440)) }
        if body["maxDurationMinutes"] != nil { space.maximumMinutes = try Fields.int(body, "maxDurationMinutes", 1...(366 * 1440)) }
        guard space.minimumMinutes <= space.maximumMinutes else {
            throw APIError.invalid("maxDurationMinutes", "bad_duration_range", "maxDurationMinutes must be at least minDurationMinutes")
        }
        if body["blackoutDates"] != nil {
            var dates = Set<LocalDate>()
            for text in try strings(body, "blackoutDates", max: blackoutDatesMax) {
                guard let date = LocalDate(text) else { throw APIError.invalid("blackoutDates", "bad_date", "\(text) is not YYYY-MM-DD") }
                dates.insert(date)
            }
            space.blackoutDates = dates
        }
        if body["isActive"] != nil { space.isActive = try Fields.bool(body, "isActive") }
        return space
    }

    private static func price(_ body: JSONObject, currency: Currency) throws(APIError) -> Money {
        guard let value = body["price"] else { throw APIError.invalid("price", "missing_field", "price is required") }
        let literal = value.numberLiteral ?? value.stringValue
        guard let literal else { throw APIError.invalid("price", "wrong_type", "price must be a number in major units") }
        switch Money.parse(major: literal, currency: currency) {
        case .success(let money): return money
        case .failure(.tooManyDecimals(let allowed)):
            throw APIError.invalid("price", "bad_price", "price has more than \(allowed) decimal places")
        case .failure(.negative): throw APIError.invalid("price", "bad_price", "price must not be negative")
        case .failure(.tooLarge): throw APIError.invalid("price", "bad_price", "price is too large")
        case .failure(.notADecimal): throw APIError.invalid("price", "bad_price", "price must be a plain decimal number such as 5000 or 4999.50")
        }
    }

    /// The seed's plan `duration`: "day", "per day", "daily", "/day", "monthly" …
    private static func priceUnit(_ body: JSONObject) throws(APIError) -> PriceUnit {
        let text = try Fields.string(body, "duration", maxBytes: 32).lowercased()
            .replacingOccurrences(of: "per ", with: "").replacingOccurrences(of: "/", with: "").trimmedWhitespace
        switch text {
        case "hour", "hourly", "1 hour": return .hour
        case "day", "daily", "1 day": return .day
        case "week", "weekly", "1 week": return .week
        case "month", "monthly", "1 month": return .month
        default: throw APIError.invalid("duration", "bad_duration", "duration must be hour, day, week or month")
        }
    }

    private static func strings(_ body: JSONObject, _ field: String, max: Int) throws(APIError) -> [String] {
        guard let array = body[field]?.arrayValue else { throw APIError.invalid(field, "wrong_type", "\(field) must be an array of strings") }
        guard array.count <= max else { throw APIError.invalid(field, "too_many", "\(field) holds at most \(max) entries") }
        var values: [String] = []
        for element in array {
            guard let text = element.stringValue, !text.isEmpty, text.utf8.count <= 500 else {
                throw APIError.invalid(field, "wrong_type", "\(field) must hold non-empty strings of up to 500 bytes")
            }
            values.append(text)
        }
        return values
    }

    /// `{"monday": {"open": "08:00", "close": "20:00"}, "sunday": null, …}`; days left out are closed.
    private static func hours(_ value: JSON) throws(APIError) -> WeeklyHours {
        guard let object = value.objectValue else {
            throw APIError.invalid("openingHours", "wrong_type", "openingHours must map weekday names to {open, close} or null")
        }
        for key in object.keys where !WeeklyHours.weekdayNames.contains(key) {
            throw APIError.invalid("openingHours", "bad_weekday", "\(key) is not a weekday name")
        }
        var days: [WeeklyHours.Window?] = []
        for name in WeeklyHours.weekdayNames {
            guard let entry = object[name], !entry.isNull else {
                days.append(nil)
                continue
            }
            guard let open = entry["open"]?.stringValue.flatMap(LocalTime.init), let close = entry["close"]?.stringValue.flatMap(LocalTime.init),
                  let window = WeeklyHours.Window(open: open.minutes, close: close.minutes)
            else {
                throw APIError.invalid("openingHours", "bad_hours", "\(name) needs open and close as HH:MM with open before close")
            }
            days.append(window)
        }
        return WeeklyHours(days: days)
    }
}
