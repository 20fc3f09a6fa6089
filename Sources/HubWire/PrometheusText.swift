/// The Prometheus text exposition format, version 0.0.4 (prometheus.io, "Exposition formats"):
/// metric families, each a `# HELP` and a `# TYPE` line followed by its samples,
/// `name{label="value",…} value`, one per line.
///
/// A writer, not a registry: the caller reads its counters wherever they live and writes them
/// family by family, so all of a family's samples stay together as the format requires. Label
/// values are escaped (`\\`, `\"`, `\n`); help text escapes backslash and line feed. Names are
/// the caller's constants and must match `[a-zA-Z_:][a-zA-Z0-9_:]*` (labels without `:`);
/// `isValidName` lets tests check them.
///
///     var text = PrometheusText()
///     text.family("spacehub_http_requests_total", .counter, help: "HTTP requests answered.")
///     text.sample("spacehub_http_requests_total", [("route", "/api/bookings"), ("code", "201")], 12)
///     // # HELP spacehub_http_requests_total HTTP requests answered.
///     // # TYPE spacehub_http_requests_total counter
///     // spacehub_http_requests_total{route="/api/bookings",code="201"} 12
public struct PrometheusText {
    public enum MetricType: String, Sendable {
        case counter, gauge, histogram
    }

    /// The `Content-Type` of a scrape answer in this format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 16 * 1024) {
        bytes.reserveCapacity(capacity)
    }

    /// Starts a family: its help text and type. Every sample of it follows before the next family.
    public mutating func family(_ name: String, _ type: MetricType, help: String) {
        bytes.append(contentsOf: "# HELP ".utf8)
        bytes.append(contentsOf: name.utf8)
        bytes.append(0x20)
        for byte in help.utf8 {
            switch byte {
            case 0x5C: bytes.append(contentsOf: #"\\"#.utf8)
            case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
            default: bytes.append(byte)
            }
        }
        bytes.append(0x0A)
        bytes.append(contentsOf: "# TYPE ".utf8)
        bytes.append(contentsOf: name.utf8)
        bytes.append(0x20)
        bytes.append(contentsOf: type.rawValue.utf8)
        bytes.append(0x0A)
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Int) {
        appendSeries(name, labels)
        bytes.append(contentsOf: String(value).utf8)
        bytes.append(0x0A)
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        appendSeries(name, labels)
        bytes.append(contentsOf: Self.format(value).utf8)
        bytes.append(0x0A)
    }

    /// The `_bucket`, `_sum` and `_count` series of one histogram. `bounds` are the `le` label
    /// texts of the finite buckets; `cumulativeCounts` has one more entry, the `+Inf` bucket,
    /// which is also the count.
    public mutating func histogram(_ name: String, _ labels: [(String, String)] = [], bounds: [String],
                                   cumulativeCounts: [Int], sum: Double) {
        precondition(cumulativeCounts.count == bounds.count + 1, "a histogram needs a count per bound plus +Inf")
        // `name_bucket{labels,le="` once; each bucket line then adds its bound and count.
        var prefix = Array(name.utf8)
        prefix.append(contentsOf: "_bucket{".utf8)
        for (label, value) in labels {
            prefix.append(contentsOf: label.utf8)
            prefix.append(contentsOf: #"=""#.utf8)
            Self.appendEscaped(value, into: &prefix)
            prefix.append(contentsOf: #"","#.utf8)
        }
        prefix.append(contentsOf: #"le=""#.utf8)
        for (index, bound) in bounds.enumerated() {
            appendBucket(prefix, bound, cumulativeCounts[index])
        }
        let total = cumulativeCounts[bounds.count]
        appendBucket(prefix, "+Inf", total)
        sample(name + "_sum", labels, sum)
        sample(name + "_count", labels, total)
    }

    private mutating func appendBucket(_ prefix: [UInt8], _ bound: String, _ count: Int) {
        bytes.append(contentsOf: prefix)
        bytes.append(contentsOf: bound.utf8)
        bytes.append(contentsOf: #""} "#.utf8)
        bytes.append(contentsOf: String(count).utf8)
        bytes.append(0x0A)
    }

    private mutating func appendSeries(_ name: String, _ labels: [(String, String)]) {
        bytes.append(contentsOf: name.utf8)
        if !labels.isEmpty {
            bytes.append(0x7B)  // {
            for (index, (label, value)) in labels.enumerated() {
                if index > 0 { bytes.append(0x2C) }
                bytes.append(contentsOf: label.utf8)
                bytes.append(contentsOf: #"=""#.utf8)
                Self.appendEscaped(value, into: &bytes)
                bytes.append(0x22)
            }
            bytes.append(0x7D)  // }
        }
        bytes.append(0x20)
    }

    /// A label value with `\`, `"` and line feed escaped, as the format requires.
    static func appendEscaped(_ value: String, into out: inout [UInt8]) {
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) else {
            out.append(contentsOf: value.utf8)
            return
        }
        for byte in value.utf8 {
            switch byte {
            case 0x5C: out.append(contentsOf: #"\\"#.utf8)
            case 0x22: out.append(contentsOf: #"\""#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            default: out.append(byte)
            }
        }
    }

    /// A float as Go's `strconv.ParseFloat` (Prometheus) and Python's `float` read it, with the
    /// format's spellings of infinity and NaN.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// Whether `name` is a valid metric name (`label: true`: label name, which allows no `:`).
    public static func isValidName(_ name: String, label: Bool = false) -> Bool {
        guard let first = name.utf8.first else { return false }
        func letter(_ byte: UInt8) -> Bool {
            (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F || (!label && byte == 0x3A)
        }
        return letter(first) && name.utf8.allSatisfy { letter($0) || (0x30...0x39).contains($0) }
    }
}
