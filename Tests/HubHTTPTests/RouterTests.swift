import HubWire
import Testing

@testable import HubHTTP

@Suite struct RouterTests {
    func makeRouter() -> Router {
        let router = Router()
        router.get("/api/bookings/:id") { _, _ in }
        router.put("/api/bookings/:id/cancel") { _, _ in }
        router.get("/api/bookings/check") { _, _ in }
        return router
    }

    @Test func staticSegmentsWinOverParameters() {
        guard case .route(let route, let parameters) = makeRouter().match(method: "GET", path: "/api/bookings/check") else {
            Issue.record("no match")
            return
        }
        #expect(route.pattern == "/api/bookings/check")
        #expect(parameters.isEmpty)
    }

    @Test func parametersArePercentDecoded() {
        guard case .route(_, let parameters) = makeRouter().match(method: "GET", path: "/api/bookings/a%20b") else {
            Issue.record("no match")
            return
        }
        #expect(parameters["id"] == "a b")
    }

    @Test func wrongMethodListsTheAllowedOnes() {
        guard case .methodNotAllowed(let allow) = makeRouter().match(method: "DELETE", path: "/api/bookings/x") else {
            Issue.record("expected 405")
            return
        }
        #expect(allow == ["GET", "HEAD", "OPTIONS"])
    }

    @Test func headFallsBackToGet() {
        guard case .route(let route, _) = makeRouter().match(method: "HEAD", path: "/api/bookings/x") else {
            Issue.record("no match")
            return
        }
        #expect(route.method == "GET")
    }

    @Test func unknownPathsAreNotFound() {
        guard case .notFound = makeRouter().match(method: "GET", path: "/api/nothing") else {
            Issue.record("expected 404")
            return
        }
    }
}
