import HubCore
import HubCrypto
import HubHTTP
import HubStore
import HubWire

/// The seed's payment endpoints, the Paystack webhook, and the admin payment desk.
final class PaymentRoutes {
    let payments: PaymentService
    let storage: Storage
    /// Paystack's secret key, which signs its webhooks (empty: webhooks are refused).
    let paystackSecretKey: String
    /// Base of the payment's return page.
    let links: PublicLinks

    init(payments: PaymentService, storage: Storage, paystackSecretKey: String, links: PublicLinks) {
        self.payments = payments
        self.storage = storage
        self.paystackSecretKey = paystackSecretKey
        self.links = links
    }

    func register(_ router: Router) {
        router.post("/api/payments/initialize", access: .member) { [self] request, responder throws(APIError) in try initialize(request, responder) }
        router.post("/api/payments/verify", access: .authenticated) { [self] request, responder throws(APIError) in try verify(request, responder) }
        router.post("/api/payments/webhook/paystack", limited: false) { [self] request, responder throws(APIError) in try webhook(request, responder) }
        router.get("/api/payments/:id", access: .authenticated) { [self] request, responder throws(APIError) in try show(request, responder) }
        router.post("/api/payments/:id/refund", access: .admin) { [self] request, responder throws(APIError) in try refund(request, responder) }
        router.get("/api/admin/payments", access: .admin) { [self] request, responder throws(APIError) in try list(request, responder) }
        router.put("/api/admin/payments/:id/verify", access: .admin) { [self] request, responder throws(APIError) in try adminVerify(request, responder) }
        router.post("/api/admin/payments/:id/refund", access: .admin) { [self] request, responder throws(APIError) in try refund(request, responder) }
    }

    private static func answer(_ responder: Responder) -> (Result<Payment, APIError>) -> Void {
        { result in
            switch result {
            case .success(let payment): responder.json(PaymentViews.payment(payment))
            case .failure(let error): responder.fail(error)
            }
        }
    }

    // MARK: Members

    /// {bookingId, amount, currency, paymentMethod} → {paymentId, reference, authorizationUrl, accessCode}.
    private func initialize(_ request: Request, _ responder: Responder) throws(APIError) {
        let body = try request.jsonObject()
        let bookingID = try Fields.string(body, "bookingId", maxBytes: 64)
        let currencyCode = try Fields.optionalString(body, "currency", maxBytes: 8) ?? "NGN"
        guard let currency = Currency(code: currencyCode) else {
            throw APIError.invalid("currency", "bad_currency", "currency must be one of NGN, GHS, ZAR, USD, KES")
        }
        let amount = try Self.money(body, "amount", currency: currency)
        let method = (try Fields.optionalString(body, "paymentMethod", maxBytes: 32) ?? "card").lowercased()  // as currency: any case
        guard ["card", "bank", "bank_transfer", "ussd", "qr", "mobile_money", "eft"].contains(method) else {
            throw APIError.invalid("paymentMethod", "bad_payment_method", "paymentMethod must be card, bank, bank_transfer, ussd, qr, mobile_money or eft")
        }
        let base = links.base(for: request)
        payments.initialize(bookingID: bookingID, principal: request.requirePrincipal, amount: amount, method: method,
                            publicBase: base) { result in
            switch result {
            case .success(let payment):
                responder.json([
                    "paymentId": .string(payment.id), "reference": .string(payment.reference),
                    "authorizationUrl": .optional(payment.authorizationURL), "accessCode": .optional(payment.accessCode),
                    "amount": .number(payment.amount.majorText), "currency": .string(payment.amount.currency.code),
                    "status": .string(payment.status.rawValue),
                ])
            case .failure(let error):
                responder.fail(error)
            }
        }
    }

    private func verify(_ request: Request, _ responder: Responder) throws(APIError) {
        let reference = try Fields.string(try request.jsonObject(), "reference", maxBytes: 100)
        let principal = request.requirePrincipal
        storage.read(for: responder, { try PaymentTable.find(reference: reference, $0) }) { [payments] payment throws(APIError) in
            guard let payment, principal.isAdmin || payment.userID == principal.id else { throw APIError.notFound("payment") }
            payments.verify(reference: reference, completion: Self.answer(responder))
        }
    }

    private func show(_ request: Request, _ responder: Responder) throws(APIError) {
        let principal = request.requirePrincipal
        let id = request.parameter("id")
        storage.read(for: responder, { db in
            try PaymentTable.find(id, db).map { ($0, try PaymentTable.refunds(paymentID: $0.id, db)) }
        }) { found throws(APIError) in
            guard let (payment, refunds) = found, principal.isAdmin || payment.userID == principal.id else {
                throw APIError.notFound("payment")
            }
            var view = PaymentViews.payment(payment).objectValue ?? [:]
            view["refunds"] = .array(refunds.map { PaymentViews.refund($0, currency: payment.amount.currency) })
            responder.json(.object(view))
        }
    }

    // MARK: Webhook

