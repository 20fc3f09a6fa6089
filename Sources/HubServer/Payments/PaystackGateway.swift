import Foundation
import HubCore
import HubHTTP
import HubWire

/// Paystack's API (docs/PAYSTACK.md): amounts in kobo, Bearer secret key,
/// `POST /transaction/initialize`, `GET /transaction/verify/:reference`, `POST /refund`.
/// The base URL comes from config so tests point it at a fake Paystack on 127.0.0.1.
struct PaystackGateway: PaymentGateway {
    let name = "paystack"
    let baseURL: String
    let secretKey: String
    let timeoutSeconds: Int
    let retries: Int

    private var authorization: [(String, String)] { [("Authorization", "Bearer \(secretKey)")] }

    func initialize(_ request: ChargeRequest) -> Result<ChargeStarted, GatewayError> {
        let body: JSON = [
            "email": .string(request.email),
            "amount": .int64(request.amount.minorUnits),
            "currency": .string(request.amount.currency.code),
            "reference": .string(request.reference),
            "callback_url": .string(request.callbackURL),
            "metadata": ["bookingId": .string(request.bookingID), "paymentId": .string(request.paymentID)],
        ]
        // A retried initialize reuses the reference; Paystack refuses a duplicate reference, so
        // a retry after a lost answer cannot open a second charge. The reference is new for each
        // payment, so a duplicate means an earlier attempt of this call reached Paystack and its
        // answer (with the checkout link) was lost: a failure to retry, not a refusal. The
        // member's next attempt starts a new charge; the lost one is never paid (abandoned).
        let sent = call(.json("POST", baseURL + "/transaction/initialize", body, headers: authorization, timeoutSeconds: timeoutSeconds,
                              isIdempotent: true))
        if case .failure(.rejected(let message)) = sent, message.lowercased().contains("duplicate transaction reference") {
            return .failure(.unavailable("the answer to an earlier attempt was lost"))
        }
        return sent
            .flatMap { data in
                guard let url = data["authorization_url"]?.stringValue, let code = data["access_code"]?.stringValue else {
                    return .failure(.rejected("initialize answer without authorization_url"))
                }
                return .success(ChargeStarted(authorizationURL: url, accessCode: code))
            }
    }

    func verify(reference: String) -> Result<ChargeOutcome, GatewayError> {
        guard let escaped = reference.addingPercentEncodingForPath else { return .failure(.rejected("bad reference")) }
        return call(.json("GET", baseURL + "/transaction/verify/" + escaped, nil, headers: authorization, timeoutSeconds: timeoutSeconds))
            .map { data in Self.outcome(data) }
    }

    /// Refunds `amount` of the charge `reference`, of which the hub has recorded `alreadyRefunded`.
    ///
    /// `POST /refund` has no idempotency key: sent twice, it refunds twice. So it is never sent
    /// again once its bytes may have reached Paystack, and Paystack's own list of the charge's
    /// refunds (`GET /refund?reference=`) is the truth about what happened:
    /// - before sending: refunds Paystack made beyond what the hub recorded are this refund (a hub
    ///   that stopped while its request was in flight resumes it at start), recorded, not re-sent;
    /// - after a 5xx answer (Paystack finished with the request): if the list shows it, it was
    ///   made; if not, it was not, and it may be sent again, `retries` times at most;
    /// - after no answer (a timeout, a broken connection: the request may still be in flight):
    ///   if the list shows it, it was made; if not, it is NOT sent again. The outcome is unknown
    ///   for now; the caller flags the payment, and the next attempt (an admin's, or the resumed
    ///   refund at the next start) begins with the list again.
    func refund(reference: String, amount: Money, alreadyRefunded: Money) -> Result<RefundStarted, GatewayError> {
        switch madeBeyond(alreadyRefunded, amount, reference: reference) {
        case .failure(let error): return .failure(error)
        case .success(let made?): return .success(made)
        case .success(nil): break
        }
        let body: JSON = ["transaction": .string(reference), "amount": .int64(amount.minorUnits), "currency": .string(amount.currency.code)]
        let request = OutboundRequest.json("POST", baseURL + "/refund", body, headers: authorization, timeoutSeconds: timeoutSeconds)
        var attempt = 0
        while true {
            // Not idempotent: OutboundHTTP retries it only while it certainly was not sent.
            switch OutboundHTTP.hub.send(request, retries: retries) {
            case .success(let response) where response.status < 500:
                return Self.answer(response).map { data in
                    // "Refund has been queued for processing": confirmed later by refund.processed.
                    RefundStarted(status: "pending", gatewayReference: data["id"].flatMap { $0.numberLiteral ?? $0.stringValue })
                }
            case .success(let response):
                switch madeBeyond(alreadyRefunded, amount, reference: reference) {
                case .success(let made?): return .success(made)
                case .success(nil) where attempt < retries:
                    usleep(UInt32(200_000 << min(attempt, 5)))
                    attempt += 1
                case .success(nil): return .failure(.unavailable("HTTP \(response.status); no refund was made"))
                case .failure: return .failure(Self.outcomeUnknown("HTTP \(response.status)"))
                }
            case .failure(let error) where !error.mayHaveReachedServer:
                return .failure(.unavailable(error.description))
            case .failure(let error):
                if case .success(let made?) = madeBeyond(alreadyRefunded, amount, reference: reference) { return .success(made) }
                return .failure(Self.outcomeUnknown(error.description))
            }
        }
    }

