import HubCore
import HubCrypto
import HubHTTP
import HubStore
import HubWire

/// The seed's booking endpoints.
final class BookingRoutes {
    let service: BookingService
    let storage: Storage
    let limits: RateLimits
    /// Idempotency keys whose first request is still being committed, by principal and key.
    private var keysInFlight: Set<String> = []

    /// Longest `specialRequests` text.
    static let specialRequestsCharactersMax = 1000
    /// Largest page of a list.
    static let pageLimitMax = 100
    /// Longest `Idempotency-Key` accepted.
    static let idempotencyKeyBytesMax = 200
    /// How long a key's answer is kept.
    static let idempotencyRetentionSeconds: Int64 = 24 * 3600

    init(service: BookingService, storage: Storage, limits: RateLimits) {
        self.service = service
        self.storage = storage
        self.limits = limits
    }

    func register(_ router: Router) {
        router.post("/api/bookings", access: .member) { [self] request, responder throws(APIError) in try self.create(request, responder) }
        router.post("/api/users/bookings", access: .member) { [self] request, responder throws(APIError) in try self.create(request, responder) }
        router.get("/api/users/bookings", access: .member) { [self] request, responder throws(APIError) in try self.list(request, responder) }
        router.get("/api/users/bookings/:id", access: .member) { [self] request, responder throws(APIError) in try self.show(request, responder) }
        router.get("/api/bookings/:id", access: .authenticated) { [self] request, responder throws(APIError) in try self.show(request, responder) }
        router.put("/api/users/bookings/:id", access: .member) { [self] request, responder throws(APIError) in try self.update(request, responder) }
        router.delete("/api/users/bookings/:id", access: .member) { [self] request, responder throws(APIError) in try self.cancel(request, responder) }
        router.put("/api/bookings/:id/cancel", access: .authenticated) { [self] request, responder throws(APIError) in try self.cancel(request, responder) }
        router.put("/api/bookings/:id/confirm", access: .admin) { [self] request, responder throws(APIError) in try self.confirm(request, responder) }
    }

    // MARK: Handlers

    private func create(_ request: Request, _ responder: Responder) throws(APIError) {
        let principal = request.requirePrincipal
        // Per address and per member: a hold takes a slot from everyone else, and a flood of
        // attempts is a flood of index work and commits (bookings.rateLimits).
        // The member's own limit first, so attempts refused by it do not use up the address's.
        try limits.take(.bookPerUser, key: principal.id)
        try limits.take(.bookPerIP, key: request.peer)
        let body = try request.jsonObject()
        let draft = try Self.draft(from: body)
        let now = service.clock.seconds
        guard let key = request.header("idempotency-key") else {
            service.create(draft, for: principal.id, now: now) { outcome in Self.answer(outcome, responder) }
            return
        }
        guard !key.isEmpty, key.utf8.count <= Self.idempotencyKeyBytesMax else {
            throw APIError.badRequest("bad_idempotency_key", "Idempotency-Key must be 1 to \(Self.idempotencyKeyBytesMax) bytes")
        }
        let requestHash = Hex.encode(SHA256.hash(request.body))
        let slot = principal.id + "\u{0}" + key
        // The key is taken from the moment its record is looked up, so a second request with it
        // cannot pass the lookup while the first is between the lookup and its commit.
        guard !keysInFlight.contains(slot) else {
            throw APIError.conflict("idempotency_key_in_use", "a request with this Idempotency-Key is still being processed")
        }
        keysInFlight.insert(slot)
        storage.read({ try IdempotencyTable.find(principalID: principal.id, key: key, $0) }) { [self] stored in
            // A key whose record cannot be read is not taken as unused: that could book twice.
            guard case .success(let stored) = stored else {
                keysInFlight.remove(slot)
                return responder.fail(Storage.unavailable)
            }
            if let stored {
                keysInFlight.remove(slot)
                return responder.continuing { () throws(APIError) in try Self.replay(stored, requestHash: requestHash, responder) }
            }
            service.create(draft, for: principal.id, now: now, extraWork: { db, _, view in
                let entry = IdempotencyTable.Entry(requestHash: requestHash, status: 201, body: String(decoding: view, as: UTF8.self))
                try IdempotencyTable.insert(principalID: principal.id, key: key, entry: entry, at: now, db)
            }) { [self] outcome in
                keysInFlight.remove(slot)
                Self.answer(outcome, responder)
            }
        }
    }

