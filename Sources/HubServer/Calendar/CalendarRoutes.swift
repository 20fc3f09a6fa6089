import HubCore
import HubHTTP
import HubStore
import HubWire

/// The seed's calendar endpoints (connect, providers, sync-event) and the ICS feeds.
final class CalendarRoutes {
    private let calendars: CalendarSync
    private let catalog: SpaceCatalog
    /// `calendar.redirectUri`: where providers send members back after they consent.
    private let redirectURI: String
    /// Base of feed URLs.
    private let links: PublicLinks

    /// Longest feed token accepted in a URL (ours are 43 characters).
    static let feedTokenBytesMax = 128
    /// Longest authorization code accepted (Google's are ~75, Microsoft's ~1 KiB).
    static let authCodeBytesMax = 4096

    init(calendars: CalendarSync, catalog: SpaceCatalog, redirectURI: String, links: PublicLinks) {
        self.calendars = calendars
        self.catalog = catalog
        self.redirectURI = redirectURI
        self.links = links
    }

    func register(_ router: Router) {
        router.post("/api/calendar/feeds", access: .member) { [self] request, responder throws(APIError) in self.createFeed(request, responder) }
        router.delete("/api/calendar/feeds", access: .member) { [self] request, responder throws(APIError) in self.revokeFeed(request, responder) }
        // The router matches whole segments, so ":feed" is "<token>.ics"; the suffix is stripped.
        router.get("/api/calendar/feeds/:feed") { [self] request, responder throws(APIError) in try self.memberFeed(request, responder) }
        router.get("/api/calendar/spaces/:space") { [self] request, responder throws(APIError) in try self.spaceFeed(request, responder) }
        router.post("/api/calendar/connect", access: .member) { [self] request, responder throws(APIError) in try self.connect(request, responder) }
        router.get("/api/calendar/providers", access: .member) { [self] request, responder throws(APIError) in try self.providers(request, responder) }
        router.delete("/api/calendar/providers/:id", access: .member) { [self] request, responder throws(APIError) in self.disconnect(request, responder) }
        router.post("/api/calendar/sync-event", access: .member) { [self] request, responder throws(APIError) in try self.syncEvent(request, responder) }
    }

    // MARK: Feeds

    /// `POST /api/calendar/feeds`: a new secret feed URL (any previous one stops working).
    private func createFeed(_ request: Request, _ responder: Responder) {
        let base = links.base(for: request)
        calendars.rotateFeed(userID: request.requirePrincipal.id) { result in
            switch result {
            case .success(let token):
                let url = "\(base)/api/calendar/feeds/\(token).ics"
                let webcal = url.hasPrefix("https://") ? "webcal://" + url.dropFirst(8) : "webcal://" + url.dropFirst(7)
                responder.json(["url": .string(url), "webcalUrl": .string(String(webcal)), "token": .string(token)], status: 201)
            case .failure(let error):
                responder.fail(error)
            }
        }
    }

    /// `DELETE /api/calendar/feeds`: the feed URL stops working. Answers `{"success": true}`:
    /// every JSON endpoint has a JSON body (the seed's client parses every answer).
    private func revokeFeed(_ request: Request, _ responder: Responder) {
        calendars.revokeFeed(userID: request.requirePrincipal.id) { result in
            switch result {
            case .success: responder.json(["success": true])
            case .failure(let error): responder.fail(error)
            }
        }
    }

    private func memberFeed(_ request: Request, _ responder: Responder) throws(APIError) {
        let token = Self.stripICS(request.parameter("feed"))
        guard !token.isEmpty, token.utf8.count <= Self.feedTokenBytesMax else { throw APIError.notFound("calendar feed") }
        calendars.memberFeed(token: token) { result in
            Self.answer(result, cacheControl: "private, max-age=300", what: "calendar feed", responder)
        }
    }

