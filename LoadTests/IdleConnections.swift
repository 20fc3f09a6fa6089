import ArgumentParser
import Foundation
import HubLoop

/// `spacehub-load idle`: issue 7's idle-memory benchmark against a running hub.
///
/// Warms the hub up with `--warmup-connections` WebSocket clients that connect, are welcomed and
/// close; reads the hub's RSS (`VmRSS` in /proc/<pid>/status); opens `--connections` clients on
/// `/ws?client=bench` (anonymous, so each is subscribed to `availability` on connect), lets them
/// sit idle for `--idle-seconds`, reads the RSS again, and reports the difference per connection.
/// Kernel socket buffers are not in a process's RSS; everything the hub allocates per connection
/// (libuv handle, Swift objects, buffers, table entries) is. `scripts/bench-idle.sh` runs the
/// published configuration (BENCHMARKS.md, "Idle connections").
///
/// The threshold is issue 7's aim; it changes only in its own commit (STYLE §9) and is enforced
/// with `--check` (a miss exits 1).
struct IdleConnections: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "Benchmark idle WebSocket connections: hub RSS per connected, subscribed client."
    )

    /// Hub RSS per idle, subscribed WebSocket connection, in bytes.
    static let bytesPerConnectionMax = 4096.0

    @Option(help: "Hub address (numeric).") var host = "127.0.0.1"
    @Option(help: "Hub port.") var port: Int
    @Option(help: "Path and query of the WebSocket endpoint.") var target = "/ws?client=bench"
    @Option(help: "Idle connections to hold (default: the open-file limit less 1,000).") var connections: Int?
    @Option(help: "Source addresses (127.1.x.y) to spread the connections over; 0: the default one.")
    var sourceAddresses = 40
    @Option(help: "Connections opened and closed before the first reading.") var warmupConnections = 100
    @Option(help: "Seconds all connections sit idle before the second reading.") var idleSeconds = 5.0
    @Option(help: "Hub process id (its RSS is the measurement).") var hubPid: Int32
    @Flag(help: "Exit 1 when the threshold is missed.") var check = false

    mutating func validate() throws {
        if let connections, !(1...60_000).contains(connections) { throw ValidationError("--connections must be 1...60000") }
        guard (0...60_000).contains(sourceAddresses) else { throw ValidationError("--source-addresses must be 0...60000") }
        guard (0...10_000).contains(warmupConnections) else { throw ValidationError("--warmup-connections must be 0...10000") }
        guard idleSeconds >= 0 else { throw ValidationError("--idle-seconds must be >= 0") }
    }

    /// Descriptors kept free of connections: the tool's own (loop, stdio) and slack.
    static let descriptorsSpare = 1000

    mutating func run() throws {
        let fileLimit = raiseOpenFileLimit()
        let count = connections ?? (fileLimit - Self.descriptorsSpare)
        guard count > 0, count + 16 < fileLimit else {
            print("idle: FAILED: the open-file limit is \(fileLimit); \(count) connections need more (ulimit -Hn)")
            throw ExitCode(2)
        }
        guard processMemoryBytes(pid: hubPid) != nil else {
            print("idle: FAILED: cannot read /proc/\(hubPid)/status")
            throw ExitCode(2)
        }
        print("idle: \(count) connections to ws://\(host):\(port)\(target) from \(max(sourceAddresses, 1)) source address(es),"
            + " \(warmupConnections) warm-up connections, \(FanoutText.fixed(idleSeconds)) s idle; open-file limit \(fileLimit)")
        let plan = SubscriberPool.Plan(host: host, port: port, target: target, count: count, sourceAddresses: sourceAddresses)
        let loop = Loop()
        let run = IdleRun(loop: loop, plan: plan, warmupConnections: warmupConnections,
                          idleMs: UInt64(idleSeconds * 1000), hubPID: hubPid)
        run.start()
        loop.run()
        precondition(loop.close(), "idle left a handle open")
        guard let result = run.result else {
            print("idle: FAILED: \(run.failure ?? "stopped before measuring")")
            throw ExitCode(2)
        }
        let perConnection = Double(result.afterBytes - result.beforeBytes) / Double(result.connections)
        let mib = { (bytes: Int) in FanoutText.fixed(Double(bytes) / 1_048_576, 1) + " MiB" }
        print("results")
        print("  connections open and idle: \(result.connections) (connected and welcomed in \(FanoutText.fixed(result.connectSeconds)) s)")
        print("  hub RSS: \(mib(result.beforeBytes)) before, \(mib(result.afterBytes)) after \(FanoutText.fixed(idleSeconds)) s idle,"
            + " \(mib(result.closedBytes)) 2 s after closing them all; peak \(mib(result.peakBytes))")
        print("  per connection: \(FanoutText.fixed(perConnection, 0)) bytes (\(FanoutText.fixed(perConnection / 1024)) KiB)")
        print("  load tool RSS: \(mib(processMemoryBytes(pid: getpid()) ?? 0))")
        let ok = perConnection <= Self.bytesPerConnectionMax && result.connections == count
        print("thresholds")
        print("    \(FanoutText.fixed(perConnection, 0)) bytes per connection <= \(Int(Self.bytesPerConnectionMax)): \(ok ? "ok" : "MISSED")")
        print("summary connections=\(result.connections) rss_before_kib=\(result.beforeBytes / 1024)"
            + " rss_after_kib=\(result.afterBytes / 1024) bytes_per_connection=\(Int(perConnection.rounded()))")
        if check && !ok { throw ExitCode(1) }
    }
}

