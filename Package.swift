// swift-tools-version:6.0
//
// SpaceHub: a real-time WebSocket availability hub on libuv, SQLite and OpenSSL.
//
// Module rules (docs/ARCHITECTURE.md): HubCore and HubWire import nothing of ours; HubHTTP
// knows no booking, payment or user (HubServer hands it the application through seams); each C module
// is imported by exactly one Swift module (CHubShims, wrappers for OpenSSL macros, by HubCrypto).
// Define HUB_INTERNAL_CHECKS (`-Xswiftc -DHUB_INTERNAL_CHECKS`) to run the interval tree's
// invariant checks after every mutation; scripts/test.sh does.
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "SpaceHub",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "spacehub", targets: ["spacehub"]),
        .executable(name: "spacehub-load", targets: ["spacehub-load"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CPostgreSQL", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "CHubShims", dependencies: ["COpenSSL"]),

        .target(name: "HubCore", swiftSettings: strictSettings),
        .target(name: "HubWire", swiftSettings: strictSettings),
        .target(name: "HubCrypto", dependencies: ["COpenSSL", "CHubShims"], swiftSettings: strictSettings),
        .target(name: "HubLoop", dependencies: ["CLibUV"], exclude: ["README.md"], swiftSettings: strictSettings),
        // The store: SQLite (embedded, the default) or PostgreSQL (libpq), behind one Database.
        .target(name: "HubStore", dependencies: ["CSQLite", "CPostgreSQL", "HubCore"], swiftSettings: strictSettings),
        // The server machinery, knowing no booking, payment or user: HTTP/1.1 sessions, router
        // (access rules checked through the application's hooks), CORS, WebSocket connections,
        // outbound HTTP. HubCrypto for SHA-1 (the WebSocket handshake) and TLS (outbound calls).
        .target(
            name: "HubHTTP",
            dependencies: ["HubWire", "HubLoop", "HubCrypto", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HubServer",
            dependencies: [
                "HubCore", "HubWire", "HubCrypto", "HubLoop", "HubStore", "HubHTTP",
                .product(name: "Logging", package: "swift-log"),
            ],
            // Web/Files holds the documents served as they are (openapi.json, spacehub.d.ts);
            // scripts/embed-files.py compiles them into Web/EmbeddedFiles.swift.
            exclude: ["Web/Files"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "spacehub",
            dependencies: ["HubServer", "HubStore", "HubCrypto", "HubCore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings
        ),
        // HubTestSupport for its SeededRandom: the benchmarks' workloads come from the same
        // generator (and the same seeds) as the tests', not from a copy of it.
        .executableTarget(
            name: "spacehub-load",
            dependencies: ["HubCore", "HubWire", "HubLoop", "HubCrypto", "HubStore", "HubTestSupport",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "LoadTests",
            swiftSettings: strictSettings
        ),

        .target(name: "HubTestSupport", dependencies: ["HubWire", "HubStore"], path: "Tests/HubTestSupport"),
        .testTarget(name: "HubCoreTests", dependencies: ["HubCore", "HubTestSupport"]),
        // Corpus/ holds replayed inputs and its README, read from the source tree by the corpus tests.
        .testTarget(name: "HubWireTests", dependencies: ["HubWire", "HubTestSupport"], exclude: ["Corpus"]),
        .testTarget(name: "HubCryptoTests", dependencies: ["HubCrypto"]),
        .testTarget(name: "HubLoopTests", dependencies: ["HubLoop", "HubTestSupport"]),
        .testTarget(name: "HubStoreTests", dependencies: ["HubStore", "HubCore", "HubTestSupport"]),
        .testTarget(name: "HubHTTPTests", dependencies: ["HubHTTP", "HubLoop", "HubWire"]),
        .testTarget(
            name: "HubServerTests",
            dependencies: ["HubServer", "HubHTTP", "HubTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
