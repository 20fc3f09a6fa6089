/// Channel names and who may read them.
///
/// - `availability`: every space's availability (public);
/// - `availability:<spaceId>`: one space (public);
/// - `bookings:<userId>`, `payments:<userId>`: that member's own changes (the member and admins);
/// - `admin`: everything, for staff dashboards (admins).
enum Channels {
    static let availability = "availability"
    static let admin = "admin"

    static func availability(_ spaceID: String) -> String { "availability:\(spaceID)" }
    static func bookings(_ userID: String) -> String { "bookings:\(userID)" }
    static func payments(_ userID: String) -> String { "payments:\(userID)" }

    enum Access: Equatable {
        case allowed
        case forbidden
        case unknown
    }

    /// Whether `principal` (nil = anonymous) may read `channel`. `spaceExists` tells whether a
    /// space id names a space.
    static func access(_ channel: String, principal: Principal?, spaceExists: (String) -> Bool) -> Access {
        if channel == availability { return .allowed }
        if channel == admin { return principal?.isAdmin == true ? .allowed : .forbidden }
        let parts = channel.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, !parts[1].isEmpty else { return .unknown }
        let id = String(parts[1])
        switch parts[0] {
        case "availability":
            return spaceExists(id) ? .allowed : .unknown
        case "bookings", "payments":
            guard let principal else { return .forbidden }
            return principal.isAdmin || principal.id == id ? .allowed : .forbidden
        default:
            return .unknown
        }
    }

    /// What a connection starts subscribed to: the seed's client never subscribes, yet handles
    /// `booking_updated`, `payment_verified` and `space_availability_changed`.
    static func defaults(for principal: Principal?) -> [String] {
        guard let principal else { return [availability] }
        if principal.isAdmin { return [availability, admin] }
        return [availability, bookings(principal.id), payments(principal.id)]
    }
}
