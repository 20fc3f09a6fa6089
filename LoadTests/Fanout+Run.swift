import Foundation
import HubLoop

/// One fan-out run on one loop: set up over REST, connect every subscriber, then for each stage
/// book at its rate, warm up, measure; finally drain, count what arrived, and close everything.
///
/// Phases only move forward: setup (admin sign-in, event spaces, members, booking connections)
/// → connecting (subscribers) → running (stages) → draining (no new bookings; wait until the
/// deliveries stop) → closing → done. A failure before the stages aborts the run; guard timers
/// bound setup, connecting and the drain.
final class FanoutRun {
    enum Phase { case setup, connecting, running, draining, closing, done }

    let loop: Loop
    let plan: FanoutPlan
    let ledger = FanoutLedger()
    let pool: SubscriberPool
    private(set) var phase = Phase.setup
    private(set) var results: [FanoutStageResult] = []
    private(set) var failure: String?
    private(set) var deliveredPerEvent: (events: Int, deliveries: Int) = (0, 0)

    private let timer: HubLoop.Timer
    /// The booking clock of a steady-rate stage: every millisecond, books what is due.
    private let ticker: HubLoop.Timer
    private var admin: FanoutHTTPClient?
    private var spaceIDs: [String] = []
    private var memberTokens: [String] = []
    private var bookers: [FanoutHTTPClient] = []
    private var idleBookers: [FanoutHTTPClient] = []
    private var slots: FanoutSlots?
    private var nextBooking = 0
    private var bookingsInFlight = 0

    private var stage = 0
    private var stageStartNs: UInt64 = 0
    private var dueIssued = 0
    private var measuring = false
    private var window = FanoutStageResult(rate: 0)
    private var hubCPUStart: Double?
    private var toolCPUStart = 0.0
    private var measureStartNs: UInt64 = 0
    private(set) var firstRefusal: String?
    private var lastDeliveries = 0
    private var drainDeadlineNs: UInt64 = 0

    /// Setup and connecting together must finish within this.
    static let connectTimeoutMs: UInt64 = 120_000
    /// The drain ends when deliveries stop for `drainQuietMs`, or after `drainMaxMs`.
    static let drainQuietMs: UInt64 = 500
    static let drainMaxMs: UInt64 = 15_000

    init(loop: Loop, plan: FanoutPlan) {
        self.loop = loop
        self.plan = plan
        self.timer = HubLoop.Timer(loop: loop)
        self.ticker = HubLoop.Timer(loop: loop)
        self.pool = SubscriberPool(loop: loop, plan: plan.subscribers)
        pool.ledger = ledger
    }

    var currentRate: Double { plan.rates[stage] }

    // MARK: Setup

    func start() {
        timer.start(afterMs: Self.connectTimeoutMs) { [unowned self] in
            if phase == .setup || phase == .connecting {
                abort("setup and connecting took over \(Self.connectTimeoutMs / 1000) s (\(pool.welcomed) welcomed)")
            }
        }
        if plan.serverEvents {
            connectSubscribers()
            return
        }
        FanoutHTTPClient.open(loop: loop, host: plan.host, port: plan.port, onClose: { [unowned self] in abort("admin: \($0)") }) {
            [unowned self] result in
            switch result {
            case .success(let client):
                admin = client
                signIn(client)
            case .failure(let error): abort(error.description)
            }
        }
    }

    private func signIn(_ client: FanoutHTTPClient) {
        let body = #"{"email":"\#(plan.adminEmail)","password":"\#(plan.adminPassword)"}"#
        client.send("POST", "/api/admin/auth/login", json: body) { [unowned self] status, body in
            guard status == 200, let token = jsonString(body, "token") else {
                abort("admin sign-in: \(status) \(String(decoding: body, as: UTF8.self))")
                return
            }
            client.token = token
            createSpace(client, 0)
        }
    }

    private func createSpace(_ client: FanoutHTTPClient, _ index: Int) {
        guard index < plan.spaces else {
            client.token = nil
            registerMember(client, 0)
            return
        }
        let name = "Fan-out bench \(plan.runTag) \(index + 1)"
        client.send("POST", "/api/event-spaces", json: FanoutSlots.spaceBody(name: name)) { [unowned self] status, body in
            guard status == 201, let id = jsonString(body, "id") else {
                abort("create event space: \(status) \(String(decoding: body, as: UTF8.self))")
                return
            }
            spaceIDs.append(id)
            createSpace(client, index + 1)
        }
    }

