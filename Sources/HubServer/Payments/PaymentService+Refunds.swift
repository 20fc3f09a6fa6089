import HubCore
import HubCrypto
import HubHTTP
import HubLoop
import HubStore
import HubWire

extension PaymentService {
    /// Refunds `amount` (all that is refundable when nil) of a successful payment. Never more than
    /// was paid minus what was already refunded. Runs in the booking's serial slot; callers must
    /// not be waiting inside that slot.
    func startRefund(paymentID: String, amount requested: Money?, reason: String, requestedBy: String?,
                     work: (@Sendable (Database) throws -> Void)? = nil,
                     completion: @escaping (Result<Payment, APIError>) -> Void) {
        inPaymentSlot({ try PaymentTable.find(paymentID, $0) }, completion: completion) { [self] payment, finish in
            let amount: Money
            switch Self.refundAmount(of: payment, requested: requested) {
            case .success(let checked): amount = checked
            case .failure(let error):
                finish(.failure(error))
                return
            }
            guard let gateway = gateway(of: payment) else {
                finish(.failure(.unavailable("gateway_not_configured", "the \(payment.gateway) gateway is not configured")))
                return
            }
            // Everything the bookkeeping needs is read before the gateway is asked: once it has
            // refunded, only the commit is left to fail.
            bookkeeping(of: payment, failed: { finish(.failure($0)) }) { [self] booking, payments in
                let reference = payment.reference
                let recorded = payment.refundedAmount
                let sentNs = Loop.hrtimeNs()
                WorkQueue.submit(on: loop, work: { gateway.refund(reference: reference, amount: amount, alreadyRefunded: recorded) }) {
                    [self] started in
                    observeGateway(gateway.name, "refund", sentNs: sentNs, started)
                    switch started {
                    case .failure(let error):
                        finish(.failure(error.apiError))
                    case .success(let refund):
                        record(refund, of: payment, amount: amount, reason: reason, requestedBy: requestedBy, booking: booking,
                               payments: payments, work: work, completion: finish)
                    }
                }
            }
        }
    }

    /// The payment's booking and the booking's payments, read inside its serial turn (nothing
    /// changes them meanwhile); a store that cannot answer goes to `failed` (503).
    private func bookkeeping(of payment: Payment, failed: @escaping (APIError) -> Void,
                             then: @escaping (Booking, [Payment]) -> Void) {
        bookings.find(payment.bookingID) { [self] found in
            let booking: Booking
            switch found {
            case .success(let found): booking = found
            case .failure(let error): return failed(error)
            }
            payments(of: booking.id, failed: failed) { then(booking, $0) }
        }
    }

    /// Records a refund made outside the hub: in the gateway's own dashboard, or one the gateway
    /// did make although the hub's request looked failed (a retry of it is then refused, and the
    /// payment flagged). The same bookkeeping as a refund the hub starts (row, refunded total,
    /// booking status, event, email; the flag cleared), without asking the gateway. An admin's
    /// reconciliation, held to the same limit: never more than paid minus refunded.
    func recordRefundMadeElsewhere(paymentID: String, amount requested: Money?, gatewayReference: String?, reason: String,
                                   requestedBy: String, work: (@Sendable (Database) throws -> Void)?,
                                   completion: @escaping (Result<Payment, APIError>) -> Void) {
        inPaymentSlot({ try PaymentTable.find(paymentID, $0) }, completion: completion) { [self] payment, finish in
            switch Self.refundAmount(of: payment, requested: requested) {
            case .success(let amount):
                bookkeeping(of: payment, failed: { finish(.failure($0)) }) { [self] booking, payments in
                    record(RefundStarted(status: "processed", gatewayReference: gatewayReference), of: payment, amount: amount,
                           reason: reason, requestedBy: requestedBy, booking: booking, payments: payments, work: work, completion: finish)
                }
            case .failure(let error):
                finish(.failure(error))
            }
        }
    }

