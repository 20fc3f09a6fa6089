import CoreMetrics
import HubCore
import HubLoop
import HubWire
import Metrics
import Prometheus

// Each design counts the same things the same way, through the same series lookup (an array by
// route slot and method, a short list of status codes per series): only what a series is made
// of differs. Per HTTP request: a request counter by method/route/code and a latency histogram
// by method/route, the clock read once. Per WebSocket message: a message counter and a byte
// counter. The request mix is the booking hammer's: nearly every request to one route, 201 and
// 409 alternating, with one in sixteen spread over 40 other routes.

let iterations = 5_000_000
let routes = 41
let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "other"]

/// When the request arrived: about 5 ms before it is counted (the hammer's median is 7 ms), so
/// histograms record realistic values. The clock is read again every 4,096 requests.
nonisolated(unsafe) var arrivedNs: UInt64 = 0

@inline(never) func requestShape(_ i: Int) -> (slot: Int, method: String, status: Int, startedNs: UInt64) {
    if i & 4095 == 0 { arrivedNs = Loop.hrtimeNs() &- 5_000_000 }
    if i & 15 == 0 { return (1 + (i >> 4) % (routes - 1), "GET", 200, arrivedNs) }
    return (0, "POST", i & 1 == 0 ? 201 : 409, arrivedNs)
}

/// ns per iteration of `body`, the best of `runs` (other work on the machine only slows a run).
func measure(_ name: String, runs: Int = 7, iterations: Int = iterations, _ body: (Int) -> Void) -> Double {
    var best = Double.infinity
    for _ in 0..<runs {
        let start = Loop.hrtimeNs()
        for i in 0..<iterations { body(i) }
        best = min(best, Double(Loop.hrtimeNs() - start) / Double(iterations))
    }
    print(name + String(repeating: " ", count: max(1, 76 - name.count)) + fixed(best) + " ns")
    return best
}

/// One decimal, without Foundation.
func fixed(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

// MARK: Hand-written: the hub's HTTPMetrics and plain counters.

/// The hub's WebSocketRegistry counters: `@exclusivity(unchecked)` fields of a loop-owned class,
/// added to from a function the optimiser cannot fold into the measuring loop.
final class Traffic {
    @exclusivity(unchecked) var messages = 0
    @exclusivity(unchecked) var bytes = 0
}

@inline(never) func countMessage(_ traffic: Traffic, bytes: Int) {
    traffic.messages &+= 1
    traffic.bytes &+= bytes
}

@inline(never) func countMessage(_ messages: CoreMetrics.Counter, _ bytes: CoreMetrics.Counter, bytes count: Int) {
    messages.increment()
    bytes.increment(by: count)
}

// MARK: swift-metrics over swift-prometheus, with handles cached per series.

final class LibrarySeries {
    var codes: [(Int, CoreMetrics.Counter)] = []
    let timer: CoreMetrics.Timer
    init(timer: CoreMetrics.Timer) { self.timer = timer }
}

final class LibraryHTTPMetrics {
    let factory: PrometheusMetricsFactory
    var series: [LibrarySeries?] = []
    init(factory: PrometheusMetricsFactory) { self.factory = factory }

    func observe(slot: Int, method: String, status: Int, startedNs: UInt64) {
        let elapsed = Int64(bitPattern: Loop.hrtimeNs() &- startedNs)
        let methodIndex = methods.firstIndex(of: method) ?? 7
        let index = slot * methods.count + methodIndex
        if index >= series.count { series.append(contentsOf: repeatElement(nil, count: index + 1 - series.count)) }
        let route = "/route/\(slot)"
        let entry = series[index] ?? {
            let created = LibrarySeries(timer: CoreMetrics.Timer(label: "http_request_duration_seconds",
                                                                 dimensions: [("method", method), ("route", route)], factory: factory))
            series[index] = created
            return created
        }()
        if let counter = entry.codes.first(where: { $0.0 == status })?.1 {
            counter.increment()
        } else {
            let counter = CoreMetrics.Counter(label: "http_requests_total", dimensions: [("method", method), ("route", route),
                                                                                          ("code", String(status))], factory: factory)
            entry.codes.append((status, counter))
            counter.increment()
        }
        entry.timer.recordNanoseconds(elapsed)
    }
}

// MARK: swift-prometheus directly, handles cached per series.

final class PrometheusSeries {
    var codes: [(Int, Prometheus.Counter)] = []
    let histogram: DurationHistogram
    init(histogram: DurationHistogram) { self.histogram = histogram }
}

final class PrometheusHTTPMetrics {
    let registry: PrometheusCollectorRegistry
    var series: [PrometheusSeries?] = []
    static let buckets = HubCore.Histogram.latencyBoundsNs.map { Duration.nanoseconds($0) }
    let requests = MetricNameDescriptor(metricName: "http_requests", unitName: "total", helpText: "Requests.")
    let durations = MetricNameDescriptor(metricName: "http_request_duration", unitName: "seconds", helpText: "Durations.")
    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func observe(slot: Int, method: String, status: Int, startedNs: UInt64) {
        let elapsed = Int64(bitPattern: Loop.hrtimeNs() &- startedNs)
        let methodIndex = methods.firstIndex(of: method) ?? 7
        let index = slot * methods.count + methodIndex
        if index >= series.count { series.append(contentsOf: repeatElement(nil, count: index + 1 - series.count)) }
        let route = "/route/\(slot)"
        let entry = series[index] ?? {
            let created = PrometheusSeries(histogram: registry.makeDurationHistogram(
                descriptor: durations, labels: [("method", method), ("route", route)], buckets: Self.buckets))
            series[index] = created
            return created
        }()
        if let counter = entry.codes.first(where: { $0.0 == status })?.1 {
            counter.increment()
        } else {
            let counter = registry.makeCounter(descriptor: requests, labels: [("method", method), ("route", route),
                                                                                    ("code", String(status))])
            entry.codes.append((status, counter))
            counter.increment()
        }
        entry.histogram.record(.nanoseconds(elapsed))
    }
}

print("metrics-cost: \(iterations) operations per run, best of 7 runs")
print()
print("per HTTP request (counter by method/route/code + latency histogram, clock read included)")
var clockSink: UInt64 = 0
_ = measure("  for reference: the clock read alone (uv_hrtime)") { _ in clockSink &+= Loop.hrtimeNs() }
let hand = HTTPMetrics()
let handRequest = measure("  hand-written: HTTPMetrics.observe (plain integers, Histogram)") { i in
    let shape = requestShape(i)
    hand.observe(slot: shape.slot, method: shape.method, status: shape.status, startedNs: shape.startedNs)
}
let libraryRegistry = PrometheusCollectorRegistry()
let library = LibraryHTTPMetrics(factory: PrometheusMetricsFactory(registry: libraryRegistry))
let libraryRequest = measure("  swift-metrics Counter + Timer over swift-prometheus (handles cached)") { i in
    let shape = requestShape(i)
    library.observe(slot: shape.slot, method: shape.method, status: shape.status, startedNs: shape.startedNs)
}
let directRegistry = PrometheusCollectorRegistry()
let direct = PrometheusHTTPMetrics(registry: directRegistry)
let directRequest = measure("  swift-prometheus Counter + DurationHistogram directly (handles cached)") { i in
    let shape = requestShape(i)
    direct.observe(slot: shape.slot, method: shape.method, status: shape.status, startedNs: shape.startedNs)
}
let naiveFactory = PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())
let naiveRequest = measure("  swift-metrics handles made per request (the library's usual idiom)", iterations: iterations / 20) { i in
    let shape = requestShape(i)
    let route = "/route/\(shape.slot)"
    CoreMetrics.Counter(label: "http_requests_total", dimensions: [("method", shape.method), ("route", route),
                                                                   ("code", String(shape.status))], factory: naiveFactory).increment()
    CoreMetrics.Timer(label: "http_request_duration_seconds", dimensions: [("method", shape.method), ("route", route)],
                      factory: naiveFactory).recordNanoseconds(Int64(bitPattern: Loop.hrtimeNs() &- shape.startedNs))
}

