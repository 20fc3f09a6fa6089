import HubCore
import HubStore
import HubWire

/// JSON of payments.
enum PaymentViews {
    static func payment(_ payment: Payment) -> JSON {
        [
            "id": .string(payment.id),
            "bookingId": .string(payment.bookingID),
            "userId": .string(payment.userID),
            "amount": .number(payment.amount.majorText),
            "currency": .string(payment.amount.currency.code),
            "paymentMethod": .string(payment.method),
            "gateway": .string(payment.gateway),
            "reference": .string(payment.reference),
            "status": .string(payment.status.rawValue),
            "refundedAmount": .number(payment.refundedAmount.majorText),
            "authorizationUrl": .optional(payment.authorizationURL),
            "flagged": .optional(payment.flagged),
            "applied": .bool(payment.applied),
            "verifiedAt": payment.verifiedAt.map { .string(UTC.iso8601($0)) } ?? .null,
            "verifiedBy": .optional(payment.verifiedBy),
            "createdAt": .string(UTC.iso8601(payment.createdAt)),
            "updatedAt": .string(UTC.iso8601(payment.updatedAt)),
        ]
    }

    static func refund(_ refund: PaymentTable.Refund, currency: Currency) -> JSON {
        [
            "id": .string(refund.id),
            "amount": .number(Money(minorUnits: refund.amountMinor, currency: currency).majorText),
            "status": .string(refund.status),
            "reason": .optional(refund.reason),
            "gatewayReference": .optional(refund.gatewayReference),
            "requestedBy": .optional(refund.requestedBy),
            "createdAt": .string(UTC.iso8601(refund.createdAt)),
        ]
    }
}