    /// What a refund of `requested` (everything refundable when nil) may be, or why it may not.
    static func refundAmount(of payment: Payment, requested: Money?) -> Result<Money, APIError> {
        guard payment.status == .successful else {
            return .failure(.conflict("not_refundable", "only a successful payment can be refunded (this one is \(payment.status.rawValue))"))
        }
        let amount = requested ?? payment.refundable
        guard amount.currency == payment.amount.currency, amount.minorUnits > 0 else {
            return .failure(.invalid("amount", "bad_amount", "a refund must be a positive amount in \(payment.amount.currency.code)"))
        }
        guard amount <= payment.refundable else {
            return .failure(APIError(422, "refund_exceeds_paid",
                                     "at most \(payment.refundable.majorText) \(payment.amount.currency.code) can still be refunded",
                                     details: ["field": "amount", "refundable": .number(payment.refundable.majorText)]))
        }
        return .success(amount)
    }

    /// Commits a refund the gateway accepted: the refund row, the payment's refunded total, and,
    /// once everything is refunded and processed, the booking's payment status.
    private func record(_ started: RefundStarted, of payment: Payment, amount: Money, reason: String, requestedBy: String?,
                        booking current: Booking, payments: [Payment], work: (@Sendable (Database) throws -> Void)?,
                        completion: @escaping (Result<Payment, APIError>) -> Void) {
        let now = clock.seconds
        var updated = payment
        updated.refundedAmount = payment.refundedAmount + amount
        updated.updatedAt = now
        // The refund the hub owed is on its way now (see `succeed` and `refundAutomatically`).
        if let flag = payment.flagged, flag.hasPrefix(Self.automaticRefundFlag) || flag.hasPrefix(Self.refundFailedFlag) {
            updated.flagged = nil
        }
        let fully = updated.refundedAmount == updated.amount
        let processed = started.status == "processed"
        if fully && processed { updated.status = .refunded }
        let stored = updated
        let refund = PaymentTable.Refund(id: SecureRandom.uuidV7(nowMs: now * 1000), paymentID: payment.id, amountMinor: amount.minorUnits,
                                         status: started.status, gatewayReference: started.gatewayReference, reason: reason,
                                         requestedBy: requestedBy, createdAt: now, updatedAt: now)
        let all = Self.payments(payments, with: stored)
        bookings.modifyHoldingSlot(payment.bookingID, loaded: current, events: { booking in
            [Self.refundEvent(stored, booking: booking, amount: amount, status: started.status)]
        }, work: { db, booking in
            guard try PaymentTable.update(stored, expectedStatus: .successful, db) else {
                throw APIError.conflict("payment_changed", "the payment changed meanwhile")
            }
            try PaymentTable.insertRefund(refund, db)
            try work?(db)
            try Outbox.enqueue(.refundIssued, booking: booking, extra: [
                "refundAmount": .string(amount.display), "reason": .string(reason), "refundStatus": .string(started.status),
            ], db)
        }, decide: { booking in
            .success(BookingLifecycle.paymentsChanged(booking, payments: all, change: fully && processed ? .refunded : .updated))
        }) { result in
            completion(result.map { _ in stored })
        }
    }

    /// A gateway's `refund.processed` / `refund.failed` for a charge reference, about the refund
    /// of `amount` (minor units) when the event says. Paystack's refund events carry the
    /// transaction's reference and the refund's amount, not the id `POST /refund` answered, so the
    /// refund they settle is the oldest pending one of that amount; without an amount, or when none
    /// matches, every pending refund of the payment (the gateway settled what it had). The payment
    /// becomes `refunded` when everything paid is refunded and no refund is still pending.
    func refundSettled(reference: String, amount: Int64?, processed: Bool, receipt: WebhookReceipt,
                       completion: @escaping (Result<Void, APIError>) -> Void) {
        inPaymentSlot({ try PaymentTable.find(reference: reference, $0) }, completion: completion) { [self] payment, finish in
            storage.read({ try PaymentTable.refunds(paymentID: payment.id, $0) }) { [self] refunds in
                guard case .success(let refunds) = refunds else { return finish(.failure(Storage.unavailable)) }
                settle(refunds.filter { $0.status == "pending" }, of: payment, amount: amount, processed: processed, receipt: receipt,
                       completion: finish)
            }
        }
    }

