import HubHTTP
import HubWire

/// What the server tells `/metrics` and Sentry about each answer (`HTTPServer.observer`). Either
/// may be off; with neither configured the server has no observer at all.
final class HTTPObservation: HTTPServerObserver {
    let metrics: HTTPMetrics?
    let errors: ErrorReporter?

    init(metrics: HTTPMetrics?, errors: ErrorReporter?) {
        self.metrics = metrics
        self.errors = errors
    }

    /// Called once per answered request, after its response is queued.
    func server(_ server: HTTPServer, answered request: Request, with response: HTTPResponse) {
        metrics?.observe(slot: request.routeSlot, method: request.method, status: response.status, startedNs: request.startedNs)
        if response.status >= 500, let errors { reportServerError(request, response, router: server.router, to: errors) }
    }

    /// A request whose connection became a WebSocket (101) or an event stream (200).
    func server(_ server: HTTPServer, handedOver request: Request, status: Int) {
        metrics?.observe(slot: request.routeSlot, method: request.method, status: status, startedNs: request.startedNs)
    }

    /// A 5xx answer, with the route pattern and the error's code and message from its body
    /// (every error body is `{"error": {"code", "message"}}`). Health checks are left out: a 503
    /// from `/readyz` is a state the orchestrator reads, and its causes are reported themselves.
    private func reportServerError(_ request: Request, _ response: HTTPResponse, router: Router, to errors: ErrorReporter) {
        let label = router.label(slot: request.routeSlot)
        guard label.pattern != "/readyz", label.pattern != "/healthz" else { return }
        let body = try? JSONParser.parse(response.body)
        let code = body?["error"]?["code"]?.stringValue ?? "http_\(response.status)"
        let message = body?["error"]?["message"]?.stringValue ?? ""
        let method = label.method.isEmpty ? HTTPMetrics.methods[HTTPMetrics.methodIndex(request.method)] : label.method
        let transaction = "\(method) \(label.pattern)"
        errors.report(ErrorReport(
            kind: "http_5xx", type: code, message: "\(transaction) answered \(response.status) \(code): \(message)",
            transaction: transaction,
            tags: [("route", label.pattern), ("method", method), ("status", String(response.status)), ("code", code),
                   ("request_id", request.id)],
            fingerprint: ["http_5xx", transaction, String(response.status), code]))
    }
}

@available(*, unavailable) extension HTTPObservation: Sendable {}
