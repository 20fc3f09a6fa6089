import HubCore
import HubLoop

/// HTTP requests answered, by method, route pattern and status code, with a latency histogram per
/// method and route. Counted on the loop thread into plain integers, read when `/metrics` is
/// scraped: no lock, no atomic, no allocation once a series exists (BENCHMARKS.md, "Metrics").
///
/// Routes are the router's slots (`Router.label(slot:)`): a pattern such as
/// `/api/users/bookings/:id`, never the raw path, so the series stay few whatever clients send.
/// Methods outside the usual seven count as `other`.
final class HTTPMetrics {
    struct Series {
        /// (status code, requests), in first-seen order: a route answers a handful of codes.
        var codes: [(code: Int, count: Int)] = []
        var latencyNs = Histogram(bounds: Histogram.latencyBoundsNs)

        mutating func record(status: Int, latencyNs: Int64) {
            var index = 0
            while index < codes.count {
                if codes[index].code == status {
                    codes[index].count &+= 1
                    break
                }
                index &+= 1
            }
            if index == codes.count { codes.append((status, 1)) }
            self.latencyNs.record(latencyNs)
        }
    }

    static let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "other"]

    /// By `slot * methods.count + method`; nil until that pair answers its first request.
    /// `@exclusivity(unchecked)`: loop thread only, and `record` calls nothing that could reach
    /// this object; the dynamic check cost a thread-local lookup per request.
    @exclusivity(unchecked) private var series: [Series?] = []

    static func methodIndex(_ method: String) -> Int {
        switch method {
        case "GET": 0
        case "HEAD": 1
        case "POST": 2
        case "PUT": 3
        case "DELETE": 4
        case "OPTIONS": 5
        case "PATCH": 6
        default: 7
        }
    }

    /// One answered request: `startedNs` is when it was complete (`Request.startedNs`).
    func observe(slot: Int, method: String, status: Int, startedNs: UInt64) {
        let elapsed = Int64(bitPattern: Loop.hrtimeNs() &- startedNs)
        let index = slot &* Self.methods.count &+ Self.methodIndex(method)
        if index >= series.count {
            series.append(contentsOf: repeatElement(nil, count: index + 1 - series.count))
        }
        if series[index] == nil { series[index] = Series() }
        series[index]!.record(status: status, latencyNs: elapsed)  // created on the line above
    }

    /// Every series that answered at least one request: its slot, method and counts.
    func forEach(_ body: (_ slot: Int, _ method: String, _ series: Series) -> Void) {
        for (index, entry) in series.enumerated() {
            guard let entry else { continue }
            body(index / Self.methods.count, Self.methods[index % Self.methods.count], entry)
        }
    }
}

@available(*, unavailable) extension HTTPMetrics: Sendable {}
