import HubCore
import HubLoop
import HubStore
import HubWire
import Testing

@testable import HubHTTP
@testable import HubServer

@Suite struct SentryDSNTests {
    @Test func parsesKeyHostAndProject() throws {
        let dsn = try #require(SentryDSN("https://abc123@o45.ingest.sentry.io/6789"))
        #expect(dsn.publicKey == "abc123" && dsn.projectID == "6789")
        #expect(dsn.envelopeURL == "https://o45.ingest.sentry.io/api/6789/envelope/")
        #expect(dsn.authHeader(client: "spacehub/0.1.0") == "Sentry sentry_version=7, sentry_key=abc123, sentry_client=spacehub/0.1.0")
    }

    /// Self-hosted Sentry behind a path prefix and a port; a legacy secret is dropped.
    @Test func keepsPortAndPathPrefixAndDropsTheLegacySecret() throws {
        let dsn = try #require(SentryDSN("http://key:legacysecret@127.0.0.1:9000/sentry/42/"))
        #expect(dsn.publicKey == "key")
        #expect(dsn.envelopeURL == "http://127.0.0.1:9000/sentry/api/42/envelope/")
    }

    @Test(arguments: ["", "abc", "ftp://k@h/1", "https://host/1", "https://@host/1", "https://k@host", "https://k@host/", "https://k@/1"])
    func refusesWhatSentryWouldNot(text: String) {
        #expect(SentryDSN(text) == nil)
    }
}

@Suite struct SentryEnvelopeTests {
    /// develop.sentry.dev "Envelopes": a header line, an item header whose `length` is the
    /// payload's byte count, the payload; each followed by a line feed.
    @Test func envelopeHasHeaderItemHeaderAndPayloadOfTheStatedLength() throws {
        let event: JSON = ["event_id": "0123456789abcdef0123456789abcdef", "message": ["formatted": "naïve ✓"]]
        let bytes = SentryEnvelope(eventID: "0123456789abcdef0123456789abcdef", event: event).bytes(sentAt: 1_795_600_000)
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        #expect(lines.count == 4 && lines[3].isEmpty)
        let header = try JSONParser.parse(Array(lines[0]))
        #expect(header["event_id"]?.stringValue == "0123456789abcdef0123456789abcdef")
        #expect(header["sent_at"]?.stringValue == "2026-11-25T09:46:40Z")
        let item = try JSONParser.parse(Array(lines[1]))
        #expect(item["type"]?.stringValue == "event")
        #expect(item["length"]?.intValue == lines[2].count)
        #expect(try JSONParser.parse(Array(lines[2])) == event)
    }
}

@Suite struct ScrubberTests {
    let scrubber = Scrubber(secrets: ["sk_test_configured_secret", "hunter2hunter2", "tiny"])

