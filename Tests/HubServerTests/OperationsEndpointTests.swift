import Foundation
import HubCore
import HubStore
import HubWire
import Testing

@testable import HubServer

/// What operators and the hub's own pages call, in process: the probes (`/healthz`, `/readyz`,
/// `/api/version`), `/metrics` on the public port (off, behind its token, and its series against
/// docs/METRICS.md), the kiosk page and the assets, and the refusals of the long-poll, snapshot
/// and Server-Sent Events endpoints that come before any waiting or streaming.
@Suite struct OperationsEndpointTests {
    static let metricsToken = "metrics-token-0123456789"

    /// A hub whose `/metrics` is on the public port behind `metricsToken` (no listener of its own).
    private func metricsHub() throws -> TestHub {
        try TestHub { config in
            config.metrics.enabled = true
            config.metrics.host = ""
            config.metrics.token = Self.metricsToken
        }
    }

    private func scrape(_ hub: TestHub) -> String {
        String(decoding: hub.request("GET", "/metrics", headers: [("authorization", "Bearer \(Self.metricsToken)")]).body, as: UTF8.self)
    }

    /// The `# TYPE` names of a scrape.
    private func families(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: " ")
            return parts.count == 4 && parts[0] == "#" && parts[1] == "TYPE" ? String(parts[2]) : nil
        })
    }

    /// The series names in the first column of docs/METRICS.md's tables.
    private func documentedSeries() throws -> Set<String> {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/METRICS.md"), encoding: .utf8)
        return Set(text.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `") else { return nil }
            let name = line.dropFirst(3).prefix { $0 != "`" }
            let series = name.hasPrefix("spacehub_") || name.hasPrefix("process_")
            return series && name.allSatisfy { $0.isLowercase || $0 == "_" } ? String(name) : nil
        })
    }

    // MARK: Probes

    @Test func healthzAnswersOkAsJSON() throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/healthz")
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"]?.hasPrefix("application/json") == true)
        #expect(answer.json == ["status": "ok"])
    }

    @Test func readyzCommitsThroughTheWriterAndSaysReady() throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/readyz")
        #expect(answer.status == 200)
        #expect(answer["status"]?.stringValue == "ready")
        #expect(answer["failedGroups"]?.intValue == 0)
        let groups = try #require(answer["commitGroups"]?.intValue)
        #expect(hub.request("GET", "/readyz")["commitGroups"]?.intValue ?? 0 > groups)
    }

    @Test func readyzSaysShuttingDownOnceAShutdownBegins() throws {
        let hub = try TestHub()
        hub.hub.shutdown()
        let answer = hub.request("GET", "/readyz")
        #expect(answer.status == 503)
        #expect(answer.errorCode == "shutting_down")
    }

    @Test func theVersionNamesTheBuild() throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/api/version")
        #expect(answer.status == 200)
        #expect(answer["name"]?.stringValue == "spacehub")
        #expect(answer["version"]?.stringValue == Hub.version)
        #expect(answer["api"]?.stringValue == "v1")
    }

    /// Open routes: a token that does not verify is ignored, never a reason to fail a probe.
    @Test(arguments: ["/healthz", "/readyz", "/api/version"])
    func aProbeAnswersWhateverTokenComesAlong(path: String) throws {
        let hub = try TestHub()
        #expect(hub.request("GET", path, token: "stale.token.here").status == 200)
    }

    // MARK: Metrics

    @Test func withoutATokenMetricsAreNotOnThePublicPort() throws {
        let hub = try TestHub { $0.metrics.enabled = true; $0.metrics.host = "127.0.0.1"; $0.metrics.port = 0 }
        let answer = hub.request("GET", "/metrics")
        #expect(answer.status == 404)
        #expect(hub.hub.metricsURL?.hasPrefix("http://127.0.0.1:") == true)
    }

    @Test(arguments: [String?.none, "Bearer wrong-token-0123456789", "Basic \(Self.metricsToken)", "Bearer \(Self.metricsToken)x"])
    func aScrapeWithoutTheRightTokenIsUnauthorized(header: String?) throws {
        let hub = try metricsHub()
        let answer = hub.request("GET", "/metrics", headers: header.map { [("authorization", $0)] } ?? [])
        #expect(answer.status == 401)
        #expect(answer.errorCode == "unauthorized")
        #expect(answer.headers["www-authenticate"] == #"Bearer realm="metrics""#)
    }

    @Test func aScrapeWithTheTokenIsPrometheusText() throws {
        let hub = try metricsHub()
        let answer = hub.request("GET", "/metrics", headers: [("authorization", "Bearer \(Self.metricsToken)")])
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(answer.headers["cache-control"] == "no-store")
        let text = String(decoding: answer.body, as: UTF8.self)
        #expect(text.contains("spacehub_build_info{version=\"\(Hub.version)\"} 1"))
        #expect(text.hasSuffix("\n"))
    }

    /// docs/METRICS.md names every family a scrape has, and a scrape has every family it names
    /// (those of Sentry only with a DSN, which these hubs have not).
    @Test func theScrapeAndDocsMetricsNameTheSameSeries() throws {
        let hub = try metricsHub()
        let exported = families(scrape(hub))
        let documented = try documentedSeries()
        #expect(documented.count > 40)
        #expect(exported.subtracting(documented).isEmpty, "exported, not documented: \(exported.subtracting(documented).sorted())")
        let missing = documented.subtracting(exported).filter { !$0.hasPrefix("spacehub_sentry_") }
        #expect(missing.isEmpty, "documented, not exported: \(missing.sorted())")
    }

    @Test func theScrapeCountsAHoldAndItsOpenPayment() throws {
        let hub = try metricsHub()
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        #expect(hub.initialize(member, booking: booking, amount: 10_000).status == 200)
        let text = scrape(hub)
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains("spacehub_holds 1"))
        #expect(lines.contains("spacehub_bookings_live{status=\"pending\"} 1"))
        #expect(lines.contains("spacehub_booking_changes_total{change=\"created\"} 1"))
        #expect(lines.contains("spacehub_payments_pending 1"))
        #expect(lines.contains("spacehub_gateway_calls_total{gateway=\"sandbox\",operation=\"initialize\",outcome=\"ok\"} 1"))
        #expect(lines.contains("spacehub_event_seq \(hub.services.broker.lastSeq)"))
    }

    // MARK: Kiosk and assets

    @Test func aKioskForAnUnknownSpaceIsAnHTMLNotFound() throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/kiosk/no-such-room")
        #expect(answer.status == 404)
        #expect(answer.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(answer.headers["cache-control"] == "no-store")
        #expect(String(decoding: answer.body, as: UTF8.self).contains("No such room"))
    }

    @Test func aKioskForASpaceIsThePageRevalidatedByItsTag() throws {
        let hub = try TestHub()
        let room = hub.openRoom(admin: try hub.admin())
        let page = hub.request("GET", "/kiosk/\(room)")
        #expect(page.status == 200)
        #expect(page.headers["content-type"] == "text/html; charset=utf-8")
        #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        #expect(page.headers["x-frame-options"] == "SAMEORIGIN")
        #expect(page.headers["cache-control"] == "no-cache")
        let etag = try #require(page.headers["etag"])
        let again = hub.request("GET", "/kiosk/\(room)", headers: [("if-none-match", etag)])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        #expect(again.headers["etag"] == etag)
    }

    @Test(arguments: [("app.css", "text/css"), ("dashboard.js", "text/javascript"), ("kiosk.css", "text/css"),
                      ("kiosk.js", "text/javascript"), ("checkout.css", "text/css")])
    func anAssetComesWithItsTypeAndIsImmutableAtItsVersion(name: String, type: String) throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/assets/\(name)")
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"] == "\(type); charset=utf-8")
        #expect(answer.headers["x-content-type-options"] == "nosniff")
        #expect(answer.headers["cache-control"] == "no-cache")
        #expect(!answer.body.isEmpty)
        let tag = try #require(answer.headers["etag"]).filter { $0 != "\"" }
        let versioned = hub.request("GET", "/assets/\(name)?v=\(tag)")
        #expect(versioned.headers["cache-control"] == "public, max-age=31536000, immutable")
        #expect(versioned.body == answer.body)
    }

    @Test(arguments: ["nope.js", "app.css.map", "APP.CSS", "dashboard.js.bak", "spacehub.js"])
    func anUnknownAssetIsNotFound(name: String) throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/assets/\(name)")
        #expect(answer.status == 404)
        #expect(answer.errorCode == "not_found")
    }

    // MARK: Long-poll, snapshot and stream refusals

    @Test(arguments: ["timeout=abc", "timeout=26", "timeout=-1", "timeout=2.5"])
    func aLongPollTimeoutOutsideOneToTheConfiguredWaitIsRefused(query: String) throws {
        let hub = try TestHub()  // events.longPollSeconds: 25
        let answer = hub.request("GET", "/api/events?since=0&\(query)")
        #expect(answer.status == 422)
        #expect(answer.errorCode == "bad_timeout")
        #expect(answer.json["error"]?["field"]?.stringValue == "timeout")
    }

    @Test func aLongPollForMoreChannelsThanAllowedIsRefused() throws {
        let hub = try TestHub { $0.websocket.subscriptionsMax = 2 }
        let admin = try hub.admin()
        let rooms = [hub.openRoom(admin: admin), hub.openRoom(admin: admin)]
        let channels = (["availability"] + rooms.map { "availability:\($0)" }).joined(separator: ",")
        let answer = hub.request("GET", "/api/events?since=0&channels=\(channels)")
        #expect(answer.status == 422)
        #expect(answer.errorCode == "too_many_subscriptions")
        #expect(hub.request("GET", "/api/events?since=0&channels=availability,availability:\(rooms[0])").status == 200)
    }

    @Test func aTokenInTheQueryOpensTheMembersOwnChannelsToALongPoll() throws {
        let hub = try TestHub { $0.auth.accessTokenSeconds = 900 }
        let room = hub.openRoom(admin: try hub.admin())
        let member = hub.member()
        let since = hub.services.broker.lastSeq
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 2))
        let page = hub.request("GET", "/api/events?channels=bookings:\(member.id)&since=\(since)&token=\(member.token)")
        #expect(page.status == 200)
        #expect(page["events"]?.arrayValue?.first?["payload"]?["id"]?.stringValue == booking)
        // A token that no longer verifies is refused, not quietly read as nobody.
        #expect(hub.request("GET", "/api/events?since=\(since)&token=garbage").errorCode == "invalid_token")
        hub.advance(seconds: 1000)
        let expired = hub.request("GET", "/api/events?since=\(since)&token=\(member.token)")
        #expect(expired.status == 401)
        #expect(expired.errorCode == "token_expired")
    }

    @Test(arguments: [("days=0", "bad_days"), ("days=abc", "bad_days"), ("days=-1", "bad_days"),
                      ("date=2026-02-30", "bad_date"), ("date=tomorrow", "bad_date")])
    func aSnapshotWithABadDayRangeIsRefused(query: String, code: String) throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/api/events/snapshot?channel=availability&\(query)")
        #expect(answer.status == 422)
        #expect(answer.errorCode == code)
    }

    @Test(arguments: [("?since=-1", 422, "bad_since"), ("?since=x", 422, "bad_since"), ("?channels=admin", 403, "forbidden_channel"),
                      ("?channels=bogus", 422, "unknown_channel"), ("?token=garbage", 401, "invalid_token")])
    func aStreamThatCannotStartIsAnsweredBeforeItOpens(query: String, status: Int, code: String) throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/api/events/stream\(query)")
        #expect(answer.status == status)
        #expect(answer.errorCode == code)
    }

    @Test func aStreamResumingFromAMalformedLastEventIDIsRefused() throws {
        let hub = try TestHub()
        let answer = hub.request("GET", "/api/events/stream", headers: [("last-event-id", "seven")])
        #expect(answer.status == 422)
        #expect(answer.errorCode == "bad_since")
    }
}
