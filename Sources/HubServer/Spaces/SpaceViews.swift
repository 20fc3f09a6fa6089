import HubCore
import HubWire

/// JSON of spaces as the API shows them. The seed's `CoworkingPlan` and `EventSpace` fields come
/// first, unchanged in name and type; ours follow.
enum SpaceViews {
    /// Seed `CoworkingPlan`: id, name, description, price, duration, features, popular.
    static func plan(_ space: Space) -> JSON {
        var object: JSONObject = [
            "id": .string(space.id),
            "name": .string(space.name),
            "description": .string(space.description),
            "price": .number(space.price.majorText),
            "duration": .string(space.priceUnit.rawValue),
            "features": .array(space.features.map(JSON.string)),
            "popular": .bool(space.popular),
        ]
        common(space, into: &object)
        object["seats"] = .int(space.seats)
        return .object(object)
    }

    /// Seed `EventSpace`: id, name, description, capacity, price, features, images, availability.
    static func eventSpace(_ space: Space) -> JSON {
        var object: JSONObject = [
            "id": .string(space.id),
            "name": .string(space.name),
            "description": .string(space.description),
            "capacity": .int(space.capacity),
            "price": .number(space.price.majorText),
            "features": .array(space.features.map(JSON.string)),
            "images": .array(space.images.map(JSON.string)),
            "availability": .array(availabilityText(space.hours).map(JSON.string)),
        ]
        common(space, into: &object)
        object["priceUnit"] = "hour"
        object["bufferMinutes"] = .int(space.bufferMinutes)
        return .object(object)
    }

    static func view(_ space: Space) -> JSON {
        space.kind == .coworking ? plan(space) : eventSpace(space)
    }

    private static func common(_ space: Space, into object: inout JSONObject) {
        object["type"] = .string(space.kind.rawValue)
        object["currency"] = .string(space.price.currency.code)
        object["timeZone"] = .string(space.zone.identifier)
        object["openingHours"] = openingHours(space.hours)
        object["minDurationMinutes"] = .int(space.minimumMinutes)
        object["maxDurationMinutes"] = .int(space.maximumMinutes)
        object["blackoutDates"] = .array(space.blackoutDates.sorted().map { .string($0.description) })
        object["isActive"] = .bool(space.isActive)
        object["version"] = .int(space.version)
        object["createdAt"] = .string(UTC.iso8601(space.createdAt))
        object["updatedAt"] = .string(UTC.iso8601(space.updatedAt))
    }

    /// `{"monday": {"open": "08:00", "close": "20:00"}, "sunday": null, …}`
    static func openingHours(_ hours: WeeklyHours) -> JSON {
        var object = JSONObject()
        for (index, name) in WeeklyHours.weekdayNames.enumerated() {
            if let window = hours.days[index] {
                object[name] = [
                    "open": .string(LocalTime(minutes: window.open)!.description),  // Window bounds are 0...1440
                    "close": .string(LocalTime(minutes: window.close)!.description),
                ]
            } else {
                object[name] = .null
            }
        }
        return .object(object)
    }

    /// The seed's `availability: string[]`: one human line per run of days with equal hours,
    /// e.g. ["Mon–Fri 08:00–20:00", "Sat 10:00–16:00"].
    static func availabilityText(_ hours: WeeklyHours) -> [String] {
        let short = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        var lines: [String] = []
        var day = 0
        while day < 7 {
            var end = day
            while end + 1 < 7, hours.days[end + 1] == hours.days[day] { end += 1 }
            if let window = hours.days[day] {
                let days = day == end ? short[day] : "\(short[day])–\(short[end])"
                let open = LocalTime(minutes: window.open)!, close = LocalTime(minutes: window.close)!
                lines.append(window.open == 0 && window.close == 1440 ? "\(days) 24 hours" : "\(days) \(open)–\(close)")
            }
            day = end + 1
        }
        return lines
    }
}
