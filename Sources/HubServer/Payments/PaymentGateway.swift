import HubCore
import HubHTTP
import HubWire

/// What a payment provider does for us. Every call blocks (it may go over the network) and runs
/// on libuv's threadpool, never on the loop; results come back to the loop.
protocol PaymentGateway: Sendable {
    var name: String { get }
    func initialize(_ request: ChargeRequest) -> Result<ChargeStarted, GatewayError>
    func verify(reference: String) -> Result<ChargeOutcome, GatewayError>
    /// Refunds `amount` of the charge `reference`, of which the hub has recorded `alreadyRefunded`
    /// as refunded (what lets a gateway tell a refund it already made from a new one).
    func refund(reference: String, amount: Money, alreadyRefunded: Money) -> Result<RefundStarted, GatewayError>
}

struct ChargeRequest: Sendable {
    let reference: String
    let amount: Money
    let email: String
    let callbackURL: String
    let bookingID: String
    let paymentID: String
    let method: String
    /// Where the member reached the hub (`Request.publicBase`): the sandbox's checkout page lives there.
    let publicBase: String
}

struct ChargeStarted: Sendable {
    let authorizationURL: String
    let accessCode: String
}

/// What the gateway says about a charge.
struct ChargeOutcome: Sendable {
    typealias Status = ChargeStatus

    let status: Status
    /// Amount and currency as the gateway reports them; checked against ours before we give value.
    let amount: Money?
    let gatewayID: String?
    /// The gateway's answer as JSON text, kept with the payment.
    let raw: String
}

struct RefundStarted: Sendable {
    /// `processed` when the money moved at once (sandbox); `pending` when the gateway confirms later.
    let status: String
    let gatewayReference: String?
}

enum GatewayError: Error, Sendable, CustomStringConvertible {
    /// The gateway answered and said no (bad key, duplicate reference, unknown transaction).
    case rejected(String)
    /// The gateway could not be reached or kept failing (timeouts, 5xx) after retries.
    case unavailable(String)

    var description: String {
        switch self {
        case .rejected(let message): "gateway refused: \(message)"
        case .unavailable(let message): "gateway unavailable: \(message)"
        }
    }

    var apiError: APIError {
        switch self {
        case .rejected(let message): APIError(502, "gateway_rejected", "the payment gateway refused: \(message)")
        case .unavailable(let message): APIError(503, "gateway_unavailable", "the payment gateway is unavailable (\(message)); nothing was charged, retry")
        }
    }
}
