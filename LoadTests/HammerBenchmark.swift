import ArgumentParser
import Dispatch
import Foundation
import HubCore
import HubStore
import HubTestSupport
import HubWire
import Synchronization

/// `spacehub-load hammer`: the booking hammer of issue 6, against a running hub.
///
/// Creates `spaces` event spaces (open around the clock) over the admin API and registers
/// `users` members, then `connections` keep-alive HTTP clients, one thread each, POST bookings
/// of 30 minutes to 2 hours on random half hours of the next `days` days for `seconds` seconds.
/// Reports accepted (201) and rejected (409) per second and the latency of every request, then
/// reads the hub's SQLite file: no two holding bookings of a space may overlap (buffers
/// included), and every 201 must be a row.
///
///     scripts/bench-hammer.sh   # release build, hub pinned to core 0, this tool on core 1
struct HammerBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hammer",
        abstract: "Hammer a running hub with concurrent booking requests, then check for double bookings."
    )

    /// Booking requests (accepted + rejected) per second end to end with durable commits, with
    /// the hub on one core (issue 6).
    static let requestsPerSecondMin = 10_000.0

    @Option(help: "The hub's port on 127.0.0.1.") var port: Int
    @Option(help: "The hub's SQLite file or PostgreSQL URL, read at the end to check for overlaps.") var db: String
    @Option(help: "Admin email (the demo admin the hub printed).") var adminEmail = "admin@spacehub.local"
    @Option(help: "Admin password.") var adminPassword: String
    @Option(help: "Concurrent keep-alive connections, one thread each.") var connections = 64
    @Option(help: "Measured seconds.") var seconds = 10.0
    @Option(help: "Warm-up seconds before measuring (requests still run).") var warmup = 1.0
    @Option(help: "Event spaces to create.") var spaces = 100
    @Option(help: "Members to register (connections share them round-robin).") var users = 16
    @Option(help: "Days ahead the bookings spread over.") var days = 60
    @Option(help: "Buffer minutes of the created spaces.") var bufferMinutes = 0
    @Option(help: "Seed for slot choice.") var seed: UInt64 = 1
    @Option(help: "The hub's PID, to report its CPU time per request (Linux /proc).") var hubPid: Int32?
    @Option(help: "Other hubs on the same PostgreSQL: their ports, comma-separated. Connections are spread over every hub.")
    var alsoPorts = ""
    @Option(help: "The other hubs' PIDs, comma-separated, in the order of --also-ports (their CPU time).") var alsoPids = ""

    mutating func run() throws {
        print("booking hammer: \(connections) connections, \(spaces) event spaces, \(users) members, "
              + "\(days) days ahead, buffer \(bufferMinutes) min, \(seconds) s after \(warmup) s warm-up")
        print("  machine: \(Load.machine())")
        let setup = try Setup.run(port: port, adminEmail: adminEmail, adminPassword: adminPassword, spaces: spaces, users: users,
                                  bufferMinutes: bufferMinutes, tag: "\(getpid())-\(Int(Date().timeIntervalSince1970))")
        print("  setup: \(setup.spaceIDs.count) spaces created, \(setup.tokens.count) members registered")
        let ports = [port] + alsoPorts.split(separator: ",").compactMap { Int($0) }
        let pids = [hubPid] + alsoPids.split(separator: ",").map { Int32($0) }
        // The spaces were made on the first hub: the others know them once they followed its events.
        for other in ports.dropFirst() { try Setup.waitForSpace(setup.spaceIDs.last ?? "", port: other) }
        if ports.count > 1 { print("  hubs: ports \(ports.map(String.init).joined(separator: ", ")); connections spread over them") }

        let today = Zone.lagos.local(Int64(Date().timeIntervalSince1970)).date
        let dates = (1...days).map { today.adding(days: $0).description }
        let started = Load.nanoseconds()
        let window = WriterBenchmark.Window(from: started + UInt64(warmup * 1e9), to: started + UInt64((warmup + seconds) * 1e9))
        let all = Mutex(Tally())
        // One stream per connection, each seeded from a master stream: seeds that differ by the
        // SplitMix increment would give every connection the same slots a few draws apart.
        var master = SeededRandom(seed: seed)
        let seeds = (0..<connections).map { _ in master.next() }
        let hubCPU = Mutex<[(UInt64?, UInt64?)]>([])
        let sampled = DispatchSemaphore(value: 0)
        let sampler = Thread {
            Load.sleep(until: window.from)
            let first = pids.map { $0.flatMap(Load.processCPUNanoseconds) }
            Load.sleep(until: window.to)
            let second = pids.map { $0.flatMap(Load.processCPUNanoseconds) }
            hubCPU.withLock { $0 = Array(zip(first, second)) }
            sampled.signal()
        }
        sampler.start()
        let finished = DispatchGroup()
        for connection in 0..<connections {
            finished.enter()
            let thread = Thread {
                let tally = Self.client(connection, port: ports[connection % ports.count], token: setup.tokens[connection % setup.tokens.count],
                                        spaceIDs: setup.spaceIDs, dates: dates, window: window,
                                        seed: seeds[connection])
                all.withLock { $0.merge(tally) }
                finished.leave()
            }
            thread.stackSize = 512 * 1024
            thread.start()
        }
        finished.wait()
        sampled.wait()
        let tally = all.withLock { $0 }
        let span = window.to - window.from
        let latencies = tally.latencies.sorted()
        let accepted = Load.perSecond(tally.accepted, span)
        let rejected = Load.perSecond(tally.rejected, span)
        let total = Load.perSecond(tally.accepted + tally.rejected + tally.other, span)
        print("results over \(String(format: "%.1f", Double(span) / 1e9)) s")
        print("  requests: \(Load.grouped(total))/s  (accepted 201: \(Load.grouped(accepted))/s, "
              + "rejected 409: \(Load.grouped(rejected))/s, other: \(tally.other))")
        if !tally.otherSamples.isEmpty { print("  other responses, e.g.: \(tally.otherSamples.prefix(3).joined(separator: " | "))") }
        if !tally.rejectedSamples.isEmpty { print("  409s other than booking_conflict, e.g.: \(tally.rejectedSamples.prefix(2))") }
        print("  errors: \(tally.errors.count)\(tally.errors.first.map { ", e.g. \($0)" } ?? "")")
        print("  latency: p50 \(Load.millis(Load.percentile(latencies, 0.5)))  p99 \(Load.millis(Load.percentile(latencies, 0.99)))  "
              + "p99.9 \(Load.millis(Load.percentile(latencies, 0.999)))  max \(Load.millis(latencies.last ?? 0))")

        let requests = tally.accepted + tally.rejected + tally.other
        var cpuPerRequestNs: UInt64 = 0
        for (index, sample) in hubCPU.withLock({ $0 }).enumerated() {
            guard case (let first?, let second?) = sample, requests > 0 else { continue }
            // Per request the whole run made, over every hub: each hub's share of the work.
            let perRequest = (second - first) / UInt64(requests)
            if index == 0 { cpuPerRequestNs = perRequest }
            let which = ports.count > 1 ? "hub \(index + 1) (port \(ports[index]))" : "hub"
            print("  \(which) CPU: \(Load.micro(perRequest)) per request of the whole run (all its threads, user+sys), "
                  + String(format: "%.2f", Double(second - first) / Double(span)) + " cores busy"
                  + (ports.count > 1 ? "" : "; one dedicated core would serve ~\(Load.grouped(1e9 / Double(max(perRequest, 1))))/s"))
        }
        // One line for scripts (scripts/bench-metrics.sh), as ws-echo prints.
        print("summary requests_per_second=\(Int(total)) accepted_per_second=\(Int(accepted)) "
              + "p50_us=\(Load.percentile(latencies, 0.5) / 1000) p99_us=\(Load.percentile(latencies, 0.99) / 1000) "
              + "hub_cpu_ns_per_request=\(cpuPerRequestNs)")
        let check = try Database(PostgresSettings.isURL(db) ? .postgres(PostgresSettings(url: db)) : .sqlite(path: db), readOnly: true)
        let overlaps = try Load.overlappingEventBookings(check)
        let placeholders = Array(repeating: "?", count: setup.userIDs.count).joined(separator: ", ")
        let rows = try check.scalar("SELECT COUNT(*) FROM bookings WHERE user_id IN (\(placeholders))",
                                    setup.userIDs.map(SQLValue.text)) ?? 0
        let rowsOK = rows == Int64(tally.acceptedAll)
        print("  check: \(rows) booking rows for \(tally.acceptedAll) accepted over the whole run: \(rowsOK ? "ok" : "MISMATCH"); "
              + "overlapping holding bookings: \(overlaps) \(overlaps == 0 ? "ok" : "FAIL")")
        let fast = total >= Self.requestsPerSecondMin
        print("threshold")
        print("  \(Load.grouped(total)) requests/s >= \(Load.grouped(Self.requestsPerSecondMin))/s: \(fast ? "ok" : "MISSED")")
        if !rowsOK || overlaps != 0 || !tally.errors.isEmpty || !fast { throw ExitCode.failure }
    }

    struct Tally: Sendable {
        var accepted = 0
        var rejected = 0
        var other = 0
        var acceptedAll = 0
        var latencies: [UInt64] = []
        var errors: [String] = []
        var otherSamples: [String] = []
        /// 409s that are not booking conflicts: they would be a hub problem, not the workload.
        var rejectedSamples: [String] = []

        mutating func merge(_ other: Tally) {
            accepted += other.accepted
            rejected += other.rejected
            self.other += other.other
            acceptedAll += other.acceptedAll
            latencies += other.latencies
            errors += other.errors
            otherSamples += other.otherSamples
            rejectedSamples += other.rejectedSamples
        }
    }

    /// One connection's closed loop.
    static func client(_ index: Int, port: Int, token: String, spaceIDs: [String], dates: [String],
                       window: WriterBenchmark.Window, seed: UInt64) -> Tally {
        var tally = Tally()
        tally.latencies.reserveCapacity(200_000)
        var random = SeededRandom(seed: seed)
        let connection: BlockingHTTPConnection
        do {
            connection = try BlockingHTTPConnection(port: port)
        } catch {
            tally.errors.append("\(error)")
            return tally
        }
        while true {
            let now = Load.nanoseconds()
            guard now < window.to else { break }
            let space = spaceIDs[Int.random(in: 0..<spaceIDs.count, using: &random)]
            let date = dates[Int.random(in: 0..<dates.count, using: &random)]
            let start = 30 * Int.random(in: 0..<46, using: &random)  // 00:00 … 22:30
            let end = min(24 * 60, start + 30 * Int.random(in: 1...4, using: &random))
            let body = #"{"type":"event","spaceId":"\#(space)","date":"\#(date)","startTime":"\#(clock(start))","endTime":"\#(clock(end))"}"#
            let request = connection.encode("POST", "/api/bookings", token: token, body: Array(body.utf8))
            let response: BlockingHTTPConnection.Response
            do {
                response = try connection.send(request)
            } catch {
                tally.errors.append("connection \(index): \(error)")
                break
            }
            let done = Load.nanoseconds()
            if response.status == 201 { tally.acceptedAll += 1 }
            guard now >= window.from && done <= window.to else { continue }
            tally.latencies.append(done - now)
            switch response.status {
            case 201: tally.accepted += 1
            case 409:
                tally.rejected += 1
                if tally.rejectedSamples.count < 2 && !response.text.contains("booking_conflict") {
                    tally.rejectedSamples.append(response.text)
                }
            default:
                tally.other += 1
                if tally.otherSamples.count < 2 { tally.otherSamples.append("\(response.status) \(response.text.prefix(200))") }
            }
        }
        return tally
    }

    static func clock(_ minutes: Int) -> String {
        let hour = minutes / 60
        let minute = minutes % 60
        return (hour < 10 ? "0" : "") + String(hour) + (minute < 10 ? ":0" : ":") + String(minute)
    }

    /// Spaces and members, made over the hub's own API.
    struct Setup: Sendable {
        let spaceIDs: [String]
        let tokens: [String]
        let userIDs: [String]

        /// Waits (10 s at most) until the hub on `port` knows the event space `id`.
        static func waitForSpace(_ id: String, port: Int) throws {
            let http = try BlockingHTTPConnection(port: port)
            for _ in 0..<100 {
                if try http.request("GET", "/api/event-spaces/\(id)").status == 200 { return }
                usleep(100_000)
            }
            throw ValidationError("the hub on port \(port) never learned of space \(id)")
        }

        static func run(port: Int, adminEmail: String, adminPassword: String, spaces: Int, users: Int, bufferMinutes: Int,
                        tag: String) throws -> Setup {
            let http = try BlockingHTTPConnection(port: port)
            let login = try http.request("POST", "/api/admin/auth/login", json: ["email": .string(adminEmail), "password": .string(adminPassword)])
            guard login.status == 200, let adminToken = try login.json()["token"]?.stringValue else {
                throw ValidationError("admin login failed: \(login.status) \(login.text)")
            }
            let allDay: JSON = ["open": "00:00", "close": "24:00"]
            let hours = JSON.object(JSONObject(WeeklyHours.weekdayNames.map { (key: $0, value: allDay) }))
            var spaceIDs: [String] = []
            for number in 0..<spaces {
                let created = try http.request("POST", "/api/event-spaces", token: adminToken, json: [
                    "name": .string("Hammer Room \(number + 1)"), "price": 10_000, "capacity": 10, "openingHours": hours,
                    "minDurationMinutes": 30, "maxDurationMinutes": 240, "bufferMinutes": .int(bufferMinutes),
                ])
                guard created.status == 201, let id = try created.json()["id"]?.stringValue else {
                    throw ValidationError("creating a space failed: \(created.status) \(created.text)")
                }
                spaceIDs.append(id)
            }
            var tokens: [String] = []
            var userIDs: [String] = []
            for number in 0..<users {
                let registered = try http.request("POST", "/api/auth/register", json: [
                    "email": .string("hammer-\(tag)-\(number)@example.com"), "password": "password123",
                    "firstName": "Hammer", "lastName": .string("Member\(number)"), "phone": "+2348012345678",
                ])
                let body = try registered.json()
                guard registered.status == 201, let token = body["token"]?.stringValue, let id = body["user"]?["id"]?.stringValue else {
                    throw ValidationError("registering a member failed: \(registered.status) \(registered.text) "
                                          + "(the hub's auth.rateLimits.registerPerMinutePerIp must allow \(users))")
                }
                tokens.append(token)
                userIDs.append(id)
            }
            return Setup(spaceIDs: spaceIDs, tokens: tokens, userIDs: userIDs)
        }
    }
}
