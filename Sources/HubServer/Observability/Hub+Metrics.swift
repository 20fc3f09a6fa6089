import Foundation
import HubCore
import HubStore
import HubWire

/// The `/metrics` page: every series of docs/METRICS.md, read from where it is counted.
///
/// Runs on the loop when scraped. Counters are plain integers of the services that own them;
/// gauges are read from memory (open connections, subscriptions, live bookings) or, for the
/// outbox and open payments, from three `COUNT(*)`s that each walk an index over the rows that
/// are pending or dead, never the whole table (`EXPLAIN QUERY PLAN` in HubServerTests), read
/// through `Storage.read` first. A scrape of a busy hub is a few tens of kilobytes of text.
extension Hub {
    /// The gauges counted in the store; nil where it could not answer (the sample is left out).
    struct StoreCounts: Sendable {
        var paymentsPending: Int64?
        var outbox: [String: Int64] = [:]
    }

    func metricsText(completion: @escaping ([UInt8]) -> Void) {
        guard let services else { return completion([]) }
        services.storage.read({ db in
            var counts = StoreCounts(paymentsPending: try db.scalar("SELECT COUNT(*) FROM payments WHERE status = 'pending'"))
            for status in ["pending", "dead"] {
                counts.outbox[status] = try db.scalar("SELECT COUNT(*) FROM outbox WHERE status = ?", [.text(status)])
            }
            return counts
        }) { [self] read in
            completion(metricsText(services, counts: (try? read.get()) ?? StoreCounts()))
        }
    }

    private func metricsText(_ services: HubServices, counts: StoreCounts) -> [UInt8] {
        var text = PrometheusText()
        writeProcess(&text, services)
        writeHTTP(&text, services)
        writeRealtime(&text, services)
        writeStore(&text, services)
        writeBookings(&text, services)
        writePayments(&text, services, pending: counts.paymentsPending)
        writeOutbox(&text, services, counts: counts.outbox)
        writeLimitsAndLoop(&text, services)
        writeSentry(&text, services)
        return text.bytes
    }

    // MARK: Families

    private func writeProcess(_ text: inout PrometheusText, _ services: HubServices) {
        text.family("spacehub_build_info", .gauge, help: "Always 1; the version label names the running build.")
        text.sample("spacehub_build_info", [("version", Hub.version)], 1)
        let process = ProcessStats.read()
        if let process {
            text.family("process_start_time_seconds", .gauge, help: "When the hub process started, Unix seconds.")
            text.sample("process_start_time_seconds", [], process.startTimeSeconds)
            text.family("process_cpu_seconds_total", .counter, help: "User and system CPU time of the hub process.")
            text.sample("process_cpu_seconds_total", [], process.cpuSeconds)
            text.family("process_resident_memory_bytes", .gauge, help: "Resident memory of the hub process.")
            text.sample("process_resident_memory_bytes", [], process.residentBytes)
        }
    }

    private func writeHTTP(_ text: inout PrometheusText, _ services: HubServices) {
        text.family("spacehub_http_requests_total", .counter,
                    help: "HTTP requests answered, by method, route pattern and status code (101: became a WebSocket).")
        var latencies: [(labels: [(String, String)], histogram: Histogram)] = []
        monitoring?.httpMetrics?.forEach { slot, method, series in
            let route = router.label(slot: slot).pattern
            for (code, count) in series.codes {
                text.sample("spacehub_http_requests_total", [("method", method), ("route", route), ("code", String(code))], count)
            }
            latencies.append(([("method", method), ("route", route)], series.latencyNs))
        }
        text.family("spacehub_http_request_duration_seconds", .histogram,
                    help: "From a request received whole to its response queued, by method and route pattern.")
        for (labels, histogram) in latencies { text.histogram("spacehub_http_request_duration_seconds", labels, seconds: histogram) }
        text.family("spacehub_http_parse_errors_total", .counter, help: "Requests refused before routing (malformed, too large, too slow), by status.")
        for (status, count) in server.parseErrors.sorted(by: { $0.key < $1.key }) {
            text.sample("spacehub_http_parse_errors_total", [("code", String(status))], count)
        }
        text.family("spacehub_http_connections_refused_total", .counter,
                    help: "Connections answered 503 at accept: server.connectionsMax reached, or shutting down.")
        text.sample("spacehub_http_connections_refused_total", [], server.connectionsRefused)
        text.family("spacehub_connections_open", .gauge, help: "Open client connections of every kind (HTTP, WebSocket, SSE).")
        text.sample("spacehub_connections_open", [], server.openConnections)
        text.family("spacehub_http_connections_open", .gauge, help: "Open connections serving HTTP requests.")
        text.sample("spacehub_http_connections_open", [], server.sessionCount)
    }

