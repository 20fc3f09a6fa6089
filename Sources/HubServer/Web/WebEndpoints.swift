import HubCore
import HubHTTP
import HubStore
import HubWire

/// The two JSON endpoints the pages need beyond the existing API.
///
/// - `GET /api/events/snapshot[?channel=&date=&days=]`: a channel's snapshot over plain HTTP,
///   exactly as `subscribe` with `"snapshot": true` sends it on the WebSocket, plus the `epoch`.
///   The client's Server-Sent Events fallback fetches state here, then opens the stream with
///   `since=<seq>`: the same gap-free "state at seq, then events after seq" as the WebSocket.
///   Without `channel` it answers only `{seq, epoch}`: where the stream is now.
/// - `GET /api/admin/dashboard/bookings?date=&spaceId=` (admins): the bookings behind the busy
///   blocks of one local day, with their member. Busy ranges in the public availability views
///   carry no booking ids on purpose (anonymous kiosks read them); an admin dashboard that wants
///   the booking behind a block asks here and then reads `GET /api/bookings/:id`.
final class WebEndpoints {
    private let realtime: Realtime
    private let storage: Storage
    /// Most bookings one lookup returns; a coworking plan with many seats can hold many per day.
    static let dashboardBookingsMax = 500

    init(realtime: Realtime, storage: Storage) {
        self.realtime = realtime
        self.storage = storage
    }

    func register(_ router: Router) {
        router.get("/api/events/snapshot") { [self] request, responder throws(APIError) in try snapshot(request, responder) }
        router.get("/api/admin/dashboard/bookings", access: .admin) { [self] request, responder throws(APIError) in
            try dashboardBookings(request, responder)
        }
    }

    // MARK: Snapshot

    private func snapshot(_ request: Request, _ responder: Responder) throws(APIError) {
        // Same rules as the stream it precedes: `?token=` (EventSource cannot send headers) or
        // Authorization.
        let principal = try realtime.queryPrincipal(request) ?? request.principal
        let broker = realtime.broker
        var body: JSONObject = ["type": "snapshot"]
        if let channel = request.query["channel"], !channel.isEmpty {
            switch Channel.access(channel, principal: principal, spaceExists: { self.realtime.catalog[$0] != nil }) {
            case .allowed: break
            case .forbidden: throw APIError.forbidden("forbidden_channel", "you may not read \(channel)")
            case .unknown: throw APIError.invalid("channel", "unknown_channel", "no channel named \(channel)")
            }
            let date = try LocalDate.optional(request.query["date"], field: "date")
            var days = 1
            if let text = request.query["days"], !text.isEmpty {
                guard let value = Int(text), (1...SpaceRoutes.gridDaysMax).contains(value) else {
                    throw APIError.invalid("days", "bad_days", "days must be between 1 and \(SpaceRoutes.gridDaysMax)")
                }
                days = value
            }
            body["channel"] = .string(channel)
            // The seq before the state is read: the state is at least that new, and events after
            // it carry whole objects, so a client that resumes from it misses nothing.
            body["seq"] = .int64(broker.lastSeq)
            body["epoch"] = .string(broker.epoch)
            realtime.snapshot(channel, principal: principal, date: date, days: days) { payload in
                responder.continuing { () throws(APIError) in
                    body["payload"] = try payload.get()
                    responder.json(.object(body), headers: [("cache-control", "no-store")])
                }
            }
            return
        } else {
            body["seq"] = .int64(broker.lastSeq)
            body["epoch"] = .string(broker.epoch)
        }
        responder.json(.object(body), headers: [("cache-control", "no-store")])
    }

    // MARK: Admin lookup

    private func dashboardBookings(_ request: Request, _ responder: Responder) throws(APIError) {
        let date = try LocalDate.required(request.query["date"], field: "date")
        let spaceID = request.query["spaceId"].flatMap { $0.isEmpty ? nil : $0 }
        if let spaceID, realtime.catalog[spaceID] == nil {
            throw APIError.invalid("spaceId", "unknown_space", "no space has id \(spaceID)")
        }
        // The index holds exactly the bookings the availability views draw (live holds, confirmed
        // bookings and recently completed ones): per space, those overlapping the local day,
        // O(log n + k), rather than a scan of every booking.
        let spaces = spaceID.map { [$0] } ?? realtime.catalog.all.map(\.id)
        var seen = Set<String>()
        var matching: [Booking] = []
        for id in spaces {
            guard let space = realtime.catalog[id] else { continue }
            let day = Interval(start: space.zone.startOfDay(date), end: space.zone.startOfDay(date.adding(days: 1)))
            for reservation in realtime.bookings.index.reservations(on: id, overlapping: day) {
                guard let booking = realtime.bookings.holder(of: reservation.id), seen.insert(booking.id).inserted else { continue }
                matching.append(booking)
            }
        }
        matching.sort { ($0.range.start, $0.id) < ($1.range.start, $1.id) }
        let shown = Array(matching.prefix(Self.dashboardBookingsMax))
        // The members, one read for all of them (point reads by primary key).
        let userIDs = Set(shown.map(\.userID))
        storage.read(for: responder, { db in try userIDs.compactMap { try UserTable.find($0, db) } }) { users in
            var members: [String: JSON] = [:]
            for user in users { members[user.id] = ["id": .string(user.id), "name": .string(user.fullName), "email": .string(user.email)] }
            let views: [JSON] = shown.map { booking in
                BookingViews.booking(booking) { out in
                    out.key("member")
                    out.value(members[booking.userID] ?? ["id": .string(booking.userID), "name": .null, "email": .null])
                }
            }
            responder.json(["date": .string(date.description), "spaceId": .optional(spaceID), "bookings": .array(views)],
                           headers: [("cache-control", "no-store")])
        }
    }
}

@available(*, unavailable) extension WebEndpoints: Sendable {}
