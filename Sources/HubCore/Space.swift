/// What kind of bookable thing a space is.
public enum SpaceKind: String, Sendable, CaseIterable {
    /// A coworking plan: seats shared by many members at once (the seed's `CoworkingPlan`).
    case coworking
    /// An event space: one booking at a time (the seed's `EventSpace`).
    case event
}

/// The unit a coworking plan's price is quoted in (the seed's `duration`: "per day", …).
public enum PriceUnit: String, Sendable, CaseIterable {
    case hour, day, week, month

    /// Length used to count billable units. A month is billed as 30 days, so "1 month" booked
    /// in February costs the same as in March.
    public var seconds: Int64 {
        switch self {
        case .hour: 3600
        case .day: 86_400
        case .week: 7 * 86_400
        case .month: 30 * 86_400
        }
    }
}

/// Opening hours per weekday, in local minutes `[open, close)`; nil means closed all day.
/// Index 0 is Monday (ISO weekday 1).
public struct WeeklyHours: Hashable, Sendable {
    public struct Window: Hashable, Sendable {
        public let open: Int
        public let close: Int

        public init?(open: Int, close: Int) {
            guard 0 <= open, open < close, close <= 1440 else { return nil }
            self.open = open
            self.close = close
        }
    }

    public var days: [Window?]

    public init(days: [Window?]) {
        precondition(days.count == 7, "WeeklyHours needs seven days")
        self.days = days
    }

    /// Open every day, all day.
    public static let always = WeeklyHours(days: Array(repeating: Window(open: 0, close: 1440), count: 7))

    /// Monday to Friday `open`–`close`, Saturday `saturday` when given, Sunday closed.
    public static func weekdays(open: Int, close: Int, saturday: Window? = nil) -> WeeklyHours {
        var days = Array(repeating: Window(open: open, close: close), count: 5)
        days.append(saturday)
        days.append(nil)
        return WeeklyHours(days: days)
    }

    public func window(on date: LocalDate) -> Window? { days[date.weekday - 1] }

    public static let weekdayNames = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
}

/// A bookable space: a coworking plan (seated) or an event space (exclusive).
public struct Space: Hashable, Sendable {
    public var id: String
    public var kind: SpaceKind
    public var name: String
    public var description: String
    /// People who fit (event spaces).
    public var capacity: Int
    /// Bookings that may overlap (coworking plans); 1 for event spaces.
    public var seats: Int
    /// Price per `priceUnit` (event spaces are always per hour).
    public var price: Money
    public var priceUnit: PriceUnit
    public var features: [String]
    public var images: [String]
    public var popular: Bool
    public var isActive: Bool
    public var hours: WeeklyHours
    public var zone: Zone
    public var minimumMinutes: Int
    public var maximumMinutes: Int
    /// Minutes kept free between two bookings of an event space (cleaning, setup).
    public var bufferMinutes: Int
    public var blackoutDates: Set<LocalDate>
    public var version: Int
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(id: String, kind: SpaceKind, name: String, description: String = "", capacity: Int = 1, seats: Int = 1,
                price: Money, priceUnit: PriceUnit = .hour, features: [String] = [], images: [String] = [],
                popular: Bool = false, isActive: Bool = true, hours: WeeklyHours = .always, zone: Zone = .lagos,
                minimumMinutes: Int = 30, maximumMinutes: Int = 24 * 60, bufferMinutes: Int = 0,
                blackoutDates: Set<LocalDate> = [], version: Int = 1, createdAt: Int64 = 0, updatedAt: Int64 = 0) {
        self.id = id
        self.kind = kind
        self.name = name
        self.description = description
        self.capacity = capacity
        self.seats = kind == .event ? 1 : seats
        self.price = price
        self.priceUnit = kind == .event ? .hour : priceUnit
        self.features = features
        self.images = images
        self.popular = popular
        self.isActive = isActive
        self.hours = hours
        self.zone = zone
        self.minimumMinutes = minimumMinutes
        self.maximumMinutes = maximumMinutes
        self.bufferMinutes = kind == .event ? bufferMinutes : 0
        self.blackoutDates = blackoutDates
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension Space {
    /// How the availability index treats this space: event spaces are exclusive with their
    /// buffer, coworking plans seat `seats` at once.
    public var resourceKind: AvailabilityIndex.ResourceKind {
        switch kind {
        case .event: .exclusive(bufferSeconds: Int64(bufferMinutes) * 60)
        case .coworking: .seated(seats: seats)
        }
    }
}
