import HubCore
import HubHTTP
import HubLoop
import HubStore
import HubWire

/// `/api/admin/analytics/*`: computed on libuv's threadpool with a read-only connection of its
/// own, so a year of bookings never stalls the loop. `?format=csv` or `Accept: text/csv`
/// exports a series as CSV.
final class AnalyticsRoutes {
    let loop: Loop
    let storage: Storage
    let catalog: SpaceCatalog
    let settings: LiveSettings
    let realtime: Realtime
    /// What "today" is.
    let clock: any Clock

    /// Longest range a series may span, in days: a daily series of three years is ~1,100 rows.
    static let rangeDaysMax = 3 * 366

    init(loop: Loop, storage: Storage, catalog: SpaceCatalog, settings: LiveSettings, realtime: Realtime, clock: any Clock) {
        self.clock = clock
        self.loop = loop
        self.storage = storage
        self.catalog = catalog
        self.settings = settings
        self.realtime = realtime
    }

    func register(_ router: Router) {
        router.get("/api/admin/analytics/overview", access: .admin) { [self] request, responder throws(APIError) in try overview(request, responder) }
        router.get("/api/admin/analytics/revenue", access: .admin) { [self] request, responder throws(APIError) in try revenue(request, responder) }
        router.get("/api/admin/analytics/bookings", access: .admin) { [self] request, responder throws(APIError) in try bookings(request, responder) }
    }

    /// Runs `work` with a read-only connection on the threadpool; answers on the loop.
    private func offLoop(_ responder: Responder, _ work: @escaping @Sendable (Database) throws -> HTTPResponse) {
        let location = storage.location
        WorkQueue.submit(on: loop, work: { () -> Result<HTTPResponse, APIError> in
            do {
                let database = try Database(location, readOnly: true)
                return .success(try work(database))
            } catch let error as APIError {
                return .failure(error)
            } catch {
                return .failure(.unavailable("store_unavailable", "could not compute the report"))
            }
        }) { result in
            switch result {
            case .success(let response): responder.send(response)
            case .failure(let error): responder.fail(error)
            }
        }
    }

    // MARK: Overview

    /// The figures of one local day (`?date=`, default today) and of its month up to that day;
    /// occupancy is that day's, so an overnight booking shows on both of its dates.
    private func overview(_ request: Request, _ responder: Responder) throws(APIError) {
        let zone = settings.timeZone
        let currency = try Self.currency(request, default: settings.currency)
        var day = zone.local(clock.seconds).date
        if let text = request.query["date"] {
            day = try LocalDate.required(text, field: "date")
        }
        let today = day
        let monthStart = Analytics.start(of: today, .monthly)
        let spaces = catalog.active()
        var connections: JSONObject = ["total": .int(realtime.sessionCount), "streams": .int(realtime.registry.streams)]
        // `?client=` is the client's own word: a kind spelled `total` or `streams` does not
        // overwrite the hub's counts.
        for (kind, count) in realtime.clientCounts.sorted(by: { $0.key < $1.key }) where count > 0 && connections[kind] == nil {
            connections[kind] = .int(count)
        }
        let live = JSON.object(connections)
        offLoop(responder) { db in
            let dayStart = zone.startOfDay(today)
            let dayEnd = zone.startOfDay(today.adding(days: 1))
            let monthFrom = zone.startOfDay(monthStart)
            let todayBookings = try BookingTable.createdBetween(from: dayStart, to: dayEnd, db)
            let monthBookings = try BookingTable.createdBetween(from: monthFrom, to: dayEnd, db)
            let money = try PaymentTable.movements(from: monthFrom, to: dayEnd, currency: currency.code, db)
            let todayNet = money.charges.filter { $0.at >= dayStart }.reduce(Int64(0)) { $0 + $1.minor }
                - money.refunds.filter { $0.at >= dayStart }.reduce(Int64(0)) { $0 + $1.minor }
            let monthNet = money.charges.reduce(Int64(0)) { $0 + $1.minor } - money.refunds.reduce(Int64(0)) { $0 + $1.minor }
            let occupying = try BookingTable.overlapping(from: dayStart, to: dayEnd, db)
            let occupancy: [JSON] = spaces.map { space in
                let figures = Analytics.occupancy(space: space, date: today, bookings: occupying)
                return ["spaceId": .string(space.id), "name": .string(space.name), "type": .string(space.kind.rawValue),
                        "bookedHours": .number(Self.decimal(figures.bookedHours)), "openHours": .number(Self.decimal(figures.openHours)),
                        "occupancyPercent": .number(Self.decimal(figures.percent))]
            }
            let body: JSON = [
                "date": .string(today.description),
                "timeZone": .string(zone.identifier),
                "currency": .string(currency.code),
                "today": ["bookings": .int(todayBookings.count),
                          "revenue": .number(Money(minorUnits: todayNet, currency: currency).majorText)],
                "month": ["bookings": .int(monthBookings.count),
                          "revenue": .number(Money(minorUnits: monthNet, currency: currency).majorText)],
                "pendingPayments": .int(try PaymentTable.count(status: "pending", db)),
                "occupancy": .array(occupancy),
                "liveConnections": live,
            ]
            return Self.jsonResponse(body)
        }
    }

