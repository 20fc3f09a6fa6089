import HubCore
import HubHTTP
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
        sandboxPayment(request, responder) { [self] payment in
            payments.bookings.find(payment.bookingID) { [self] found in
                switch found {
                case .success(let booking): checkout(payment, booking, responder)
                case .failure(let error) where error.status == 404: checkout(payment, nil, responder)
                case .failure(let error): responder.fail(error)
                }
            }
        }
    }

    /// The payment a sandbox page is about: 404 unless it exists and is the sandbox's.
    private func sandboxPayment(_ request: Request, _ responder: Responder, then: @escaping (Payment) -> Void) {
        let reference = request.parameter("reference")
        storage.read(for: responder, { try PaymentTable.find(reference: reference, $0) }) { payment throws(APIError) in
            guard let payment, payment.gateway == "sandbox" else { throw APIError.notFound("payment") }
            then(payment)
        }
    }

    private func checkout(_ payment: Payment, _ booking: Booking?, _ responder: Responder) {
        let reference = payment.reference
        let ref = HTML.escape(reference)
        let details = booking.map { booking in
            """
            <dl>
              <dt>Space</dt><dd id="space">\(HTML.escape(booking.spaceName))</dd>
              <dt>Date</dt><dd>\(booking.localDate)</dd>
              <dt>Time</dt><dd>\(booking.localStart)–\(booking.localEnd) <span class="muted">(\(HTML.escape(booking.zone.identifier)))</span></dd>
              <dt>Reference</dt><dd><code>\(ref)</code></dd>
            </dl>
            """
        } ?? ""
        let body: String
        if payment.status == .pending {
            body = """
                <h1>Amount due</h1>
                <p class="amount" id="amount">\(HTML.escape(payment.amount.display))</p>
                \(details)
                <form method="post" action="/pay/sandbox/\(ref)/pay"><button id="pay" class="pay" type="submit">Pay \(HTML.escape(payment.amount.display))</button></form>
                <form method="post" action="/pay/sandbox/\(ref)/decline"><button id="decline" class="decline" type="submit">Decline</button></form>
                <p class="note">Sandbox checkout: no card is charged. Pay completes the charge as Paystack would; Decline fails it.</p>
                """
        } else {
            body = "<h1>Checkout</h1><p>This payment is already <strong>\(HTML.escape(payment.status.rawValue))</strong>.</p>\(details)"
                + "<p class=\"actions\"><a href=\"/pay/callback?reference=\(ref)\">See the result</a></p>"
        }
        responder.send(HTML.page(title: "\(settings.siteName) · Checkout", body: body, brand: settings.siteName, sandbox: true))
    }

    private func complete(_ request: Request, _ responder: Responder, paid: Bool) throws(APIError) {
        guard let sandbox else { throw APIError.notFound("payment") }
        sandboxPayment(request, responder) { [payments] payment in
            let reference = payment.reference
            sandbox.complete(reference: reference, amount: payment.amount, paid: paid)
            payments.verify(reference: reference) { _ in
                var response = HTTPResponse(status: 303)
                response.headers.set("location", "/pay/callback?reference=\(reference)")
                responder.send(response)
            }
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
                // A booking the store cannot read right now is left out of the page, not an error:
                // the payment's result is what the member came back for.
                payments.bookings.find(payment.bookingID) { [self] booking in
                    responder.send(resultPage(payment, booking: try? booking.get()))
                }
            }
        }
    }

    private func resultPage(_ payment: Payment, booking: Booking?) -> HTTPResponse {
        let headline: String
        switch payment.status {
        case .successful where booking?.status == .confirmed:
            headline = Self.result("ok", "✓", "Payment received — booking confirmed")
        case .successful, .refunded:
            headline = Self.result("warn", "!", "Payment received, but the booking could not be kept; it is being refunded")
        case .failed, .cancelled:
            headline = Self.result("error", "×", "Payment declined — the booking is still held until its hold expires")
        case .pending:
            headline = Self.result("", "…", "Payment pending")
        }
        let detail = booking.map { booking in
            """
            <dl>
              <dt>Space</dt><dd>\(HTML.escape(booking.spaceName))</dd>
              <dt>When</dt><dd>\(booking.localDate) · \(booking.localStart)–\(booking.localEnd)</dd>
              <dt>Amount</dt><dd>\(HTML.escape(payment.amount.display))</dd>
              <dt>Reference</dt><dd><code>\(HTML.escape(payment.reference))</code></dd>
            </dl>
            """
        } ?? ""
        let links = "<p class=\"actions\"><a href=\"/\">Back to the dashboard</a>"
            + (booking.map { " <a href=\"/kiosk/\(HTML.escape($0.spaceID))\">Room panel</a>" } ?? "") + "</p>"
        return HTML.page(title: "Payment", body: headline + detail + links, brand: settings.siteName, sandbox: payment.gateway == "sandbox")
    }

    /// The result banner; `id="result"` and its class (`ok`, `warn`, `error`) are what tests read.
    private static func result(_ tone: String, _ icon: String, _ text: String) -> String {
        "<div class=\"result \(tone)\"><span class=\"icon\" aria-hidden=\"true\">\(icon)</span><h2 id=\"result\" class=\"\(tone)\">\(text)</h2></div>"
    }
}

@available(*, unavailable) extension SandboxCheckout: Sendable {}

/// Small HTML helpers for the pages the hub serves itself.
enum HTML {
    /// Escapes the five characters that matter in element content and quoted attribute values.
    static func escape(_ text: String) -> String {
        guard text.contains(where: { "&<>\"'".contains($0) }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
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

    /// A page in the hub's own style (`/assets/checkout.css`, served by `WebRoutes`): no inline
    /// style or script, so the policy can forbid both.
    /// `sandbox` marks pages of the sandbox gateway as such (the callback page serves Paystack too).
    static func page(title: String, body: String, status: Int = 200, brand: String = "SpaceHub", sandbox: Bool = false) -> HTTPResponse {
        let badge = sandbox ? "<span class=\"sandbox\">Sandbox</span>" : ""
        let footer = sandbox ? "<footer class=\"sheet-foot\">Payments in this hub run through its sandbox gateway · no money moves</footer>" : ""
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <link rel="icon" href="/favicon.svg" type="image/svg+xml">
            <link rel="stylesheet" href="/assets/checkout.css">
            </head>
            <body><main class="sheet">
            <header class="sheet-head"><span class="logo" aria-hidden="true"></span><span>\(escape(brand))</span>\(badge)</header>
            <div class="sheet-body">
            \(body)
            </div>
            \(footer)
            </main></body></html>
            """
        var response = HTTPResponse(status: status, body: Array(html.utf8))
        response.headers.set("content-type", "text/html; charset=utf-8")
        response.headers.set("cache-control", "no-store")
        response.headers.set("content-security-policy",
                             "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
        response.headers.set("x-content-type-options", "nosniff")
        response.headers.set("referrer-policy", "no-referrer")
        return response
    }
}