    /// Paystack's webhook: `x-paystack-signature` is the hex HMAC-SHA512 of the raw body under the
    /// secret key. A bad signature changes nothing (401). Redeliveries are recognised by
    /// (event, transaction id or reference) and answered 200 without acting twice.
    private func webhook(_ request: Request, _ responder: Responder) throws(APIError) {
        // Accepted whenever a Paystack key is configured, whichever gateway takes new payments:
        // `paymentGateway` is a live setting, and payments already at Paystack still settle here.
        guard !paystackSecretKey.isEmpty else {
            throw APIError.notFound("webhook")
        }
        let expected = HMAC.sha512(key: Array(paystackSecretKey.utf8), message: request.body)
        guard let header = request.header("x-paystack-signature"), let presented = Hex.decode(header),
              constantTimeEquals(presented, expected)
        else { throw APIError.unauthorized("invalid_signature", "the webhook signature does not match") }
        guard case .object(let body) = (try? JSONParser.parse(request.body)) ?? .null, let event = body["event"]?.stringValue else {
            throw APIError.badRequest("invalid_json", "webhook body is not a Paystack event")
        }
        let data = body["data"] ?? .null
        let reference = data["reference"]?.stringValue ?? data["transaction_reference"]?.stringValue
            ?? data["transaction"]?["reference"]?.stringValue
        // Minor units; Paystack sends refund amounts as strings ("5000") as well as numbers.
        let amount = data["amount"]?.numberLiteral.flatMap { Int64($0) } ?? data["amount"]?.stringValue.flatMap { Int64($0) }
        // A redelivery has the same key. Refund events carry no id of their own: two partial refunds
        // of one charge differ by the processor's refund reference and the amount.
        var keyParts = [data["id"]?.numberLiteral ?? data["id"]?.stringValue, reference]
        if event.hasPrefix("refund.") { keyParts += [data["refund_reference"]?.stringValue, amount.map { String($0) }] }
        let key = keyParts.compactMap { $0 }.joined(separator: ":")
        let receipt = WebhookReceipt(gateway: "paystack", event: event, key: key.isEmpty ? Hex.encode(SHA256.hash(request.body)) : key,
                                     payload: String(decoding: request.body, as: UTF8.self))
        // A store that cannot answer is a 503: Paystack delivers the event again later.
        storage.read(for: responder, { try PaymentTable.webhookSeen(gateway: "paystack", event: event, key: receipt.key, $0) }) {
            [self] seen throws(APIError) in
            if seen {
                responder.json(["received": true, "duplicate": true])
                return
            }
            try act(on: event, data: data, reference: reference, amount: amount, receipt: receipt, responder)
        }
    }

    /// A webhook event not seen before: settles, refunds or flags what it says, then acknowledges.
    private func act(on event: String, data: JSON, reference: String?, amount: Int64?, receipt: WebhookReceipt,
                     _ responder: Responder) throws(APIError) {
        let acknowledge: (Bool) -> Void = { duplicate in responder.json(["received": true, "duplicate": .bool(duplicate)]) }
        switch event {
        case "charge.success":
            guard let reference else { throw APIError.badRequest("bad_event", "charge.success without a reference") }
            payments.settle(reference: reference, outcome: PaystackGateway.outcome(data), source: "webhook",
                            extraWork: { db in try receipt.insert(db) }) { result in
                switch result {
                case .success: acknowledge(false)
                case .failure(let error) where error.status == 404: acknowledge(false)  // not ours: recorded nothing to act on
                case .failure(let error): responder.fail(error)  // Paystack retries a non-2xx delivery
                }
            }
        case "refund.processed", "refund.failed":
            guard let reference else { throw APIError.badRequest("bad_event", "\(event) without a transaction reference") }
            payments.refundSettled(reference: reference, amount: amount, processed: event == "refund.processed",
                                   receipt: receipt) { result in
                switch result {
                case .success: acknowledge(false)
                case .failure(let error) where error.status == 404: acknowledge(false)
                case .failure(let error): responder.fail(error)
                }
            }
        case "charge.dispute.create":
            // A chargeback: the money may be taken back. An admin must answer Paystack; the
            // payment is flagged for the desk (payment_flagged), nothing is undone by itself.
            guard let reference else { throw APIError.badRequest("bad_event", "\(event) without a transaction reference") }
            let why = (data["reason"]?.stringValue ?? data["category"]?.stringValue ?? "no reason given").filter { $0 != "\0" }
            payments.disputeOpened(reference: reference, reason: why, receipt: receipt) { result in
                switch result {
                case .success: acknowledge(false)
                case .failure(let error) where error.status == 404: acknowledge(false)
                case .failure(let error): responder.fail(error)
                }
            }
        default:
            // refund.pending and everything else: recorded, nothing to act on.
            storage.write({ db in try receipt.insert(db) }) { result in
                switch result {
                case .success: acknowledge(false)
                case .failure: responder.fail(.unavailable("store_unavailable", "retry the delivery"))
                }
            }
        }
    }

    // MARK: Admin desk

