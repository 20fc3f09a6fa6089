import HubCore
import HubCrypto
import HubHTTP
import HubStore
import HubWire

/// Spaces, plans and availability: the seed's catalogue endpoints and the live grid.
final class SpaceRoutes {
    let catalog: SpaceCatalog
    let bookings: BookingService
    let committer: Committer
    let settings: LiveSettings

    /// Most days one grid request may cover.
    static let gridDaysMax = 14

    init(catalog: SpaceCatalog, bookings: BookingService, committer: Committer, settings: LiveSettings) {
        self.catalog = catalog
        self.bookings = bookings
        self.committer = committer
        self.settings = settings
    }

    func register(_ router: Router) {
        router.get("/api/coworking-plans") { [self] _, responder in
            responder.json(.array(catalog.active(.coworking).map(SpaceViews.plan)))
        }
        router.get("/api/event-spaces") { [self] _, responder in
            responder.json(.array(catalog.active(.event).map(SpaceViews.eventSpace)))
        }
        router.get("/api/coworking-plans/:id") { [self] request, responder throws(APIError) in try self.show(request, responder, kind: .coworking) }
        router.get("/api/event-spaces/:id") { [self] request, responder throws(APIError) in try self.show(request, responder, kind: .event) }
        router.post("/api/coworking-plans", access: .admin) { [self] request, responder throws(APIError) in try self.create(request, responder, kind: .coworking) }
        router.post("/api/event-spaces", access: .admin) { [self] request, responder throws(APIError) in try self.create(request, responder, kind: .event) }
        router.put("/api/coworking-plans/:id", access: .admin) { [self] request, responder throws(APIError) in try self.update(request, responder, kind: .coworking) }
        router.put("/api/event-spaces/:id", access: .admin) { [self] request, responder throws(APIError) in try self.update(request, responder, kind: .event) }
        router.delete("/api/coworking-plans/:id", access: .admin) { [self] request, responder throws(APIError) in try self.deactivate(request, responder, kind: .coworking) }
        router.delete("/api/event-spaces/:id", access: .admin) { [self] request, responder throws(APIError) in try self.deactivate(request, responder, kind: .event) }
        router.get("/api/spaces/availability") { [self] request, responder throws(APIError) in try self.availability(request, responder) }
        router.get("/api/spaces/availability/grid") { [self] request, responder throws(APIError) in try self.grid(request, responder) }
        router.post("/api/bookings/check-conflicts") { [self] request, responder throws(APIError) in try self.checkConflicts(request, responder) }
    }

    // MARK: Catalogue

    private func show(_ request: Request, _ responder: Responder, kind: SpaceKind) throws(APIError) {
        guard let space = catalog[request.parameter("id")], space.kind == kind,
              space.isActive || request.principal?.isAdmin == true
        else { throw APIError.notFound(kind == .coworking ? "coworking plan" : "event space") }
        responder.json(SpaceViews.view(space))
    }

    private func create(_ request: Request, _ responder: Responder, kind: SpaceKind) throws(APIError) {
        let body = try request.jsonObject()
        let now = bookings.clock.seconds
        let blank = Space(id: SecureRandom.uuidV7(nowMs: now * 1000), kind: kind, name: "", price: .zero(settings.currency),
                          priceUnit: .day, hours: SpaceInput.defaultHours, zone: settings.timeZone,
                          maximumMinutes: kind == .event ? 12 * 60 : 31 * 24 * 60, createdAt: now, updatedAt: now)
        let space = try SpaceInput.apply(body, to: blank, creating: true)
        save(space, old: nil, action: "create", request: request, responder: responder, status: 201)
    }

    private func update(_ request: Request, _ responder: Responder, kind: SpaceKind) throws(APIError) {
        guard let current = catalog[request.parameter("id")], current.kind == kind else {
            throw APIError.notFound(kind == .coworking ? "coworking plan" : "event space")
        }
        let body = try Fields.changes(request, send: "at least one field to change")
        var space = try SpaceInput.apply(body, to: current, creating: false)
        space.version = current.version + 1
        space.updatedAt = max(bookings.clock.seconds, current.updatedAt)
        save(space, old: current, action: "update", request: request, responder: responder, status: 200)
    }

    /// DELETE deactivates: the space leaves the catalogue, its bookings keep their history. Again
    /// on an inactive space it answers the space as it is, with no new version or audit row.
    private func deactivate(_ request: Request, _ responder: Responder, kind: SpaceKind) throws(APIError) {
        guard let current = catalog[request.parameter("id")], current.kind == kind else {
            throw APIError.notFound(kind == .coworking ? "coworking plan" : "event space")
        }
        guard current.isActive else { return responder.json(SpaceViews.view(current)) }
        var space = current
        space.isActive = false
        space.version = current.version + 1
        space.updatedAt = max(bookings.clock.seconds, current.updatedAt)
        save(space, old: current, action: "deactivate", request: request, responder: responder, status: 200)
    }