    private func registerMember(_ client: FanoutHTTPClient, _ index: Int) {
        guard index < plan.members else {
            client.close()
            admin = nil
            openBookers()
            return
        }
        let body = #"{"email":"fanout-\#(plan.runTag)-\#(index)@example.com","password":"bench-password-1","#
            + #""firstName":"Fan","lastName":"Out","phone":"+2348012345678"}"#
        client.send("POST", "/api/auth/register", json: body) { [unowned self] status, body in
            guard status == 201, let token = jsonString(body, "token") else {
                abort("register member: \(status) \(String(decoding: body, as: UTF8.self))")
                return
            }
            memberTokens.append(token)
            registerMember(client, index + 1)
        }
    }

    private func openBookers() {
        for index in 0..<plan.connections {
            FanoutHTTPClient.open(loop: loop, host: plan.host, port: plan.port, onClose: { [unowned self] reason in
                if phase == .running || phase == .draining { abort("booking connection: \(reason)") }
            }) { [unowned self] result in
                switch result {
                case .success(let client):
                    client.token = memberTokens[index % memberTokens.count]
                    bookers.append(client)
                    idleBookers.append(client)
                    if bookers.count == plan.connections { connectSubscribers() }
                case .failure(let error): abort(error.description)
                }
            }
        }
    }

    private func connectSubscribers() {
        guard phase == .setup else { return }
        phase = .connecting
        if !plan.serverEvents {
            slots = FanoutSlots(spaceIDs: spaceIDs, nowSeconds: FanoutClock.wallNs() / 1_000_000_000)
            print("  set up \(spaceIDs.count) event spaces, \(memberTokens.count) members, \(bookers.count) booking connections")
        }
        print("  connecting \(plan.subscribers.count) subscribers")
        let started = Loop.hrtimeNs()
        pool.onAllWelcomed = { [unowned self] in
            print("  \(pool.welcomed) subscribers welcomed in \(FanoutText.fixed(Double(Loop.hrtimeNs() - started) / 1e9)) s")
            allConnected()
        }
        pool.start()
    }

    private func allConnected() {
        guard phase == .connecting else { return }
        phase = .running
        ledger.start(afterSeq: pool.welcomeSeq ?? 0)
        beginStage(0)
    }

    // MARK: Stages

    private func beginStage(_ index: Int) {
        stage = index
        stageStartNs = Loop.hrtimeNs()
        dueIssued = 0
        window = FanoutStageResult(rate: currentRate)
        if plan.serverEvents {
            // Nothing to book: the server publishes by itself.
        } else if currentRate > 0 {
            ticker.start(afterMs: 1, repeatMs: 1) { [unowned self] in tick() }
        } else {
            // Saturation: every connection keeps one booking in flight (`bookingAnswered` sends
            // the next), so the hub commits as fast as it can.
            let idle = idleBookers
            idleBookers = []
            for client in idle { book(on: client) }
        }
        timer.start(afterMs: max(plan.warmupMs, 1)) { [unowned self] in beginMeasuring() }
    }

    /// Books what the rate says is due by now. A booking that finds every connection busy is
    /// counted late and skipped: the rate is not met, and no backlog builds up to burst later.
    private func tick() {
        let elapsed = Double(Loop.hrtimeNs() - stageStartNs) / 1e9
        var due = Int(elapsed * currentRate) - dueIssued
        while due > 0, let client = idleBookers.popLast() {
            book(on: client)
            dueIssued += 1
            due -= 1
        }
        if due > 0 {
            if measuring { window.late += due }
            dueIssued += due
        }
    }

    private func book(on client: FanoutHTTPClient) {
        guard let slots else { return }
        let (body, key) = slots.booking(nextBooking)
        nextBooking += 1
        ledger.bookingSent(key: key, atNs: FanoutClock.wallNs())
        bookingsInFlight += 1
        if measuring { window.sent += 1 }
        client.send("POST", "/api/bookings", json: body) { [unowned self] status, body in
            bookingAnswered(client, status, body)
        }
    }

    private func bookingAnswered(_ client: FanoutHTTPClient, _ status: Int, _ body: [UInt8]) {
        bookingsInFlight -= 1
        if status == 201 {
            if measuring { window.created += 1 }
        } else {
            if measuring { window.refused += 1 }
            if firstRefusal == nil { firstRefusal = "\(status) \(String(decoding: body.prefix(300), as: UTF8.self))" }
        }
        if phase == .running && currentRate == 0 {
            book(on: client)
        } else {
            idleBookers.append(client)
        }
    }

