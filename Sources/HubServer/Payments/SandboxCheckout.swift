import HubCore
import HubStore
import HubWire

/// The sandbox gateway's checkout page and the payment callback page. "Pay" and "Decline"
/// complete or fail the charge, then settle it exactly as a gateway callback would.
final class SandboxCheckout {
    let payments: PaymentService
    let sandbox: SandboxGateway?
    let storage: Storage
    let settings: LiveSettings

    init(payments: PaymentService, sandbox: SandboxGateway?, storage: Storage, settings: LiveSettings) {
        self.payments = payments
        self.sandbox = sandbox
        self.storage = storage
        self.settings = settings
    }

    func register(_ router: Router) {
        router.get("/pay/callback") { [self] request, responder throws(APIError) in try callback(request, responder) }
        guard sandbox != nil else { return }
        router.get("/pay/sandbox/:reference") { [self] request, responder throws(APIError) in try checkout(request, responder) }
        router.post("/pay/sandbox/:reference/pay") { [self] request, responder throws(APIError) in try complete(request, responder, paid: true) }
        router.post("/pay/sandbox/:reference/decline") { [self] request, responder throws(APIError) in try complete(request, responder, paid: false) }
    }

    private func checkout(_ request: Request, _ responder: Responder) throws(APIError) {
        let reference = request.parameter("reference")
        guard let payment = try? PaymentTable.find(reference: reference, storage.reader), payment.gateway == "sandbox" else {
            throw APIError.notFound("payment")
        }
        let booking = payments.bookings.find(payment.bookingID)
        let ref = HTML.escape(reference)
        let details = booking.map { booking in
            """
            <dl>
              <dt>Space</dt><dd id="space">\(HTML.escape(booking.spaceName))</dd>
              <dt>When</dt><dd>\(booking.localDate) · \(booking.localStart)–\(booking.localEnd) (\(HTML.escape(booking.zone.identifier)))</dd>
              <dt>Reference</dt><dd><code>\(ref)</code></dd>
            </dl>
            """
        } ?? ""
        let body: String
        if payment.status == .pending {
            body = """
                <p class="amount" id="amount">\(HTML.escape(payment.amount.display))</p>
                \(details)
                <p class="note">Sandbox checkout: no card is charged. Pay completes the charge as Paystack would; Decline fails it.</p>
                <form method="post" action="/pay/sandbox/\(ref)/pay"><button id="pay" class="pay" type="submit">Pay \(HTML.escape(payment.amount.display))</button></form>
                <form method="post" action="/pay/sandbox/\(ref)/decline"><button id="decline" class="decline" type="submit">Decline</button></form>
                """
        } else {
            body = "<p>This payment is already <strong>\(HTML.escape(payment.status.rawValue))</strong>.</p>\(details)"
        }
        responder.send(HTML.page(title: "\(settings.siteName) · Checkout", body: body))
    }

    private func complete(_ request: Request, _ responder: Responder, paid: Bool) throws(APIError) {
        let reference = request.parameter("reference")
        guard let sandbox, let payment = try? PaymentTable.find(reference: reference, storage.reader), payment.gateway == "sandbox" else {
            throw APIError.notFound("payment")
        }
        sandbox.complete(reference: reference, amount: payment.amount, paid: paid)
        payments.verify(reference: reference) { _ in
            var response = HTTPResponse(status: 303)
            response.headers.set("location", "/pay/callback?reference=\(reference)")
            responder.send(response)
        }
    }

    /// Where the gateway sends the member back: verifies, then shows the result.
    private func callback(_ request: Request, _ responder: Responder) throws(APIError) {
        guard let reference = request.query["reference"] ?? request.query["trxref"], !reference.isEmpty, reference.utf8.count <= 100 else {
            throw APIError.invalid("reference", "missing_reference", "reference is required")
        }
        payments.verify(reference: reference) { [self] result in
            switch result {
            case .failure(let error):
                responder.send(HTML.page(title: "Payment", body: "<p class=\"error\">\(HTML.escape(error.message))</p>", status: error.status))
            case .success(let payment):
                let booking = payments.bookings.find(payment.bookingID)
                let headline: String
                switch payment.status {
                case .successful where booking?.status == .confirmed:
                    headline = "<h2 id=\"result\" class=\"ok\">Payment received — booking confirmed</h2>"
                case .successful, .refunded:
                    headline = "<h2 id=\"result\" class=\"warn\">Payment received, but the booking could not be kept; it is being refunded</h2>"
                case .failed, .cancelled:
                    headline = "<h2 id=\"result\" class=\"error\">Payment declined — the booking is still held until its hold expires</h2>"
                case .pending:
                    headline = "<h2 id=\"result\">Payment pending</h2>"
                }
                let detail = booking.map { "<p>\(HTML.escape($0.spaceName)), \($0.localDate) \($0.localStart)–\($0.localEnd)</p>" } ?? ""
                responder.send(HTML.page(title: "Payment", body: headline + detail + "<p><a href=\"/\">Back to the dashboard</a></p>"))
            }
        }
    }
}

@available(*, unavailable) extension SandboxCheckout: Sendable {}

/// Small HTML helpers for the pages the hub serves itself.
enum HTML {
    /// Escapes text for element content and quoted attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func page(title: String, body: String, status: Int = 200) -> HTTPResponse {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>
              body { font: 16px/1.5 system-ui, sans-serif; background: #f4f6f8; color: #1d2a35; margin: 0; }
              main { max-width: 28rem; margin: 3rem auto; background: #fff; border-radius: 12px; padding: 2rem;
                     box-shadow: 0 4px 24px rgba(0,0,0,.08); }
              h1 { font-size: 1.2rem; margin: 0 0 1rem; color: #0b6e4f; }
              .amount { font-size: 2rem; font-weight: 700; margin: .5rem 0 1rem; }
              dl { display: grid; grid-template-columns: auto 1fr; gap: .25rem 1rem; }
              dt { color: #66788a; } dd { margin: 0; }
              button { width: 100%; padding: .8rem; border: 0; border-radius: 8px; font-size: 1rem; cursor: pointer; margin-top: .75rem; }
              .pay { background: #0b6e4f; color: #fff; } .decline { background: #e9edf1; color: #1d2a35; }
              .note { color: #66788a; font-size: .9rem; } .ok { color: #0b6e4f; } .warn { color: #b26a00; } .error { color: #b3261e; }
            </style></head>
            <body><main><h1>\(escape(title))</h1>
            \(body)
            </main></body></html>
            """
        var response = HTTPResponse(status: status, body: Array(html.utf8))
        response.headers.set("content-type", "text/html; charset=utf-8")
        response.headers.set("cache-control", "no-store")
        response.headers.set("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
        return response
    }
}
