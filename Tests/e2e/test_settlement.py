"""Settlement and refund branches of the payments desk that test_payments.py leaves out, against
the fake Paystack on 127.0.0.1 (fake_paystack.py): a charge reported `reversed`, a success
without an amount, money arriving for a booking an admin already confirmed, refund webhooks that
name no pending refund, and refunds the hub owed when it stopped.

Each test states the rule it checks (PaymentService.settle / succeed, refundSettled /
refundsSettled, resumeOwedRefunds) and asserts the state the API and the database show after.
"""
import pytest

from conftest import Hub, admin, error_code, register
from e2e_support import WS
from test_payments import (HOUR_KOBO, HOUR_PRICE, PAYSTACK_CONFIG, RETRIES, book, email_of, get_booking, get_payment,
                           initialize, outbox, paid_through_paystack, paystack_env, rows, unique_slot, wait_for,
                           write_config)


@pytest.fixture(scope="module")
def hub(fake):
    h = Hub(env=paystack_env(fake), config=write_config(PAYSTACK_CONFIG)).start()
    yield h
    h.kill()


def payment_row(hub, payment_id):
    row, = rows(hub, "SELECT status, flagged, refunded_minor, applied FROM payments WHERE id = ?", payment_id)
    return row


# MARK: What the gateway reports


@pytest.mark.parametrize("source", ["verify", "webhook"])
def test_a_charge_reported_reversed_fails_the_payment_and_keeps_the_hold(hub, gateway, source):
    """`reversed` is a failure like `failed`: the payment fails, the booking keeps its hold (the
    member may pay again) and nothing is confirmed or emailed."""
    member, other = register(hub), register(hub)
    slot = unique_slot()
    booking = book(member, slot)
    started = initialize(member, booking)
    events = WS(hub, token=member.token)
    try:
        if source == "verify":
            gateway.verify_status[started["reference"]] = "reversed"
            r = member.post("/api/payments/verify", json={"reference": started["reference"]})
            assert r.status_code == 200 and r.json()["status"] == "failed", r.text
        else:
            event = gateway.charge_success_event(started["reference"], status="reversed")
            r = gateway.send_webhook(hub, event)
            assert r.status_code == 200 and r.json()["duplicate"] is False, r.text
        failed = events.wait_type("payment_failed", bookingId=booking["id"], timeout=30)
        assert failed["payload"]["payment"]["id"] == started["paymentId"]
    finally:
        events.close()
    assert get_payment(member, started["paymentId"])["status"] == "failed"
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"]) == ("pending", "failed")
    assert after["holdExpiresAt"] == booking["holdExpiresAt"]
    date, start, end = slot
    r = other.post("/api/bookings", json={"type": "event", "spaceId": booking["spaceId"], "date": date,
                                          "startTime": start, "endTime": end})
    assert r.status_code == 409, "the reversed charge gave up the member's hold: " + r.text
    assert outbox(hub, "payment-received", email_of(member)) == []
    assert outbox(hub, "booking-confirmation", email_of(member)) == []
    assert gateway.seen("refund") == []


@pytest.mark.parametrize("source", ["verify", "webhook"])
def test_a_success_without_an_amount_is_flagged_and_only_an_admin_can_confirm_it(hub, gateway, source):
    """The hub gives value only for an amount it checked: a success whose amount is missing keeps
    the payment open and flags it for the admin desk (`payment_flagged`), never confirming the
    booking. An admin who has checked the money confirms it by hand (`source == "admin"`)."""
    member, staff = register(hub), admin(hub)
    booking = book(member)
    started = initialize(member, booking)
    desk = WS(hub, token=staff.token)
    try:
        if source == "verify":
            gateway.verify_status[started["reference"]] = "success"
            gateway.verify_amount[started["reference"]] = None
            r = member.post("/api/payments/verify", json={"reference": started["reference"]})
            assert r.status_code == 200 and r.json()["status"] == "pending", r.text
        else:
            event = gateway.charge_success_event(started["reference"], without_amount=True)
            assert "amount" not in event["data"]
            r = gateway.send_webhook(hub, event)
            assert r.status_code == 200, r.text
        flagged = desk.wait_for(lambda m: m.get("type") == "payment_flagged"
                                and m["payload"]["payment"]["id"] == started["paymentId"], timeout=30, what="payment_flagged")
        assert flagged["payload"]["reason"] == "gateway reported no amount"
    finally:
        desk.close()
    stored = payment_row(hub, started["paymentId"])
    assert (stored["status"], stored["flagged"]) == ("pending", "gateway reported no amount")
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"], after["version"]) == ("pending", "pending", booking["version"])
    assert outbox(hub, "payment-received", email_of(member)) == []

    # The member cannot talk the hub into it, even with a repeat of the same answer.
    gateway.verify_status[started["reference"]] = "success"
    gateway.verify_amount[started["reference"]] = None
    r = member.post("/api/payments/verify", json={"reference": started["reference"]})
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    assert r.json()["flagged"] == "gateway reported no amount"
    assert get_booking(member, booking["id"])["status"] == "pending"

    # An admin's manual verify is the one way through.
    r = member.put(f"/api/admin/payments/{started['paymentId']}/verify")
    assert r.status_code == 403, r.text
    r = staff.put(f"/api/admin/payments/{started['paymentId']}/verify")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "successful" and r.json()["verifiedBy"] == staff.user["id"]
    assert r.json()["flagged"] is None, "the admin's check answers the question the flag asked"
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"]) == ("confirmed", "paid")
    assert len(outbox(hub, "payment-received", email_of(member))) == 1
    assert gateway.seen("refund") == []