    private static func replay(_ stored: IdempotencyTable.Entry, requestHash: String, _ responder: Responder) throws(APIError) {
        guard stored.requestHash == requestHash else {
            throw APIError(422, "idempotency_key_reused", "this Idempotency-Key was used with a different request body")
        }
        var response = HTTPResponse(status: stored.status, body: Array(stored.body.utf8))
        response.headers.set("content-type", "application/json; charset=utf-8")
        response.headers.set("idempotent-replayed", "true")
        responder.send(response)
    }

    private static func answer(_ outcome: BookingService.CreateOutcome, _ responder: Responder) {
        switch outcome {
        case .created(_, let view): responder.json(encoded: view, status: 201)
        case .rejected(let error): responder.fail(error)
        }
    }

    private func list(_ request: Request, _ responder: Responder) throws(APIError) {
        let (page, limit) = try Self.pagination(request)
        var status: String?
        if let raw = request.query["status"], !raw.isEmpty {
            guard BookingStatus(rawValue: raw) != nil else {
                throw APIError.invalid("status", "bad_status", "status must be one of \(BookingStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            status = raw
        }
        let userID = request.requirePrincipal.id
        storage.read(for: responder, { [status] in try BookingTable.list(userID: userID, status: status, limit: limit, offset: (page - 1) * limit, $0) }) {
            result in
            responder.json(BookingViews.page(result.bookings, total: result.total, page: page, limit: limit))
        }
    }

    private func show(_ request: Request, _ responder: Responder) throws(APIError) {
        service.visible(request.parameter("id"), to: request.requirePrincipal, for: responder) { booking in
            responder.json(encoded: BookingViews.bytes(of: booking))
        }
    }

    private func update(_ request: Request, _ responder: Responder) throws(APIError) {
        let body = try request.jsonObject()
        let timeKeys = ["date", "startTime", "endTime", "duration"]
        guard timeKeys.contains(where: { body[$0] != nil }) else { return try update(request, body, draft: nil, responder) }
        service.visible(request.parameter("id"), to: request.requirePrincipal, for: responder) { [self] current throws(APIError) in
            // Fields not sent keep their current local values.
            var merged = body
            let local = current.zone.local(current.range.start)
            if merged["type"] == nil { merged["type"] = .string(current.kind.rawValue) }
            if merged["spaceId"] == nil { merged["spaceId"] = .string(current.spaceID) }
            if merged["date"] == nil { merged["date"] = .string(local.date.description) }
            if merged["startTime"] == nil { merged["startTime"] = .string(local.time.description) }
            if merged["endTime"] == nil && merged["duration"] == nil {
                // Only a new date or start: the booking keeps its length (keeping the old end
                // time refused every move to a later start, and every multi-day booking's).
                let length = DurationSpec(current.durationLabel).flatMap { $0.seconds == current.range.duration ? $0.label : nil }
                merged["duration"] = .string(length ?? DurationSpec.label(seconds: current.range.duration))
            }
            let draft = try Self.draft(from: merged)
            guard draft.spaceID == current.spaceID else {
                throw APIError.invalid("spaceId", "space_change_not_allowed", "a booking cannot move to another space; cancel and book again")
            }
            try update(request, body, draft: draft, responder)
        }
    }

    /// A change with its new times resolved (nil: times unchanged).
    private func update(_ request: Request, _ body: JSONObject, draft: BookingDraft?, _ responder: Responder) throws(APIError) {
        let specialRequests: String?? = body["specialRequests"] == nil ? nil : .some(try Self.specialRequests(body))
        guard draft != nil || specialRequests != nil else {
            throw APIError.invalid("body", "nothing_to_change", "send date/startTime/endTime/duration or specialRequests")
        }
        service.update(request.parameter("id"), by: request.requirePrincipal, draft: draft, specialRequests: specialRequests) { result in
            switch result {
            case .success(let booking): responder.json(encoded: BookingViews.bytes(of: booking))
            case .failure(let error): responder.fail(error)
            }
        }
    }

    private func cancel(_ request: Request, _ responder: Responder) throws(APIError) {
        var reason: String?
        if !request.body.isEmpty, let body = try? request.jsonObject(), let text = body["reason"]?.stringValue {
            reason = String(text.filter { $0 != "\0" }.prefix(500))  // lenient, as the body is: U+0000 dropped
        }
        let principal = request.requirePrincipal
        let id = request.parameter("id")
        let answer = Self.answer(responder)
        guard principal.isAdmin else { return service.cancel(id, by: principal, reason: reason, completion: answer) }
        audit(request, "cancel", id, responder) { [service] audit in
            service.cancel(id, by: principal, reason: reason, extraWork: audit, completion: answer)
        }
    }

    private func confirm(_ request: Request, _ responder: Responder) throws(APIError) {
        let id = request.parameter("id")
        audit(request, "confirm", id, responder) { [service] audit in
            service.confirm(id, extraWork: audit, completion: Self.answer(responder))
        }
    }

    private static func answer(_ responder: Responder) -> (Result<Booking, APIError>) -> Void {
        { result in
            switch result {
            case .success(let booking): responder.json(encoded: BookingViews.bytes(of: booking))
            case .failure(let error): responder.fail(error)
            }
        }
    }

    /// A staff change to a booking is audited in its own transaction: `then` gets the work that
    /// writes the audit row, with the booking as it was before (404 if there is none).
    private func audit(_ request: Request, _ action: String, _ id: String, _ responder: Responder,
                       then: @escaping (@escaping @Sendable (Database, Booking) throws -> Void) -> Void) {
        let now = service.clock.seconds
        service.find(id) { found in
            responder.continuing { () throws(APIError) in
                let old = try found.get()
                let record = Audit.recorder(request, at: now, action: action, resource: "booking", resourceID: id,
                                            old: BookingViews.booking(old))
                then { db, booking in try AuditTable.insert(record(BookingViews.booking(booking)), db) }
            }
        }
    }

    // MARK: Parsing

    /// The seed's booking body: `type`, `spaceId`, `date`, `startTime`, and `endTime` (events)
    /// or `duration` ("8 hours", coworking); optional `specialRequests`.
    static func draft(from body: JSONObject) throws(APIError) -> BookingDraft {
        guard let typeText = body["type"]?.stringValue, let kind = SpaceKind(rawValue: typeText) else {
            throw APIError.invalid("type", "bad_type", "type must be \"coworking\" or \"event\"")
        }
        guard let spaceID = body["spaceId"]?.stringValue, !spaceID.isEmpty, spaceID.utf8.count <= 64 else {
            throw APIError.invalid("spaceId", "missing_space", "spaceId is required")
        }
        let date = try LocalDate.required(body["date"]?.stringValue, field: "date")
        guard let startText = body["startTime"]?.stringValue, let start = LocalTime(startText), start.minutes < 1440 else {
            throw APIError.invalid("startTime", "bad_time", "startTime must be HH:MM")
        }
        var end: LocalTime?
        if let value = body["endTime"], !value.isNull {
            guard let text = value.stringValue, let parsed = LocalTime(text) else {
                throw APIError.invalid("endTime", "bad_time", "endTime must be HH:MM")
            }
            end = parsed
        }
        var duration: DurationSpec?
        if let value = body["duration"], !value.isNull {
            guard let text = value.stringValue, let parsed = DurationSpec(text) else {
                throw APIError.invalid("duration", "bad_duration", "duration must look like \"8 hours\", \"1 day\" or \"2 weeks\"")
            }
            duration = parsed
        }
        guard end != nil || duration != nil else {
            throw APIError.invalid(kind == .event ? "endTime" : "duration", "missing_end", "give endTime or duration")
        }
        return BookingDraft(kind: kind, spaceID: spaceID, date: date, start: start, end: end, duration: duration,
                            specialRequests: try specialRequests(body))
    }

    static func specialRequests(_ body: JSONObject) throws(APIError) -> String? {
        guard let value = body["specialRequests"], !value.isNull else { return nil }
        guard let text = value.stringValue else {
            throw APIError.invalid("specialRequests", "bad_special_requests", "specialRequests must be a string")
        }
        guard text.count <= specialRequestsCharactersMax else {
            throw APIError.invalid("specialRequests", "too_long", "specialRequests is limited to \(specialRequestsCharactersMax) characters")
        }
        guard !text.utf8.contains(0) else {
            throw APIError.invalid("specialRequests", "invalid_character", "specialRequests must not contain U+0000")
        }
        return text.isEmpty ? nil : text
    }

    /// `page` (from 1) and `limit` (1…100, default 10) query parameters.
    static func pagination(_ request: Request, defaultLimit: Int = 10) throws(APIError) -> (page: Int, limit: Int) {
        var page = 1
        var limit = defaultLimit
        if let text = request.query["page"] {
            guard let value = Int(text), value >= 1, value <= 1_000_000 else {
                throw APIError.invalid("page", "bad_page", "page must be a positive integer")
            }
            page = value
        }
        if let text = request.query["limit"] {
            guard let value = Int(text), value >= 1, value <= pageLimitMax else {
                throw APIError.invalid("limit", "bad_limit", "limit must be between 1 and \(pageLimitMax)")
            }
            limit = value
        }
        return (page, limit)
    }
}

@available(*, unavailable) extension BookingRoutes: Sendable {}
