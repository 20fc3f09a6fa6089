import HubCore
import HubCrypto
import HubHTTP
import HubLoop
import HubStore
import HubWire
import Logging

/// Takes payments for bookings and settles them. Money moves here, so correctness beats speed:
///
/// - every operation on a booking's payments runs inside the booking's serial slot, so a
///   webhook, a verify call and a cancel never decide against each other's stale state;
/// - a successful charge commits in ONE transaction: payment `successful`, booking `confirmed`
///   and `paid`, the emails in the outbox, the events; subscribers hear of it only after;
/// - the amount and currency the gateway reports must equal ours, or nothing is confirmed and
///   the payment is flagged for admins;
/// - a charge that succeeds for a booking that can no longer be honoured (slot taken after the
///   hold lapsed, booking cancelled, booking already paid) is refunded automatically, and so is
///   one whose amount is no longer the booking's price (a reschedule changed it while the payment
///   was open: the reschedule cancels that payment, and money that still arrives goes back);
/// - a booking's `paymentStatus` is derived from all its payments (`PaymentState.of`), never
///   assigned: it follows the money actually held.
final class PaymentService: BookingObserver {
    let loop: Loop
    let storage: Storage
    let bookings: BookingService
    /// Every configured gateway by name; a payment is always verified and refunded through the
    /// gateway that took it, while new payments use the one the settings name.
    let gateways: [String: any PaymentGateway]
    let settings: LiveSettings
    let config: Config.Payments
    let logger: Logger
    /// The bookings service's clock: one time for a booking and its payments.
    var clock: any Clock { bookings.clock }
    /// Gateway calls by outcome and latency (`/metrics`); failures and flags go to `errors`
    /// (Sentry) when set. PaymentService+Observability.swift.
    let gatewayCalls = GatewayCalls()
    var errors: ErrorReporter?

    /// Refunds owed are looked for only on the leader (`Leadership`).
    let leadership: Leadership

    init(loop: Loop, storage: Storage, bookings: BookingService, gateways: [any PaymentGateway], settings: LiveSettings,
         config: Config.Payments, leadership: Leadership, logger: Logger) {
        self.loop = loop
        self.leadership = leadership
        self.storage = storage
        self.bookings = bookings
        self.gateways = Dictionary(uniqueKeysWithValues: gateways.map { ($0.name, $0) })
        self.settings = settings
        self.config = config
        self.logger = logger
    }

    /// The gateway new payments go through.
    var currentGateway: any PaymentGateway {
        gateways[settings.paymentGateway] ?? gateways["sandbox"] ?? gateways.values.first!  // at least one is configured
    }

    func gateway(of payment: Payment) -> (any PaymentGateway)? { gateways[payment.gateway] }

    var retries: Int { config.retries }

    /// How `flagged` notes about a refund the hub owes start; recording a refund clears them.
    static let automaticRefundFlag = "automatic refund"
    /// The note while an automatic refund is under way, before its reason.
    static let automaticRefundPendingNote = "\(automaticRefundFlag) pending: "
    /// The `flagged` note of a payment whose refund the gateway gave up on; recording a new refund
    /// clears it too.
    static let refundFailedFlag = "refund failed at the gateway"

    /// Runs `body` inside the serial slot of the payment's booking, with the payment read again
    /// there: an earlier operation on the booking may have committed meanwhile. `finish` releases
    /// the slot, then completes.
    func inPaymentSlot<R>(_ lookup: @escaping @Sendable (Database) throws -> Payment?, completion: @escaping (Result<R, APIError>) -> Void,
                          _ body: @escaping (Payment, @escaping (Result<R, APIError>) -> Void) -> Void) {
        storage.find("payment", lookup) { [self] read in
            let found: Payment
            switch read {
            case .success(let payment): found = payment
            case .failure(let error): return completion(.failure(error))
            }
            bookings.serial.run(found.bookingID) { [self] done in
                let finish: (Result<R, APIError>) -> Void = { result in
                    done()
                    completion(result)
                }
                storage.find("payment", lookup) { again in
                    switch again {
                    case .success(let payment): body(payment, finish)
                    case .failure(let error): finish(.failure(error))
                    }
                }
            }
        }
    }

    // MARK: Initialize

    /// Opens (or returns the open) payment for a pending booking whose hold is still valid.
    /// `publicBase` is where the member reached the hub: the gateway sends them back there.
    func initialize(bookingID: String, principal: Principal, amount: Money, method: String, publicBase: String,
                    completion: @escaping (Result<Payment, APIError>) -> Void) {
        bookings.serial.run(bookingID) { [self] done in
            let finish: (Result<Payment, APIError>) -> Void = { result in
                done()
                completion(result)
            }
            bookings.find(bookingID, where: { $0.userID == principal.id }) { [self] found in
                switch found {
                case .success(let booking):
                    openPayment(for: booking, principal: principal, amount: amount, method: method, publicBase: publicBase, completion: finish)
                case .failure(let error): finish(.failure(error))
                }
            }
        }
    }