def test_money_for_a_booking_an_admin_confirmed_first_marks_it_paid_without_a_refund(hub, gateway):
    """An admin confirms a pending booking (`PUT /api/bookings/:id/confirm`, payment taken on
    trust) and the member's charge then succeeds: the booking stays confirmed and becomes paid.
    A refund would have flagged the payment in the same commit that answered the webhook
    (`automatic refund pending`), so an unflagged, applied payment proves none was started."""
    member, staff = register(hub), admin(hub)
    booking = book(member)
    started = initialize(member, booking)
    r = staff.put(f"/api/bookings/{booking['id']}/confirm")
    assert r.status_code == 200, r.text
    confirmed = r.json()
    assert (confirmed["status"], confirmed["paymentStatus"]) == ("confirmed", "pending")

    r = gateway.send_webhook(hub, gateway.charge_success_event(started["reference"]))
    assert r.status_code == 200 and r.json()["duplicate"] is False, r.text
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"], after["paymentReference"]) == \
        ("confirmed", "paid", started["reference"])
    assert after["version"] == confirmed["version"] + 1
    stored = payment_row(hub, started["paymentId"])
    assert (stored["status"], stored["flagged"], stored["applied"], stored["refunded_minor"]) == ("successful", None, 1, 0)
    assert get_payment(member, started["paymentId"])["refunds"] == []
    assert gateway.seen("refund") == []
    assert len(outbox(hub, "payment-received", email_of(member))) == 1
    assert len(outbox(hub, "booking-confirmation", email_of(member))) == 1, "confirmed once, told once"

    # Paid now: a cancellation inside the refund policy gives the money back.
    r = member.delete(f"/api/users/bookings/{booking['id']}")
    assert r.status_code == 200 and r.json()["refundDue"] is True, r.text
    refund = wait_for(lambda: gateway.seen("refund"), timeout=30, what="the cancellation's refund")
    assert [(body["transaction"], body["amount"]) for (_, _, _, _, body) in refund] == [(started["reference"], HOUR_KOBO)]


# MARK: Refund webhooks that name no pending refund


@pytest.mark.parametrize("event", ["refund.processed", "refund.failed"])
@pytest.mark.parametrize("amount", ["missing", "unmatched"])
def test_a_refund_event_without_a_matching_amount_settles_every_pending_refund(hub, gateway, event, amount):
    """Paystack's refund events name the charge, not the refund. With an amount that a pending
    refund has, they settle the oldest such refund (test_payments.py); without an amount, or with
    one no pending refund has, they settle every pending refund of the payment
    (`PaymentService.refundsSettled`): the gateway settled what it had."""
    member, staff, booking, started = paid_through_paystack(hub, gateway)
    pid = started["paymentId"]
    for part in (5000, HOUR_PRICE - 5000):
        assert staff.post(f"/api/admin/payments/{pid}/refund", json={"amount": part}).status_code == 200
    assert [x["status"] for x in get_payment(staff, pid)["refunds"]] == ["pending", "pending"]

    if amount == "missing":
        sent = gateway.refund_event(event, started["reference"], without_amount=True)
        assert "amount" not in sent["data"]
    else:
        sent = gateway.refund_event(event, started["reference"], amount=1234)  # neither 500000 nor 1000000
    r = gateway.send_webhook(hub, sent)
    assert r.status_code == 200 and r.json()["duplicate"] is False, r.text

    payment = get_payment(staff, pid)
    after = get_booking(member, booking["id"])
    if event == "refund.processed":
        assert [x["status"] for x in payment["refunds"]] == ["processed", "processed"], payment
        assert (payment["status"], payment["refundedAmount"], payment["flagged"]) == ("refunded", HOUR_PRICE, None)
        assert after["paymentStatus"] == "refunded"
    else:
        # Nothing was returned: all of it is refundable again, and an admin should look.
        assert [x["status"] for x in payment["refunds"]] == ["failed", "failed"], payment
        assert (payment["status"], payment["refundedAmount"]) == ("successful", 0)
        assert payment["flagged"] == "refund failed at the gateway"
        assert after["paymentStatus"] == "paid"
        r = staff.post(f"/api/admin/payments/{pid}/refund", json={"amount": HOUR_PRICE + 1})
        assert r.status_code == 422 and r.json()["error"]["refundable"] == HOUR_PRICE, r.text


