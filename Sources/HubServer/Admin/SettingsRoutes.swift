import HubCore
import HubHTTP
import HubStore
import HubWire

/// `/api/admin/settings` (super admin) and `/api/admin/audit-logs` (admin).
final class SettingsRoutes {
    let storage: Storage
    let settings: LiveSettings
    let committer: Committer

    init(storage: Storage, settings: LiveSettings, committer: Committer) {
        self.storage = storage
        self.settings = settings
        self.committer = committer
    }

    func register(_ router: Router) {
        router.get("/api/admin/settings", access: .superAdmin) { [self] request, responder throws(APIError) in
            responder.json(try Self.describes(request) ? describedView() : view())
        }
        router.put("/api/admin/settings", access: .superAdmin) { [self] request, responder throws(APIError) in try update(request, responder) }
        router.get("/api/admin/audit-logs", access: .admin) { [self] request, responder throws(APIError) in try auditLogs(request, responder) }
    }

    /// `{key: value, …}`: the flat object the seed's `PUT` sends, so a form can load, edit and save it.
    private func view() -> JSON {
        var values = JSONObject()
        for entry in SettingsStore.describe(settings) { values[entry.key] = entry.value }
        return .object(values)
    }

    /// `?describe=true`: `{"settings": {key: value}, "descriptions": {key: text}}`, for a settings page
    /// that labels its fields.
    private func describedView() -> JSON {
        var descriptions = JSONObject()
        for entry in SettingsStore.describe(settings) { descriptions[entry.key] = .string(entry.description) }
        return ["settings": view(), "descriptions": .object(descriptions)]
    }

    private static func describes(_ request: Request) throws(APIError) -> Bool {
        switch request.query["describe"] {
        case nil, "false", "0": return false
        case "true", "1", "": return true
        default: throw APIError.invalid("describe", "bad_flag", "describe must be true or false")
        }
    }

    /// Validates every key first (unknown keys 422), then applies all of them or none.
    private func update(_ request: Request, _ responder: Responder) throws(APIError) {
        let body = try Fields.changes(request, send: "at least one setting")
        // Validate against a scratch copy so a bad key leaves the live settings untouched.
        let scratch = settings.copy()
        for member in body {
            do throws(SettingsStore.Invalid) {
                try SettingsStore.apply(member.key, member.value, to: scratch)
            } catch {
                throw APIError.invalid(error.key, error.unknown ? "unknown_setting" : "invalid_setting", error.message)
            }
        }
        let before = view()
        let changes = body
        let now = committer.clock.seconds
        let admin = request.requirePrincipal.id
        let old = JSON.object(JSONObject(changes.keys.map { key in (key: key, value: before[key] ?? .null) }))
        let audit = Audit.entry(request, at: now, action: "update", resource: "settings", resourceID: nil, old: old, new: .object(changes))
        let event = DomainEvent(type: .settingsUpdated, channels: [.admin], payload: .object(changes))
        committer.commit(events: [event], { db in
            for member in changes {
                try SettingsTable.set(member.key, value: member.value.text, description: nil, by: admin, at: now, db)
            }
            try AuditTable.insert(audit, db)
        }) { [self] result in
            switch result {
            case .success:
                for member in changes { try? SettingsStore.apply(member.key, member.value, to: settings) }
                responder.json(view())
            case .failure:
                responder.fail(.unavailable("store_unavailable", "could not save the settings; retry"))
            }
        }
    }

    private func auditLogs(_ request: Request, _ responder: Responder) throws(APIError) {
        let (page, limit) = try BookingRoutes.pagination(request, defaultLimit: 50)
        var filter = AuditTable.Filter()
        filter.actor = request.query["actor"].flatMap { $0.isEmpty ? nil : $0 }
        filter.resource = request.query["resource"].flatMap { $0.isEmpty ? nil : $0 }
        for (field, keyPath) in [("from", \AuditTable.Filter.from), ("to", \AuditTable.Filter.to)] {
            guard let text = request.query[field], !text.isEmpty else { continue }
            if let date = LocalDate(text) {
                filter[keyPath: keyPath] = settings.timeZone.startOfDay(field == "to" ? date.adding(days: 1) : date)
            } else if let instant = UTC.parse(text) {
                filter[keyPath: keyPath] = instant
            } else {
                throw APIError.invalid(field, "bad_date", "\(field) must be YYYY-MM-DD or an ISO 8601 instant")
            }
        }
        storage.read(for: responder, { [filter] in try AuditTable.list(filter, limit: limit, offset: (page - 1) * limit, $0) }) { result in
            responder.json([
                "logs": .array(result.entries.map(Self.entry)), "total": .int(result.total), "page": .int(page), "limit": .int(limit),
            ])
        }
    }

    static func entry(_ entry: AuditTable.Entry) -> JSON {
        func parsed(_ text: String?) -> JSON { text.flatMap { try? JSONParser.parse($0) } ?? .null }
        return [
            "id": .string(entry.id), "adminId": .optional(entry.adminID), "action": .string(entry.action),
            "resource": .string(entry.resource), "resourceId": .optional(entry.resourceID),
            "oldValues": parsed(entry.oldValues), "newValues": parsed(entry.newValues),
            "ipAddress": .optional(entry.ipAddress), "userAgent": .optional(entry.userAgent),
            "createdAt": .string(UTC.iso8601(entry.createdAt)),
        ]
    }
}

@available(*, unavailable) extension SettingsRoutes: Sendable {}
