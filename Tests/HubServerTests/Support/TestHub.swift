import Foundation
import HubCore
import HubCrypto
import HubLoop
import HubStore
import HubTestSupport
import HubWire
import Logging
import Testing

@testable import HubHTTP
@testable import HubServer

/// A whole hub in the test's process: its loop, a temporary SQLite file, every service and
/// route, and a `ManualClock`. Requests go through the real router and handlers without a
/// socket (`request`), answered when the loop has done whatever they wait for (a commit, a
/// password hash on the threadpool); published events are recorded (`events`). Time moves only
/// when the test says (`advance`): hold expiry and completion are tested without waiting.
///
/// Loop thread: the test's. Every call runs the loop until it has its answer, bounded by
/// `answerWaitMs` of real time (a test that would hang fails instead).
final class TestHub {
    let hub: Hub
    let clock: ManualClock
    let directory: URL
    /// Set before dropping a hub whose database a second `TestHub(reopening:)` takes over.
    var keepsDirectory = false
    private let recorder = EventRecorder()
    /// The hub's PostgreSQL database when it runs on one (dropped when the last hub on it goes).
    let postgres: PostgresDatabase?

    /// Which store a test hub runs on: SQLite always; PostgreSQL when the test run has a cluster
    /// (scripts/test.sh starts one and sets `SPACEHUB_TEST_PG`).
    enum Store: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case sqlite, postgresql
        static var available: [Store] { PostgresDatabase.available ? allCases : [.sqlite] }
        /// `SPACEHUB_TESTHUB_STORE=postgresql` runs every in-process test on PostgreSQL.
        static let `default` = Store(rawValue: ProcessInfo.processInfo.environment["SPACEHUB_TESTHUB_STORE"] ?? "") ?? .sqlite
        var testDescription: String { rawValue }
    }
    /// Real milliseconds a request may take before the test fails.
    static let answerWaitMs: UInt64 = 10_000

    /// `configure` adjusts the test configuration (demo mode, cheap password hashing, no
    /// access log, generous limits) before the hub starts.
    /// `reopening` starts the hub on the directory (and SQLite file) of an earlier `TestHub`,
    /// as a restart would: that hub must be gone, with `keepsDirectory` set before it went;
    /// `reopeningPostgres` on its PostgreSQL database, when it ran on one.
    init(startingAt instantMs: Int64 = 1_800_000_000_000, reopening existing: URL? = nil, reopeningPostgres: PostgresDatabase? = nil,
         store: Store = .default, function: String = #function, _ configure: (inout Config) -> Void = { _ in }) throws {
        directory = existing ?? FileManager.default.temporaryDirectory.appendingPathComponent("spacehub-testhub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var config = Config()
        config.store.path = directory.appendingPathComponent("hub.sqlite").path
        config.store.durability = "normal"
        postgres = try reopeningPostgres ?? (store == .postgresql ? PostgresDatabase(function, migrated: true) : nil)
        if let postgres { config.store.url = postgres.url }
        config.server.port = 0
        config.auth.passwordCostLog2 = 10
        // Sessions outlast the manual clock's jumps (a test of expiry sets its own lifetime).
        config.auth.accessTokenSeconds = 90 * 86_400
        config.auth.refreshTokenSeconds = 90 * 86_400
        config.auth.jwtSecret = String(repeating: "t", count: 32)
        config.auth.loginPerMinutePerIP = 100_000
        config.auth.registerPerMinutePerIP = 100_000
        config.server.writesPerMinutePerIP = 1_000_000
        config.server.writesPerMinutePerUser = 1_000_000
        config.bookings.createPerMinutePerIP = 1_000_000
        config.bookings.createPerMinutePerUser = 1_000_000
        config.log.access = false
        config.email.directory = directory.appendingPathComponent("mail").path
        configure(&config)
        clock = ManualClock(milliseconds: instantMs)
        var logger = Logger(label: "testhub")
        logger.logLevel = .critical
        hub = Hub(config: config, logger: logger, clock: clock)
        try hub.start()
        for channel in [Channel.availability.name, Channel.admin.name] { services.broker.subscribe(recorder, to: channel) }
    }

    deinit {
        // As the process does: shut down, run the loop until every handle is closed, then let go
        // of the services and the database lock (`Hub.run` ends in `finish`). Without the last
        // step every service of every test hub stayed alive (LeakSanitizer).
        hub.shutdown()
        hub.run()
        if !keepsDirectory { try? FileManager.default.removeItem(at: directory) }
    }

    var services: HubServices { hub.services! }  // started in init
    var bookings: BookingService { services.bookings }

    /// Every event published since the hub started (or since `clearEvents`), in order.
    var events: [PublishedEvent] { recorder.events }
    func events(_ type: EventType) -> [PublishedEvent] { recorder.events.filter { $0.type == type.rawValue } }
    func payload(_ event: PublishedEvent) -> JSON { (try? JSONParser.parse(event.payload)) ?? .null }
    func clearEvents() { recorder.events.removeAll() }

    /// Moves the clock and lets the hub's timers see it (the hold sweep runs on each turn).
    func advance(seconds: Int64) {
        clock.advance(seconds: seconds)
        bookings.sweep(now: clock.seconds)
        settle()
    }

    /// The booking as the service finds it (memory, else the store), waiting for the read.
    func stored(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) -> Booking? {
        var found: Result<Booking, APIError>?
        bookings.find(id) { found = $0 }
        run(until: { found != nil }, "the booking's read", sourceLocation: sourceLocation)
        return try? found?.get()
    }

    /// Runs the loop until every write submitted has committed and its completion has run (the
    /// writer answers through the loop's inbox, so each turn waits for it), bounded by
    /// `answerWaitMs` of real time.
    func settle(sourceLocation: SourceLocation = #_sourceLocation) {
        let deadline = Loop.hrtimeNs() + Self.answerWaitMs * 1_000_000
        while services.storage.pendingWrites > 0, Loop.hrtimeNs() < deadline { _ = hub.loop.runOnce(wait: true) }
        if services.storage.pendingWrites > 0 { Issue.record("writes still pending", sourceLocation: sourceLocation) }
    }

    /// Runs the loop until `condition` holds (work on the threadpool, such as a gateway call, has
    /// come back), bounded by `answerWaitMs` of real time; records an issue if it never does.
    @discardableResult
    func run(until condition: () -> Bool, _ what: String = "the condition", sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let deadline = Loop.hrtimeNs() + Self.answerWaitMs * 1_000_000
        while !condition(), Loop.hrtimeNs() < deadline { _ = hub.loop.runOnce(wait: true) }
        settle(sourceLocation: sourceLocation)
        if condition() { return true }
        Issue.record("waited in vain for \(what)", sourceLocation: sourceLocation)
        return false
    }

    // MARK: Requests

    struct Answer {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]

        var json: JSON { (try? JSONParser.parse(body)) ?? .null }
        var errorCode: String? { json["error"]?["code"]?.stringValue }
        subscript(key: String) -> JSON? { json[key] }
    }

    /// Sends a request through the router and runs the loop until it is answered.
    @discardableResult
    func request(_ method: String, _ path: String, json: JSON? = nil, token: String? = nil, headers: [(String, String)] = [],
                 peer: String = "127.0.0.1", sourceLocation: SourceLocation = #_sourceLocation) -> Answer {
        var fields = headers
        var body: [UInt8] = []
        if let json {
            body = json.bytes
            fields.append(("content-type", "application/json"))
        }
        if let token { fields.append(("authorization", "Bearer \(token)")) }
        fields.append(("host", "testhub"))
        let head = HTTPRequestHead(method: method, target: path, headers: HTTPHeaders(fields))
        let request = Request(head: head, body: body, id: "test", client: ClientAddress(address: peer, scheme: nil, host: nil),
                              startedNs: Loop.hrtimeNs(), jsonBytesMax: hub.config.server.jsonBytesMax)
        let sink = AnswerSink()
        let responder = Responder(session: sink, request: request)
        hub.router.dispatch(request, responder)
        let deadline = Loop.hrtimeNs() + Self.answerWaitMs * 1_000_000
        while sink.response == nil, Loop.hrtimeNs() < deadline { _ = hub.loop.runOnce(wait: true) }
        guard let response = sink.response else {
            Issue.record("\(method) \(path) was not answered within \(Self.answerWaitMs) ms", sourceLocation: sourceLocation)
            return Answer(status: 0, headers: HTTPHeaders(), body: [])
        }
        return Answer(status: response.status, headers: response.headers, body: response.body)
    }

    // MARK: People

    struct Member {
        let id: String
        let token: String
        let refresh: String
    }

    private var registered = 0

    /// A new member, signed in.
    func member(sourceLocation: SourceLocation = #_sourceLocation) -> Member {
        registered += 1
        let answer = request("POST", "/api/auth/register", json: [
            "email": .string("member\(registered)-\(UUID().uuidString.prefix(8))@example.com"), "password": "password123",
            "firstName": "Ada", "lastName": "Obi",
        ], sourceLocation: sourceLocation)
        #expect(answer.status == 201, sourceLocation: sourceLocation)
        return Member(id: answer["user"]?["id"]?.stringValue ?? "", token: answer["token"]?.stringValue ?? "",
                      refresh: answer["refreshToken"]?.stringValue ?? "")
    }

    /// An administrator (a super admin unless `role` says otherwise), created in the store and signed in.
    func admin(role: AdminUser.Role = .superAdmin) throws -> Member {
        let email = "admin-\(UUID().uuidString.prefix(8).lowercased())@example.com"
        let hasher = PasswordHasher(cost: .init(logN: 10, blockSize: 8, parallelism: 1))
        let now = clock.seconds
        let database = try Database(hub.config.store.location)
        try AdminTable.insert(AdminUser(id: UUID().uuidString.lowercased(), email: email, passwordHash: try hasher.hash("admin-password-1"),
                                        name: "Test Admin", role: role, createdAt: now, updatedAt: now), database)
        let answer = request("POST", "/api/admin/auth/login", json: ["email": .string(email), "password": "admin-password-1"])
        #expect(answer.status == 200, "admin sign-in: \(String(decoding: answer.body, as: UTF8.self))")
        return Member(id: answer["user"]?["id"]?.stringValue ?? "", token: answer["token"]?.stringValue ?? "",
                      refresh: answer["refreshToken"]?.stringValue ?? "")
    }

    /// `member`'s session renewed with its refresh token, as a client does when a test gives access
    /// tokens a real lifetime and moves the clock past it.
    func renewed(_ member: Member, sourceLocation: SourceLocation = #_sourceLocation) -> Member {
        let answer = request("POST", "/api/auth/refresh", json: ["refreshToken": .string(member.refresh)], sourceLocation: sourceLocation)
        #expect(answer.status == 200, "refresh: \(String(decoding: answer.body, as: UTF8.self))", sourceLocation: sourceLocation)
        return Member(id: member.id, token: answer["token"]?.stringValue ?? "", refresh: answer["refreshToken"]?.stringValue ?? "")
    }

    /// A 24/7 event space at `price` an hour (for bookings at any hour of the manual clock).
    func openRoom(price: Int = 10_000, admin: Member, extra: JSONObject = [:]) -> String {
        var hours = JSONObject()
        for day in WeeklyHours.weekdayNames { hours[day] = ["open": "00:00", "close": "24:00"] }
        var body: JSONObject = ["name": .string("Room \(UUID().uuidString.prefix(6))"), "capacity": 6, "price": .int(price),
                                "openingHours": .object(hours), "maxDurationMinutes": 1440, "minDurationMinutes": 15]
        for member in extra { body[member.key] = member.value }
        let answer = request("POST", "/api/event-spaces", json: .object(body), token: admin.token)
        #expect(answer.status == 201)
        return answer["id"]?.stringValue ?? ""
    }

    /// The local date `days` after the clock's today in Lagos.
    func date(inDays days: Int) -> String {
        Zone.lagos.local(clock.seconds).date.adding(days: days).description
    }
}

@available(*, unavailable) extension TestHub: Sendable {}

/// Keeps the one answer a test request gets.
private final class AnswerSink: ResponseSink {
    var response: HTTPResponse?
    var isOpen: Bool { true }
    func complete(_ responder: Responder, _ response: HTTPResponse) { self.response = response }
    func corsHeaders(for request: Request) -> HTTPHeaders { HTTPHeaders() }
    func detach() -> (connection: TCPConnection, leftover: [UInt8])? { nil }
}

/// Every event the broker publishes on the channels it follows.
private final class EventRecorder: EventSubscriber {
    var events: [PublishedEvent] = []
    var deliveredSeq: Int64 = 0
    func receive(_ event: PublishedEvent, channel: String) {
        guard !events.contains(where: { $0.seq == event.seq }) else { return }
        events.append(event)
    }
}