def test_a_refund_event_with_an_amount_settles_only_the_oldest_refund_of_that_amount(hub, gateway):
    """The contrast to the test above: two pending refunds of the same amount, one event with that
    amount: the older one is processed, the newer stays pending, and the payment is not refunded yet."""
    member, staff, booking, started = paid_through_paystack(hub, gateway)
    pid = started["paymentId"]
    half = HOUR_PRICE // 2
    for _ in range(2):
        assert staff.post(f"/api/admin/payments/{pid}/refund", json={"amount": half}).status_code == 200
    first, second = get_payment(staff, pid)["refunds"]
    r = gateway.send_webhook(hub, gateway.refund_event("refund.processed", started["reference"], amount=half * 100))
    assert r.status_code == 200, r.text
    payment = get_payment(staff, pid)
    assert [(x["id"], x["status"]) for x in payment["refunds"]] == [(first["id"], "processed"), (second["id"], "pending")]
    assert payment["status"] == "successful" and get_booking(member, booking["id"])["paymentStatus"] == "paid"


# MARK: Refunds owed when the hub stopped


def cancel_paid_booking_and_kill_the_hub_mid_refund(hub, gateway, where):
    """A paid booking cancelled inside the refund policy, and the hub SIGKILLed while its refund is
    at the gateway: `before_the_call`, the hub's first question (`GET /refund`, is it made
    already?) is unanswered, so no refund was sent; `answer_lost`, Paystack made the refund and the
    answer never came back. Either way nothing about the refund was recorded: the payment is
    unflagged and owes its whole amount, the booking is cancelled with `refundDue`, which is
    exactly what `PaymentTable.owedRefunds` looks for at the next start."""
    member, staff, booking, started = paid_through_paystack(hub, gateway)
    if where == "before_the_call":
        gateway.delay["refunds"] = 60
    else:
        gateway.hold["refund"] = 60
    r = member.delete(f"/api/users/bookings/{booking['id']}")
    assert r.status_code == 200 and r.json()["refundDue"] is True, r.text
    if where == "before_the_call":
        wait_for(lambda: gateway.attempts("refunds") >= 1, timeout=30, what="the hub asking Paystack for refunds")
        assert gateway.refunds == []
    else:
        wait_for(lambda: len(gateway.refunds) == 1, timeout=30, what="Paystack making the refund")
    stored = payment_row(hub, started["paymentId"])
    assert (stored["status"], stored["flagged"], stored["refunded_minor"]) == ("successful", None, 0)
    cancelled, = rows(hub, "SELECT status, refund_due, payment_status FROM bookings WHERE id = ?", booking["id"])
    assert cancelled == {"status": "cancelled", "refund_due": 1, "payment_status": "paid"}
    hub.kill()
    gateway.delay["refunds"] = 0
    gateway.hold["refund"] = 0
    return member, booking, started


def resumed(hub):
    return sum("resuming a refund owed before the restart" in line for line in list(hub.output))


# The hub logs that it looked for refunds owed (at start) at notice level.
LOOKS_LOGGED = {"LOG_LEVEL": "notice"}


def start_and_look_for_owed_refunds(hub, start):
    """Starts (or restarts) the hub and waits until it has looked for refunds owed: a read that
    completes after start-up on PostgreSQL (on the threadpool)."""
    def looked():
        return sum("looked for refunds owed before the restart" in line for line in list(hub.output))
    before = looked()
    start()
    wait_for(lambda: looked() > before, timeout=15, what="the hub to look for refunds owed")