    private func writeRealtime(_ text: inout PrometheusText, _ services: HubServices) {
        text.family("spacehub_websockets_open", .gauge, help: "Open WebSocket connections (hub sessions and echo).")
        text.sample("spacehub_websockets_open", [], services.webSockets.count)
        text.family("spacehub_sse_streams_open", .gauge, help: "Open Server-Sent Events streams.")
        text.sample("spacehub_sse_streams_open", [], services.webSockets.streams)
        var kinds = Dictionary(uniqueKeysWithValues: Channel.Kind.allCases.map { ($0.metricsLabel, 0) })
        services.broker.forEachChannel { channel, subscribers in kinds[Channel.metricsKind(of: channel), default: 0] += subscribers }
        text.family("spacehub_subscriptions", .gauge,
                    help: "Subscriptions by channel kind (availability, availability_space, bookings, payments, admin), WebSocket, SSE and long-poll together.")
        for (kind, count) in kinds.sorted(by: { $0.key < $1.key }) { text.sample("spacehub_subscriptions", [("kind", kind)], count) }
        let traffic = services.webSockets.traffic
        text.family("spacehub_websocket_messages_total", .counter, help: "WebSocket text and binary messages, by direction.")
        text.sample("spacehub_websocket_messages_total", [("direction", "received")], traffic.messagesReceived)
        text.sample("spacehub_websocket_messages_total", [("direction", "sent")], traffic.messagesSent)
        text.family("spacehub_websocket_payload_bytes_total", .counter, help: "Payload bytes of those messages, by direction.")
        text.sample("spacehub_websocket_payload_bytes_total", [("direction", "received")], traffic.bytesReceived)
        text.sample("spacehub_websocket_payload_bytes_total", [("direction", "sent")], traffic.bytesSent)
        text.family("spacehub_sse_events_total", .counter, help: "Events written to Server-Sent Events streams.")
        text.sample("spacehub_sse_events_total", [], traffic.streamEvents)
        text.family("spacehub_sse_bytes_total", .counter, help: "Bytes of those events.")
        text.sample("spacehub_sse_bytes_total", [], traffic.streamBytes)
        text.family("spacehub_event_deliveries_total", .counter, help: "Events delivered to subscribers (one per subscriber per event), all transports.")
        text.sample("spacehub_event_deliveries_total", [], services.broker.deliveries)
        text.family("spacehub_events_published_total", .counter, help: "Events committed and published, by type.")
        for (type, count) in services.broker.publishedByType.sorted(by: { $0.key < $1.key }) {
            text.sample("spacehub_events_published_total", [("type", type)], count)
        }
        text.family("spacehub_event_seq", .gauge, help: "The last event seq published.")
        text.sample("spacehub_event_seq", [], Int(services.broker.lastSeq))
        text.family("spacehub_events_waiting", .gauge,
                    help: "Events of this hub waiting for earlier ones another hub committed (PostgreSQL, docs/SCALING.md).")
        text.sample("spacehub_events_waiting", [], services.broker.waitingCount)
        text.family("spacehub_catch_up_waits", .gauge,
                    help: "Clients waiting for this hub to reach their position (resume or minSeq; at most 4096).")
        text.sample("spacehub_catch_up_waits", [], services.broker.catchUpCount)
        text.family("spacehub_leader", .gauge, help: "1 when this hub leads the once-per-database work (always on SQLite).")
        text.sample("spacehub_leader", [], services.leadership.isLeader ? 1 : 0)
        text.family("spacehub_event_history", .gauge, help: "Events kept in memory for resume.")
        text.sample("spacehub_event_history", [], services.broker.historyCount)
        text.family("spacehub_slow_consumer_disconnects_total", .counter,
                    help: "Subscribers closed because their unsent bytes passed websocket.outboundBytesMax, by transport.")
        text.sample("spacehub_slow_consumer_disconnects_total", [("transport", "websocket")], services.webSockets.slowConsumersClosed)
        text.sample("spacehub_slow_consumer_disconnects_total", [("transport", "sse")], traffic.slowStreamsClosed)
        text.family("spacehub_websocket_protocol_errors_total", .counter, help: "WebSocket connections failed for a protocol error (bad frame, bad UTF-8, too big).")
        text.sample("spacehub_websocket_protocol_errors_total", [], services.webSockets.protocolErrors)
    }

