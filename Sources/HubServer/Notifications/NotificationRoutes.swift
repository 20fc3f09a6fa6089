import HubCore
import HubHTTP
import HubStore
import HubWire

/// Admin view of the email outbox: what is pending, sent, skipped and dead-lettered, and a retry
/// for dead letters.
final class NotificationRoutes {
    private let storage: Storage
    private let delivery: EmailDelivery

    /// Template variables never shown to admins: they grant access to the member's account.
    static let secretVariables: Set<String> = ["token", "resetLink"]

    init(storage: Storage, delivery: EmailDelivery) {
        self.storage = storage
        self.delivery = delivery
    }

    func register(_ router: Router) {
        router.get("/api/admin/notifications/outbox", access: .admin) { [self] request, responder throws(APIError) in
            try self.list(request, responder)
        }
        router.post("/api/admin/notifications/outbox/:id/retry", access: .admin) { [self] request, responder throws(APIError) in
            try self.retry(request, responder)
        }
    }

    /// `GET /api/admin/notifications/outbox?status=dead|pending|sent|skipped&page=1&limit=20`
    private func list(_ request: Request, _ responder: Responder) throws(APIError) {
        let (page, limit) = try BookingRoutes.pagination(request, defaultLimit: 20)
        var status: String?
        if let raw = request.query["status"], !raw.isEmpty {
            guard OutboxTable.statuses.contains(raw) else {
                throw APIError.invalid("status", "bad_status", "status must be one of \(OutboxTable.statuses.joined(separator: ", "))")
            }
            status = raw
        }
        storage.read(for: responder, { [status] db in
            (try OutboxTable.entries(status: status, limit: limit, offset: (page - 1) * limit, db), try OutboxTable.countsByStatus(db))
        }) { [delivery] result, counts in
            responder.json([
                "messages": .array(result.entries.map(Self.view)),
                "total": .int(result.total),
                "page": .int(page),
                "limit": .int(limit),
                "pages": .int((result.total + limit - 1) / limit),
                "counts": .object(JSONObject(OutboxTable.statuses.map { (key: $0, value: JSON.int(counts[$0] ?? 0)) })),
                "sender": .string(delivery.senderName),
            ])
        }
    }

    /// `POST /api/admin/notifications/outbox/:id/retry`: a dead letter goes back in the queue
    /// with a fresh retry budget. Audited.
    private func retry(_ request: Request, _ responder: Responder) throws(APIError) {
        guard let id = Int64(request.parameter("id")) else { throw APIError.notFound("outbox message") }
        storage.read(for: responder, { try OutboxTable.entry(id, $0) }) { [self] current throws(APIError) in
            guard let current else { throw APIError.notFound("outbox message") }
            try retry(current, request, responder)
        }
    }

    private func retry(_ current: OutboxTable.Entry, _ request: Request, _ responder: Responder) throws(APIError) {
        let id = current.id
        guard current.status == "dead" else {
            throw APIError.conflict("not_dead", "only dead-lettered messages can be retried; this one is \(current.status)")
        }
        let now = delivery.clock.seconds
        let audit = Audit.entry(request, at: now, action: "retry", resource: "outbox", resourceID: String(id),
                                old: ["status": .string(current.status), "attempts": .int(current.attempts),
                                      "lastError": .optional(current.lastError)],
                                new: ["status": "pending", "attempts": 0])
        storage.write({ db -> OutboxTable.Entry? in
            guard try OutboxTable.requeue(id, at: now, db) else { return nil }
            try AuditTable.insert(audit, db)
            return try OutboxTable.entry(id, db)
        }) { [self] result in
            switch result {
            case .success(let entry?):
                delivery.kick()
                responder.json(Self.view(entry))
            case .success(nil):
                responder.fail(.conflict("not_dead", "the message changed meanwhile; reload"))
            case .failure:
                responder.fail(.unavailable("store_unavailable", "could not requeue the message; retry"))
            }
        }
    }

    static func view(_ entry: OutboxTable.Entry) -> JSON {
        var variables = JSONObject()
        if case .object(let object)? = try? JSONParser.parse(entry.payload) {
            for member in object {
                variables[member.key] = secretVariables.contains(member.key) ? "[redacted]" : member.value
            }
        }
        return [
            "id": .int64(entry.id),
            "kind": .string(entry.kind),
            "template": .string(entry.template),
            "recipient": .string(entry.recipient),
            "status": .string(entry.status),
            "attempts": .int(entry.attempts),
            "nextAttemptAt": .string(UTC.iso8601(entry.nextAttemptAt)),
            "lastAttemptAt": entry.lastAttemptAt.map { .string(UTC.iso8601($0)) } ?? .null,
            "lastError": .optional(entry.lastError),
            "createdAt": .string(UTC.iso8601(entry.createdAt)),
            "sentAt": entry.sentAt.map { .string(UTC.iso8601($0)) } ?? .null,
            "dedupeKey": .optional(entry.dedupeKey),
            "variables": .object(variables),
        ]
    }
}

@available(*, unavailable) extension NotificationRoutes: Sendable {}
