import Foundation
import HubCore
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
        let sent = call(.json("POST", baseURL + "/transaction/initialize", body, headers: authorization, timeoutSeconds: timeoutSeconds))
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

    func refund(reference: String, amount: Money) -> Result<RefundStarted, GatewayError> {
        let body: JSON = ["transaction": .string(reference), "amount": .int64(amount.minorUnits), "currency": .string(amount.currency.code)]
        return call(.json("POST", baseURL + "/refund", body, headers: authorization, timeoutSeconds: timeoutSeconds)).map { data in
            // "Refund has been queued for processing": confirmed later by refund.processed.
            let id = data["id"].map { $0.numberLiteral ?? $0.stringValue ?? "" }
            return RefundStarted(status: "pending", gatewayReference: id)
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

    /// Sends with retries; returns `data` of a `{"status": true, …}` answer.
    private func call(_ request: OutboundRequest) -> Result<JSON, GatewayError> {
        switch OutboundHTTP.send(request, retries: retries) {
        case .failure(let error):
            return .failure(.unavailable(error.description))
        case .success(let response):
            if response.status >= 500 { return .failure(.unavailable("HTTP \(response.status)")) }
            guard let json = response.json else { return .failure(.unavailable("answer is not JSON (HTTP \(response.status))")) }
            guard response.isSuccess, json["status"]?.boolValue == true else {
                return .failure(.rejected(json["message"]?.stringValue ?? "HTTP \(response.status)"))
            }
            return .success(json["data"] ?? .null)
        }
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
