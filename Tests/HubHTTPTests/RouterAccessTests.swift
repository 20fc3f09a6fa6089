import HubLoop
import HubWire
import Testing

@testable import HubHTTP

/// The router's access check through the application's hooks: HubHTTP reads the token rule of an
/// `Access`, the application says who a token names (`authenticate`), what a rule asks of them
/// (`admit`) and what guards a write (`beforeWrite`).
@Suite struct RouterAccessTests {
    /// A principal as an application might define it.
    struct Caller: RequestPrincipal, Equatable {
        let name: String
        let isChief: Bool
    }

    static let chiefsOnly = Access("chiefsOnly", token: .required)

    /// Keeps the one answer a request gets.
    final class Sink: ResponseSink {
        var response: HTTPResponse?
        var isOpen: Bool { true }
        func complete(_ responder: Responder, _ response: HTTPResponse) { self.response = response }
        func corsHeaders(for request: Request) -> HTTPHeaders { HTTPHeaders() }
        func detach() -> (connection: TCPConnection, leftover: [UInt8])? { nil }
    }

    final class Fixture {
        let router = Router()
        var authenticated = 0
        var writesChecked = 0
        /// The caller each handler saw.
        var seen: [Caller?] = []

        init() {
            router.authenticate = { [unowned self] request in
                authenticated += 1
                switch request.header("authorization") {
                case nil: return .success(nil)
                case "Bearer ada": return .success(Caller(name: "ada", isChief: false))
                case "Bearer grace": return .success(Caller(name: "grace", isChief: true))
                default: return .failure(.unauthorized("invalid_token", "unknown token"))
                }
            }
            router.admit = { principal, access throws(APIError) in
                guard access == RouterAccessTests.chiefsOnly else { return }
                guard (principal as? Caller)?.isChief == true else { throw APIError.forbidden("chiefs_only", "chiefs only") }
            }
            router.beforeWrite = { [unowned self] _ throws(APIError) in
                writesChecked += 1
                if writesChecked > 2 { throw APIError.tooManyRequests(retryAfterSeconds: 1) }
            }
            let record: Handler = { [unowned self] request, responder in
                seen.append(request.authenticated as? Caller)
                responder.json(["ok": true])
            }
            router.get("/open", record)
            router.get("/anonymous", access: .anonymous, record)
            router.get("/signed-in", access: .authenticated, record)
            router.get("/chiefs", access: RouterAccessTests.chiefsOnly, record)
            router.post("/things", record)
            router.post("/webhook", limited: false, record)
        }

        func send(_ method: String, _ path: String, token: String? = nil) -> HTTPResponse {
            var fields: [(String, String)] = [("host", "test")]
            if let token { fields.append(("authorization", "Bearer \(token)")) }
            let request = Request(head: HTTPRequestHead(method: method, target: path, headers: HTTPHeaders(fields)), body: [],
                                  id: "t", client: ClientAddress(address: "127.0.0.1", scheme: nil, host: nil),
                                  startedNs: Loop.hrtimeNs())
            let sink = Sink()
            router.dispatch(request, Responder(session: sink, request: request))
            return sink.response ?? HTTPResponse(status: 0)
        }
    }

    static func code(_ response: HTTPResponse) -> String? {
        (try? JSONParser.parse(response.body))?["error"]?["code"]?.stringValue
    }

    @Test func anOpenRouteSetsAGoodTokensPrincipalAndIgnoresABadOne() {
        let fixture = Fixture()
        #expect(fixture.send("GET", "/open", token: "ada").status == 200)
        let ignored = fixture.send("GET", "/open", token: "forged")
        #expect(ignored.status == 200)
        #expect(ignored.headers[Router.tokenIgnoredHeader] == "invalid_token")
        #expect(fixture.seen == [Caller(name: "ada", isChief: false), nil])
    }

    @Test func anAnonymousRouteNeverReadsTheToken() {
        let fixture = Fixture()
        #expect(fixture.send("GET", "/anonymous", token: "forged").status == 200)
        #expect(fixture.authenticated == 0)
        #expect(fixture.seen == [nil])
    }

    @Test func aRequiredTokenIsAskedForThenChecked() {
        let fixture = Fixture()
        let missing = fixture.send("GET", "/signed-in")
        #expect(missing.status == 401)
        #expect(missing.headers["www-authenticate"] == "Bearer")
        #expect(Self.code(fixture.send("GET", "/signed-in", token: "forged")) == "invalid_token")
        #expect(fixture.send("GET", "/signed-in", token: "ada").status == 200)
        #expect(fixture.seen.count == 1)
    }

    @Test func theApplicationsRuleDecidesWhatARoleMayCall() {
        let fixture = Fixture()
        let refused = fixture.send("GET", "/chiefs", token: "ada")
        #expect(refused.status == 403)
        #expect(Self.code(refused) == "chiefs_only")
        #expect(fixture.send("GET", "/chiefs").status == 401)
        #expect(fixture.send("GET", "/chiefs", token: "grace").status == 200)
        #expect(fixture.seen == [Caller(name: "grace", isChief: true)])
    }

    @Test func beforeWriteGuardsLimitedWritesOnly() {
        let fixture = Fixture()
        #expect(fixture.send("GET", "/open").status == 200)
        #expect(fixture.send("POST", "/webhook").status == 200)
        #expect(fixture.writesChecked == 0)
        #expect(fixture.send("POST", "/things").status == 200)
        #expect(fixture.send("POST", "/things").status == 200)
        let limited = fixture.send("POST", "/things")
        #expect(limited.status == 429)
        #expect(limited.headers["retry-after"] == "1")
        #expect(fixture.writesChecked == 3)
    }

    @Test func registrationsListTheAccessRuleByName() {
        let fixture = Fixture()
        let rules = Dictionary(uniqueKeysWithValues: fixture.router.routes.map { ("\($0.method) \($0.pattern)", $0) })
        #expect(rules["GET /chiefs"]?.access.name == "chiefsOnly")
        #expect(rules["GET /anonymous"]?.access == .anonymous)
        #expect(rules["POST /things"]?.limited == true)
        #expect(rules["POST /webhook"]?.limited == false)
        #expect(rules["GET /open"]?.limited == false)
    }
}

@Suite struct QueryStringTests {
    @Test func pairsAreDecodedAndLaterDuplicatesWin() {
        #expect(QueryString.parse("a=1&b=two%20words&c=x+y&flag&a=3") == ["a": "3", "b": "two words", "c": "x y", "flag": ""])
        #expect(QueryString.parse("") == [:])
    }

    @Test func escapesTakeEitherCaseAndRefuseWhatIsNotHexOrUTF8() {
        #expect(QueryString.percentDecode("%C3%A9%c3%a9") == "éé")
        #expect(QueryString.percentDecode("100%") == nil)
        #expect(QueryString.percentDecode("%4") == nil)
        #expect(QueryString.percentDecode("%zz") == nil)
        #expect(QueryString.percentDecode("%FF") == nil)  // not UTF-8
        #expect(QueryString.percentDecode("a+b") == "a+b")  // `+` is a space only in form data
    }
}