    /// `initialize` inside the booking's serial turn, with the booking read.
    private func openPayment(for booking: Booking, principal: Principal, amount: Money, method: String, publicBase: String,
                             completion finish: @escaping (Result<Payment, APIError>) -> Void) {
        let bookingID = booking.id
        let now = clock.seconds
        guard booking.status == .pending, booking.paymentState != .paid else {
            finish(.failure(.conflict("booking_not_payable", "only a pending, unpaid booking can be paid (this one is \(booking.status.rawValue))")))
            return
        }
        guard let expiry = booking.holdExpiresAt, expiry > now else {
            finish(.failure(.conflict("hold_expired", "the hold on this booking has expired; book again")))
            return
        }
        guard amount == booking.amount else {
            finish(.failure(APIError(422, "amount_mismatch", "amount must be \(booking.amount.majorText) \(booking.amount.currency.code), the booking's price",
                                     details: ["field": "amount", "expected": .number(booking.amount.majorText)])))
            return
        }
        storage.read({ db in (try PaymentTable.open(bookingID: bookingID, db), try UserTable.find(principal.id, db)) }) { [self] read in
            guard case .success(let (open, user)) = read else { return finish(.failure(Storage.unavailable)) }
            if let open, open.amount == booking.amount {
                finish(.success(open))  // one open payment per booking: a repeat returns it
                return
            }
            guard let user else { return finish(.failure(.unauthorized("unknown_subject"))) }
            // An open payment for another amount was opened before the booking's price changed
            // (a reschedule cancels it; this is the same rule, checked again): it is cancelled in
            // the transaction that records the new one, so it can never settle the booking.
            charge(booking, email: user.email, superseding: open != nil, method: method, publicBase: publicBase, completion: finish)
        }
    }

    /// `initialize`'s gateway call and the payment row it opens.
    private func charge(_ booking: Booking, email: String, superseding stale: Bool, method: String, publicBase: String,
                        completion finish: @escaping (Result<Payment, APIError>) -> Void) {
        let bookingID = booking.id
        let now = clock.seconds
        let paymentID = SecureRandom.uuidV7(nowMs: now * 1000)
        // Paystack references: alphanumerics and "-", unique.
        let reference = "SH-" + Hex.encode(SecureRandom.bytes(count: 10)).uppercased()
        let request = ChargeRequest(reference: reference, amount: booking.amount, email: email,
                                    callbackURL: "\(publicBase)/pay/callback?reference=\(reference)",
                                    bookingID: booking.id, paymentID: paymentID, method: method, publicBase: publicBase)
        let gateway = currentGateway
        let sentNs = Loop.hrtimeNs()
        WorkQueue.submit(on: loop, work: { gateway.initialize(request) }) { [self] started in
            observeGateway(gateway.name, "initialize", sentNs: sentNs, started)
            switch started {
            case .failure(let error):
                logger.warning("payment initialize failed", metadata: ["booking": .string(bookingID), "error": .string("\(error)")])
                finish(.failure(error.apiError))
            case .success(let charge):
                let payment = Payment(
                    id: paymentID, bookingID: booking.id, userID: booking.userID, amount: booking.amount, method: method,
                    gateway: gateway.name, reference: reference, accessCode: charge.accessCode,
                    authorizationURL: charge.authorizationURL, createdAt: now, updatedAt: now)
                storage.write({ db in
                    if stale { try PaymentTable.supersedeOpen(bookingID: booking.id, at: now, db) }
                    try PaymentTable.insert(payment, db)
                    try db.execute("UPDATE bookings SET payment_reference = ? WHERE id = ?", [.text(reference), .text(booking.id)])
                }) { [self] result in
                    switch result {
                    case .success:
                        bookings.recordPaymentReference(reference, of: booking.id)
                        finish(.success(payment))
                    case .failure: finish(.failure(.unavailable("store_unavailable", "could not record the payment; retry")))
                    }
                }
            }
        }
    }
}

@available(*, unavailable) extension PaymentService: Sendable {}

/// A webhook delivery to record with the settlement it causes, so a redelivery finds it.
struct WebhookReceipt: Sendable {
    let gateway: String
    let event: String
    let key: String
    let payload: String

    func insert(_ db: Database) throws {
        _ = try PaymentTable.recordWebhook(gateway: gateway, event: event, key: key, payload: payload, at: WallClock.seconds(), db)
    }
}