    private static func outcomeUnknown(_ reason: String) -> GatewayError {
        .unavailable("the refund's outcome is unknown (\(reason)) and Paystack does not list it yet; it was not sent again")
    }

    /// A refund of at least `amount` that Paystack made for the charge beyond the `recorded`
    /// total: Paystack's refunds of the charge that did not fail, summed, minus what the hub has
    /// recorded. Nil when there is none; a failure when Paystack cannot be asked.
    private func madeBeyond(_ recorded: Money, _ amount: Money, reference: String) -> Result<RefundStarted?, GatewayError> {
        guard let escaped = reference.addingPercentEncodingForPath else { return .failure(.rejected("bad reference")) }
        let url = baseURL + "/refund?reference=" + escaped + "&perPage=100"
        return call(.json("GET", url, nil, headers: authorization, timeoutSeconds: timeoutSeconds)).map { data in
            let refunds = (data.arrayValue ?? []).filter { $0["status"]?.stringValue != "failed" }
            let total = refunds.reduce(Int64(0)) { sum, refund in
                sum + (refund["amount"].flatMap { $0.numberLiteral ?? $0.stringValue }.flatMap { Int64($0) } ?? 0)
            }
            guard total - recorded.minorUnits >= amount.minorUnits, let newest = refunds.last else { return nil }
            let status = newest["status"]?.stringValue == "processed" ? "processed" : "pending"
            return RefundStarted(status: status, gatewayReference: newest["id"].flatMap { $0.numberLiteral ?? $0.stringValue })
        }
    }

    /// A `charge.success` webhook's or a verify answer's `data` object.
    static func outcome(_ data: JSON) -> ChargeOutcome {
        let status = ChargeOutcome.Status(rawValue: data["status"]?.stringValue ?? "") ?? .pending
        var amount: Money?
        if let kobo = data["amount"]?.numberLiteral.flatMap({ Int64($0) }) ?? data["amount"]?.stringValue.flatMap({ Int64($0) }),
           let currency = Currency(code: data["currency"]?.stringValue ?? "") {
            amount = Money(minorUnits: kobo, currency: currency)
        }
        let id = data["id"].flatMap { $0.numberLiteral ?? $0.stringValue }
        return ChargeOutcome(status: status, amount: amount, gatewayID: id, raw: data.text)
    }

    /// Sends an idempotent request with retries; returns `data` of a `{"status": true, …}` answer.
    private func call(_ request: OutboundRequest) -> Result<JSON, GatewayError> {
        precondition(request.isIdempotent, "a request that must not be repeated is sent by its caller")
        switch OutboundHTTP.hub.send(request, retries: retries) {
        case .failure(let error): return .failure(.unavailable(error.description))
        case .success(let response): return Self.answer(response)
        }
    }

    /// `data` of a `{"status": true, …}` answer; Paystack's `message` when it says no.
    private static func answer(_ response: OutboundResponse) -> Result<JSON, GatewayError> {
        if response.status >= 500 { return .failure(.unavailable("HTTP \(response.status)")) }
        guard let json = response.json else { return .failure(.unavailable("answer is not JSON (HTTP \(response.status))")) }
        guard response.isSuccess, json["status"]?.boolValue == true else {
            return .failure(.rejected(json["message"]?.stringValue ?? "HTTP \(response.status)"))
        }
        return .success(json["data"] ?? .null)
    }
}

extension String {
    /// Percent-encodes for one path segment (references are alphanumerics, `-`, `.`, `=`).
    fileprivate var addingPercentEncodingForPath: String? {
        var out = ""
        for byte in utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: out.append(Character(Unicode.Scalar(byte)))
            default: out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
