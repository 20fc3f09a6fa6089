import HubLoop
import HubWire
import Logging
import Testing

@testable import HubHTTP

/// The server over a real loopback connection, driven by the outbound client from libuv's pool:
/// what every answer carries (request id, date, CORS for an allowed origin), preflights answered
/// for every route with the configured headers, and the observer told of each answer.
@Suite(.serialized) struct HTTPServerTests {
    final class Recorder: HTTPServerObserver {
        var answered: [(route: String?, status: Int)] = []
        func server(_ server: HTTPServer, answered request: Request, with response: HTTPResponse) {
            answered.append((request.route, response.status))
        }
        func server(_ server: HTTPServer, handedOver request: Request, status: Int) {}
    }

    /// Serves `router` on 127.0.0.1, sends `requests` one after another from the threadpool, and
    /// returns their results once the server has closed again.
    static func exchange(_ router: Router, options: HTTPServer.Options, observer: Recorder? = nil,
                         _ requests: [OutboundRequest]) -> [Result<OutboundResponse, OutboundError>] {
        let loop = Loop()
        let server = HTTPServer(loop: loop, router: router, options: options, logger: Logger(label: "test"))
        server.observer = observer
        var results: [Result<OutboundResponse, OutboundError>] = []
        let port: Int
        do {
            port = try server.listen(host: "127.0.0.1", port: 0)
        } catch {
            Issue.record("listen failed: \(error)")
            return []
        }
        let client = OutboundHTTP(userAgent: "hubhttp-tests/1")
        var pending = requests
        func next() {
            guard !pending.isEmpty else {
                server.close()
                return
            }
            var request = pending.removeFirst()
            request.url = "http://127.0.0.1:\(port)" + request.url
            request.timeoutSeconds = 5
            WorkQueue.submit(on: loop, work: { [request] in client.send(request) }) { result in
                results.append(result)
                next()
            }
        }
        next()
        loop.run()
        #expect(loop.close(), "a handle was left open")
        return results
    }

    static func routes() -> Router {
        let router = Router()
        router.get("/items/:id") { request, responder in
            responder.json(["id": .string(request.parameter("id")), "agent": .string(request.userAgent)])
        }
        router.post("/fail") { _, _ throws(APIError) in throw APIError.unavailable("down", "try later") }
        return router
    }

    @Test(arguments: [(UInt64(0), "a1b2c3d4-0"), (9, "a1b2c3d4-9"), (10, "a1b2c3d4-10"), (4_096, "a1b2c3d4-4096"),
                      (UInt64.max, "a1b2c3d4-18446744073709551615")])
    func requestIDsAreThePrefixAndTheCounter(counter: UInt64, expected: String) {
        #expect(HTTPServer.requestID(prefix: "a1b2c3d4", counter: counter) == expected)
    }

    /// A handler still working when its connection goes: the answer it sends later is dropped,
    /// and the session lets go of the responder (they hold each other until the close).
    @Test func anAnswerAfterTheConnectionClosedIsDroppedAndTheResponderFreed() throws {
        let loop = Loop()
        let router = Router()
        var held: Responder?
        router.get("/slow") { _, responder in held = responder }
        let server = HTTPServer(loop: loop, router: router, options: HTTPServer.Options(), logger: Logger(label: "test"))
        let port = try server.listen(host: "127.0.0.1", port: 0)
        let client = OutboundHTTP(userAgent: "hubhttp-tests/1")
        var request = OutboundRequest(method: "GET", url: "http://127.0.0.1:\(port)/slow")
        request.timeoutSeconds = 5
        var result: Result<OutboundResponse, OutboundError>?
        WorkQueue.submit(on: loop, work: { [request] in client.send(request) }) { result = $0 }
        // Once the handler holds the request, the server closes, and the connection with it.
        let timer = Timer(loop: loop)
        timer.start(afterMs: 5, repeatMs: 5) {
            guard held != nil else { return }
            timer.close()
            server.close()
        }
        loop.run()
        #expect(loop.close(), "a handle was left open")
        #expect(result.map { (try? $0.get()) == nil } == true, "the client got no answer")
        #expect(held?.isConnected == false)
        held?.json(["late": true])
        weak var released = held
        held = nil
        #expect(released == nil, "the closed session still held its responder")
    }

    @Test func answersCarryAnIdADateAndCORSForAnAllowedOrigin() throws {
        let observer = Recorder()
        let results = Self.exchange(Self.routes(), options: HTTPServer.Options(corsOrigins: ["https://app.example"]),
                                    observer: observer, [
            OutboundRequest(method: "GET", url: "/items/a%20b", headers: [("Origin", "https://app.example")]),
            OutboundRequest(method: "GET", url: "/items/x", headers: [("Origin", "https://elsewhere.example")]),
            OutboundRequest(method: "POST", url: "/fail"),
            OutboundRequest(method: "GET", url: "/nowhere"),
        ])
        #expect(results.count == 4)
        let allowed = try results[0].get()
        #expect(allowed.status == 200)
        #expect(allowed.json?["id"]?.stringValue == "a b")
        #expect(allowed.json?["agent"]?.stringValue == "hubhttp-tests/1")
        #expect(allowed.headers["access-control-allow-origin"] == "https://app.example")
        #expect(allowed.headers["access-control-expose-headers"] == "X-Request-Id, Retry-After, X-Token-Ignored")
        #expect(allowed.headers["date"]?.hasSuffix(" GMT") == true)
        // "<8 hex digits>-<counter>": the server's prefix, then one more for each request.
        let ids = try results.map { try #require($0.get().headers["x-request-id"]).split(separator: "-").map(String.init) }
        #expect(ids.allSatisfy { $0.count == 2 && $0[0].count == 8 && $0[0] == ids[0][0] && UInt32($0[0], radix: 16) != nil })
        #expect(ids.map { Int($0[1]) } == [1, 2, 3, 4])
        let stranger = try results[1].get()
        #expect(stranger.status == 200)
        #expect(stranger.headers["access-control-allow-origin"] == nil)
        let failed = try results[2].get()
        #expect(failed.status == 503)
        #expect(failed.json?["error"]?["code"]?.stringValue == "down")
        #expect(try results[3].get().status == 404)
        #expect(observer.answered.map(\.status) == [200, 200, 503, 404])
        #expect(observer.answered.map(\.route) == ["/items/:id", "/items/:id", "/fail", nil])
    }

    @Test func preflightsAreAnsweredForKnownPathsWithTheConfiguredHeaders() throws {
        let options = HTTPServer.Options(corsOrigins: ["https://app.example"], corsAllowHeaders: "Authorization, X-Custom")
        let results = Self.exchange(Self.routes(), options: options, [
            OutboundRequest(method: "OPTIONS", url: "/items/1",
                            headers: [("Origin", "https://app.example"), ("Access-Control-Request-Method", "GET")]),
            OutboundRequest(method: "OPTIONS", url: "/nowhere",
                            headers: [("Origin", "https://app.example"), ("Access-Control-Request-Method", "GET")]),
        ])
        let preflight = try results[0].get()
        #expect(preflight.status == 204)
        #expect(preflight.headers["access-control-allow-headers"] == "Authorization, X-Custom")
        #expect(preflight.headers["access-control-allow-origin"] == "https://app.example")
        #expect(try results[1].get().status == 404)
    }
}
