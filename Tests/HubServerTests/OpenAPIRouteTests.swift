import Foundation
import HubWire
import Logging
import Testing

@testable import HubHTTP
@testable import HubServer

/// The OpenAPI document (`GET /openapi.json`) describes exactly the routes a real hub registers,
/// each with the access level the router enforces.
@Suite struct OpenAPIRouteTests {
    /// The keys of a path item that are operations (OpenAPI 3.1 §4.8.9).
    static let methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    /// Every "METHOD /path" of the document with its `x-access` (an `Access` case name) and the
    /// statuses it documents.
    static func documentedOperations() throws -> [String: (access: String, statuses: Set<String>)] {
        let document = try JSONParser.parse(EmbeddedFiles.openapiJSON)
        var operations: [String: (access: String, statuses: Set<String>)] = [:]
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for (method, operation) in item.objectValue ?? [:] where methods.contains(method) {
                operations["\(method.uppercased()) \(path)"] = (operation["x-access"]?.stringValue ?? "(no x-access)",
                                                                Set(operation["responses"]?.objectValue?.keys ?? []))
            }
        }
        return operations
    }

    /// `/api/bookings/:id/cancel` → `/api/bookings/{id}/cancel`.
    static func openAPIPath(_ pattern: String) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .joined(separator: "/")
    }

    /// Starts a hub with every optional route switched on (the conformance echo endpoint) on a
    /// temporary database and port 0, reads its router, and shuts it down.
    static func registeredRoutes() throws -> [Router.Registration] {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("spacehub-routes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var config = Config()
        config.store.path = directory.appendingPathComponent("hub.sqlite").path
        config.store.durability = "off"
        config.server.port = 0
        config.auth.passwordCostLog2 = 10
        config.conformance.echo = true
        config.email.directory = directory.appendingPathComponent("mail").path
        config.log.access = false
        let hub = Hub(config: config, logger: Logger(label: "routes-test", factory: { _ in SwiftLogNoOpLogHandler() }))
        try hub.start()
        let routes = hub.router.routes
        hub.shutdown()
        hub.run()  // until the shutdown completes: no thread or handle outlives the test
        return routes
    }

    @Test func theDocumentListsEveryRegisteredRouteAndNoOther() throws {
        let routes = try Self.registeredRoutes()
        #expect(routes.count > 50)
        var registered: [String: Router.Registration] = [:]
        for route in routes { registered["\(route.method) \(Self.openAPIPath(route.pattern))"] = route }
        let documented = try Self.documentedOperations()
        let missing = Set(registered.keys).subtracting(documented.keys).sorted()
        let extra = Set(documented.keys).subtracting(registered.keys).sorted()
        #expect(missing.isEmpty, "registered but not in openapi.json: \(missing)")
        #expect(extra.isEmpty, "in openapi.json but not registered: \(extra)")
        for (operation, route) in registered.sorted(by: { $0.key < $1.key }) {
            guard let described = documented[operation] else { continue }
            #expect(described.access == route.access.name,
                    "\(operation): router access \(route.access.name), openapi.json x-access \(described.access)")
            // The write limits answer 429 on any limited route, whatever its handler does.
            #expect(!route.limited || described.statuses.contains("429"), "\(operation) is rate limited; document 429")
        }
        #expect(routes.contains { $0.limited } && routes.contains { $0.method == "POST" && !$0.limited })
    }

    @Test func pathParametersBecomeTemplates() {
        #expect(Self.openAPIPath("/api/bookings/:id/cancel") == "/api/bookings/{id}/cancel")
        #expect(Self.openAPIPath("/") == "/")
        #expect(Self.openAPIPath("/api/calendar/feeds/:feed") == "/api/calendar/feeds/{feed}")
    }
}
