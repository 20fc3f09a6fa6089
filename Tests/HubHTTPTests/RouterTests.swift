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

    @Test func slotsLabelTheRoutesInRegistrationOrder() {
        let router = makeRouter()
        #expect(router.slotCount == 5)
        #expect(router.label(slot: Router.unmatchedSlot) == ("", "(unmatched)"))
        #expect(router.label(slot: Router.preflightSlot) == ("OPTIONS", "(preflight)"))
        guard case .route(let route, _) = router.match(method: "PUT", path: "/api/bookings/b1/cancel") else {
            Issue.record("no match")
            return
        }
        #expect(router.label(slot: route.slot) == ("PUT", "/api/bookings/:id/cancel"))
    }

    @Test func removeAllLetsGoOfEveryRouteAndHook() {
        final class Held {}
        weak var held: Held?
        let router = Router()
        do {
            let captured = Held()
            held = captured
            router.get("/api/things/:id") { _, _ in _ = captured }
            router.post("/api/things") { _, _ in }
            router.authenticate = { _ in _ = captured; return .success(nil) }
            router.beforeWrite = { _ in _ = captured }
        }
        #expect(held != nil)
        router.removeAll()
        #expect(held == nil)  // nothing the handlers or hooks captured is kept
        #expect(router.routes.isEmpty)
        #expect(router.slotCount == 2)
        #expect(router.beforeWrite == nil)
        guard case .notFound = router.match(method: "GET", path: "/api/things/1") else {
            Issue.record("a removed route still matches")
            return
        }
        guard case .notFound = router.match(method: "POST", path: "/api/things") else {
            Issue.record("a removed static route still matches")
            return
        }
    }
}