    private func beginMeasuring() {
        measuring = true
        ledger.beginMeasuring(stage: stage)
        hubCPUStart = plan.hubPID.flatMap(ProcessCPU.seconds(pid:))
        toolCPUStart = ProcessCPU.selfSeconds()
        measureStartNs = Loop.hrtimeNs()
        timer.start(afterMs: plan.measureMs) { [unowned self] in endMeasuring() }
    }

    private func endMeasuring() {
        let elapsedNs = Loop.hrtimeNs() - measureStartNs
        let hubCPUEnd = plan.hubPID.flatMap(ProcessCPU.seconds(pid:))
        window.toolCPUSeconds = ProcessCPU.selfSeconds() - toolCPUStart
        window.hubCPUSeconds = hubCPUEnd.flatMap { end in hubCPUStart.map { end - $0 } }
        measuring = false
        ledger.endMeasuring()
        window.seconds = Double(elapsedNs) / 1e9
        window.deliveries = ledger.measuredDeliveries
        window.eventsPerRead = Double(ledger.measuredReadEvents) / Double(max(ledger.measuredReads, 1))
        window.latency = ledger.histogram
        window.subscribersOpen = pool.open
        results.append(window)
        print("  stage \(stage + 1)/\(plan.rates.count) measured: \(window.oneLine)")
        ticker.stop()
        if stage + 1 < plan.rates.count {
            beginStage(stage + 1)
        } else {
            drain()
        }
    }

    // MARK: Ending

    private func drain() {
        phase = .draining
        lastDeliveries = ledger.totalDeliveries
        drainDeadlineNs = Loop.hrtimeNs() + Self.drainMaxMs * 1_000_000
        timer.start(afterMs: Self.drainQuietMs, repeatMs: Self.drainQuietMs) { [unowned self] in
            let quiet = bookingsInFlight == 0 && ledger.totalDeliveries == lastDeliveries
            lastDeliveries = ledger.totalDeliveries
            if quiet || Loop.hrtimeNs() > drainDeadlineNs { closeAll() }
        }
    }

    private func closeAll() {
        guard phase != .closing && phase != .done else { return }
        phase = .closing
        timer.stop()
        ticker.stop()
        for index in results.indices {
            let spread = ledger.spread(stage: index)
            results[index].events = spread.events
            results[index].eventDeliveries = spread.deliveries
            results[index].spread = spread
        }
        deliveredPerEvent = ledger.allEvents
        admin?.close()
        admin = nil
        for client in bookers { client.close() }
        bookers = []
        idleBookers = []
        pool.onAllClosed = { [unowned self] in
            phase = .done
            timer.close()
            ticker.close()
        }
        pool.closeAll()
    }

    private func abort(_ reason: String) {
        guard failure == nil, phase != .closing, phase != .done else { return }
        failure = reason
        closeAll()
    }
}

@available(*, unavailable) extension FanoutRun: Sendable {}

/// One stage's measured interval.
struct FanoutStageResult {
    /// Target bookings per second; 0 for saturation.
    var rate: Double
    var seconds = 0.0
    var sent = 0
    var created = 0
    var refused = 0
    /// Bookings the rate asked for while every booking connection was busy (skipped).
    var late = 0
    var deliveries = 0
    /// Events per subscriber read that carried any: about the events per write the server made.
    var eventsPerRead = 0.0
    var latency = LatencyHistogram()
    var hubCPUSeconds: Double?
    var toolCPUSeconds = 0.0
    var subscribersOpen = 0
    /// After the drain: events first delivered in this interval, and all their deliveries.
    var events = 0
    var eventDeliveries = 0
    var spread = FanoutLedger.Spread()

    var bookingsPerSecond: Double { Double(created) / max(seconds, 1e-9) }
    var deliveriesPerSecond: Double { Double(deliveries) / max(seconds, 1e-9) }
    var hubCPUPerDeliveryNs: Double? { hubCPUSeconds.map { $0 / Double(max(deliveries, 1)) * 1e9 } }

    var oneLine: String {
        let target = rate > 0 ? "\(Int(rate)) bookings/s" : "saturation"
        return "\(target): \(Int(bookingsPerSecond)) bookings/s committed, \(Int(deliveriesPerSecond)) deliveries/s,"
            + " latency p50 \(FanoutText.millis(latency.at(0.5))) p99 \(FanoutText.millis(latency.at(0.99)))"
            + (hubCPUPerDeliveryNs.map { ", hub \(FanoutText.fixed($0 / 1000)) µs/delivery" } ?? "")
    }
}

/// Number formats of the fan-out and idle reports.
enum FanoutText {
    static func millis(_ nanoseconds: Int64) -> String { String(format: "%.2f ms", Double(nanoseconds) / 1e6) }
    static func fixed(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }
}