    private func save(_ space: Space, old: Space?, action: String, request: Request, responder: Responder, status: Int) {
        let view = SpaceViews.view(space)
        let resource = space.kind == .coworking ? "coworking_plan" : "event_space"
        let audit = Audit.entry(request, at: bookings.clock.seconds, action: action, resource: resource, resourceID: space.id,
                                old: old.map(SpaceViews.view), new: view)
        let event = DomainEvent(type: .spaceUpdated, channels: Channel.space(space.id), payload: view)
        committer.commit(events: [event], { db in
            try SpaceTable.save(space, db)
            try AuditTable.insert(audit, db)
        }) { [self] result in
            switch result {
            case .success:
                bookings.spaceSaved(space)
                responder.json(view, status: status)
            case .failure:
                responder.fail(.unavailable("store_unavailable", "could not save the space; retry"))
            }
        }
    }

    // MARK: Availability

    private func availability(_ request: Request, _ responder: Responder) throws(APIError) {
        let query = request.query
        guard let spaceID = query["spaceId"], let space = catalog[spaceID], space.isActive else {
            throw APIError.invalid("spaceId", "unknown_space", "spaceId must name an active space")
        }
        if let type = query["type"], SpaceKind(rawValue: type) != space.kind {
            throw APIError.invalid("type", "type_mismatch", "\(spaceID) is a \(space.kind.rawValue) space")
        }
        let date = try LocalDate.required(query["date"], field: "date")
        var check: JSONObject = [:]
        if let startText = query["startTime"] {
            var body: JSONObject = ["type": .string(space.kind.rawValue), "spaceId": .string(spaceID), "date": .string(date.description),
                                    "startTime": .string(startText)]
            body["endTime"] = query["endTime"].map(JSON.string)
            body["duration"] = query["duration"].map(JSON.string)
            check = try fit(try BookingRoutes.draft(from: body), space: space)
        }
        responder.json(encoded: AvailabilityViews.day(space: space, date: date, service: bookings) { $0.members(check) })
    }

    private func checkConflicts(_ request: Request, _ responder: Responder) throws(APIError) {
        let draft = try BookingRoutes.draft(from: try request.jsonObject())
        guard let space = catalog[draft.spaceID], space.isActive else {
            throw APIError.invalid("spaceId", "unknown_space", "spaceId must name an active \(draft.kind.rawValue) space")
        }
        guard space.kind == draft.kind else {
            throw APIError.invalid("type", "type_mismatch", "\(draft.spaceID) is a \(space.kind.rawValue) space, not \(draft.kind.rawValue)")
        }
        var result = try fit(draft, space: space)
        result["hasConflicts"] = .bool(!(result["conflicts"]?.arrayValue?.isEmpty ?? true))
        responder.json(.object(result))
    }

    /// Whether a draft fits now: `available`, the conflicting ranges, and for coworking the seats
    /// left; a range the rules refuse is unavailable with the rule's `reason`.
    private func fit(_ draft: BookingDraft, space: Space) throws(APIError) -> JSONObject {
        let planned: PlannedBooking
        switch BookingPolicy.plan(space: space, date: draft.date, start: draft.start, end: draft.end, duration: draft.duration,
                                  now: bookings.clock.seconds, horizonDays: settings.horizonDays) {
        case .success(let plan): planned = plan
        case .failure(let rejection):
            return ["available": false, "conflicts": [], "reason": ["code": .string(rejection.code), "message": .string(rejection.message)]]
        }
        var result: JSONObject = ["requested": BookingViews.range(planned.range, zone: space.zone),
                                  "amount": .number(planned.amount.majorText), "currency": .string(planned.amount.currency.code)]
        switch bookings.index.check(planned.range, on: space.id) {
        case .fits:
            result["available"] = true
            result["conflicts"] = []
            // Seats free over the range now, as the events report them (the fit's own count is
            // what would be left after this booking took one).
            if let seatsLeft = bookings.index.seatsLeft(on: space.id, during: planned.range) { result["seatsLeft"] = .int(seatsLeft) }
        case .conflict(let conflicts):
            result["available"] = false
            result["conflicts"] = .array(conflicts.map { BookingViews.range($0.interval, zone: space.zone) })
            if space.kind == .coworking { result["seatsLeft"] = 0 }
        case .unknownResource:
            throw APIError.internalError("availability index out of step")
        }
        return result
    }

    private func grid(_ request: Request, _ responder: Responder) throws(APIError) {
        var date = settings.timeZone.local(bookings.clock.seconds).date
        if let text = request.query["date"] { date = try LocalDate.required(text, field: "date") }  // given empty: bad_date
        var days = 1
        if let text = request.query["days"] {
            guard let value = Int(text), (1...Self.gridDaysMax).contains(value) else {
                throw APIError.invalid("days", "bad_days", "days must be between 1 and \(Self.gridDaysMax)")
            }
            days = value
        }
        responder.json(AvailabilityViews.grid(catalog: catalog, service: bookings, date: date, days: days))
    }
}

@available(*, unavailable) extension SpaceRoutes: Sendable {}
