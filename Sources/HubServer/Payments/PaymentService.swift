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

    // MARK: Verify and settle

    /// Asks the gateway about `reference` and settles what it says.
    func verify(reference: String, completion: @escaping (Result<Payment, APIError>) -> Void) {
        storage.find("payment", { try PaymentTable.find(reference: reference, $0) }) { [self] found in
            switch found {
            case .success(let payment): verify(payment, completion: completion)
            case .failure(let error): completion(.failure(error))
            }
        }
    }

    private func verify(_ payment: Payment, completion: @escaping (Result<Payment, APIError>) -> Void) {
        let reference = payment.reference
        // A failed or superseded payment is asked again too: the member may have completed the
        // charge since, and money that arrived is never ignored.
        guard payment.status == .pending || payment.status == .failed || payment.status == .cancelled else {
            completion(.success(payment))
            return
        }
        guard let gateway = gateway(of: payment) else {
            completion(.failure(.unavailable("gateway_not_configured", "the \(payment.gateway) gateway is not configured")))
            return
        }
        let sentNs = Loop.hrtimeNs()
        WorkQueue.submit(on: loop, work: { gateway.verify(reference: reference) }) { [self] outcome in
            observeGateway(gateway.name, "verify", sentNs: sentNs, outcome)
            switch outcome {
            case .failure(let error): completion(.failure(error.apiError))
            case .success(let charge): settle(reference: reference, outcome: charge, source: "verify", completion: completion)
            }
        }
    }

    /// Applies a gateway outcome to the payment and its booking, idempotently: re-read inside the
    /// booking's serial turn (an earlier settlement may have committed meanwhile), then
    /// `Settlement.step` decides what the report means.
    func settle(reference: String, outcome: ChargeOutcome, source: String, verifiedBy: String? = nil,
                extraWork receipt: (@Sendable (Database) throws -> Void)? = nil,
                completion: @escaping (Result<Payment, APIError>) -> Void) {
        inPaymentSlot({ try PaymentTable.find(reference: reference, $0) }, completion: completion) { [self] payment, finish in
            switch Settlement.step(payment, report: outcome.status, reportedAmount: outcome.amount, byAdmin: source == "admin") {
            case .keep: recordReceipt(receipt) { finish(.success(payment)) }
            case .fail: markFailed(payment, outcome: outcome, receipt: receipt, completion: finish)
            case .flag(let reason): flag(payment, outcome: outcome, receipt: receipt, reason: reason, completion: finish)
            case .settle: succeed(payment, outcome: outcome, verifiedBy: verifiedBy, receipt: receipt, completion: finish)
            }
        }
    }

    /// A successful, matching charge. Runs inside the booking's serial turn: `Settlement.verdict`
    /// says whether the booking takes the money or it goes back.
    private func succeed(_ payment: Payment, outcome: ChargeOutcome, verifiedBy: String?, receipt: (@Sendable (Database) throws -> Void)?,
                         completion: @escaping (Result<Payment, APIError>) -> Void) {
        let now = clock.seconds
        let previous = payment.status  // pending; failed when a retried charge succeeded; cancelled when superseded
        var paid = payment
        paid.status = .successful
        paid.applied = true
        // An admin who checked the money by hand answers the question a flag asked.
        if verifiedBy != nil { paid.flagged = nil }
        paid.gatewayResponse = outcome.raw
        paid.verifiedAt = now
        paid.verifiedBy = verifiedBy
        paid.updatedAt = now
        bookings.find(payment.bookingID) { [self] found in
            switch found {
            case .success(let booking): arrived(paid, previous: previous, booking: booking, now: now, receipt: receipt, completion: completion)
            case .failure(let error): completion(.failure(error))
            }
        }
    }

    /// `succeed` with the booking read: the verdict, then applying or refunding the money.
    private func arrived(_ paid: Payment, previous: PaymentStatus, booking: Booking, now: Int64,
                         receipt: (@Sendable (Database) throws -> Void)?, completion: @escaping (Result<Payment, APIError>) -> Void) {
        let verdict = Settlement.verdict(paid, previousStatus: previous, booking: booking, now: now) {
            if case .reserved = bookings.index.reserve(booking.id, on: booking.spaceID, during: booking.range) { return true }
            return false
        }
        switch verdict {
        case .refund(let reason): refundArrived(paid, previous: previous, booking: booking, reason: reason, receipt: receipt, completion: completion)
        case .apply(let reinstate): applyArrived(paid, previous: previous, booking: booking, reinstate: reinstate, receipt: receipt,
                                                 completion: completion)
        }
    }

    /// Money the booking takes: payment successful and applied, booking confirmed and paid, the
    /// emails, the events, in one transaction.
    private func applyArrived(_ settled: Payment, previous: PaymentStatus, booking: Booking, reinstate: Bool,
                              receipt: (@Sendable (Database) throws -> Void)?, completion: @escaping (Result<Payment, APIError>) -> Void) {
        // Staff who confirmed it before the money came already sent the confirmation.
        let alreadyConfirmed = booking.status == .confirmed || booking.status == .completed
        let failed: (APIError) -> Void = { [self] error in
            if reinstate { bookings.index.release(booking.id) }
            logger.error("settling payment failed", metadata: ["payment": .string(settled.id), "error": .string(error.message)])
            completion(.failure(error))
        }
        payments(of: booking.id, with: settled, failed: failed) { [self] all in
            bookings.modifyHoldingSlot(booking.id, events: { updated in
                [Self.paymentEvent(settled, booking: updated)]
            }, work: { db, updated in
                guard try PaymentTable.update(settled, expectedStatus: previous, db) else {
                    throw APIError.conflict("payment_settled", "the payment was settled meanwhile")
                }
                try receipt?(db)
                try Outbox.enqueue(.paymentReceived, booking: updated, extra: ["reference": .string(settled.reference)], db)
                if !alreadyConfirmed { try Outbox.enqueue(.bookingConfirmation, booking: updated, db) }
            }, decide: { current in
                BookingLifecycle.paid(current, by: settled, payments: all, reinstate: reinstate).mapError(APIError.init)
            }) { result in
                switch result {
                case .success: completion(.success(settled))
                case .failure(let error): failed(error)
                }
            }
        }
    }

    /// Money the booking cannot take. Recorded first, then given back: the payment is flagged in
    /// the same transaction and the flag cleared when the refund is recorded, so if the hub stops
    /// while the gateway call is in flight, the admin desk still sees money owed back (and the
    /// next start resumes the refund).
    private func refundArrived(_ paid: Payment, previous: PaymentStatus, booking: Booking, reason: String,
                               receipt: (@Sendable (Database) throws -> Void)?, completion: @escaping (Result<Payment, APIError>) -> Void) {
        var owed = paid
        owed.applied = false
        owed.flagged = Self.automaticRefundPendingNote + reason
        let recorded = owed
        storage.write({ db in
            guard try PaymentTable.update(recorded, expectedStatus: previous, db) else { throw APIError.conflict("payment_settled", "already settled") }
            try receipt?(db)
        }) { [self] result in
            guard case .success = result else {
                return completion(.failure(.unavailable("store_unavailable", "could not record the payment")))
            }
            publishPaymentEvent(recorded, booking: booking)
            logger.warning("auto-refunding payment", metadata: ["payment": .string(recorded.id), "reason": .string(reason)])
            // Answer first: the refund runs in this booking's serial turn, which we hold.
            completion(.success(recorded))
            refundAutomatically(paymentID: recorded.id, reason: reason)
        }
    }

    private func markFailed(_ payment: Payment, outcome: ChargeOutcome, receipt: (@Sendable (Database) throws -> Void)?,
                            completion: @escaping (Result<Payment, APIError>) -> Void) {
        var failed = payment
        failed.status = .failed
        failed.gatewayResponse = outcome.raw
        failed.updatedAt = clock.seconds
        let settled = failed
        payments(of: payment.bookingID, with: settled, failed: { completion(.failure($0)) }) { [self] all in
            bookings.modifyHoldingSlot(payment.bookingID, events: { booking in
                [DomainEvent(type: .paymentFailed, channels: Channel.payment(of: booking.userID),
                             payload: ["payment": PaymentViews.payment(settled), "bookingId": .string(booking.id)])]
            }, work: { db, _ in
                guard try PaymentTable.update(settled, expectedStatus: .pending, db) else {
                    throw APIError.conflict("payment_settled", "the payment was settled meanwhile")
                }
                try receipt?(db)
            }, decide: { booking in
                .success(BookingLifecycle.paymentsChanged(booking, payments: all, change: .updated))
            }) { result in
                completion(result.map { _ in settled })
            }
        }
    }

    /// Keeps the payment open but marks it for an admin: never confirmed on a mismatch.
    private func flag(_ payment: Payment, outcome: ChargeOutcome, receipt: (@Sendable (Database) throws -> Void)?, reason: String,
                      completion: @escaping (Result<Payment, APIError>) -> Void) {
        var flagged = payment
        flagged.flagged = reason
        flagged.gatewayResponse = outcome.raw
        flagged.updatedAt = clock.seconds
        let stored = flagged
        let previous = payment.status
        let receiptRow = receipt
        logger.error("payment flagged", metadata: ["payment": .string(payment.id), "reason": .string(reason)])
        reportFlagged(payment.id, reason: reason)
        let event = DomainEvent(type: .paymentFlagged, channels: [.admin],
                                payload: ["payment": PaymentViews.payment(stored), "reason": .string(reason)])
        bookings.committer.commit(events: [event], { db in
            guard try PaymentTable.update(stored, expectedStatus: previous, db) else {
                throw APIError.conflict("payment_settled", "the payment was settled meanwhile")
            }
            try receiptRow?(db)
        }) { result in
            switch result {
            case .success: completion(.success(stored))
            case .failure(let error): completion(.failure(BookingService.storeError(error)))
            }
        }
    }

    /// Runs `then` with the booking's payments as they will be once `changed` is stored. Read
    /// inside the booking's serial turn, where no other payment of it changes meanwhile; a store
    /// that cannot answer goes to `failed` (503).
    func payments(of bookingID: String, with changed: Payment, failed: @escaping (APIError) -> Void,
                  then: @escaping ([Payment]) -> Void) {
        payments(of: bookingID, failed: failed) { then(Self.payments($0, with: changed)) }
    }

    /// Runs `then` with the booking's payments as stored; a store that cannot answer goes to
    /// `failed` (503).
    func payments(of bookingID: String, failed: @escaping (APIError) -> Void, then: @escaping ([Payment]) -> Void) {
        storage.read({ try PaymentTable.forBooking(bookingID, $0) }) { read in
            guard case .success(let payments) = read else {
                return failed(.unavailable("store_unavailable", "could not read the booking's payments; retry"))
            }
            then(payments)
        }
    }

    /// `payments` with `changed` in place of its stored self (added when new).
    static func payments(_ payments: [Payment], with changed: Payment) -> [Payment] {
        var payments = payments
        if let index = payments.firstIndex(where: { $0.id == changed.id }) { payments[index] = changed } else { payments.append(changed) }
        return payments
    }

    /// Runs the caller's extra work (a webhook receipt, an audit row) when there is nothing else to commit.
    private func recordReceipt(_ receipt: (@Sendable (Database) throws -> Void)?, then: @escaping () -> Void) {
        guard let receipt else {
            then()
            return
        }
        storage.write({ db in try receipt(db) }) { _ in then() }
    }

    // MARK: Events


    /// `payment_verified`: the payment, its booking id, and the booking as the REST API shows it.
    static func paymentEvent(_ payment: Payment, booking: Booking) -> DomainEvent {
        DomainEvent(type: .paymentVerified, channels: Channel.payment(of: payment.userID), payload: [
            "paymentId": .string(payment.id), "bookingId": .string(payment.bookingID), "reference": .string(payment.reference),
            "status": .string(payment.status.rawValue), "amount": .number(payment.amount.majorText),
            "currency": .string(payment.amount.currency.code), "payment": PaymentViews.payment(payment),
            "booking": BookingViews.booking(booking),
        ])
    }

    private func publishPaymentEvent(_ payment: Payment, booking: Booking) {
        bookings.committer.commit(events: [Self.paymentEvent(payment, booking: booking)], { _ in }) { _ in }
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