/// What the idle run measured.
struct IdleResult {
    var connections: Int
    var connectSeconds: Double
    var beforeBytes: Int
    var afterBytes: Int
    var closedBytes: Int
    var peakBytes: Int
}

/// Warm-up pool → first reading → the measured pool, idle → second reading → close all →
/// third reading. A failed connection aborts; a guard timer bounds connecting.
final class IdleRun {
    let loop: Loop
    let plan: SubscriberPool.Plan
    let warmupConnections: Int
    let idleMs: UInt64
    let hubPID: Int32
    private let timer: HubLoop.Timer
    private var pool: SubscriberPool?
    private var beforeBytes = 0
    private var afterBytes = 0
    private var connectStartNs: UInt64 = 0
    private var connectSeconds = 0.0
    private var measured = false
    private(set) var result: IdleResult?
    private(set) var failure: String?

    /// Connecting every client must finish within this.
    static let connectTimeoutMs: UInt64 = 120_000
    /// Pause after the warm-up clients close, and after the measured ones close, before reading.
    static let settleMs: UInt64 = 2000

    init(loop: Loop, plan: SubscriberPool.Plan, warmupConnections: Int, idleMs: UInt64, hubPID: Int32) {
        self.loop = loop
        self.plan = plan
        self.warmupConnections = warmupConnections
        self.idleMs = idleMs
        self.hubPID = hubPID
        self.timer = HubLoop.Timer(loop: loop)
    }

    func start() {
        guard warmupConnections > 0 else {
            readBaseline()
            return
        }
        var warmup = plan
        warmup.count = warmupConnections
        openPool(warmup) { [unowned self] pool in
            pool.onAllClosed = { [unowned self] in
                self.pool = nil
                timer.start(afterMs: Self.settleMs) { [unowned self] in readBaseline() }
            }
            pool.closeAll()
        }
    }

    private func readBaseline() {
        beforeBytes = processMemoryBytes(pid: hubPID) ?? 0
        connectStartNs = Loop.hrtimeNs()
        openPool(plan) { [unowned self] pool in
            connectSeconds = Double(Loop.hrtimeNs() - connectStartNs) / 1e9
            print("  \(pool.welcomed) connections welcomed in \(FanoutText.fixed(connectSeconds)) s; idle for \(idleMs) ms")
            timer.start(afterMs: max(idleMs, 1)) { [unowned self] in readIdle(pool) }
        }
    }

    private func readIdle(_ pool: SubscriberPool) {
        afterBytes = processMemoryBytes(pid: hubPID) ?? 0
        let open = pool.open
        if pool.failures > 0 { failure = "\(pool.failures) connections failed while idle: \(pool.firstFailure ?? "")" }
        measured = true
        pool.onAllClosed = { [unowned self] in
            self.pool = nil
            timer.start(afterMs: Self.settleMs) { [unowned self] in
                let closedBytes = processMemoryBytes(pid: hubPID) ?? 0
                let peakBytes = processMemoryBytes(pid: hubPID, field: "VmHWM") ?? 0
                if failure == nil {
                    result = IdleResult(connections: open, connectSeconds: connectSeconds, beforeBytes: beforeBytes,
                                        afterBytes: afterBytes, closedBytes: closedBytes, peakBytes: peakBytes)
                }
                timer.close()
            }
        }
        pool.closeAll()
    }

    /// Opens `plan`'s clients; `welcomed` runs once all are welcomed. Any failure aborts the run.
    private func openPool(_ plan: SubscriberPool.Plan, welcomed: @escaping (SubscriberPool) -> Void) {
        let pool = SubscriberPool(loop: loop, plan: plan)
        self.pool = pool
        pool.onAllWelcomed = { welcomed(pool) }
        timer.start(afterMs: Self.connectTimeoutMs) { [unowned self] in
            abort("only \(pool.welcomed) of \(plan.count) connections welcomed in \(Self.connectTimeoutMs / 1000) s"
                + (pool.firstFailure.map { "; first failure: \($0)" } ?? ""))
        }
        pool.start()
        checkFailures(pool)
    }

    /// Polls the pool for failures while it connects (a refused connect does not call back
    /// `onAllWelcomed`, so without this the run would wait for the guard timer).
    private func checkFailures(_ pool: SubscriberPool) {
        let poll = HubLoop.Timer(loop: loop)
        poll.start(afterMs: 100, repeatMs: 100) { [unowned self] in
            if pool.failures > 0 && !measured {
                poll.close()
                abort(pool.firstFailure ?? "a connection failed")
            } else if pool.welcomed == pool.plan.count || self.pool !== pool {
                poll.close()
            }
        }
    }

    private func abort(_ reason: String) {
        guard failure == nil else { return }
        failure = reason
        timer.stop()
        guard let pool else {
            timer.close()
            return
        }
        pool.onAllClosed = { [unowned self] in
            self.pool = nil
            timer.close()
        }
        pool.closeAll()
    }
}

@available(*, unavailable) extension IdleRun: Sendable {}
