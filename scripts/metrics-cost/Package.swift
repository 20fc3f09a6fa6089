// swift-tools-version:6.0
//
// The measurement behind /metrics being hand-written (BENCHMARKS.md, "Metrics"): what counting one
// HTTP request and one WebSocket message costs with the hub's own counters (the real
// HTTPMetrics.swift, Histogram.swift and PrometheusText.swift, linked here from Sources/) against
// apple/swift-metrics over swift-server/swift-prometheus, and what rendering a scrape costs.
// Not part of the hub's build: scripts/bench-metrics-cost.sh builds and runs it.
import PackageDescription

let package = Package(
    name: "metrics-cost",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(name: "HubCore"),
        .target(name: "HubWire"),
        // The one call HTTPMetrics makes into HubLoop, uv_hrtime, as libuv implements it on Linux.
        .target(name: "HubLoop"),
        // HTTPMetrics.swift is linked into the executable: the type is internal to HubServer.
        .executableTarget(name: "metrics-cost", dependencies: [
            "HubCore", "HubLoop", "HubWire",
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
