import HubCore
import HubHTTP
import HubStore
import HubWire

/// The admin desk's member management: list and search, one member's record, suspension.
final class AdminUserRoutes {
    let storage: Storage
    let auth: AuthService
    let bookings: BookingService
    let realtime: Realtime
    let committer: Committer

    /// WebSocket close code for a suspended account (application range 4000–4999).

    init(storage: Storage, auth: AuthService, bookings: BookingService, realtime: Realtime, committer: Committer) {
        self.storage = storage
        self.auth = auth
        self.bookings = bookings
        self.realtime = realtime
        self.committer = committer
    }

    func register(_ router: Router) {
        router.get("/api/admin/users", access: .admin) { [self] request, responder throws(APIError) in try list(request, responder) }
        router.get("/api/admin/users/:id", access: .admin) { [self] request, responder throws(APIError) in try show(request, responder) }
        router.put("/api/admin/users/:id", access: .superAdmin) { [self] request, responder throws(APIError) in try update(request, responder) }
    }

    /// `totalPaid` counts what the member paid, less refunds, in the hub's currency (`currency`).
    static func summary(_ row: UserTable.Summary, currency: Currency) -> JSON {
        var view = UserViews.user(row.user).objectValue ?? [:]
        view["bookingCount"] = .int(row.bookingCount)
        view["totalPaid"] = .number(Money(minorUnits: row.paidMinor, currency: currency).majorText)
        view["currency"] = .string(currency.code)
        view["suspendedReason"] = .optional(row.suspendedReason)
        return .object(view)
    }

    private func list(_ request: Request, _ responder: Responder) throws(APIError) {
        let (page, limit) = try BookingRoutes.pagination(request, defaultLimit: 20)
        let search = request.query["search"].map { String($0.trimmedWhitespace.prefix(100)) }.flatMap { $0.isEmpty ? nil : $0 }
        let currency = bookings.settings.currency
        storage.read(for: responder, {
            try UserTable.search(search, currency: currency.code, limit: limit, offset: (page - 1) * limit, $0)
        }) { result in
            responder.json(["users": .array(result.users.map { Self.summary($0, currency: currency) }), "total": .int(result.total),
                            "page": .int(page), "limit": .int(limit)])
        }
    }

    private func show(_ request: Request, _ responder: Responder) throws(APIError) {
        let id = request.parameter("id")
        // By id: a search by email is a substring match and may find another member first.
        let currency = bookings.settings.currency
        storage.read(for: responder, { db in
            try UserTable.summary(id, currency: currency.code, db).map {
                ($0, try BookingTable.forUser(id, limit: 100, db), try PaymentTable.forUser(id, limit: 100, db))
            }
        }) { found throws(APIError) in
            guard let (summary, userBookings, userPayments) = found else { throw APIError.notFound("user") }
            var view = Self.summary(summary, currency: currency).objectValue ?? [:]
            view["bookings"] = .array(userBookings.map { BookingViews.booking($0) })
            view["payments"] = .array(userPayments.map(PaymentViews.payment))
            responder.json(.object(view))
        }
    }

    /// {status: active|suspended, reason}. Suspension takes effect at once: tokens stop working,
    /// live sockets close with 4403, pending holds are released.
    private func update(_ request: Request, _ responder: Responder) throws(APIError) {
        let id = request.parameter("id")
        let body = try request.jsonObject()
        for key in body.keys where key != "status" && key != "reason" {
            throw APIError.invalid(key, "unknown_field", "only status and reason can be changed here")
        }
        let statusText = try Fields.string(body, "status", maxBytes: 20)
        guard let status = User.Status(rawValue: statusText) else {
            throw APIError.invalid("status", "bad_status", "status must be active or suspended")
        }
        let reason = try Fields.optionalString(body, "reason", maxBytes: 500)
        if status == .suspended && (reason ?? "").trimmedWhitespace.isEmpty {
            throw APIError.invalid("reason", "missing_field", "a suspension needs a reason")
        }
        storage.read(for: responder, { try UserTable.find(id, $0) }) { [self] user throws(APIError) in
            guard let user else { throw APIError.notFound("user") }
            change(user, to: status, reason: reason, request, responder)
        }
    }

    private func change(_ user: User, to status: User.Status, reason: String?, _ request: Request, _ responder: Responder) {
        let id = user.id
        let now = auth.clock.seconds
        var after = UserViews.user(user).objectValue ?? [:]
        after["status"] = .string(status.rawValue)
        after["suspendedReason"] = .optional(reason)
        let audit = Audit.entry(request, at: bookings.clock.seconds, action: status == .suspended ? "suspend" : "reactivate",
                                resource: "user", resourceID: id, old: UserViews.user(user), new: .object(after))
        let event = DomainEvent(type: .userUpdated, channels: [.admin], payload: .object(after))
        let email = user.email
        let name = user.fullName
        committer.commit(events: [event], { db in
            try UserTable.updateStatus(userID: id, status: status, reason: reason, now: now, db)
            if status == .suspended {
                try TokenTable.revokeSubject(id, at: now, db)
                try Outbox.enqueue(.accountSuspended, to: email, variables: ["userName": .string(name), "reason": .string(reason ?? "")],
                                   at: now, db)
            }
            try AuditTable.insert(audit, db)
        }) { [self] result in
            switch result {
            case .failure:
                responder.fail(.unavailable("store_unavailable", "could not change the account; retry"))
            case .success:
                auth.setSuspended(id, status == .suspended)
                if status == .suspended {
                    // Ends the member's sockets (4403) and streams too (Realtime.sessionsMayHaveEnded).
                    auth.revokeSubject(id, now: now)
                    releaseHolds(of: id, staff: request.requirePrincipal)
                }
                var updated = user
                updated.status = status
                updated.updatedAt = now
                var view = UserViews.user(updated).objectValue ?? [:]
                view["suspendedReason"] = .optional(reason)
                responder.json(.object(view))
            }
        }
    }

    /// Cancels the member's pending holds so their slots go back on sale.
    private func releaseHolds(of userID: String, staff: Principal) {
        for booking in bookings.live.bookings where booking.userID == userID && booking.status == .pending {
            bookings.cancel(booking.id, by: staff, reason: "account suspended") { _ in }
        }
    }
}

@available(*, unavailable) extension AdminUserRoutes: Sendable {}