    /// `GET /api/calendar/spaces/:spaceId.ics`: public busy times of a space.
    private func spaceFeed(_ request: Request, _ responder: Responder) throws(APIError) {
        guard let space = catalog[Self.stripICS(request.parameter("space"))] else { throw APIError.notFound("space") }
        calendars.spaceFeed(space) { result in
            Self.answer(result, cacheControl: "public, max-age=300", what: "space", responder)
        }
    }

    private static func answer(_ result: CalendarSync.FeedResult, cacheControl: String, what: String, _ responder: Responder) {
        switch result {
        case .calendar(let bytes):
            var response = HTTPResponse(status: 200, body: bytes)
            response.headers.set("content-type", "text/calendar; charset=utf-8")
            response.headers.set("cache-control", cacheControl)
            response.headers.set("content-disposition", "inline; filename=\"spacehub.ics\"")
            // A feed URL is a secret: keep it out of search indexes.
            response.headers.set("x-robots-tag", "noindex")
            responder.send(response)
        case .notFound:
            responder.fail(.notFound(what))
        case .failed:
            responder.fail(.unavailable("store_unavailable", "could not read the bookings; retry"))
        }
    }

    static func stripICS(_ segment: String) -> String {
        segment.lowercased().hasSuffix(".ics") ? String(segment.dropLast(4)) : segment
    }

    // MARK: Providers

    /// `POST /api/calendar/connect` {provider, authCode[, redirectUri]}.
    private func connect(_ request: Request, _ responder: Responder) throws(APIError) {
        let body = try request.jsonObject()
        let provider = try Self.provider(body["provider"], field: "provider")
        guard let code = body["authCode"]?.stringValue, !code.isEmpty, code.utf8.count <= Self.authCodeBytesMax else {
            throw APIError.invalid("authCode", "missing_auth_code", "authCode is required")
        }
        // The redirect URI must equal the one the authorization request used; configured per hub,
        // or sent by the client when the hub has none.
        var redirectURI = self.redirectURI
        if redirectURI.isEmpty, let sent = body["redirectUri"]?.stringValue { redirectURI = sent }
        calendars.connect(userID: request.requirePrincipal.id, provider: provider, code: code, redirectURI: redirectURI) { result in
            switch result {
            case .success(let integration): responder.json(Self.view(integration), status: 201)
            case .failure(let error): responder.fail(error)
            }
        }
    }

    /// `GET /api/calendar/providers`: the member's active connections, no secrets.
    private func providers(_ request: Request, _ responder: Responder) throws(APIError) {
        calendars.connections(userID: request.requirePrincipal.id, for: responder) { [calendars] connections in
            let available = CalendarProvider.allCases.filter { calendars.settings[$0]?.isConfigured ?? false }
            responder.json([
                "providers": .array(connections.map(Self.view)),
                "available": .array(available.map { .string($0.rawValue) }),
                "enabled": .bool(calendars.vault != nil),
            ])
        }
    }

    /// `DELETE /api/calendar/providers/:id`: disconnects and revokes; answers the connection as it
    /// now stands (`isActive: false`).
    private func disconnect(_ request: Request, _ responder: Responder) {
        calendars.disconnect(userID: request.requirePrincipal.id, integrationID: request.parameter("id")) { result in
            switch result {
            case .success(let integration): responder.json(Self.view(integration))
            case .failure(let error): responder.fail(error)
            }
        }
    }

