import ArgumentParser
import Foundation
import HubLoop

/// `spacehub-load fanout`: issue 7's fan-out benchmark against a running hub.
///
/// Connects `--subscribers` anonymous WebSocket clients to `/ws?client=bench` (each is subscribed
/// to `availability` on connect), all on one libuv loop. Over REST it signs in as the admin
/// (`--admin-email`, password from `SPACEHUB_ADMIN_PASSWORD`), creates `--spaces` event spaces
/// open around the clock, registers `--members` members and opens `--connections` keep-alive
/// booking connections. Then, for each rate in `--rates` (bookings per second; 0 = saturation:
/// every connection keeps one booking in flight), it books non-conflicting half hours, warms
/// up, and measures for `--seconds`: bookings committed, deliveries of
/// `space_availability_changed` received by the subscribers (one per subscriber per booking),
/// delivery latency from commit to receipt (see `FanoutLedger`), and with `--hub-pid` the hub's
/// CPU time (utime + stime from /proc) per delivery. After the last stage it waits for
/// deliveries to stop and reports how many of each stage's events reached every subscriber.
/// `scripts/bench-fanout.sh` runs the published configuration (BENCHMARKS.md, "Fan-out").
///
/// Thresholds are issue 7's aims; they change only in their own commit (STYLE §9) and are
/// enforced with `--check` (a miss exits 1).
struct Fanout: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "Benchmark event fan-out: deliveries/s, commit-to-receipt p50/p99, hub CPU per delivery."
    )

    /// Commit-to-receipt p99 at a steady booking rate with 10,000 subscribers, in nanoseconds.
    static let latencyP99MaxNs: Int64 = 50_000_000
    /// Deliveries per second at saturation.
    static let saturationDeliveriesMin = 1_000_000.0

    @Option(help: "Hub address (numeric).") var host = "127.0.0.1"
    @Option(help: "Hub port.") var port: Int
    @Option(help: "Other hubs on the same PostgreSQL: their ports, comma-separated. Subscribers are spread over every hub; bookings go to the first.")
    var alsoPorts = ""
    @Option(help: "Path and query of the WebSocket endpoint.") var target = "/ws?client=bench"
    @Option(help: "WebSocket subscribers.") var subscribers = 10_000
    @Option(help: "Source addresses (127.1.x.y) to spread the subscribers over; 0: the default one.")
    var sourceAddresses = 40
    @Option(help: "Admin email (create it with `spacehub admin create`); the password comes from SPACEHUB_ADMIN_PASSWORD.")
    var adminEmail: String?
    @Flag(help: "The server publishes events by itself (scripts/fanout-floor.c): no REST set-up, no bookings; each stage only measures.")
    var serverEvents = false
    @Option(help: "Event spaces to create and book.") var spaces = 8
    @Option(help: "Members to register and book as.") var members = 4
    @Option(help: "Keep-alive booking connections (each has at most one booking in flight).") var connections = 16
    @Option(help: "Comma-separated booking rates per second, one stage each; 0 = saturation.") var rates = "20,0"
    @Option(help: "Seconds of booking before each stage is measured.") var warmupSeconds = 3.0
    @Option(help: "Measured seconds per stage.") var seconds = 10.0
    @Option(help: "Hub process id, to report its CPU time per delivery.") var hubPid: Int32?
    @Flag(help: "Poll the loop without blocking (the load tool spins on its core instead of sleeping in epoll_wait).")
    var busyPoll = false
    @Flag(help: "Exit 1 when a threshold is missed.") var check = false

    mutating func validate() throws {
        guard (1...60_000).contains(subscribers) else { throw ValidationError("--subscribers must be 1...60000") }
        guard (0...60_000).contains(sourceAddresses) else { throw ValidationError("--source-addresses must be 0...60000") }
        guard (1...64).contains(spaces), (1...10).contains(members), (1...256).contains(connections) else {
            throw ValidationError("--spaces 1...64, --members 1...10 (the hub's register limit per IP), --connections 1...256")
        }
        guard let parsed = Self.parseRates(rates), !parsed.isEmpty else {
            throw ValidationError("--rates is a comma-separated list of numbers ≥ 0")
        }
        guard seconds > 0, warmupSeconds >= 0 else { throw ValidationError("--seconds must be > 0") }
        guard serverEvents || (adminEmail != nil && ProcessInfo.processInfo.environment["SPACEHUB_ADMIN_PASSWORD"] != nil)
        else {
            throw ValidationError("give --admin-email and set SPACEHUB_ADMIN_PASSWORD to the admin's password")
        }
        _ = parsed
    }

    static func parseRates(_ text: String) -> [Double]? {
        let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard values.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }  // nil checked first
        return values.map { $0! }  // all non-nil, checked above
    }

    mutating func run() throws {
        let fileLimit = raiseOpenFileLimit()
        guard fileLimit > subscribers + connections + 64 else {
            print("fanout: FAILED: the open-file limit is \(fileLimit); \(subscribers) subscribers need more (ulimit -Hn)")
            throw ExitCode(2)
        }
        let plan = FanoutPlan(
            host: host, port: port,
            subscribers: SubscriberPool.Plan(
                host: host, port: port, target: target, count: subscribers, sourceAddresses: sourceAddresses,
                otherPorts: alsoPorts.split(separator: ",").compactMap { Int($0) }),
            serverEvents: serverEvents, adminEmail: adminEmail ?? "", adminPassword: ProcessInfo.processInfo.environment["SPACEHUB_ADMIN_PASSWORD"] ?? "",
            spaces: spaces, members: members, connections: connections, rates: Self.parseRates(rates) ?? [],
            warmupMs: UInt64(warmupSeconds * 1000), measureMs: UInt64(seconds * 1000), hubPID: hubPid,
            runTag: String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16))
        print("fanout: \(subscribers) subscribers on ws://\(host):\(port)\(target) from \(max(sourceAddresses, 1)) source"
            + " address(es), "
            + (serverEvents ? "events published by the server, stages \(rates) (labels)," : "\(connections) booking connections, stages \(rates) bookings/s (0 = saturation),")
            + " \(FanoutText.fixed(seconds)) s each after \(FanoutText.fixed(warmupSeconds)) s; open-file limit \(fileLimit)")
        let loop = Loop()
        let run = FanoutRun(loop: loop, plan: plan)
        run.start()
        if busyPoll {
            while run.phase != .done { loop.runOnce(wait: false) }
            loop.run()  // the close callbacks of the last handles
        } else {
            loop.run()
        }
        precondition(loop.close(), "fanout left a handle open")
        if let failure = run.failure {
            print("fanout: FAILED: \(failure)")
            throw ExitCode(2)
        }
        let missed = report(run)
        if check && missed { throw ExitCode(1) }
    }

    /// Prints the results; returns whether a threshold was missed.
    private func report(_ run: FanoutRun) -> Bool {
        var missed = false
        let pool = run.pool
        let ledger = run.ledger
        print("results (latency: commit to receipt, never understated; see FanoutLedger)")
        for (index, stage) in run.results.enumerated() {
            let target = stage.rate > 0 ? "\(FanoutText.fixed(stage.rate, 0)) bookings/s" : "saturation"
            print("  stage \(index + 1), \(target), \(FanoutText.fixed(stage.seconds)) s measured:")
            print("    bookings: \(stage.sent) sent, \(stage.created) created (\(FanoutText.fixed(stage.bookingsPerSecond, 1))/s),"
                + " \(stage.refused) refused, \(stage.late) skipped (all connections busy)")
            print("    deliveries: \(FanoutText.count(stage.deliveries)) (\(FanoutText.count(Int(stage.deliveriesPerSecond)))/s)"
                + " to \(stage.subscribersOpen) subscribers, \(FanoutText.fixed(stage.eventsPerRead)) events per subscriber read")
            let latency = stage.latency
            print("    latency: p50 \(FanoutText.millis(latency.at(0.5))), p90 \(FanoutText.millis(latency.at(0.9))),"
                + " p99 \(FanoutText.millis(latency.at(0.99))), p99.9 \(FanoutText.millis(latency.at(0.999))),"
                + " max \(FanoutText.millis(latency.at(1)))")
            print("    per event: commit to first receipt p50 \(FanoutText.millis(stage.spread.firstP50Ns)),"
                + " p99 \(FanoutText.millis(stage.spread.firstP99Ns)); first to last receipt (the fan-out as received)"
                + " p50 \(FanoutText.millis(stage.spread.spanP50Ns)), p99 \(FanoutText.millis(stage.spread.spanP99Ns))")
            if let hubCPU = stage.hubCPUSeconds, let perDelivery = stage.hubCPUPerDeliveryNs {
                print("    \(serverEvents ? "server" : "hub") CPU: \(FanoutText.fixed(hubCPU)) s (\(FanoutText.fixed(hubCPU / stage.seconds * 100, 0))% of a core),"
                    + " \(FanoutText.fixed(perDelivery / 1000, 3)) µs per delivery")
            }
            print("    load tool CPU: \(FanoutText.fixed(stage.toolCPUSeconds)) s"
                + " (\(FanoutText.fixed(stage.toolCPUSeconds / stage.seconds * 100, 0))% of a core)")
            let expected = stage.events * stage.subscribersOpen
            print("    completeness: \(stage.events) events first seen in the interval, \(FanoutText.count(stage.eventDeliveries))"
                + " of \(FanoutText.count(expected)) deliveries arrived")
        }
        print("  run: \(ledger.allEvents.events) availability events, \(FanoutText.count(ledger.totalDeliveries)) deliveries;"
            + " \(ledger.referencedBySend) events referenced by the request's send time (later than ts);"
            + " \(pool.dropped) subscribers dropped by the hub, \(pool.failures) failures\(pool.firstFailure.map { " (\($0))" } ?? "");"
            + " \(ledger.otherMessages) other messages, \(ledger.malformed) malformed;"
            + " an event is \(ledger.eventBytes) bytes of JSON")
        if let refusal = run.firstRefusal { print("  first refused booking: \(refusal)") }
        if let pid = hubPid, let peak = processMemoryBytes(pid: pid, field: "VmHWM") {
            print("  hub peak RSS: \(peak / (1 << 20)) MiB")
        }
        print("thresholds")
        for (index, stage) in run.results.enumerated() {
            if stage.rate > 0 {
                let p99 = stage.latency.at(0.99)
                let ok = p99 < Self.latencyP99MaxNs && subscribers >= 10_000
                missed = missed || !ok
                print("    stage \(index + 1): p99 \(FanoutText.millis(p99)) < \(FanoutText.millis(Self.latencyP99MaxNs))"
                    + " with \(subscribers) subscribers: \(ok ? "ok" : "MISSED")")
            } else {
                let ok = stage.deliveriesPerSecond >= Self.saturationDeliveriesMin
                missed = missed || !ok
                print("    stage \(index + 1): \(FanoutText.count(Int(stage.deliveriesPerSecond))) deliveries/s at saturation"
                    + " >= \(FanoutText.count(Int(Self.saturationDeliveriesMin))): \(ok ? "ok" : "MISSED")")
            }
            let complete = stage.eventDeliveries == stage.events * stage.subscribersOpen
            missed = missed || !complete
            if !complete { print("    stage \(index + 1): deliveries missing: MISSED") }
        }
        missed = missed || pool.dropped > 0
        // One line per stage for scripts (scripts/bench-fanout.sh collects them).
        for stage in run.results {
            print("summary subscribers=\(subscribers) rate=\(FanoutText.fixed(stage.rate, 0))"
                + " bookings_per_second=\(FanoutText.fixed(stage.bookingsPerSecond, 1))"
                + " deliveries_per_second=\(Int(stage.deliveriesPerSecond))"
                + " events_per_read=\(FanoutText.fixed(stage.eventsPerRead))"
                + " p50_ms=\(FanoutText.fixed(Double(stage.latency.at(0.5)) / 1e6, 3))"
                + " p99_ms=\(FanoutText.fixed(Double(stage.latency.at(0.99)) / 1e6, 3))"
                + " hub_cpu_us_per_delivery=\(stage.hubCPUPerDeliveryNs.map { FanoutText.fixed($0 / 1000, 3) } ?? "n/a")"
                + " complete=\(stage.eventDeliveries)/\(stage.events * stage.subscribersOpen)")
        }
        return missed
    }
}

/// What one fan-out run does, fixed before it starts.
struct FanoutPlan {
    var host: String
    var port: Int
    var subscribers: SubscriberPool.Plan
    /// The server publishes by itself: no set-up, no bookings.
    var serverEvents: Bool
    var adminEmail: String
    var adminPassword: String
    var spaces: Int
    var members: Int
    var connections: Int
    var rates: [Double]
    var warmupMs: UInt64
    var measureMs: UInt64
    var hubPID: Int32?
    /// Distinguishes this run's spaces and members from an earlier run's on the same database.
    var runTag: String
}