    private func writeStore(_ text: inout PrometheusText, _ services: HubServices) {
        let stats = services.storage.writer.stats
        text.family("spacehub_store_commit_groups_total", .counter, help: "Commit groups (transactions) run by the writer, by outcome.")
        text.sample("spacehub_store_commit_groups_total", [("outcome", "committed")], stats.groups - stats.failedGroups)
        text.sample("spacehub_store_commit_groups_total", [("outcome", "failed")], stats.failedGroups)
        text.family("spacehub_store_commit_groups_isolated_total", .counter,
                    help: "Groups run a second time with a savepoint per write because one write failed.")
        text.sample("spacehub_store_commit_groups_isolated_total", [], stats.isolatedGroups)
        text.family("spacehub_store_writes_total", .counter, help: "Writes (jobs) through the writer, by outcome.")
        let failedWrites = stats.failedJobs + stats.jobsInFailedGroups
        text.sample("spacehub_store_writes_total", [("outcome", "committed")], stats.jobs - failedWrites)
        text.sample("spacehub_store_writes_total", [("outcome", "failed")], failedWrites)
        text.family("spacehub_store_commit_group_size", .histogram, help: "Writes per commit group.")
        text.histogram("spacehub_store_commit_group_size", [], counts: stats.groupSizes)
        text.family("spacehub_store_commit_duration_seconds", .histogram,
                    help: "From BEGIN to the end of COMMIT of a group, its fsync included, on the writer thread.")
        text.histogram("spacehub_store_commit_duration_seconds", [], seconds: stats.commitNs)
        text.family("spacehub_store_writer_queue_depth", .gauge, help: "Writes waiting for the next commit group.")
        text.sample("spacehub_store_writer_queue_depth", [], services.storage.writer.queueDepth)
    }

    private func writeBookings(_ text: inout PrometheusText, _ services: HubServices) {
        let live = services.bookings.liveByStatus
        text.family("spacehub_bookings_live", .gauge,
                    help: "Bookings held in memory by status: pending (holds), confirmed, and completed in the last two days.")
        for status in [BookingStatus.pending, .confirmed, .completed] {
            text.sample("spacehub_bookings_live", [("status", status.rawValue)], live[status])
        }
        text.family("spacehub_holds", .gauge, help: "Unpaid holds: pending bookings keeping a slot until they are paid or expire.")
        text.sample("spacehub_holds", [], live[.pending])
        text.family("spacehub_booking_changes_total", .counter, help: "Committed booking changes, by kind.")
        for (change, count) in services.bookings.changeCounts.map({ ("\($0.key)", $0.value) }).sorted(by: { $0.0 < $1.0 }) {
            text.sample("spacehub_booking_changes_total", [("change", change)], count)
        }
    }

    private func writePayments(_ text: inout PrometheusText, _ services: HubServices, pending: Int64?) {
        text.family("spacehub_payments_pending", .gauge, help: "Payments opened and not settled (an indexed count).")
        if let pending {
            text.sample("spacehub_payments_pending", [], Int(pending))
        }
        text.family("spacehub_gateway_calls_total", .counter, help: "Calls to payment gateways by gateway, operation and outcome (ok, rejected, unavailable).")
        var latencies: [(labels: [(String, String)], histogram: Histogram)] = []
        for (gateway, operations) in services.payments.gatewayCalls.series.sorted(by: { $0.key < $1.key }) {
            for (operation, series) in operations.sorted(by: { $0.key < $1.key }) {
                for (outcome, count) in series.outcomes.sorted(by: { $0.key < $1.key }) {
                    text.sample("spacehub_gateway_calls_total", [("gateway", gateway), ("operation", operation), ("outcome", outcome)], count)
                }
                latencies.append(([("gateway", gateway), ("operation", operation)], series.latencyNs))
            }
        }
        text.family("spacehub_gateway_call_duration_seconds", .histogram,
                    help: "Gateway calls from submission to answer on the loop (threadpool wait and retries included).")
        for (labels, histogram) in latencies { text.histogram("spacehub_gateway_call_duration_seconds", labels, seconds: histogram) }
    }

    private func writeOutbox(_ text: inout PrometheusText, _ services: HubServices, counts: [String: Int64]) {
        text.family("spacehub_outbox_messages", .gauge, help: "Outbox messages waiting to be sent (pending) and given up on (dead), indexed counts.")
        for status in ["pending", "dead"] {
            if let count = counts[status] {
                text.sample("spacehub_outbox_messages", [("status", status)], Int(count))
            }
        }
        let outcomes = services.delivery.outcomes
        text.family("spacehub_email_deliveries_total", .counter, help: "Email send outcomes: sent, failed (attempts, retried or not), dead_lettered, skipped.")
        text.sample("spacehub_email_deliveries_total", [("outcome", "sent")], outcomes.sent)
        text.sample("spacehub_email_deliveries_total", [("outcome", "failed")], outcomes.failedAttempts)
        text.sample("spacehub_email_deliveries_total", [("outcome", "dead_lettered")], outcomes.deadLettered)
        text.sample("spacehub_email_deliveries_total", [("outcome", "skipped")], outcomes.skipped)
    }