    /// `POST /api/calendar/sync-event` {bookingId, providers?}: writes the booking's event to the
    /// member's calendars now (creates, updates, or deletes a cancelled booking's event).
    /// Syncs what it can and answers 200 with each provider's outcome (`status: ok | error`, and
    /// the error) when at least one calendar is in sync: the seed's client asks for
    /// `["google", "outlook"]` whether or not both are connected, and a calendar that was written
    /// must not read as a failure. When none is, the first failure's status (502 `provider_error`,
    /// 409 `reauthorization_required`) with every outcome in `error.results`; 409 `not_connected`
    /// when none of them is connected. A failed provider keeps its previous state.
    private func syncEvent(_ request: Request, _ responder: Responder) throws(APIError) {
        let body = try request.jsonObject()
        guard let bookingID = body["bookingId"]?.stringValue, !bookingID.isEmpty, bookingID.utf8.count <= 64 else {
            throw APIError.invalid("bookingId", "missing_booking", "bookingId is required")
        }
        var requested: Set<CalendarProvider>?
        if let value = body["providers"], !value.isNull {
            guard let names = value.arrayValue else {
                throw APIError.invalid("providers", "bad_providers", "providers must be an array such as [\"google\", \"outlook\"]")
            }
            var set = Set<CalendarProvider>()
            for name in names { set.insert(try Self.provider(name, field: "providers")) }
            requested = set.isEmpty ? nil : set
        }
        let userID = request.requirePrincipal.id
        calendars.connections(userID: userID, for: responder) { [calendars] connections throws(APIError) in
            let connected = Set(connections.compactMap { CalendarProvider(rawValue: $0.provider) })
            let syncing = requested.map { $0.intersection(connected) } ?? connected
            let missing = (requested ?? []).subtracting(connected).sorted()
            guard !syncing.isEmpty else {
                throw APIError.conflict("not_connected", "connect a calendar first (POST /api/calendar/connect)",
                                        details: ["results": .array(missing.map(Self.notConnected))])
            }
            calendars.sync(bookingID: bookingID, userID: userID, providers: syncing, force: true) { result in
                switch result {
                case .failure(let error):
                    responder.fail(error)
                case .success(let results):
                    let views = results.map(Self.view) + missing.map(Self.notConnected)
                    let synced = results.filter { $0.error == nil }.count
                    if synced == 0, let failure = results.first(where: { $0.error != nil })?.error {
                        var error = failure.apiError
                        error.details["results"] = .array(views)
                        return responder.fail(error)
                    }
                    responder.json(["bookingId": .string(bookingID), "results": .array(views),
                                    "synced": .int(synced), "failed": .int(views.count - synced)])
                }
            }
        }
    }

    private static func notConnected(_ provider: CalendarProvider) -> JSON {
        ["provider": .string(provider.rawValue), "status": "error",
         "error": ["code": "not_connected", "message": .string("\(provider.displayName) is not connected")]]
    }

    private static func provider(_ value: JSON?, field: String) throws(APIError) -> CalendarProvider {
        guard let name = value?.stringValue, let provider = CalendarProvider(rawValue: name.lowercased()) else {
            throw APIError.invalid(field, "bad_provider", "provider must be \"google\" or \"outlook\"")
        }
        return provider
    }

    // MARK: Views

    static func view(_ integration: CalendarIntegrationTable.Integration) -> JSON {
        [
            "id": .string(integration.id),
            "provider": .string(integration.provider),
            "providerUserId": .optional(integration.providerUserID),
            "calendarId": .optional(integration.calendarID),
            "isActive": .bool(integration.isActive),
            "connectedAt": .string(UTC.iso8601(integration.createdAt)),
            "updatedAt": .string(UTC.iso8601(integration.updatedAt)),
            "tokenExpiresAt": integration.tokenExpiresAt.map { .string(UTC.iso8601($0)) } ?? .null,
            "lastSyncedAt": integration.lastSyncedAt.map { .string(UTC.iso8601($0)) } ?? .null,
            "lastError": .optional(integration.lastError),
        ]
    }

    static func view(_ result: SyncResult) -> JSON {
        var object: JSONObject = [
            "provider": .string(result.provider.rawValue),
            "integrationId": .string(result.integrationID),
            "action": .string(result.action.rawValue),
            "externalId": .optional(result.externalID),
            "status": .string(result.error == nil ? "ok" : "error"),
        ]
        if let error = result.error {
            object["error"] = ["code": .string(error.code), "message": .string(error.message)]
        }
        return .object(object)
    }
}

@available(*, unavailable) extension CalendarRoutes: Sendable {}