    // MARK: Series

    private struct Range: Sendable {
        let period: Analytics.Period
        let first: LocalDate
        let last: LocalDate
    }

    /// `period` (daily|weekly|monthly), and `startDate`/`endDate` (local, inclusive) or `year`.
    private func range(_ request: Request, defaultPeriod: Analytics.Period) throws(APIError) -> Range {
        let query = request.query
        var period = defaultPeriod
        if let text = query["period"] {
            guard let parsed = Analytics.Period(rawValue: text) else {
                throw APIError.invalid("period", "bad_period", "period must be daily, weekly or monthly")
            }
            period = parsed
        }
        let today = settings.timeZone.local(clock.seconds).date
        var first: LocalDate
        var last = today
        if let yearText = query["year"] {
            guard let year = Int(yearText), let start = LocalDate(year: year, month: 1, day: 1) else {
                throw APIError.invalid("year", "bad_year", "year must be like 2026")
            }
            first = start
            last = LocalDate(year: year, month: 12, day: 31)!  // December 31 always exists
        } else {
            switch period {
            case .daily: first = today.adding(days: -29)
            case .weekly: first = Analytics.start(of: today, .weekly).adding(days: -7 * 11)
            case .monthly: first = LocalDate(year: today.year, month: 1, day: 1)!
            }
        }
        if let text = query["startDate"] {
            first = try LocalDate.required(text, field: "startDate")
        }
        if let text = query["endDate"] {
            last = try LocalDate.required(text, field: "endDate")
        }
        guard first <= last else { throw APIError.invalid("endDate", "bad_range", "endDate must not be before startDate") }
        guard last.daysSinceEpoch - first.daysSinceEpoch < Int64(Self.rangeDaysMax) else {
            throw APIError.invalid("startDate", "range_too_long", "a series spans at most \(Self.rangeDaysMax) days")
        }
        return Range(period: period, first: first, last: last)
    }

    /// `?currency=` (default: the building's): sums never mix currencies.
    private static func currency(_ request: Request, default building: Currency) throws(APIError) -> Currency {
        guard let code = request.query["currency"], !code.isEmpty else { return building }
        guard let currency = Currency(code: code) else {
            throw APIError.invalid("currency", "bad_currency", "currency must be one of NGN, GHS, ZAR, USD, KES")
        }
        return currency
    }

    private static func wantsCSV(_ request: Request) -> Bool {
        request.query["format"] == "csv" || (request.header("accept")?.contains("text/csv") ?? false)
    }

