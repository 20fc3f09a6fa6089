import HubCore
import HubCrypto
import HubWire
import Synchronization

/// The built-in gateway, so the demo takes payments on a fresh machine. `initialize` points at
/// a checkout page the hub serves (`/pay/sandbox/:reference`), whose Pay and Decline buttons
/// complete or fail the charge exactly as a gateway callback would. Charges live in memory:
/// after a restart an unfinished sandbox charge verifies as `abandoned` (still open) until the
/// member presses Pay or Decline on its page.
final class SandboxGateway: PaymentGateway {
    let name = "sandbox"

    private struct Charge {
        var amount: Money
        var status: ChargeOutcome.Status
    }

    private let charges = Mutex<[String: Charge]>([:])
    /// Charges remembered at most; the oldest are forgotten first (a demo gateway).
    static let chargesMax = 100_000

    func initialize(_ request: ChargeRequest) -> Result<ChargeStarted, GatewayError> {
        charges.withLock { charges in
            if charges.count >= Self.chargesMax { charges.removeAll() }
            charges[request.reference] = Charge(amount: request.amount, status: .pending)
        }
        return .success(ChargeStarted(authorizationURL: "\(request.publicBase)/pay/sandbox/\(request.reference)",
                                      accessCode: SecureRandom.token(byteCount: 16)))
    }

    func verify(reference: String) -> Result<ChargeOutcome, GatewayError> {
        guard let charge = charges.withLock({ $0[reference] }) else {
            return .success(ChargeOutcome(status: .abandoned, amount: nil, gatewayID: nil, raw: #"{"status":"abandoned"}"#))
        }
        let raw: JSON = ["status": .string(charge.status.rawValue), "reference": .string(reference),
                         "amount": .int64(charge.amount.minorUnits), "currency": .string(charge.amount.currency.code)]
        return .success(ChargeOutcome(status: charge.status, amount: charge.amount, gatewayID: reference, raw: raw.text))
    }

    func refund(reference: String, amount: Money, alreadyRefunded: Money) -> Result<RefundStarted, GatewayError> {
        .success(RefundStarted(status: "processed", gatewayReference: "sandbox-refund-" + SecureRandom.token(byteCount: 16)))
    }

    /// The checkout page's buttons: records the member's choice for the charge of `amount`.
    /// A charge this process has not seen (the hub restarted since `initialize`) is taken up again
    /// from the payment row the caller found: the sandbox is the hub itself, so that row is the truth.
    func complete(reference: String, amount: Money, paid: Bool) {
        charges.withLock { charges in
            if charges[reference] == nil && charges.count >= Self.chargesMax { charges.removeAll() }
            charges[reference] = Charge(amount: charges[reference]?.amount ?? amount, status: paid ? .success : .failed)
        }
    }

    func amount(reference: String) -> Money? {
        charges.withLock { $0[reference]?.amount }
    }
}
