import HubCore
import HubLoop
import HubWire

/// Calls to payment gateways by gateway, operation and outcome, with their latency (the whole
/// call as the loop sees it: threadpool wait, retries and backoff included). Loop thread only.
final class GatewayCalls {
    struct Series {
        /// ok, rejected (the gateway said no), unavailable (unreachable or failing after retries).
        var outcomes: [String: Int] = [:]
        var latencyNs = Histogram(bounds: Histogram.latencyBoundsNs)
    }

    private(set) var series: [String: [String: Series]] = [:]

    func record(_ gateway: String, _ operation: String, outcome: String, sentNs: UInt64) {
        let elapsed = Int64(bitPattern: Loop.hrtimeNs() &- sentNs)
        series[gateway, default: [:]][operation, default: Series()].outcomes[outcome, default: 0] += 1
        series[gateway, default: [:]][operation, default: Series()].latencyNs.record(elapsed)
    }
}

@available(*, unavailable) extension GatewayCalls: Sendable {}

extension PaymentService {
    /// A gateway call came back: counted, and reported to Sentry when it failed.
    func observeGateway<T>(_ gateway: String, _ operation: String, sentNs: UInt64, _ result: Result<T, GatewayError>) {
        switch result {
        case .success:
            gatewayCalls.record(gateway, operation, outcome: "ok", sentNs: sentNs)
        case .failure(let error):
            let outcome = if case .rejected = error { "rejected" } else { "unavailable" }
            gatewayCalls.record(gateway, operation, outcome: outcome, sentNs: sentNs)
            errors?.report(ErrorReport(
                kind: "gateway_failure", type: "gateway_\(outcome)", message: "\(gateway) \(operation) failed: \(error)",
                transaction: "\(gateway) \(operation)",
                tags: [("gateway", gateway), ("operation", operation), ("outcome", outcome)],
                fingerprint: ["gateway_failure", gateway, operation, outcome]))
        }
    }

    /// A payment now needs an admin: money owed back that the gateway would not return, or an
    /// amount that does not match.
    func reportFlagged(_ paymentID: String, reason: String) {
        errors?.report(ErrorReport(
            kind: "payment_flagged", type: "payment_flagged", message: "payment \(paymentID) flagged for an admin: \(reason)",
            transaction: "payment flagged", tags: [("payment_id", paymentID)], extra: [("reason", .string(reason))],
            fingerprint: ["payment_flagged", paymentID]))
    }
}