    private func revenue(_ request: Request, _ responder: Responder) throws(APIError) {
        let range = try range(request, defaultPeriod: .monthly)
        let zone = settings.timeZone
        let currency = try Self.currency(request, default: settings.currency)
        let csv = Self.wantsCSV(request)
        offLoop(responder) { db in
            let buckets = Analytics.buckets(range.period, from: range.first, through: range.last)
            let money = try PaymentTable.movements(from: zone.startOfDay(range.first), to: zone.startOfDay(range.last.adding(days: 1)),
                                                   currency: currency.code, db)
            let rows = Analytics.revenue(charges: money.charges, refunds: money.refunds, buckets: buckets, zone: zone)
            func major(_ minor: Int64) -> String { Money(minorUnits: minor, currency: currency).majorText }
            if csv {
                return Self.csvResponse(Analytics.csv(
                    header: ["period", "start", "end", "payments", "charged", "refunded", "net", "currency"],
                    rows: rows.map { [$0.label, $0.start.description, $0.end.description, String($0.payments), major($0.chargedMinor),
                                      major($0.refundedMinor), major($0.netMinor), currency.code] }), name: "revenue")
            }
            let total = rows.reduce(Int64(0)) { $0 + $1.netMinor }
            return Self.jsonResponse([
                "period": .string(range.period.rawValue), "startDate": .string(range.first.description),
                "endDate": .string(range.last.description), "timeZone": .string(zone.identifier), "currency": .string(currency.code),
                "total": .number(major(total)),
                "series": .array(rows.map { row in
                    ["period": .string(row.label), "start": .string(row.start.description), "end": .string(row.end.description),
                     "payments": .int(row.payments), "charged": .number(major(row.chargedMinor)),
                     "refunded": .number(major(row.refundedMinor)), "revenue": .number(major(row.netMinor))]
                }),
            ])
        }
    }

    private func bookings(_ request: Request, _ responder: Responder) throws(APIError) {
        let range = try range(request, defaultPeriod: .daily)
        let zone = settings.timeZone
        let csv = Self.wantsCSV(request)
        offLoop(responder) { db in
            let buckets = Analytics.buckets(range.period, from: range.first, through: range.last)
            let rows = try BookingTable.createdBetween(from: zone.startOfDay(range.first), to: zone.startOfDay(range.last.adding(days: 1)), db)
            let stats = Analytics.bookings(rows, buckets: buckets, zone: zone)
            if csv {
                return Self.csvResponse(Analytics.csv(header: ["period", "bookings"], rows: stats.series.map { [$0.label, String($0.count)] }),
                                        name: "bookings")
            }
            func counts(_ values: [String: Int]) -> JSON {
                .object(JSONObject(values.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSON.int($0.value)) }))
            }
            return Self.jsonResponse([
                "period": .string(range.period.rawValue), "startDate": .string(range.first.description),
                "endDate": .string(range.last.description), "timeZone": .string(zone.identifier), "total": .int(stats.total),
                "byStatus": counts(stats.byStatus), "byType": counts(stats.byType),
                "cancellationRate": .number(Self.decimal(stats.cancellationRate, places: 4)),
                "expiryRate": .number(Self.decimal(stats.expiryRate, places: 4)),
                "topSpaces": .array(stats.topSpaces.map {
                    ["spaceId": .string($0.spaceID), "name": .string($0.name), "bookings": .int($0.bookings),
                     "hours": .number(Self.decimal($0.hours))]
                }),
                "series": .array(stats.series.map { ["period": .string($0.label), "bookings": .int($0.count)] }),
            ])
        }
    }

    // MARK: Helpers

    /// A ratio or hour count as a JSON number literal with at most `places` decimals.
    static func decimal(_ value: Double, places: Int = 2) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int64((value * scale).rounded())
        let whole = scaled / Int64(scale)
        var fraction = abs(scaled % Int64(scale))
        guard fraction != 0 else { return String(whole) }
        var digits = places
        while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
        let text = String(fraction)
        return "\(scaled < 0 && whole == 0 ? "-" : "")\(whole).\(String(repeating: "0", count: digits - text.count))\(text)"
    }

    private static func jsonResponse(_ body: JSON) -> HTTPResponse {
        var response = HTTPResponse(status: 200, body: body.bytes)
        response.headers.set("content-type", "application/json; charset=utf-8")
        return response
    }

    private static func csvResponse(_ bytes: [UInt8], name: String) -> HTTPResponse {
        var response = HTTPResponse(status: 200, body: bytes)
        response.headers.set("content-type", "text/csv; charset=utf-8")
        response.headers.set("content-disposition", "attachment; filename=\"\(name).csv\"")
        return response
    }
}

@available(*, unavailable) extension AnalyticsRoutes: Sendable {}
