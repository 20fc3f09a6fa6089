import HubLoop

/// One ws-echo run on one loop: connect every client, warm up, measure, drain, close.
///
/// Phases only move forward: connecting → warming (all open, sending) → measuring → draining
/// (no new messages; each client closes with 1000 once its echoes are back) → done. A failed
/// connect or handshake before measuring aborts the run; a guard timer bounds the drain.
final class EchoRun {
    enum Phase { case connecting, warming, measuring, draining, done }

    let loop: Loop
    let plan: EchoPlan
    private(set) var phase = Phase.connecting
    private var clients: [EchoClient] = []
    private var opened = 0
    private var closed = 0
    private let timer: Timer
    /// Bounds the drain: clients still open this long after measuring ends are closed.
    static let drainMs: UInt64 = 5000

    private var measuredMessages = 0
    /// Unchecked exclusivity: one append per echo, loop thread only (see `EchoClient`).
    @exclusivity(unchecked) private var latencies = LatencySamples()
    private var errors = 0
    private var startedNs: UInt64 = 0
    private var hubCPUStart: Double?
    private var toolCPUStart = 0.0
    private(set) var result: EchoResult?
    private(set) var failure: String?

    init(loop: Loop, plan: EchoPlan) {
        self.loop = loop
        self.plan = plan
        self.timer = Timer(loop: loop)
    }

    var isSending: Bool { phase == .warming || phase == .measuring }
    var isMeasuring: Bool { phase == .measuring }

    func start() {
        clients.reserveCapacity(plan.connections)
        for index in 0..<plan.connections {
            let client = EchoClient(run: self, index: index)
            clients.append(client)
            client.connect()
        }
        // Connecting must not take forever either (a hub that is not there refuses at once).
        timer.start(afterMs: 30_000) { [unowned self] in
            if phase == .connecting { abort("only \(opened) of \(plan.connections) connections opened in 30 s") }
        }
    }

    // MARK: Called by clients

    func clientOpened(_ client: EchoClient) {
        opened += 1
        guard opened == plan.connections, phase == .connecting else { return }
        phase = .warming
        for client in clients { client.fillWindow() }
        timer.start(afterMs: max(plan.warmupMs, 1)) { [unowned self] in beginMeasuring() }
    }

    /// An echo came back `latencyNs` after its message was queued.
    @inline(__always)
    func echoed(latencyNs: UInt64) {
        guard phase == .measuring else { return }
        measuredMessages += 1
        latencies.record(latencyNs)
    }

    func clientFailed(_ client: EchoClient, _ reason: String) {
        errors += 1
        if phase == .connecting || phase == .warming { abort("connection \(client.index): \(reason)") }
    }

    func clientClosed(_ client: EchoClient) {
        closed += 1
        if closed == plan.connections { finish() }
    }

    // MARK: Phases

    private func beginMeasuring() {
        phase = .measuring
        latencies.reserve(plan.connections * plan.window * Int(plan.measureMs / 100 + 1))
        hubCPUStart = plan.hubPID.flatMap(ProcessCPU.seconds(pid:))
        toolCPUStart = ProcessCPU.selfSeconds()
        startedNs = Loop.hrtimeNs()
        timer.start(afterMs: plan.measureMs) { [unowned self] in endMeasuring() }
    }

    private func endMeasuring() {
        let elapsedNs = Loop.hrtimeNs() - startedNs
        let hubCPUEnd = plan.hubPID.flatMap(ProcessCPU.seconds(pid:))
        let toolCPU = ProcessCPU.selfSeconds() - toolCPUStart
        phase = .draining
        latencies.sort()
        result = EchoResult(
            messages: measuredMessages, seconds: Double(elapsedNs) / 1e9, latencies: latencies,
            hubCPUSeconds: hubCPUEnd.flatMap { end in hubCPUStart.map { end - $0 } }, toolCPUSeconds: toolCPU,
            errors: errors)
        for client in clients { client.drain() }
        timer.start(afterMs: Self.drainMs) { [unowned self] in
            for client in clients { client.closeNow() }
        }
    }

    private func abort(_ reason: String) {
        guard phase != .done, failure == nil else { return }
        failure = reason
        phase = .draining
        for client in clients { client.closeNow() }
    }

    private func finish() {
        phase = .done
        timer.close()
        clients = []
    }
}

@available(*, unavailable) extension EchoRun: Sendable {}
