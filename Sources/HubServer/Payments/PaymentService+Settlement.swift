import HubCore
import HubHTTP
import HubLoop
import HubStore
import HubWire
import Logging

/// Verifying a payment with its gateway and settling what the gateway says: confirm, reinstate,
/// refund or flag, each in one transaction with its events (the decision is `Settlement.decide`).
extension PaymentService {

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
