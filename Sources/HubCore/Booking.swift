/// A member's booking of a coworking plan or an event space.
///
/// Glossary: a *slot* is a free range of time; a *hold* is the temporary claim a `pending`
/// booking has on its slot until `holdExpiresAt`; a *booking* is the record itself, whatever
/// its status.
public struct Booking: Hashable, Sendable {
    public var id: String
    public var userID: String
    public var kind: SpaceKind
    public var spaceID: String
    public var spaceName: String
    /// UTC, half-open.
    public var range: Interval
    /// The space's zone when booked: dates and times are shown in it.
    public var zone: Zone
    /// As the member asked ("8 hours") or derived from the range for event spaces.
    public var durationLabel: String
    public var amount: Money
    public var status: BookingStatus
    public var paymentState: PaymentState
    /// When a pending booking's hold lapses (UTC seconds); nil once confirmed.
    public var holdExpiresAt: Int64?
    public var specialRequests: String?
    public var paymentReference: String?
    /// Set when a paid booking is cancelled inside the refund window: the payments desk refunds it.
    public var refundDue: Bool
    public var cancelReason: String?
    public var createdAt: Int64
    public var updatedAt: Int64
    /// Bumped on every change; ICS SEQUENCE and optimistic checks use it.
    public var version: Int

    @inlinable
    public init(id: String, userID: String, kind: SpaceKind, spaceID: String, spaceName: String, range: Interval,
                zone: Zone, durationLabel: String, amount: Money, status: BookingStatus = .pending,
                paymentState: PaymentState = .pending, holdExpiresAt: Int64? = nil, specialRequests: String? = nil,
                paymentReference: String? = nil, refundDue: Bool = false, cancelReason: String? = nil,
                createdAt: Int64, updatedAt: Int64, version: Int = 1) {
        self.id = id
        self.userID = userID
        self.kind = kind
        self.spaceID = spaceID
        self.spaceName = spaceName
        self.range = range
        self.zone = zone
        self.durationLabel = durationLabel
        self.amount = amount
        self.status = status
        self.paymentState = paymentState
        self.holdExpiresAt = holdExpiresAt
        self.specialRequests = specialRequests
        self.paymentReference = paymentReference
        self.refundDue = refundDue
        self.cancelReason = cancelReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
    }

    /// Whether this booking occupies its slot at `now`: confirmed, or pending with a live hold.
    public func holdsTime(at now: Int64) -> Bool {
        switch status {
        case .confirmed: true
        case .pending: (holdExpiresAt ?? .max) > now
        default: false
        }
    }

    public var localDate: LocalDate { zone.local(range.start).date }
    public var localStart: LocalTime { zone.local(range.start).time }
    public var localEnd: LocalTime { zone.local(range.end).time }
}

/// One payment attempt for a booking.
public struct Payment: Hashable, Sendable {
    public var id: String
    public var bookingID: String
    public var userID: String
    public var amount: Money
    public var method: String
    public var gateway: String
    /// Our reference, sent to the gateway; unique.
    public var reference: String
    public var accessCode: String?
    public var authorizationURL: String?
    public var status: PaymentStatus
    /// The gateway's last answer, as JSON text (kept for disputes).
    public var gatewayResponse: String?
    public var refundedAmount: Money
    public var verifiedAt: Int64?
    public var verifiedBy: String?
    /// Set when the gateway reported an amount or currency that differs from ours.
    public var flagged: String?
    public var createdAt: Int64
    public var updatedAt: Int64
    /// Whether this payment paid its booking (the charge the booking kept), as opposed to money
    /// that came for it and must go back. Only applied payments make a booking `paid`.
    public var applied: Bool

    public init(id: String, bookingID: String, userID: String, amount: Money, method: String, gateway: String,
                reference: String, accessCode: String? = nil, authorizationURL: String? = nil,
                status: PaymentStatus = .pending, gatewayResponse: String? = nil, refundedAmount: Money? = nil,
                verifiedAt: Int64? = nil, verifiedBy: String? = nil, flagged: String? = nil,
                createdAt: Int64, updatedAt: Int64, applied: Bool = false) {
        self.id = id
        self.bookingID = bookingID
        self.userID = userID
        self.amount = amount
        self.method = method
        self.gateway = gateway
        self.reference = reference
        self.accessCode = accessCode
        self.authorizationURL = authorizationURL
        self.status = status
        self.gatewayResponse = gatewayResponse
        self.refundedAmount = refundedAmount ?? .zero(amount.currency)
        self.verifiedAt = verifiedAt
        self.verifiedBy = verifiedBy
        self.flagged = flagged
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.applied = applied
    }

    /// What can still be refunded: paid minus already refunded.
    public var refundable: Money {
        status == .successful || status == .refunded ? amount - refundedAmount : .zero(amount.currency)
    }
}

/// A member account (the seed's `users` table, plus `status`).
public struct User: Hashable, Sendable {
    public enum Status: String, Sendable { case active, suspended }

    public var id: String
    public var email: String
    public var passwordHash: String
    public var firstName: String
    public var lastName: String
    public var phone: String?
    public var emailVerified: Bool
    public var status: Status
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(id: String, email: String, passwordHash: String, firstName: String, lastName: String, phone: String?,
                emailVerified: Bool = false, status: Status = .active, createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.email = email
        self.passwordHash = passwordHash
        self.firstName = firstName
        self.lastName = lastName
        self.phone = phone
        self.emailVerified = emailVerified
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var fullName: String { "\(firstName) \(lastName)" }
}

/// A staff account (the seed's `admin_users`).
public struct AdminUser: Hashable, Sendable {
    public enum Role: String, Sendable, CaseIterable { case admin, superAdmin = "super_admin" }

    public var id: String
    public var email: String
    public var passwordHash: String
    public var name: String
    public var role: Role
    public var isActive: Bool
    public var lastLogin: Int64?
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(id: String, email: String, passwordHash: String, name: String, role: Role, isActive: Bool = true,
                lastLogin: Int64? = nil, createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.email = email
        self.passwordHash = passwordHash
        self.name = name
        self.role = role
        self.isActive = isActive
        self.lastLogin = lastLogin
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
