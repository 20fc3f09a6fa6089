extension Migrations {
    /// Version 3: `payments.applied`, whether a payment paid its booking (the charge the booking
    /// kept), as opposed to money that came for it and must go back (a duplicate charge, a charge
    /// for a cancelled or lapsed booking, one opened before the booking's price changed). A
    /// booking's payment status is derived from its applied payments (`PaymentState.of`), so a
    /// duplicate's refund can no longer read as the booking's. Existing rows are applied when the
    /// booking names them as its payment and was paid or refunded.
    static let appliedPayments = """
        ALTER TABLE payments ADD COLUMN applied INTEGER NOT NULL DEFAULT 0 CHECK (applied IN (0, 1));
        UPDATE payments SET applied = 1
            WHERE status IN ('successful', 'refunded')
              AND gateway_reference IN (SELECT payment_reference FROM bookings
                                        WHERE payment_status IN ('paid', 'refunded') AND payment_reference IS NOT NULL);
        """

    /// Version 6 (both stores): whose token each denied access token was. A hub that reads a
    /// logout another hub recorded (`TokenTable.loadRevocations`) ends that member's live sockets
    /// and streams too, not only the requests that come after. Older rows have none.
    static let revokedAccessSubject = """
        ALTER TABLE revoked_access_tokens ADD COLUMN subject_id TEXT;
        """
}
