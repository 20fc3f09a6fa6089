import ArgumentParser
import Foundation
import HubLoop

#if canImport(Glibc)
    import Glibc
#endif

/// `spacehub-load ws-echo`: WebSocket echo throughput and round-trip latency against a running
/// hub's `/ws/echo` (start it with `SPACEHUB_ECHO=true`).
///
/// Opens `--connections` connections on one libuv loop; each keeps `--window` text messages of
/// `--message-bytes` bytes outstanding and sends the next as each echo returns, so the load is
/// closed-loop and bounded. The default window of 1 is the workload of uWebSockets'
/// `benchmarks/load_test.c` (one message in flight per connection: every message costs the
/// server a read and a write); larger windows pipeline, and batch several messages per syscall. After `--warmup-seconds` it counts echoes and round trips for
/// `--seconds`, then stops sending, drains, closes every connection with 1000 and exits. With
/// `--hub-pid` it also reads the hub's utime+stime from /proc before and after the measured
/// interval and reports the hub's CPU time per echoed message. `scripts/bench-ws-echo.sh` runs
/// the published configuration (BENCHMARKS.md, "WebSocket echo").
///
/// Thresholds are the aims of issue 3 on the 2-core benchmark machine; they change only in their
/// own commit (STYLE §9) and are enforced with `--check` (a miss exits 1).
struct WebSocketEcho: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws-echo",
        abstract: "Benchmark WebSocket echo: messages/s, round-trip p50/p99, hub CPU per message."
    )

    /// Echoed messages per second with 100 connections, the hub pinned to one core.
    static let echoRateMin = 200_000.0
    /// Hub CPU (user + system) per echoed message, in nanoseconds: uWebSockets spends 4.0 µs on
    /// the same workload on the same machine (issue 3).
    static let hubCPUPerMessageMaxNs = 4_000.0

    @Option(help: "Hub address (numeric).") var host = "127.0.0.1"
    @Option(help: "Hub port.") var port: Int
    @Option(help: "Echo endpoint path.") var path = "/ws/echo"
    @Option(help: "Concurrent WebSocket connections.") var connections = 100
    @Option(help: "Messages each connection keeps outstanding (1: send the next when the echo returns).")
    var window = 1
    @Option(help: "Payload bytes of each text message.") var messageBytes = 32
    @Option(help: "Measured seconds.") var seconds = 10.0
    @Option(help: "Seconds of load before measuring.") var warmupSeconds = 2.0
    @Option(help: "Hub process id, to report its CPU time per message.") var hubPid: Int32?
    @Flag(help: "Exit 1 when a threshold is missed.") var check = false

    mutating func validate() throws {
        guard (1...60_000).contains(connections) else { throw ValidationError("--connections must be 1...60000") }
        guard (1...4096).contains(window) else { throw ValidationError("--window must be 1...4096") }
        guard (1...125).contains(messageBytes) else { throw ValidationError("--message-bytes must be 1...125") }
        guard seconds > 0, warmupSeconds >= 0 else { throw ValidationError("--seconds must be > 0") }
    }

    mutating func run() throws {
        let plan = EchoPlan(
            host: host, port: port, path: path, connections: connections, window: window, messageBytes: messageBytes,
            measureMs: UInt64(seconds * 1000), warmupMs: UInt64(warmupSeconds * 1000), hubPID: hubPid)
        print("ws-echo: \(connections) connections to ws://\(host):\(port)\(path), \(messageBytes)-byte text,"
            + " window \(window), \(format(seconds)) s after \(format(warmupSeconds)) s warm-up")
        let loop = Loop()
        let run = EchoRun(loop: loop, plan: plan)
        run.start()
        loop.run()
        precondition(loop.close(), "ws-echo left a handle open")
        guard let result = run.result else {
            print("ws-echo: FAILED: \(run.failure ?? "stopped before measuring")")
            throw ExitCode(2)
        }
        let missed = report(result)
        if check && missed { throw ExitCode(1) }
    }

    /// Prints the result; returns whether a threshold was missed.
    private func report(_ result: EchoResult) -> Bool {
        let rate = Double(result.messages) / result.seconds
        print("  echoed \(result.messages) messages in \(format(result.seconds)) s: \(Int(rate)) msg/s")
        let latency = result.latencies
        print("  round trip: p50 \(micro(latency.at(0.5))), p90 \(micro(latency.at(0.9))),"
            + " p99 \(micro(latency.at(0.99))), p99.9 \(micro(latency.at(0.999))), max \(micro(latency.at(1)))")
        let toolPerMessage = result.toolCPUSeconds / Double(max(result.messages, 1)) * 1e9
        print("  load tool CPU: \(format(result.toolCPUSeconds)) s (\(percent(result.toolCPUSeconds / result.seconds)) of a core),"
            + " \(micro(UInt64(toolPerMessage))) per message")
        var missed = false
        var hubPerMessage: Double?
        if let hubCPU = result.hubCPUSeconds {
            let perMessage = hubCPU / Double(max(result.messages, 1)) * 1e9
            hubPerMessage = perMessage
            print("  hub CPU: \(format(hubCPU)) s user+sys (\(percent(hubCPU / result.seconds)) of a core),"
                + " \(micro(UInt64(perMessage))) per message")
        }
        if result.errors > 0 { print("  errors: \(result.errors) (mismatched echoes, failed connections)") }
        print("thresholds")
        if connections == 100 {
            let ok = rate >= Self.echoRateMin
            missed = missed || !ok
            print("    echo rate \(Int(rate)) msg/s >= \(Int(Self.echoRateMin)) (100 connections): \(ok ? "ok" : "MISSED")")
        } else {
            print("    echo rate: aim set for 100 connections only")
        }
        if let hubPerMessage {
            let ok = hubPerMessage <= Self.hubCPUPerMessageMaxNs
            missed = missed || !ok
            print("    hub CPU per message \(micro(UInt64(hubPerMessage))) <= \(micro(UInt64(Self.hubCPUPerMessageMaxNs))):"
                + " \(ok ? "ok" : "MISSED")")
        } else {
            print("    hub CPU per message: pass --hub-pid to measure")
        }
        missed = missed || result.errors > 0
        // One line for scripts (scripts/bench-ws-echo.sh takes medians over repetitions).
        print("summary connections=\(connections) window=\(window) messages_per_second=\(Int(rate))"
            + " p50_us=\(String(format: "%.1f", Double(latency.at(0.5)) / 1000))"
            + " p99_us=\(String(format: "%.1f", Double(latency.at(0.99)) / 1000))"
            + " hub_cpu_us_per_message=\(hubPerMessage.map { String(format: "%.3f", $0 / 1000) } ?? "n/a")")
        return missed
    }
}

/// What one run does, fixed before it starts.
struct EchoPlan {
    var host: String
    var port: Int
    var path: String
    var connections: Int
    var window: Int
    var messageBytes: Int
    var measureMs: UInt64
    var warmupMs: UInt64
    var hubPID: Int32?
}

/// What the measured interval produced.
struct EchoResult {
    var messages: Int
    var seconds: Double
    var latencies: LatencySamples
    var hubCPUSeconds: Double?
    var toolCPUSeconds: Double
    var errors: Int
}

private func format(_ value: Double) -> String { String(format: "%.2f", value) }
private func percent(_ fraction: Double) -> String { String(format: "%.0f%%", fraction * 100) }
private func micro(_ nanoseconds: UInt64) -> String { String(format: "%.1f µs", Double(nanoseconds) / 1_000) }