    private func writeLimitsAndLoop(_ text: inout PrometheusText, _ services: HubServices) {
        text.family("spacehub_rate_limit_refusals_total", .counter, help: "Requests refused by a rate limit (429, or close 1008 on a WebSocket), by action.")
        for action in RateAction.allCases {
            text.sample("spacehub_rate_limit_refusals_total", [("action", action.rawValue)], limits.refusals[action] ?? 0)
        }
        text.family("spacehub_rate_limit_buckets", .gauge, help: "Token buckets remembered (at most 100,000).")
        text.sample("spacehub_rate_limit_buckets", [], limits.bucketCount)
        if let lag = monitoring?.loopLag {
            text.family("spacehub_loop_lag_seconds", .histogram,
                        help: "How late a 250 ms timer on the loop fires: the loop's stalls.")
            text.histogram("spacehub_loop_lag_seconds", [], seconds: lag.lagNs)
            text.family("spacehub_loop_lag_max_seconds", .gauge, help: "The largest loop lag seen since start.")
            text.sample("spacehub_loop_lag_max_seconds", [], Double(lag.maxNs) / 1e9)
        }
    }

    private func writeSentry(_ text: inout PrometheusText, _ services: HubServices) {
        guard let errors = monitoring?.errors else { return }
        let stats = errors.stats
        text.family("spacehub_sentry_events_total", .counter,
                    help: "Error reports to Sentry by outcome: queued, sent, failed, dropped (queue full), suppressed (identical within sentry.dedupeSeconds).")
        for (outcome, count) in [("queued", stats.queued), ("sent", stats.sent), ("failed", stats.failed), ("dropped", stats.dropped),
                                 ("suppressed", stats.suppressed)] {
            text.sample("spacehub_sentry_events_total", [("outcome", outcome)], count)
        }
        text.family("spacehub_sentry_queue_depth", .gauge, help: "Error reports waiting to be sent.")
        text.sample("spacehub_sentry_queue_depth", [], errors.queueDepth)
    }
}

extension PrometheusText {
    /// A histogram of nanoseconds, exported in seconds.
    mutating func histogram(_ name: String, _ labels: [(String, String)], seconds histogram: Histogram) {
        let bounds = histogram.bounds == Histogram.latencyBoundsNs ? Self.latencyBoundLabels : Self.secondsLabels(histogram.bounds)
        self.histogram(name, labels, bounds: bounds, cumulativeCounts: histogram.cumulativeCounts, sum: Double(histogram.sum) / 1e9)
    }

    /// The `le` texts of the latency buckets, formatted once (a float's text is the slow part of a scrape).
    static let latencyBoundLabels = secondsLabels(Histogram.latencyBoundsNs)

    static func secondsLabels(_ boundsNs: [Int64]) -> [String] { boundsNs.map { format(Double($0) / 1e9) } }

    /// A histogram of counts (group sizes), exported as they are.
    mutating func histogram(_ name: String, _ labels: [(String, String)], counts histogram: Histogram) {
        self.histogram(name, labels, bounds: histogram.bounds.map { String($0) },
                       cumulativeCounts: histogram.cumulativeCounts, sum: Double(histogram.sum))
    }
}

extension Channel {
    /// The kind a channel is counted under (never the id); a name that is no channel, which the
    /// broker never holds, as `other`.
    static func metricsKind(of channel: String) -> String {
        Channel(name: channel)?.kind.metricsLabel ?? "other"
    }
}

extension Channel.Kind {
    /// `/metrics`'s `kind` label: the wire name's prefix, with a space's own channel
    /// (`availability:<space>`) as `availability_space`.
    var metricsLabel: String { self == .space ? "availability_space" : rawValue }
}

/// CPU time, resident memory and start time of this process, from /proc (Linux, proc(5)).
struct ProcessStats {
    let cpuSeconds: Double
    let residentBytes: Int
    let startTimeSeconds: Double

    /// When the system booted (`btime` of /proc/stat), Unix seconds: the process's start time is
    /// counted in clock ticks from there.
    private static let bootTime: Double = {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return 0 }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count)) ?? 0
        }
        return 0
    }()

    static func read() -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let afterName = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)", from state (field 3): utime 14, stime 15, starttime 22.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        let pages = statm.split(separator: " ")
        guard fields.count > 19, pages.count > 1, let utime = Double(fields[11]), let stime = Double(fields[12]),
            let started = Double(fields[19]), let resident = Int(pages[1])
        else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ProcessStats(cpuSeconds: (utime + stime) / ticks, residentBytes: resident * Int(sysconf(Int32(_SC_PAGESIZE))),
                            startTimeSeconds: bootTime + started / ticks)
    }
}
