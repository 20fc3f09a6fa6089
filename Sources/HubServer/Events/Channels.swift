/// A channel subscribers follow, and who may read it. On the wire a channel is its `name`:
///
/// - `availability`: every space's availability (public);
/// - `availability:<spaceId>`: one space (public);
/// - `bookings:<userId>`, `payments:<userId>`: that member's own changes (the member and admins);
/// - `admin`: everything, for staff dashboards (admins).
///
/// Every channel name the hub builds or reads goes through this type: the prefixes are spelled
/// once, here.
enum Channel: Hashable, Sendable, CustomStringConvertible {
    case availability
    case space(String)
    case bookings(userID: String)
    case payments(userID: String)
    case admin

    /// What a channel is, without whose (for metrics and snapshots).
    enum Kind: String, CaseIterable, Sendable {
        case availability, space, bookings, payments, admin
    }

    var kind: Kind {
        switch self {
        case .availability: .availability
        case .space: .space
        case .bookings: .bookings
        case .payments: .payments
        case .admin: .admin
        }
    }

    var name: String {
        switch self {
        case .availability: "availability"
        case .space(let id): "availability:\(id)"
        case .bookings(let id): "bookings:\(id)"
        case .payments(let id): "payments:\(id)"
        case .admin: "admin"
        }
    }

    var description: String { name }

    /// The channel a wire name names, or nil for a name that is no channel.
    init?(name: String) {
        if name == "availability" { self = .availability; return }
        if name == "admin" { self = .admin; return }
        let parts = name.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, !parts[1].isEmpty else { return nil }
        let id = String(parts[1])
        switch parts[0] {
        case "availability": self = .space(id)
        case "bookings": self = .bookings(userID: id)
        case "payments": self = .payments(userID: id)
        default: return nil
        }
    }

    /// Public channels: what a connection keeps when its session ends.
    var isPublic: Bool { kind == .availability || kind == .space }

    enum Access: Equatable {
        case allowed
        case forbidden
        case unknown
    }

    /// Whether `principal` (nil = anonymous) may read the channel named `name`. `spaceExists`
    /// tells whether a space id names a space.
    static func access(_ name: String, principal: Principal?, spaceExists: (String) -> Bool) -> Access {
        switch Channel(name: name) {
        case nil: .unknown
        case .availability: .allowed
        case .space(let id): spaceExists(id) ? .allowed : .unknown
        case .admin: principal?.isAdmin == true ? .allowed : .forbidden
        case .bookings(let id), .payments(let id):
            principal.map { $0.isAdmin || $0.id == id } == true ? .allowed : .forbidden
        }
    }

    /// What a connection starts subscribed to: the seed's client never subscribes, yet handles
    /// `booking_updated`, `payment_verified` and `space_availability_changed`.
    static func defaults(for principal: Principal?) -> [Channel] {
        guard let principal else { return [.availability] }
        if principal.isAdmin { return [.availability, .admin] }
        return [.availability, .bookings(userID: principal.id), .payments(userID: principal.id)]
    }

    /// Where a member's booking changes go.
    static func booking(of userID: String) -> [Channel] { [.bookings(userID: userID), .admin] }
    /// Where a member's payment changes go.
    static func payment(of userID: String) -> [Channel] { [.payments(userID: userID), .admin] }
    /// Where a space's availability and catalogue changes go.
    static func space(_ spaceID: String) -> [Channel] { [.availability, .space(spaceID), .admin] }
}

/// Every event type the hub publishes (`DomainEvent.type`; the JavaScript client's `KNOWN_TYPES`
/// and `/openapi.json`'s event schemas list the same, which tests check).
enum EventType: String, CaseIterable, Sendable {
    case bookingUpdated = "booking_updated"
    case bookingHoldExpired = "booking_hold_expired"
    case paymentVerified = "payment_verified"
    case paymentFailed = "payment_failed"
    case paymentRefunded = "payment_refunded"
    case paymentCancelled = "payment_cancelled"
    case paymentFlagged = "payment_flagged"
    case spaceAvailabilityChanged = "space_availability_changed"
    case spaceUpdated = "space_updated"
    case userUpdated = "user_updated"
    case settingsUpdated = "settings_updated"
}