    /// `refundSettled` with the payment's pending refunds read, inside the booking's serial turn.
    private func settle(_ pending: [PaymentTable.Refund], of payment: Payment, amount: Int64?, processed: Bool, receipt: WebhookReceipt,
                        completion: @escaping (Result<Void, APIError>) -> Void) {
        let now = clock.seconds
        let settled = Self.refundsSettled(by: amount, among: pending)
        let stillPending = pending.count - settled.count
        var updated = payment
        let previousStatus = payment.status
        if processed {
            if stillPending == 0 && payment.refundedAmount == payment.amount { updated.status = .refunded }
        } else {
            // The gateway gave up: the amount is refundable again and an admin should look.
            let failed = settled.reduce(Int64(0)) { $0 + $1.amountMinor }
            updated.refundedAmount = Money(minorUnits: max(0, payment.refundedAmount.minorUnits - failed), currency: payment.amount.currency)
            updated.flagged = Self.refundFailedFlag
            reportFlagged(payment.id, reason: Self.refundFailedFlag)
        }
        updated.updatedAt = now
        let stored = updated
        let fullyRefunded = stored.status == .refunded
        let settledIDs = settled.map(\.id)
        payments(of: payment.bookingID, with: stored, failed: { completion(.failure($0)) }) { [self] all in
            bookings.modifyHoldingSlot(payment.bookingID, events: { booking in
                [Self.refundEvent(stored, booking: booking, amount: nil, status: processed ? "processed" : "failed")]
            }, work: { db, _ in
                guard try PaymentTable.update(stored, expectedStatus: previousStatus, db) else {
                    throw APIError.conflict("payment_changed", "the payment changed meanwhile")
                }
                try PaymentTable.settleRefunds(ids: settledIDs, status: processed ? "processed" : "failed", at: now, db)
                try receipt.insert(db)
            }, decide: { booking in
                .success(BookingLifecycle.paymentsChanged(booking, payments: all, change: fullyRefunded ? .refunded : .updated))
            }) { result in
                completion(result.map { _ in () })
            }
        }
    }

    /// Which of a payment's pending refunds (oldest first) an event about `amount` settles.
    static func refundsSettled(by amount: Int64?, among pending: [PaymentTable.Refund]) -> [PaymentTable.Refund] {
        if let amount, let match = pending.first(where: { $0.amountMinor == amount }) { return [match] }
        return pending
    }

    static func refundEvent(_ payment: Payment, booking: Booking, amount: Money?, status: String) -> DomainEvent {
        var payload: JSONObject = [
            "paymentId": .string(payment.id), "bookingId": .string(booking.id), "status": .string(status),
            "refundedAmount": .number(payment.refundedAmount.majorText), "currency": .string(payment.amount.currency.code),
            "payment": PaymentViews.payment(payment),
        ]
        if let amount { payload["amount"] = .number(amount.majorText) }
        return DomainEvent(type: .paymentRefunded, channels: Channel.payment(of: payment.userID), payload: .object(payload))
    }

    /// Cancelling a paid booking inside the refund policy refunds it (BookingObserver):
    /// every payment of it that still holds money (one, unless a duplicate's refund is on its way).
    func bookingChanged(_ booking: Booking, _ change: BookingChange) {
        guard change == .cancelled, booking.refundDue, booking.paymentState == .paid else { return }
        let bookingID = booking.id
        storage.read({ try PaymentTable.forBooking(bookingID, $0) }) { [self] read in
            guard case .success(let payments) = read else {
                // Not lost: the cancelled booking still says a refund is due, and the next start's
                // `resumeOwedRefunds` finds it.
                logger.error("could not read a cancelled booking's payments to refund them", metadata: ["booking": .string(bookingID)])
                return
            }
            let held = payments.filter { $0.status == .successful && $0.refundable.minorUnits > 0 }
            guard !held.isEmpty else {
                logger.error("booking marked for refund holds no money", metadata: ["booking": .string(bookingID)])
                return
            }
            for payment in held { refundAutomatically(paymentID: payment.id, reason: "booking cancelled within the refund policy") }
        }
    }

    /// A refund the hub starts on its own (a late payment whose slot is gone, a payment for a
    /// cancelled or already paid booking, a cancellation inside the refund policy). If the gateway
    /// refuses it or cannot be reached, the money is still held: the payment is flagged so the
    /// admin desk sees it and refunds by hand, instead of the failure living only in a log line.
    func refundAutomatically(paymentID: String, reason: String) {
        startRefund(paymentID: paymentID, amount: nil, reason: reason, requestedBy: nil) { [self] result in
            guard case .failure(let error) = result else { return }
            logger.error("automatic refund failed; an admin must refund by hand", metadata: [
                "payment": .string(paymentID), "reason": .string(reason), "error": .string(error.message)])
            // 4xx: nothing left to refund or the payment changed meanwhile; no money is stranded.
            guard error.status >= 500 else { return }
            flagForAdmins(paymentID: paymentID, reason: "\(Self.automaticRefundFlag) failed (\(reason)): \(error.message)")
        }
    }