    /// A report's extra values: every string scrubbed as free text, inside arrays and objects
    /// and inside JSON text already written (a view), which is parsed first; text that does not
    /// parse is dropped, never sent as it is.
    @Test func jsonValuesAreScrubbedThroughAndThroughRawTextIncluded() {
        let secret = "sk_test_configured_secret"
        let value: JSON = ["note": .string("key \(secret)"), "n": 3, "list": [.string(secret), true],
                           "view": .raw(Array(#"{"id":"b-1","specialRequests":"use sk_test_configured_secret"}"#.utf8)),
                           "broken": .raw(Array(#"{"secret": sk_test_configured_secret"#.utf8))]
        let expected: JSON = ["note": "key [redacted]", "n": 3, "list": ["[redacted]", true],
                              "view": ["id": "b-1", "specialRequests": "use [redacted]"], "broken": nil]
        #expect(scrubber.scrubText(value) == expected)
    }

    @Test func configuredSecretsAreMaskedAnywhere() {
        #expect(scrubber.scrub("key sk_test_configured_secret in text") == "key [redacted] in text")
        #expect(scrubber.scrub("AUTH PLAIN hunter2hunter2x") == "AUTH PLAIN [redacted]x")
        #expect(scrubber.scrub("a tiny word") == "a tiny word", "secrets under 6 bytes would mask words")
    }

    @Test func credentialsAndSensitivePairsAreMasked() {
        #expect(scrubber.scrub("Authorization: Bearer abc.def") == "Authorization: [redacted]")
        #expect(scrubber.scrub("sent bearer abc and Basic dXNlcjpw") == "sent bearer [redacted] and Basic [redacted]")
        #expect(scrubber.scrub("/ws?token=abc&since=4") == "/ws?token=[redacted]&since=4")
        #expect(scrubber.scrub(#"{"password":"p@ss word","name":"Ada"}"#) == #"{"password":"[redacted]","name":"Ada"}"#)
        #expect(scrubber.scrub("client_secret=xyz; code=4/0Ab") == "client_secret=[redacted]; code=[redacted]")
        #expect(scrubber.scrub("refresh_token: r1") == "refresh_token: [redacted]")
        #expect(scrubber.scrub("status: 503, route: /api/bookings") == "status: 503, route: /api/bookings")
    }

    /// Free text loses random-looking runs (tokens, JWTs, keys) and keeps words, codes and ids.
    @Test func freeTextLosesRandomRunsButKeepsWordsAndIds() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        #expect(scrubber.scrubText("token \(jwt) expired") == "token [redacted].[redacted].[redacted] expired")
        #expect(scrubber.scrubText("feed /api/calendar/feed/Xq3vJ9kLmN2pQ7rS8tU1wY4zA6bC0dE5fG") == "feed /api/calendar/feed/[redacted]")
        let id = "0193a0c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b"
        #expect(scrubber.scrubText("booking \(id) failed: store_unavailable_for_this_request") ==
                "booking \(id) failed: store_unavailable_for_this_request")
        #expect(scrubber.scrubText("connect to smtp.mail.example.com:587 refused") == "connect to smtp.mail.example.com:587 refused")
        #expect(scrubber.scrubText("SG.aB3dEfGh1jKlMn0pQrStUv.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg") == "SG.[redacted].[redacted]")
        #expect(scrubber.scrubText("email-smtp.us-east-1.amazonaws.com") == "email-smtp.us-east-1.amazonaws.com")
    }
}

@Suite struct ReportThrottleTests {
    @Test func oneReportPerFingerprintPerWindowCountingTheRest() {
        var throttle = ReportThrottle(windowMs: 1000)
        #expect(throttle.admit("a", nowMs: 0) == .send(suppressed: 0))
        #expect(throttle.admit("a", nowMs: 10) == .suppress)
        #expect(throttle.admit("b", nowMs: 20) == .send(suppressed: 0))
        #expect(throttle.admit("a", nowMs: 999) == .suppress)
        #expect(throttle.admit("a", nowMs: 1000) == .send(suppressed: 2))
        #expect(throttle.admit("a", nowMs: 1001) == .suppress)
    }

    @Test func zeroWindowSendsEverything() {
        var throttle = ReportThrottle(windowMs: 0)
        #expect(throttle.admit("a", nowMs: 5) == .send(suppressed: 0))
        #expect(throttle.admit("a", nowMs: 5) == .send(suppressed: 0))
    }

    /// Memory is bounded: past `keysMax` fingerprints the old ones are forgotten.
    @Test func remembersAtMostKeysMaxFingerprints() {
        var throttle = ReportThrottle(windowMs: 1_000_000)
        for key in 0..<(ReportThrottle.keysMax * 3) { _ = throttle.admit(String(key), nowMs: Int64(key)) }
        #expect(throttle.admit("0", nowMs: 10_000) == .send(suppressed: 0))
    }
}

@Suite struct MetricsTests {
    /// Requests are counted under the route's pattern, never the path the client sent.
    @Test func requestsAreCountedByRoutePatternMethodAndCode() {
        let router = Router()
        router.get("/api/bookings/:id") { _, _ in }
        router.post("/api/bookings") { _, _ in }
        let metrics = HTTPMetrics()
        func slot(_ method: String, _ path: String) -> Int {
            guard case .route(let route, _) = router.match(method: method, path: path) else { return Router.unmatchedSlot }
            return route.slot
        }
        let started = Loop.hrtimeNs()
        metrics.observe(slot: slot("GET", "/api/bookings/abc"), method: "GET", status: 200, startedNs: started)
        metrics.observe(slot: slot("GET", "/api/bookings/def"), method: "GET", status: 200, startedNs: started)
        metrics.observe(slot: slot("GET", "/api/bookings/zzz"), method: "GET", status: 404, startedNs: started)
        metrics.observe(slot: slot("POST", "/api/bookings"), method: "POST", status: 201, startedNs: started)
        metrics.observe(slot: slot("GET", "/nowhere"), method: "BREW", status: 404, startedNs: started)
        var seen: [String] = []
        metrics.forEach { slot, method, series in
            for (code, count) in series.codes { seen.append("\(method) \(router.label(slot: slot).pattern) \(code) \(count)") }
            #expect(series.latencyNs.count == series.codes.reduce(0) { $0 + $1.count })
        }
        #expect(seen.sorted() == ["GET /api/bookings/:id 200 2", "GET /api/bookings/:id 404 1", "POST /api/bookings 201 1",
                                  "other (unmatched) 404 1"])
    }

    @Test func channelKindsNeverIncludeIds() {
        #expect(Channel.metricsKind(of: "availability") == "availability")
        #expect(Channel.metricsKind(of: "availability:conference-room-a") == "availability_space")
        #expect(Channel.metricsKind(of: "bookings:0193a0c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b") == "bookings")
        #expect(Channel.metricsKind(of: "payments:u1") == "payments")
        #expect(Channel.metricsKind(of: "admin") == "admin")
    }

    /// The SQL a scrape runs walks an index over the rows it counts, never the whole table.
    @Test(arguments: ["SELECT COUNT(*) FROM payments WHERE status = 'pending'", "SELECT COUNT(*) FROM outbox WHERE status = 'pending'",
                      "SELECT COUNT(*) FROM outbox WHERE status = 'dead'"])
    func scrapeCountsUseAnIndex(sql: String) throws {
        let database = try Database(path: ":memory:")
        _ = try Migrations.migrate(database)
        let plan = try database.query("EXPLAIN QUERY PLAN " + sql, []) { $0.string(3) }
        #expect(plan.count == 1 && plan[0].hasPrefix("SEARCH") && plan[0].contains("INDEX"), "\(plan)")
    }
}