@pytest.mark.parametrize("where", ["before_the_call", "answer_lost"])
def test_a_refund_owed_for_a_cancelled_booking_is_made_once_after_a_crash(fake, gateway, fresh_hub, where):
    """After the crash the hub resumes the refund at start (`resumeOwedRefunds`): it asks Paystack
    first, sends the refund if none was made (`before_the_call`) or records the one Paystack made
    (`answer_lost`), and either way exactly one refund exists at the gateway, recorded once. A
    second start owes nothing."""
    # A gateway timeout longer than the fake holds the call: it is still in flight at the kill,
    # however slow the machine (with PAYSTACK_CONFIG's 1 s the hub would give up, or find the
    # refund, on its own first).
    hub = fresh_hub(env={**paystack_env(fake), **LOOKS_LOGGED}, config=write_config(PAYSTACK_CONFIG, {"payments": {"timeoutSeconds": 90}}))
    member, booking, started = cancel_paid_booking_and_kill_the_hub_mid_refund(hub, gateway, where)
    sent_before = gateway.attempts("refund")
    hub.port = None
    start_and_look_for_owed_refunds(hub, hub.start)
    assert resumed(hub) == 1, "".join(hub.output[-20:])
    staff = admin(hub)
    payment = wait_for(lambda: (p := get_payment(staff, started["paymentId"]))["refunds"] and p, timeout=30,
                       what="the resumed refund to be recorded")
    assert gateway.attempts("refunds") >= 2, "the restarted hub asked Paystack before anything else"
    assert gateway.attempts("refund") == (sent_before + 1 if where == "before_the_call" else sent_before)
    assert [body["amount"] for body in gateway.refunds] == [HOUR_KOBO], "exactly one refund at Paystack"
    assert (payment["refundedAmount"], payment["flagged"]) == (HOUR_PRICE, None)
    assert [(x["amount"], x["status"], x["reason"]) for x in payment["refunds"]] == \
        [(HOUR_PRICE, "pending", "booking cancelled within the refund policy")]
    assert str(gateway.made[0]["id"]) == payment["refunds"][0]["gatewayReference"]
    assert len(outbox(hub, "refund-issued", email_of(member))) == 1

    # Paystack confirms it: the booking is refunded and owes nothing.
    r = gateway.send_webhook(hub, gateway.refund_event("refund.processed", started["reference"]))
    assert r.status_code == 200, r.text
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"], after["refundDue"]) == ("cancelled", "refunded", False)

    # Nothing is owed at the next start.
    start_and_look_for_owed_refunds(hub, hub.restart)
    assert resumed(hub) == 1
    assert [body["amount"] for body in gateway.refunds] == [HOUR_KOBO]


def test_a_refund_the_gateway_refused_is_left_to_an_admin_not_retried_at_start(fake, gateway, fresh_hub):
    """The other half of `owedRefunds`: an automatic refund that failed at the gateway is flagged
    (`automatic refund failed`) for an admin, who checks Paystack first. A restart does not send it
    again on its own: only refunds whose call never got an answer recorded are resumed."""
    hub = fresh_hub(env={**paystack_env(fake), **LOOKS_LOGGED}, config=write_config(PAYSTACK_CONFIG))
    member, staff, booking, started = paid_through_paystack(hub, gateway)
    gateway.fail["refund"] = RETRIES + 1
    r = member.delete(f"/api/users/bookings/{booking['id']}")
    assert r.status_code == 200 and r.json()["refundDue"] is True, r.text
    payment = wait_for(lambda: (p := get_payment(staff, started["paymentId"]))["flagged"] and p, timeout=30,
                       what="the payment to be flagged")
    assert payment["flagged"].startswith("automatic refund failed"), payment
    attempts = gateway.attempts("refund")
    assert attempts == RETRIES + 1

    start_and_look_for_owed_refunds(hub, hub.restart)
    assert resumed(hub) == 0
    staff = admin(hub)
    assert get_payment(staff, started["paymentId"])["flagged"].startswith("automatic refund failed")
    assert gateway.attempts("refund") == attempts
    # The admin refunds by hand once Paystack is back.
    r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"reason": "refund failed at cancel"})
    assert r.status_code == 200 and r.json()["flagged"] is None, r.text
    assert [body["amount"] for body in gateway.refunds] == [HOUR_KOBO]
    assert error_code(staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"amount": 1})) == \
        "refund_exceeds_paid"


def test_a_dispute_flags_the_payment_for_the_admin_desk(hub, gateway):
    """Paystack's `charge.dispute.create` (a chargeback) flags the settled payment for an admin;
    the booking is not touched, and a redelivery changes nothing."""
    member, staff = register(hub), admin(hub)
    booking = book(member)
    started = initialize(member, booking)
    assert gateway.send_webhook(hub, gateway.charge_success_event(started["reference"])).status_code == 200
    dispute = {"event": "charge.dispute.create", "data": {
        "id": 358950, "refund_amount": HOUR_KOBO, "currency": "NGN", "status": "awaiting-merchant-feedback",
        "category": "chargeback", "reason": "customer says the room was not available",
        "transaction": {"id": gateway.transaction(started["reference"])["id"], "reference": started["reference"]}}}
    for _ in range(2):
        r = gateway.send_webhook(hub, dispute)
        assert r.status_code == 200, r.text
    payment = get_payment(staff, started["paymentId"])
    assert payment["status"] == "successful" and "dispute" in payment["flagged"] and "room was not available" in payment["flagged"]
    assert get_booking(member, booking["id"])["paymentStatus"] == "paid"
    assert len(rows(hub, "SELECT * FROM webhook_receipts WHERE event = 'charge.dispute.create'")) == 1