    /// At start: the refunds the hub owed when it stopped, whose gateway call never got recorded
    /// (the hub stopped while it was in flight, or between a cancellation's commit and its
    /// refund), are started again. A gateway does not refund a charge beyond its amount, so a
    /// first call that did go through makes this one fail, and the payment is then flagged for
    /// an admin (`refundAutomatically`) instead of refunded twice.
    func resumeOwedRefunds() {
        storage.read({ try PaymentTable.owedRefunds(flaggedPrefix: Self.automaticRefundPendingNote, $0) }) { [self] read in
            switch read {
            case .success(let owed): resume(owed)
            case .failure(let error): logger.error("could not look for refunds owed", metadata: ["error": .string("\(error)")])
            }
        }
    }

    private func resume(_ owed: [Payment]) {
        logger.notice("looked for refunds owed before the restart", metadata: ["owed": .stringConvertible(owed.count)])
        let note = Self.automaticRefundPendingNote
        for payment in owed {
            // The flag keeps the reason of a refund that was under way; an unflagged payment is
            // owed for its cancelled booking.
            let reason = payment.flagged.flatMap { $0.hasPrefix(note) ? String($0.dropFirst(note.count)) : nil }
                ?? "booking cancelled within the refund policy"
            logger.warning("resuming a refund owed before the restart", metadata: [
                "payment": .string(payment.id), "reason": .string(reason)])
            refundAutomatically(paymentID: payment.id, reason: reason)
        }
    }

    /// Paystack's `charge.dispute.create`: the payment is flagged for the admin desk, with the
    /// webhook's receipt in the same transaction (a redelivery changes nothing).
    func disputeOpened(reference: String, reason: String, receipt: WebhookReceipt,
                       completion: @escaping (Result<Void, APIError>) -> Void) {
        storage.find("payment", { try PaymentTable.find(reference: reference, $0) }) { [self] found in
            switch found {
            case .success(let payment): flagDispute(payment, reason: reason, receipt: receipt, completion: completion)
            case .failure(let error): completion(.failure(error))
            }
        }
    }

    private func flagDispute(_ payment: Payment, reason: String, receipt: WebhookReceipt,
                             completion: @escaping (Result<Void, APIError>) -> Void) {
        let note = "a dispute (chargeback) was opened at the gateway: \(String(reason.prefix(200)))"
        let now = clock.seconds
        var flagged = payment
        flagged.flagged = note
        flagged.updatedAt = now
        let event = DomainEvent(type: .paymentFlagged, channels: [.admin],
                                payload: ["payment": PaymentViews.payment(flagged), "reason": .string(note)])
        bookings.committer.commit(events: [event], { db in
            try PaymentTable.flag(payment.id, reason: note, at: now, db)
            try receipt.insert(db)
        }) { result in
            completion(result.map { _ in () }.mapError(BookingService.storeError))
        }
    }

    /// Sets the payment's `flagged` note and tells the admin channel (`payment_flagged`).
    func flagForAdmins(paymentID: String, reason: String) {
        reportFlagged(paymentID, reason: reason)
        storage.read({ try PaymentTable.find(paymentID, $0) }) { [self] found in
            guard case .success(let payment?) = found else {
                logger.error("could not read a payment to flag it", metadata: ["payment": .string(paymentID), "reason": .string(reason)])
                return
            }
            flag(payment, reason: reason)
        }
    }

    private func flag(_ payment: Payment, reason: String) {
        var payment = payment
        let paymentID = payment.id
        let now = clock.seconds
        payment.flagged = reason
        payment.updatedAt = now
        let event = DomainEvent(type: .paymentFlagged, channels: [.admin],
                                payload: ["payment": PaymentViews.payment(payment), "reason": .string(reason)])
        bookings.committer.commit(events: [event], { db in
            try PaymentTable.flag(paymentID, reason: reason, at: now, db)
        }) { [logger] result in
            if case .failure(let error) = result {
                logger.error("could not flag payment", metadata: ["payment": .string(paymentID), "error": .string("\(error)")])
            }
        }
    }
}