print()
print("per WebSocket message (message counter + payload byte counter)")
let traffic = Traffic()
let handMessage = measure("  hand-written: two plain integer additions (a call the optimiser keeps)") { i in
    countMessage(traffic, bytes: 32 + (i & 1))
}
let messagesCounter = CoreMetrics.Counter(label: "ws_messages_total", dimensions: [("direction", "sent")],
                                          factory: PrometheusMetricsFactory(registry: libraryRegistry))
let bytesCounter = CoreMetrics.Counter(label: "ws_bytes_total", dimensions: [("direction", "sent")],
                                       factory: PrometheusMetricsFactory(registry: libraryRegistry))
let libraryMessage = measure("  swift-metrics: two Counter.increment (atomics), the same call") { i in
    countMessage(messagesCounter, bytesCounter, bytes: 32 + (i & 1))
}

print()
print("per scrape (41 routes answered, 2 to 3 codes each, their histograms)")
let latencyLabels = HubCore.Histogram.latencyBoundsNs.map { PrometheusText.format(Double($0) / 1e9) }
var handScrapeBytes = 0
let handScrape = measure("  hand-written: PrometheusText", runs: 7, iterations: 200) { _ in
    var text = PrometheusText()
    text.family("http_requests_total", .counter, help: "Requests.")
    var latencies: [([(String, String)], HubCore.Histogram)] = []
    hand.forEach { slot, method, series in
        for (code, count) in series.codes {
            text.sample("http_requests_total", [("method", method), ("route", "/route/\(slot)"), ("code", String(code))], count)
        }
        latencies.append(([("method", method), ("route", "/route/\(slot)")], series.latencyNs))
    }
    text.family("http_request_duration_seconds", .histogram, help: "Durations.")
    for (labels, histogram) in latencies {
        text.histogram("http_request_duration_seconds", labels, bounds: latencyLabels, cumulativeCounts: histogram.cumulativeCounts,
                       sum: Double(histogram.sum) / 1e9)
    }
    handScrapeBytes = text.bytes.count
}
var libraryScrapeBytes = 0
let libraryScrape = measure("  swift-prometheus: PrometheusCollectorRegistry.emit", runs: 7, iterations: 200) { _ in
    var buffer: [UInt8] = []
    directRegistry.emit(into: &buffer)
    libraryScrapeBytes = buffer.count
}

let perRequest = "summary per request: swift-metrics " + fixed(libraryRequest / handRequest) + "x the hand-written cost, "
    + "swift-prometheus alone " + fixed(directRequest / handRequest) + "x, handles made per request " + fixed(naiveRequest / handRequest) + "x"
let perMessage = "summary per WebSocket message: swift-metrics " + fixed(libraryMessage / max(handMessage, 0.01)) + "x"
let perScrape = "summary per scrape: hand-written " + fixed(handScrape / 1000) + " µs for \(handScrapeBytes) B, swift-prometheus "
    + fixed(libraryScrape / 1000) + " µs for \(libraryScrapeBytes) B"
print()
print(perRequest)
print(perMessage)
print(perScrape)
if clockSink == 42 { print("") }  // keeps the clock reads