    private func list(_ request: Request, _ responder: Responder) throws(APIError) {
        let (page, limit) = try BookingRoutes.pagination(request, defaultLimit: 20)
        var status: String?
        if let text = request.query["status"], !text.isEmpty {
            guard PaymentStatus(rawValue: text) != nil else {
                throw APIError.invalid("status", "bad_status", "status must be one of \(PaymentStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            status = text
        }
        storage.read(for: responder, { [status] in try PaymentTable.list(status: status, limit: limit, offset: (page - 1) * limit, $0) }) { result in
            responder.json(["payments": .array(result.payments.map(PaymentViews.payment)), "total": .int(result.total),
                            "page": .int(page), "limit": .int(limit)])
        }
    }

    /// A bank transfer checked by hand: the admin confirms the money arrived.
    private func adminVerify(_ request: Request, _ responder: Responder) throws(APIError) {
        let id = request.parameter("id")
        storage.read(for: responder, { try PaymentTable.find(id, $0) }) { [self] payment throws(APIError) in
            guard let payment else { throw APIError.notFound("payment") }
            try adminVerify(payment, request, responder)
        }
    }

    private func adminVerify(_ payment: Payment, _ request: Request, _ responder: Responder) throws(APIError) {
        guard payment.status == .pending else {
            throw APIError.conflict("payment_settled", "the payment is already \(payment.status.rawValue)")
        }
        let admin = request.requirePrincipal.id
        var after = PaymentViews.payment(payment).objectValue ?? [:]
        after["status"] = "successful"
        after["verifiedBy"] = .string(admin)
        let audit = Audit.entry(request, at: payments.clock.seconds, action: "verify", resource: "payment", resourceID: payment.id,
                                old: PaymentViews.payment(payment), new: .object(after))
        let outcome = ChargeOutcome(status: .success, amount: payment.amount, gatewayID: nil,
                                    raw: #"{"status":"success","verifiedBy":"admin"}"#)
        payments.settle(reference: payment.reference, outcome: outcome, source: "admin", verifiedBy: admin,
                        extraWork: { db in try AuditTable.insert(audit, db) }, completion: Self.answer(responder))
    }

    /// {amount?, reason?}: full or partial, never more than paid minus refunded. With
    /// `recordOnly: true` (and a `reason`, and the gateway's `gatewayReference` when there is one)
    /// it records a refund already made outside the hub instead of asking the gateway for one.
    private func refund(_ request: Request, _ responder: Responder) throws(APIError) {
        let id = request.parameter("id")
        storage.read(for: responder, { try PaymentTable.find(id, $0) }) { [self] payment throws(APIError) in
            guard let payment else { throw APIError.notFound("payment") }
            try refund(payment, request, responder)
        }
    }

    private func refund(_ payment: Payment, _ request: Request, _ responder: Responder) throws(APIError) {
        let body = request.body.isEmpty ? JSONObject() : try request.jsonObject()
        let amount = body["amount"] == nil || body["amount"]?.isNull == true ? nil : try Self.money(body, "amount", currency: payment.amount.currency)
        let recordOnly = body["recordOnly"] == nil ? false : try Fields.bool(body, "recordOnly")
        let reason = try recordOnly ? Fields.string(body, "reason", maxBytes: 500)
                                    : Fields.optionalString(body, "reason", maxBytes: 500) ?? "refunded by staff"
        let gatewayReference = try Fields.optionalString(body, "gatewayReference", maxBytes: 200)
        guard recordOnly || gatewayReference == nil else {
            throw APIError.invalid("gatewayReference", "record_only_field", "gatewayReference is for recordOnly refunds; the gateway names its own")
        }
        var new: JSONObject = ["amount": .number((amount ?? payment.refundable).majorText), "reason": .string(reason)]
        if let gatewayReference { new["gatewayReference"] = .string(gatewayReference) }
        let audit = Audit.entry(request, at: payments.clock.seconds, action: recordOnly ? "record_refund" : "refund", resource: "payment", resourceID: payment.id,
                                old: PaymentViews.payment(payment), new: .object(new))
        let work: @Sendable (Database) throws -> Void = { db in try AuditTable.insert(audit, db) }
        if recordOnly {
            payments.recordRefundMadeElsewhere(paymentID: payment.id, amount: amount, gatewayReference: gatewayReference, reason: reason,
                                               requestedBy: request.requirePrincipal.id, work: work, completion: Self.answer(responder))
        } else {
            payments.startRefund(paymentID: payment.id, amount: amount, reason: reason, requestedBy: request.requirePrincipal.id,
                                 work: work, completion: Self.answer(responder))
        }
    }

    /// A major-unit amount (JSON number or numeric string) as exact minor units.
    static func money(_ body: JSONObject, _ field: String, currency: Currency) throws(APIError) -> Money {
        guard let value = body[field], !value.isNull else { throw APIError.invalid(field, "missing_field", "\(field) is required") }
        guard let literal = value.numberLiteral ?? value.stringValue else {
            throw APIError.invalid(field, "wrong_type", "\(field) must be a number in major units")
        }
        switch Money.parse(major: literal, currency: currency) {
        case .success(let money): return money
        case .failure: throw APIError.invalid(field, "bad_amount", "\(field) must be a non-negative amount with at most \(currency.minorDigits) decimals")
        }
    }
}

@available(*, unavailable) extension PaymentRoutes: Sendable {}
