"""Payments end to end (issue 8): the sandbox checkout over HTTP, the Paystack adapter against a
fake Paystack on 127.0.0.1 (fake_paystack.py) with signed webhooks, refunds, and who may do what.

Money rules checked throughout: no booking paid twice, no payment lost, never a state where the
payment and the booking disagree. Where the API does not show a row (outbox emails, webhook
receipts, audit logs, flags), the test reads the hub's SQLite file.
"""
import json
import os
import re
import tempfile
import threading
import time

import pytest
import requests
import websocket

from conftest import Hub, Instant, admin, error_code, next_weekday, register
from e2e_support import InFlight, write_lock
from fake_paystack import FakePaystack

# Conference Room A: ₦15,000 an hour (the demo catalogue).
ROOM = "conference-room-a"
HOUR_PRICE = 15000
HOUR_KOBO = HOUR_PRICE * 100

# The suite registers many members from 127.0.0.1; production's per-IP limits are not under test.
RELAXED_LIMITS = {"auth": {"rateLimits": {
    "registerPerMinutePerIp": 100000, "loginPerMinutePerIp": 100000, "loginPerMinutePerEmail": 100000}}}
# Short gateway waits so the retry tests take seconds, and a fast hold sweep. A long busy timeout
# lets a test hold SQLite's write lock (e2e_support.write_lock) while requests wait to commit.
PAYSTACK_CONFIG = {"payments": {"timeoutSeconds": 1, "retries": 2}, "bookings": {"holdSweepMs": 100},
                   "store": {"busyTimeoutMs": 30000}}
RETRIES = PAYSTACK_CONFIG["payments"]["retries"]


def write_config(*parts):
    merged = {}

    def merge(into, extra):
        for key, value in extra.items():
            if isinstance(value, dict):
                merge(into.setdefault(key, {}), value)
            else:
                into[key] = value
    for part in (RELAXED_LIMITS,) + parts:
        merge(merged, part)
    handle, path = tempfile.mkstemp(prefix="spacehub-pay-config-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(merged, out)
    return path


def paystack_env(fake):
    return {"PAYMENT_GATEWAY": "paystack", "PAYSTACK_SECRET_KEY": fake.secret, "PAYSTACK_BASE_URL": fake.url}


_slot_lock = threading.Lock()
_slot_state = {"days": [], "next_offset": 3, "taken": 0}
# Opening hours are 08:00–20:00 with a 15-minute buffer: one-hour slots two hours apart never touch.
SLOT_HOURS = (8, 10, 12, 14, 16, 18)


def unique_slot():
    """(date, start, end): one hour on a weekday 3+ days ahead that no other test in this process uses."""
    with _slot_lock:
        day_index, hour_index = divmod(_slot_state["taken"], len(SLOT_HOURS))
        _slot_state["taken"] += 1
        while len(_slot_state["days"]) <= day_index:
            day = next_weekday(_slot_state["next_offset"])
            _slot_state["next_offset"] += 1
            if day not in _slot_state["days"]:
                _slot_state["days"].append(day)
        hour = SLOT_HOURS[hour_index]
    return _slot_state["days"][day_index], f"{hour:02d}:00", f"{hour + 1:02d}:00"


def book(member, slot=None, expect=201):
    date, start, end = slot or unique_slot()
    r = member.post("/api/bookings", json={"type": "event", "spaceId": ROOM, "date": date, "startTime": start, "endTime": end})
    assert r.status_code == expect, r.text
    return r.json()


def initialize(member, booking, amount=None, method="card", expect=200):
    r = member.post("/api/payments/initialize", json={
        "bookingId": booking["id"], "amount": booking["amount"] if amount is None else amount,
        "currency": "NGN", "paymentMethod": method})
    assert r.status_code == expect, r.text
    return r.json()


def get_booking(client, booking_id):
    r = client.get(f"/api/bookings/{booking_id}")
    assert r.status_code == 200, r.text
    return r.json()


def get_payment(client, payment_id):
    r = client.get(f"/api/payments/{payment_id}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(probe, timeout=30, interval=0.05, what="condition"):
    """Polls `probe` until it returns something truthy; fails the test at the deadline."""
    deadline = time.time() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(interval)


def rows(hub, sql, *params):
    return hub.rows(sql, params)


def outbox(hub, template, recipient):
    return rows(hub, "SELECT * FROM outbox WHERE template = ? AND recipient = ?", template, recipient)


def email_of(member):
    return member.user["email"]


class Events:
    """A WebSocket client (`/ws?token=`) collecting events on a thread; waits are bounded."""

    def __init__(self, hub, token):
        self.socket = websocket.create_connection(f"{hub.ws_url}/ws?token={token}", timeout=10)
        self.messages = []
        self.cond = threading.Condition()
        welcome = json.loads(self.socket.recv())
        assert welcome["type"] == "welcome", welcome
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        self.socket.settimeout(None)
        try:
            while True:
                text = self.socket.recv()
                if not text:
                    return
                with self.cond:
                    self.messages.append(json.loads(text))
                    self.cond.notify_all()
        except (websocket.WebSocketException, OSError, ValueError):
            return

    def wait(self, predicate, timeout=30, what="event"):
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                left = deadline - time.time()
                if left <= 0:
                    pytest.fail(f"no {what} within {timeout}s; got {[m.get('type') for m in self.messages]}")
                self.cond.wait(left)

    def close(self):
        try:
            self.socket.close()
        except Exception:
            pass


# MARK: Fixtures


@pytest.fixture(scope="module")
def sandbox_hub():
    h = Hub(config=write_config({"bookings": {"holdSweepMs": 100}})).start()
    yield h
    h.kill()


@pytest.fixture(scope="module")
def paystack_hub(fake):
    h = Hub(env=paystack_env(fake), config=write_config(PAYSTACK_CONFIG)).start()
    yield h
    h.kill()


@pytest.fixture(scope="module")
def late_hub(fake):
    """Holds of two seconds, so a payment can arrive after its hold expired."""
    h = Hub(env=paystack_env(fake), config=write_config(PAYSTACK_CONFIG, {"bookings": {"holdSeconds": 2}})).start()
    yield h
    h.kill()


def paid_through_paystack(hub, gateway):
    """A member's booking paid through the fake Paystack (charge.success webhook), and an admin:
    (member, staff, booking, started payment)."""
    member = register(hub)
    staff = admin(hub)
    booking = book(member)
    started = initialize(member, booking)
    assert gateway.send_webhook(hub, gateway.charge_success_event(started["reference"])).status_code == 200
    return member, staff, booking, started


def pay_in_sandbox(member, booking):
    started = initialize(member, booking)
    r = requests.post(started["authorizationUrl"] + "/pay", allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text
    return started


# MARK: Sandbox, end to end over HTTP


def test_sandbox_checkout_confirms_the_booking_and_tells_the_member_over_websocket(sandbox_hub):
    member = register(sandbox_hub)
    events = Events(sandbox_hub, member.token)
    try:
        booking = book(member)
        assert booking["status"] == "pending" and booking["paymentStatus"] == "pending"
        assert booking["amount"] == HOUR_PRICE

        r = member.post("/api/payments/initialize", json={
            "bookingId": booking["id"], "amount": HOUR_PRICE - 1, "currency": "NGN", "paymentMethod": "card"})
        assert r.status_code == 422 and error_code(r) == "amount_mismatch", r.text
        assert rows(sandbox_hub, "SELECT id FROM payments WHERE booking_id = ?", booking["id"]) == []

        started = initialize(member, booking)
        assert set(started) >= {"paymentId", "reference", "authorizationUrl", "accessCode"}
        assert started["authorizationUrl"] == f"{sandbox_hub.url}/pay/sandbox/{started['reference']}"
        again = initialize(member, booking)
        assert (again["paymentId"], again["reference"]) == (started["paymentId"], started["reference"])
        assert len(rows(sandbox_hub, "SELECT id FROM payments WHERE booking_id = ?", booking["id"])) == 1

        page = requests.get(started["authorizationUrl"], timeout=30)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert f'action="/pay/sandbox/{started["reference"]}/pay"' in page.text
        assert f'action="/pay/sandbox/{started["reference"]}/decline"' in page.text

        r = requests.post(started["authorizationUrl"] + "/pay", allow_redirects=False, timeout=30)
        assert r.status_code == 303
        assert r.headers["location"] == f"/pay/callback?reference={started['reference']}"
        result = requests.get(sandbox_hub.url + r.headers["location"], timeout=30)
        assert result.status_code == 200 and "booking confirmed" in result.text

        after = get_booking(member, booking["id"])
        assert (after["status"], after["paymentStatus"]) == ("confirmed", "paid")
        assert after["holdExpiresAt"] is None and after["paymentReference"] == started["reference"]
        payment = get_payment(member, started["paymentId"])
        assert payment["status"] == "successful" and payment["verifiedAt"]

        verified = events.wait(lambda m: m["type"] == "payment_verified", what="payment_verified")
        assert verified["payload"]["paymentId"] == started["paymentId"]
        assert verified["payload"]["booking"]["status"] == "confirmed"
        events.wait(lambda m: m["type"] == "booking_updated" and m["payload"]["id"] == booking["id"]
                    and m["payload"]["status"] == "confirmed" and m["payload"]["paymentStatus"] == "paid",
                    what="booking_updated (confirmed, paid)")

        assert len(outbox(sandbox_hub, "payment-received", email_of(member))) == 1
        assert len(outbox(sandbox_hub, "booking-confirmation", email_of(member))) == 1

        # Paid: no second payment can be opened, and a second press of Pay changes nothing.
        r = member.post("/api/payments/initialize", json={"bookingId": booking["id"], "amount": HOUR_PRICE,
                                                          "currency": "NGN", "paymentMethod": "card"})
        assert r.status_code == 409, r.text
        requests.post(started["authorizationUrl"] + "/pay", allow_redirects=False, timeout=30)
        assert get_booking(member, booking["id"])["version"] == after["version"]
        assert len(outbox(sandbox_hub, "payment-received", email_of(member))) == 1
    finally:
        events.close()


def test_sandbox_decline_fails_the_payment_and_keeps_the_hold(sandbox_hub):
    member = register(sandbox_hub)
    events = Events(sandbox_hub, member.token)
    try:
        slot = unique_slot()
        booking = book(member, slot)
        started = initialize(member, booking)
        r = requests.post(started["authorizationUrl"] + "/decline", allow_redirects=False, timeout=30)
        assert r.status_code == 303
        result = requests.get(sandbox_hub.url + r.headers["location"], timeout=30)
        assert "declined" in result.text

        assert get_payment(member, started["paymentId"])["status"] == "failed"
        after = get_booking(member, booking["id"])
        assert after["status"] == "pending" and after["paymentStatus"] == "failed" and after["holdExpiresAt"]
        failed = events.wait(lambda m: m["type"] == "payment_failed", what="payment_failed")
        assert failed["payload"]["bookingId"] == booking["id"]
        # Still held: nobody else can take the slot.
        other = register(sandbox_hub)
        r = other.post("/api/bookings", json={"type": "event", "spaceId": ROOM, "date": slot[0],
                                              "startTime": slot[1], "endTime": slot[2]})
        assert r.status_code == 409, r.text
        assert outbox(sandbox_hub, "payment-received", email_of(member)) == []

        # The member tries again with a new charge and pays.
        retry = pay_in_sandbox(member, booking)
        assert retry["reference"] != started["reference"]
        after = get_booking(member, booking["id"])
        assert (after["status"], after["paymentStatus"]) == ("confirmed", "paid")
        assert get_payment(member, started["paymentId"])["status"] == "failed"
    finally:
        events.close()


def test_sandbox_checkout_survives_a_hub_restart(fresh_hub):
    """The sandbox keeps charges in memory; an open payment started before a restart can still be
    paid afterwards (the member's repeat initialize returns that same open payment)."""
    hub = fresh_hub(config=write_config())
    member = register(hub)
    booking = book(member)
    started = initialize(member, booking)
    hub.restart()  # a new port; `member` follows hub.url
    page = requests.get(f"{hub.url}/pay/sandbox/{started['reference']}", timeout=30)
    assert page.status_code == 200 and 'id="pay"' in page.text
    r = member.post("/api/payments/verify", json={"reference": started["reference"]})
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    again = initialize(member, booking)
    assert again["reference"] == started["reference"]
    r = requests.post(f"{hub.url}/pay/sandbox/{started['reference']}/pay", allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"]) == ("confirmed", "paid")


# MARK: Paystack adapter against the fake


def test_paystack_initialize_sends_kobo_with_the_secret_key(paystack_hub, gateway):
    member = register(paystack_hub)
    booking = book(member)
    started = initialize(member, booking)
    assert started["authorizationUrl"] == "https://checkout.paystack.com/" + started["reference"]
    assert started["accessCode"] == "ac_" + started["reference"].lower()
    (_, _, _, headers, body), = gateway.seen("initialize")
    assert headers["Authorization"] == "Bearer " + gateway.secret
    assert body["amount"] == HOUR_KOBO and body["currency"] == "NGN"
    assert body["email"] == email_of(member) and body["reference"] == started["reference"]
    assert re.fullmatch(r"[A-Za-z0-9.=-]+", body["reference"])
    assert body["callback_url"] == f"{paystack_hub.url}/pay/callback?reference={started['reference']}"
    assert body["metadata"]["bookingId"] == booking["id"]
    # A repeat returns the open payment without a second gateway call.
    assert initialize(member, booking)["reference"] == started["reference"]
    assert gateway.attempts("initialize") == 1


def test_paystack_webhook_success_confirms_the_booking(paystack_hub, gateway):
    member = register(paystack_hub)
    events = Events(paystack_hub, member.token)
    try:
        booking = book(member)
        started = initialize(member, booking)
        r = gateway.send_webhook(paystack_hub, gateway.charge_success_event(started["reference"]))
        assert r.status_code == 200, r.text

        after = get_booking(member, booking["id"])
        assert (after["status"], after["paymentStatus"]) == ("confirmed", "paid")
        payment = get_payment(member, started["paymentId"])
        assert payment["status"] == "successful" and payment["gateway"] == "paystack"
        stored, = rows(paystack_hub, "SELECT gateway_response FROM payments WHERE id = ?", started["paymentId"])
        assert json.loads(stored["gateway_response"])["reference"] == started["reference"]
        assert len(outbox(paystack_hub, "payment-received", email_of(member))) == 1
        assert len(outbox(paystack_hub, "booking-confirmation", email_of(member))) == 1
        events.wait(lambda m: m["type"] == "payment_verified" and m["payload"]["paymentId"] == started["paymentId"])
        events.wait(lambda m: m["type"] == "booking_updated" and m["payload"]["status"] == "confirmed")
    finally:
        events.close()


def test_paystack_verify_settles_what_the_gateway_reports(paystack_hub, gateway):
    member = register(paystack_hub)
    booking = book(member)
    started = initialize(member, booking)
    gateway.verify_status[started["reference"]] = "success"
    r = member.post("/api/payments/verify", json={"reference": started["reference"]})
    assert r.status_code == 200 and r.json()["status"] == "successful", r.text
    (_, method, path, headers, _), = gateway.seen("verify")
    assert path == "/transaction/verify/" + started["reference"]
    assert headers["Authorization"] == "Bearer " + gateway.secret
    assert get_booking(member, booking["id"])["status"] == "confirmed"


def test_paystack_failure_fails_the_payment_and_keeps_the_hold(paystack_hub, gateway):
    member = register(paystack_hub)
    booking = book(member)
    started = initialize(member, booking)
    gateway.verify_status[started["reference"]] = "failed"
    r = member.post("/api/payments/verify", json={"reference": started["reference"]})
    assert r.status_code == 200 and r.json()["status"] == "failed", r.text
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"]) == ("pending", "failed")
    assert outbox(paystack_hub, "payment-received", email_of(member)) == []


def test_paystack_verify_before_the_member_paid_keeps_the_payment_open(paystack_hub, gateway):
    """Paystack reports an initialized, unpaid charge as `abandoned`; the member may still pay it,
    so the callback page or an early verify must not close the payment and lose the money."""
    member = register(paystack_hub)
    booking = book(member)
    started = initialize(member, booking)
    r = member.post("/api/payments/verify", json={"reference": started["reference"]})
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    assert get_booking(member, booking["id"])["status"] == "pending"

    r = gateway.send_webhook(paystack_hub, gateway.charge_success_event(started["reference"]))
    assert r.status_code == 200, r.text
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"]) == ("confirmed", "paid")
    assert get_payment(member, started["paymentId"])["status"] == "successful"


def test_paystack_success_after_a_reported_failure_is_not_lost(paystack_hub, gateway):
    """A charge reported failed and then completed (the member retried on Paystack's page) still
    confirms: money that arrived is never ignored."""
    member = register(paystack_hub)
    booking = book(member)
    started = initialize(member, booking)
    gateway.verify_status[started["reference"]] = "failed"
    assert member.post("/api/payments/verify", json={"reference": started["reference"]}).json()["status"] == "failed"
    r = gateway.send_webhook(paystack_hub, gateway.charge_success_event(started["reference"]))
    assert r.status_code == 200, r.text
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"]) == ("confirmed", "paid")
    assert get_payment(member, started["paymentId"])["status"] == "successful"
    assert len(outbox(paystack_hub, "payment-received", email_of(member))) == 1


def test_paystack_tampered_signature_is_refused_and_changes_nothing(paystack_hub, gateway):
    member = register(paystack_hub)
    booking = book(member)
    started = initialize(member, booking)
    event = gateway.charge_success_event(started["reference"])
    body = json.dumps(event, separators=(",", ":")).encode()
    tampered = body.replace(b'"domain":"test"', b'"domain":"live"')
    assert tampered != body
    attempts = [
        dict(body=tampered, signature=gateway.sign(body)),                 # body changed after signing
        dict(body=body, signature=gateway.sign(body)[:-2] + "00"),        # signature changed
        dict(body=body, signature="zz" * 64),                               # not hex
        dict(body=body, signature=False),                                   # no header
        dict(body=body, signature=FakePaystack("sk_test_someone_else").sign(body)),  # another key
        # The same JSON re-serialised differently: the signature covers the raw bytes.
        dict(body=json.dumps(event, indent=2).encode(), signature=gateway.sign(body)),
    ]
    for attempt in attempts:
        r = gateway.send_webhook(paystack_hub, None, **attempt)
        assert r.status_code == 401 and error_code(r) == "invalid_signature", r.text
    assert get_payment(member, started["paymentId"])["status"] == "pending"
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"], after["version"]) == ("pending", "pending", booking["version"])
    assert rows(paystack_hub, "SELECT * FROM webhook_receipts WHERE payload LIKE ?", f"%{started['reference']}%") == []
    assert outbox(paystack_hub, "payment-received", email_of(member)) == []


def test_paystack_duplicate_webhooks_have_one_effect(paystack_hub, gateway):
    member = register(paystack_hub)
    booking = book(member)
    started = initialize(member, booking)
    event = gateway.charge_success_event(started["reference"])
    assert gateway.send_webhook(paystack_hub, event).status_code == 200
    confirmed = get_booking(member, booking["id"])
    assert confirmed["status"] == "confirmed"
    r = gateway.send_webhook(paystack_hub, event)
    assert r.status_code == 200, r.text
    assert get_booking(member, booking["id"])["version"] == confirmed["version"]
    assert len(rows(paystack_hub, "SELECT id FROM payments WHERE booking_id = ?", booking["id"])) == 1
    assert len(outbox(paystack_hub, "payment-received", email_of(member))) == 1
    assert len(outbox(paystack_hub, "booking-confirmation", email_of(member))) == 1
    assert len(rows(paystack_hub, "SELECT * FROM webhook_receipts WHERE event = 'charge.success' AND event_key LIKE ?",
                    f"%{started['reference']}")) == 1


def test_paystack_concurrent_duplicate_webhooks_have_one_effect(paystack_hub, gateway):
    """Paystack may redeliver while the first delivery is still being processed."""
    member = register(paystack_hub)
    booking = book(member)
    started = initialize(member, booking)
    event = gateway.charge_success_event(started["reference"])
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(gateway.send_webhook(paystack_hub, event).status_code))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers == [200] * 8
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"]) == ("confirmed", "paid")
    assert after["version"] == booking["version"] + 1
    assert len(outbox(paystack_hub, "payment-received", email_of(member))) == 1


def test_paystack_amount_mismatch_is_flagged_never_confirmed(paystack_hub, gateway):
    admin_client = admin(paystack_hub)
    admin_events = Events(paystack_hub, admin_client.token)
    try:
        member = register(paystack_hub)
        booking = book(member)
        started = initialize(member, booking)
        r = gateway.send_webhook(paystack_hub, gateway.charge_success_event(started["reference"], amount=HOUR_KOBO // 100))
        assert r.status_code == 200, r.text
        stored, = rows(paystack_hub, "SELECT status, flagged FROM payments WHERE id = ?", started["paymentId"])
        assert stored["status"] != "successful" and stored["flagged"], stored
        after = get_booking(member, booking["id"])
        assert after["status"] == "pending" and after["paymentStatus"] != "paid"
        assert outbox(paystack_hub, "payment-received", email_of(member)) == []
        flagged = admin_events.wait(lambda m: m["type"] == "payment_flagged", what="payment_flagged")
        assert flagged["payload"]["payment"]["id"] == started["paymentId"]

        # A verify that reports another currency is flagged the same way.
        booking2 = book(member)
        started2 = initialize(member, booking2)
        gateway.verify_status[started2["reference"]] = "success"
        gateway.verify_currency[started2["reference"]] = "USD"
        r = member.post("/api/payments/verify", json={"reference": started2["reference"]})
        assert r.status_code == 200, r.text
        stored, = rows(paystack_hub, "SELECT status, flagged FROM payments WHERE id = ?", started2["paymentId"])
        assert stored["status"] != "successful" and stored["flagged"], stored
        assert get_booking(member, booking2["id"])["status"] == "pending"
    finally:
        admin_events.close()


@pytest.mark.parametrize("trouble", ["500", "timeout"])
def test_paystack_initialize_retries_then_fails_cleanly(paystack_hub, gateway, trouble):
    member = register(paystack_hub)
    booking = book(member)
    if trouble == "500":
        gateway.fail["initialize"] = RETRIES + 1
    else:
        gateway.delay["initialize"] = PAYSTACK_CONFIG["payments"]["timeoutSeconds"] + 1.5
    began = time.time()
    r = member.post("/api/payments/initialize", json={"bookingId": booking["id"], "amount": HOUR_PRICE,
                                                      "currency": "NGN", "paymentMethod": "card"})
    assert r.status_code == 503 and error_code(r) == "gateway_unavailable", r.text
    assert time.time() - began < 60  # bounded: the hub gives up, it does not hang
    assert gateway.attempts("initialize") == RETRIES + 1
    # Nothing half-applied: no payment row, the booking untouched and still payable.
    assert rows(paystack_hub, "SELECT id FROM payments WHERE booking_id = ?", booking["id"]) == []
    stored, = rows(paystack_hub, "SELECT payment_reference, status, version FROM bookings WHERE id = ?", booking["id"])
    assert stored == {"payment_reference": None, "status": "pending", "version": booking["version"]}
    gateway.delay["initialize"] = 0
    started = initialize(member, booking)
    assert len(rows(paystack_hub, "SELECT id FROM payments WHERE booking_id = ?", booking["id"])) == 1
    assert started["reference"]


def test_paystack_verify_retries_then_fails_cleanly(paystack_hub, gateway):
    member = register(paystack_hub)
    booking = book(member)
    started = initialize(member, booking)
    gateway.verify_status[started["reference"]] = "success"
    gateway.fail["verify"] = RETRIES + 1
    r = member.post("/api/payments/verify", json={"reference": started["reference"]})
    assert r.status_code == 503 and error_code(r) == "gateway_unavailable", r.text
    assert gateway.attempts("verify") == RETRIES + 1
    assert get_payment(member, started["paymentId"])["status"] == "pending"
    assert get_booking(member, booking["id"])["status"] == "pending"
    # One 500 is retried within the same call.
    gateway.fail["verify"] = 1
    r = member.post("/api/payments/verify", json={"reference": started["reference"]})
    assert r.status_code == 200 and r.json()["status"] == "successful", r.text
    assert get_booking(member, booking["id"])["status"] == "confirmed"


def test_paystack_refund_processed_after_an_admin_refund_marks_the_booking_refunded(paystack_hub, gateway):
    member, staff, booking, started = paid_through_paystack(paystack_hub, gateway)

    r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"reason": "member asked"})
    assert r.status_code == 200, r.text
    refund_body, = [body for (_, _, _, _, body) in gateway.seen("refund")]
    assert refund_body["transaction"] == started["reference"] and refund_body["amount"] == HOUR_KOBO
    payment = get_payment(staff, started["paymentId"])
    assert payment["refundedAmount"] == HOUR_PRICE and payment["status"] == "successful"  # queued at Paystack
    assert [x["status"] for x in payment["refunds"]] == ["pending"]
    assert get_booking(member, booking["id"])["paymentStatus"] == "paid"
    audit = rows(paystack_hub, "SELECT * FROM audit_logs WHERE resource = 'payment' AND resource_id = ?", started["paymentId"])
    assert [a["action"] for a in audit] == ["refund"] and audit[0]["admin_id"] == staff.user["id"]
    assert len(outbox(paystack_hub, "refund-issued", email_of(member))) == 1

    # Nothing more can be refunded while the first refund is on its way.
    r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"amount": 1})
    assert r.status_code == 422 and error_code(r) == "refund_exceeds_paid", r.text

    processed = gateway.refund_event("refund.processed", started["reference"])
    assert gateway.send_webhook(paystack_hub, processed).status_code == 200
    payment = get_payment(staff, started["paymentId"])
    assert payment["status"] == "refunded" and [x["status"] for x in payment["refunds"]] == ["processed"]
    after = get_booking(member, booking["id"])
    assert after["paymentStatus"] == "refunded"
    # A redelivery of refund.processed is harmless.
    assert gateway.send_webhook(paystack_hub, processed).status_code == 200
    assert get_booking(member, booking["id"])["version"] == after["version"]


def test_paystack_concurrent_refunds_never_refund_twice(paystack_hub, gateway):
    member, staff, booking, started = paid_through_paystack(paystack_hub, gateway)
    gateway.delay["refund"] = 0.5
    answers = []

    def refund():
        r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"reason": "twice?"})
        answers.append((r.status_code, r.json()))
    threads = [threading.Thread(target=refund) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(code for code, _ in answers) == [200, 422, 422], answers
    assert gateway.attempts("refund") == 1
    payment = get_payment(staff, started["paymentId"])
    assert payment["refundedAmount"] == HOUR_PRICE and len(payment["refunds"]) == 1


def test_a_refund_whose_answer_is_held_past_the_timeout_is_made_once(paystack_hub, gateway):
    """`POST /refund` has no idempotency key. Paystack makes the refund and holds its answer past
    the hub's timeout: the hub must not send it again, but ask Paystack (`GET /refund`) and
    record the refund it finds: exactly one refund at the gateway, and the hub knows of it."""
    member, staff, booking, started = paid_through_paystack(paystack_hub, gateway)
    gateway.hold["refund"] = PAYSTACK_CONFIG["payments"]["timeoutSeconds"] + 1.5
    r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"reason": "slow gateway"})
    assert r.status_code == 200, r.text
    assert r.json()["refundedAmount"] == HOUR_PRICE
    assert gateway.attempts("refund") == 1 and len(gateway.refunds) == 1
    assert gateway.attempts("refunds") >= 2, "asked before sending and after the lost answer"
    payment = get_payment(staff, started["paymentId"])
    made, = gateway.made
    assert [(x["amount"], x["status"], x["gatewayReference"]) for x in payment["refunds"]] == \
        [(HOUR_PRICE, "pending", str(made["id"]))]
    # Nothing is left to refund, so nothing more goes out.
    r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"amount": 1})
    assert r.status_code == 422 and error_code(r) == "refund_exceeds_paid"
    assert len(gateway.refunds) == 1


def test_a_refund_answered_500_after_it_was_made_is_recorded_not_repeated(paystack_hub, gateway):
    member, staff, booking, started = paid_through_paystack(paystack_hub, gateway)
    gateway.lose["refund"] = 1  # Paystack refunds, then answers 500
    r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"amount": 5000, "reason": "partial"})
    assert r.status_code == 200, r.text
    assert gateway.attempts("refund") == 1 and [b["amount"] for b in gateway.refunds] == [500000]
    assert get_payment(staff, started["paymentId"])["refundedAmount"] == 5000


def test_a_refund_that_times_out_and_is_not_listed_is_not_sent_again(paystack_hub, gateway):
    """No answer, and Paystack does not list the refund: it may still be in flight, so the hub does
    not send it again. The payment is left for an admin, and the next attempt asks first."""
    member, staff, booking, started = paid_through_paystack(paystack_hub, gateway)
    gateway.delay["refund"] = PAYSTACK_CONFIG["payments"]["timeoutSeconds"] + 1.5  # acts after the hub gave up
    r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"reason": "slow gateway"})
    assert r.status_code == 503 and error_code(r) == "gateway_unavailable", r.text
    assert "not sent again" in r.json()["error"]["message"]
    assert gateway.attempts("refund") == 1
    wait_for(lambda: len(gateway.refunds) == 1, what="the slow refund to land at Paystack")
    assert get_payment(staff, started["paymentId"])["refundedAmount"] == 0
    # The admin tries again: the hub asks first, finds the refund Paystack made, and records it.
    gateway.delay["refund"] = 0
    r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"reason": "slow gateway"})
    assert r.status_code == 200, r.text
    assert gateway.attempts("refund") == 1 and len(gateway.refunds) == 1
    assert r.json()["refundedAmount"] == HOUR_PRICE


def test_paystack_initialize_refused_by_the_gateway_is_not_retried(paystack_hub, gateway):
    member = register(paystack_hub)
    booking = book(member)
    gateway.reject["initialize"] = 1
    r = member.post("/api/payments/initialize", json={"bookingId": booking["id"], "amount": HOUR_PRICE,
                                                      "currency": "NGN", "paymentMethod": "card"})
    assert r.status_code == 502 and error_code(r) == "gateway_rejected", r.text
    assert "Invalid key" in r.json()["error"]["message"]
    assert gateway.attempts("initialize") == 1
    assert rows(paystack_hub, "SELECT id FROM payments WHERE booking_id = ?", booking["id"]) == []


def test_paystack_initialize_whose_answer_was_lost_asks_the_member_to_retry(paystack_hub, gateway):
    member = register(paystack_hub)
    booking = book(member)
    body = {"bookingId": booking["id"], "amount": HOUR_PRICE, "currency": "NGN", "paymentMethod": "card"}
    gateway.lose["initialize"] = 1  # Paystack opens the charge, the answer never arrives
    r = member.post("/api/payments/initialize", json=body)
    assert r.status_code == 503 and error_code(r) == "gateway_unavailable", r.text
    first, retried = [b["reference"] for (_, _, _, _, b) in gateway.seen("initialize")]
    assert first == retried  # the hub's retry reused the reference, so Paystack refused a second charge
    assert rows(paystack_hub, "SELECT id FROM payments WHERE booking_id = ?", booking["id"]) == []
    # The member tries again: a new charge under a new reference.
    r = member.post("/api/payments/initialize", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["reference"] != first and r.json()["authorizationUrl"].endswith(r.json()["reference"])


@pytest.mark.parametrize("first", ["charge", "cancel"])
def test_cancel_racing_a_successful_charge_refunds_exactly_once(paystack_hub, gateway, first):
    """The member cancels while Paystack's `charge.success` is being settled. The two run one at a
    time per booking; the test decides which goes first, with both in flight at once: holding
    SQLite's write lock, it sends one and waits until the hub has read it (it then waits for its
    commit, holding the booking's turn), sends the other (queued behind it), then lets go.
    Either way the money goes back exactly once and the booking ends cancelled; why differs:
    - charge first: the booking is confirmed and paid, then cancelled inside the refund policy
      (`refundDue`), and the cancellation's refund returns the money;
    - cancel first: the booking is cancelled unpaid (nothing due), then money arrives for a
      cancelled booking and is refunded automatically, without a payment-received email."""
    member = register(paystack_hub)
    booking = book(member)
    started = initialize(member, booking)
    event = json.dumps(gateway.charge_success_event(started["reference"]), separators=(",", ":")).encode()

    def charge():
        return InFlight(paystack_hub, "POST", "/api/payments/webhook/paystack", raw=event,
                        headers={"x-paystack-signature": gateway.sign(event)})

    def cancel():
        return InFlight(paystack_hub, "DELETE", f"/api/users/bookings/{booking['id']}", token=member.token)
    def settled_in(request):
        # Read by the hub is not yet in the booking's turn: on PostgreSQL the hub first reads
        # (the webhook's receipt, the payment) on its read threads, a millisecond or so; the
        # commit it then waits on is held by the lock, so waiting longer changes nothing else.
        time.sleep(0.3)
        return request
    with write_lock(paystack_hub):
        if first == "charge":
            webhook = settled_in(charge())
            cancellation = cancel()
        else:
            cancellation = settled_in(cancel())
            webhook = charge()
        assert gateway.seen("refund") == []
    status, _, answer = webhook.answer()
    assert status == 200 and answer == {"received": True, "duplicate": False}, answer
    status, _, cancelled = cancellation.answer()
    assert status == 200 and cancelled["status"] == "cancelled", cancelled
    assert cancelled["refundDue"] is (first == "charge"), cancelled

    payment = wait_for(lambda: (p := get_payment(member, started["paymentId"]))["refunds"] and p, what="refund row")
    assert [body["amount"] for (_, _, _, _, body) in gateway.seen("refund")] == [HOUR_KOBO]
    assert payment["status"] == "successful" and payment["refundedAmount"] == HOUR_PRICE and not payment["flagged"]
    reason = "booking cancelled within the refund policy" if first == "charge" else \
        "the booking was cancelled before the payment arrived"
    assert [(x["amount"], x["reason"]) for x in payment["refunds"]] == [(HOUR_PRICE, reason)]
    assert get_booking(member, booking["id"])["status"] == "cancelled"
    assert len(outbox(paystack_hub, "refund-issued", email_of(member))) == 1
    assert len(outbox(paystack_hub, "payment-received", email_of(member))) == (1 if first == "charge" else 0)
    # Paystack confirms the refund: the booking holds no money and owes none.
    r = gateway.send_webhook(paystack_hub, gateway.refund_event("refund.processed", started["reference"]))
    assert r.status_code == 200, r.text
    after = get_booking(member, booking["id"])
    assert (after["status"], after["refundDue"]) == ("cancelled", False), after
    assert [body["amount"] for (_, _, _, _, body) in gateway.seen("refund")] == [HOUR_KOBO]


def test_paystack_refund_failed_makes_the_amount_refundable_again(paystack_hub, gateway):
    member, staff, booking, started = paid_through_paystack(paystack_hub, gateway)
    assert staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"amount": 5000}).status_code == 200
    failed = gateway.refund_event("refund.failed", started["reference"], amount=500000)
    assert gateway.send_webhook(paystack_hub, failed).status_code == 200
    payment = get_payment(staff, started["paymentId"])
    assert payment["status"] == "successful" and payment["refundedAmount"] == 0 and payment["flagged"]
    assert [x["status"] for x in payment["refunds"]] == ["failed"]
    assert get_booking(member, booking["id"])["paymentStatus"] == "paid"


def test_paystack_partial_refunds_are_settled_one_by_one(paystack_hub, gateway):
    member, staff, booking, started = paid_through_paystack(paystack_hub, gateway)
    pid = started["paymentId"]
    assert staff.post(f"/api/admin/payments/{pid}/refund", json={"amount": 5000}).status_code == 200
    assert staff.post(f"/api/admin/payments/{pid}/refund", json={"amount": HOUR_PRICE - 5000}).status_code == 200
    assert [x["status"] for x in get_payment(staff, pid)["refunds"]] == ["pending", "pending"]

    # The second refund is processed first: only it moves, the payment is not refunded yet.
    second = gateway.refund_event("refund.processed", started["reference"], amount=(HOUR_PRICE - 5000) * 100)
    assert gateway.send_webhook(paystack_hub, second).status_code == 200
    payment = get_payment(staff, pid)
    assert [x["status"] for x in payment["refunds"]] == ["pending", "processed"], payment
    assert payment["status"] == "successful" and payment["refundedAmount"] == HOUR_PRICE
    assert get_booking(member, booking["id"])["paymentStatus"] == "paid"

    # The first one fails: its amount is refundable again and the payment is flagged.
    first_failed = gateway.refund_event("refund.failed", started["reference"], amount=5000 * 100)
    assert gateway.send_webhook(paystack_hub, first_failed).status_code == 200
    payment = get_payment(staff, pid)
    assert [x["status"] for x in payment["refunds"]] == ["failed", "processed"], payment
    assert payment["refundedAmount"] == HOUR_PRICE - 5000 and payment["flagged"]

    # The admin refunds the rest by hand: the flag goes, and once processed the booking is refunded.
    r = staff.post(f"/api/admin/payments/{pid}/refund", json={})
    assert r.status_code == 200, r.text
    payment = get_payment(staff, pid)
    assert payment["refundedAmount"] == HOUR_PRICE and not payment["flagged"], payment
    last = gateway.refund_event("refund.processed", started["reference"], amount=5000 * 100)
    assert gateway.send_webhook(paystack_hub, last).status_code == 200
    payment = get_payment(staff, pid)
    assert payment["status"] == "refunded"
    assert [x["status"] for x in payment["refunds"]] == ["failed", "processed", "processed"]
    assert get_booking(member, booking["id"])["paymentStatus"] == "refunded"


def test_paystack_other_events_are_recorded_without_effect(paystack_hub, gateway):
    event = {"event": "transfer.success", "data": {"id": 99, "reference": "TRF-unrelated", "amount": 100}}
    r = gateway.send_webhook(paystack_hub, event)
    assert r.status_code == 200, r.text
    assert len(rows(paystack_hub, "SELECT * FROM webhook_receipts WHERE event = 'transfer.success'")) == 1
    # charge.success for a reference that is not ours: acknowledged so Paystack stops retrying.
    r = gateway.send_webhook(paystack_hub, {"event": "charge.success", "data": {
        "id": 1, "reference": "SH-NOT-OURS", "status": "success", "amount": 100, "currency": "NGN"}})
    assert r.status_code == 200, r.text


# MARK: Late payments (hold already expired)


def expire_hold(member, booking):
    return wait_for(lambda: get_booking(member, booking["id"])["status"] == "expired", what="hold to expire")


def test_late_payment_with_the_slot_taken_is_refunded_automatically(late_hub, gateway):
    first, second = register(late_hub), register(late_hub)
    slot = unique_slot()
    booking = book(first, slot)
    started = initialize(first, booking)
    expire_hold(first, booking)
    taken = book(second, slot)

    r = gateway.send_webhook(late_hub, gateway.charge_success_event(started["reference"]))
    assert r.status_code == 200, r.text
    refund = wait_for(lambda: gateway.seen("refund"), what="the refund request at Paystack")
    (_, _, _, headers, body), = refund
    assert body["transaction"] == started["reference"] and body["amount"] == HOUR_KOBO
    assert headers["Authorization"] == "Bearer " + gateway.secret

    payment = wait_for(lambda: (p := get_payment(first, started["paymentId"]))["refunds"] and p, what="refund row")
    assert payment["refundedAmount"] == HOUR_PRICE and payment["refunds"][0]["amount"] == HOUR_PRICE
    assert len(outbox(late_hub, "refund-issued", email_of(first))) == 1
    assert outbox(late_hub, "booking-confirmation", email_of(first)) == []
    assert get_booking(first, booking["id"])["status"] == "expired"
    assert get_booking(second, taken["id"])["status"] == "pending"

    assert gateway.send_webhook(late_hub, gateway.refund_event("refund.processed", started["reference"])).status_code == 200
    assert get_payment(first, started["paymentId"])["status"] == "refunded"
    assert get_booking(first, booking["id"])["paymentStatus"] == "refunded"


def test_hub_stopping_during_an_automatic_refund_refunds_at_restart_exactly_once(fake, gateway, fresh_hub):
    """The money is recorded (and the payment flagged) before the refund call. If the hub dies
    while Paystack is slow to answer, the restarted hub resumes the refund: it asks Paystack
    first (nothing listed yet) and sends it; the dead hub's late call is then refused (Paystack
    never refunds a charge beyond its amount): one refund in all."""
    # A gateway timeout beyond the fake's delay keeps the dead hub's call in flight until the kill,
    # however slow the machine (with 1 s it could give up and flag the payment first).
    hub = fresh_hub(env=paystack_env(fake), config=write_config(PAYSTACK_CONFIG, {"bookings": {"holdSeconds": 2},
                                                                                  "payments": {"timeoutSeconds": 90}}))
    first, second = register(hub), register(hub)
    slot = unique_slot()
    booking = book(first, slot)
    started = initialize(first, booking)
    expire_hold(first, booking)
    book(second, slot)
    gateway.delay["refund"] = 6  # the dead hub's call is answered after the restarted hub's
    assert gateway.send_webhook(hub, gateway.charge_success_event(started["reference"])).status_code == 200
    wait_for(lambda: gateway.attempts("refund") >= 1, what="the refund call")
    payment_row, = rows(hub, "SELECT flagged FROM payments WHERE id = ?", started["paymentId"])
    assert payment_row["flagged"].startswith("automatic refund pending"), payment_row
    hub.kill()
    gateway.delay["refund"] = 0
    hub.port = None
    hub.start()
    staff = admin(hub)
    payment = wait_for(lambda: (p := get_payment(staff, started["paymentId"]))["refunds"] and p, what="the resumed refund")
    assert gateway.attempts("refund") == 2
    assert payment["refundedAmount"] == HOUR_PRICE and payment["flagged"] is None, payment
    assert [x["amount"] for x in payment["refunds"]] == [HOUR_PRICE]
    # The first call reaches Paystack after the second and is refused: one refund in all.
    time.sleep(6)
    assert [body["amount"] for body in gateway.refunds] == [HOUR_KOBO]
    assert len(outbox(hub, "refund-issued", email_of(first))) == 1
    # A second restart finds nothing owed.
    hub.restart()
    time.sleep(0.5)
    assert gateway.attempts("refund") == 2


def test_late_payment_with_the_slot_free_reinstates_the_booking(late_hub, gateway):
    member, other = register(late_hub), register(late_hub)
    slot = unique_slot()
    booking = book(member, slot)
    started = initialize(member, booking)
    expire_hold(member, booking)

    r = member.post("/api/payments/initialize", json={"bookingId": booking["id"], "amount": HOUR_PRICE,
                                                      "currency": "NGN", "paymentMethod": "card"})
    assert r.status_code == 409, r.text  # no new charge for a lapsed hold

    r = gateway.send_webhook(late_hub, gateway.charge_success_event(started["reference"]))
    assert r.status_code == 200, r.text
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"]) == ("confirmed", "paid")
    assert get_payment(member, started["paymentId"])["status"] == "successful"
    assert gateway.seen("refund") == []
    # The slot is the member's again, and stays so past the old hold.
    book(other, slot, expect=409)
    time.sleep(0.5)
    assert get_booking(member, booking["id"])["status"] == "confirmed"


def test_late_payment_whose_automatic_refund_fails_is_flagged_for_admins(late_hub, gateway):
    """Money held for a booking that cannot be kept must never sit unnoticed: when the automatic
    refund cannot reach Paystack, the payment is flagged for the admin desk."""
    first, second = register(late_hub), register(late_hub)
    staff = admin(late_hub)
    slot = unique_slot()
    booking = book(first, slot)
    started = initialize(first, booking)
    expire_hold(first, booking)
    book(second, slot)
    gateway.fail["refund"] = RETRIES + 1

    assert gateway.send_webhook(late_hub, gateway.charge_success_event(started["reference"])).status_code == 200
    wait_for(lambda: gateway.attempts("refund") == RETRIES + 1, what="refund attempts")
    payment = wait_for(lambda: (p := get_payment(staff, started["paymentId"]))["flagged"] and p,
                       what="the payment to be flagged")
    assert payment["status"] == "successful" and payment["refundedAmount"] == 0 and payment["refunds"] == []
    assert get_booking(first, booking["id"])["status"] == "expired"

    # The admin refunds by hand once Paystack is back.
    r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"reason": "slot was taken"})
    assert r.status_code == 200, r.text
    assert r.json()["refundedAmount"] == HOUR_PRICE


def test_two_successful_charges_never_pay_a_booking_twice(paystack_hub, gateway):
    member = register(paystack_hub)
    booking = book(member)
    first = initialize(member, booking)
    gateway.verify_status[first["reference"]] = "failed"
    assert member.post("/api/payments/verify", json={"reference": first["reference"]}).json()["status"] == "failed"
    second = initialize(member, booking)
    assert second["reference"] != first["reference"]

    # Both charges go through at Paystack (the first one on a retry of its checkout page).
    for started in (second, first):
        r = gateway.send_webhook(paystack_hub, gateway.charge_success_event(started["reference"]))
        assert r.status_code == 200, r.text
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"], after["paymentReference"]) == ("confirmed", "paid", second["reference"])
    refund = wait_for(lambda: gateway.seen("refund"), what="the refund of the second charge")
    assert [body["transaction"] for (_, _, _, _, body) in refund] == [first["reference"]]
    assert len(outbox(paystack_hub, "payment-received", email_of(member))) == 1
    assert len(outbox(paystack_hub, "booking-confirmation", email_of(member))) == 1
    wait_for(lambda: get_payment(member, first["paymentId"])["refundedAmount"] == HOUR_PRICE, what="refund recorded")
    assert get_payment(member, second["paymentId"])["refundedAmount"] == 0
    # Paystack confirms the duplicate's refund: the booking is still paid by the second charge.
    assert gateway.send_webhook(paystack_hub, gateway.refund_event("refund.processed", first["reference"])).status_code == 200
    assert get_payment(member, first["paymentId"])["status"] == "refunded"
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"]) == ("confirmed", "paid"), after


def test_cancelling_a_paid_booking_whose_refund_fails_flags_the_payment(paystack_hub, gateway):
    member, staff, booking, started = paid_through_paystack(paystack_hub, gateway)
    gateway.fail["refund"] = RETRIES + 1
    r = member.delete(f"/api/users/bookings/{booking['id']}")
    assert r.status_code == 200 and r.json()["refundDue"] is True, r.text
    payment = wait_for(lambda: (p := get_payment(staff, started["paymentId"]))["flagged"] and p,
                       what="the payment to be flagged")
    assert payment["refundedAmount"] == 0
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"], after["refundDue"]) == ("cancelled", "paid", True)


def test_a_refund_made_in_the_paystack_dashboard_is_recorded_without_refunding_again(paystack_hub, gateway):
    """The hub's refund for a cancelled booking failed and the payment is flagged; the admin then
    refunds in Paystack's own dashboard and records it here (`recordOnly`): the payment, booking,
    member and audit log see the refund, and Paystack is not asked for a second one."""
    member, staff, booking, started = paid_through_paystack(paystack_hub, gateway)
    pid = started["paymentId"]
    gateway.fail["refund"] = RETRIES + 1
    assert member.delete(f"/api/users/bookings/{booking['id']}").status_code == 200
    wait_for(lambda: get_payment(staff, pid)["flagged"], what="the payment to be flagged")
    asked = len(gateway.refunds)

    # What is refused: a missing reason, a reference without recordOnly, more than was paid.
    r = staff.post(f"/api/admin/payments/{pid}/refund", json={"recordOnly": True})
    assert r.status_code == 422 and error_code(r) == "missing_field", r.text
    r = staff.post(f"/api/admin/payments/{pid}/refund", json={"gatewayReference": "RF_1", "reason": "x"})
    assert r.status_code == 422 and error_code(r) == "record_only_field", r.text
    r = staff.post(f"/api/admin/payments/{pid}/refund", json={"recordOnly": True, "reason": "x", "amount": HOUR_PRICE + 1})
    assert r.status_code == 422 and error_code(r) == "refund_exceeds_paid", r.text
    r = member.post(f"/api/admin/payments/{pid}/refund", json={"recordOnly": True, "reason": "x"})
    assert r.status_code == 403, r.text

    r = staff.post(f"/api/admin/payments/{pid}/refund", json={
        "recordOnly": True, "reason": "refunded in the Paystack dashboard", "gatewayReference": "RF_dashboard_1"})
    assert r.status_code == 200, r.text
    payment = get_payment(staff, pid)
    assert (payment["status"], payment["refundedAmount"], payment["flagged"]) == ("refunded", HOUR_PRICE, None)
    assert [(x["amount"], x["status"], x["reason"], x["gatewayReference"], x["requestedBy"]) for x in payment["refunds"]] == [
        (HOUR_PRICE, "processed", "refunded in the Paystack dashboard", "RF_dashboard_1", staff.user["id"])]
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"], after["refundDue"]) == ("cancelled", "refunded", False)
    assert len(gateway.refunds) == asked, "Paystack was asked for a refund"
    audit = rows(paystack_hub, "SELECT new_values FROM audit_logs WHERE action = 'record_refund' AND resource_id = ?", pid)
    assert len(audit) == 1 and json.loads(audit[0]["new_values"])["gatewayReference"] == "RF_dashboard_1"
    assert len(outbox(paystack_hub, "refund-issued", email_of(member))) == 1
    # Nothing is left to record.
    r = staff.post(f"/api/admin/payments/{pid}/refund", json={"recordOnly": True, "reason": "again"})
    assert r.status_code == 409 and error_code(r) == "not_refundable", r.text


# MARK: A payment settles a booking only for the booking's price


ALL_WEEK = {day: {"open": "00:00", "close": "24:00"}
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}


def hourly_room(staff, price=10000):
    r = staff.post("/api/event-spaces", json={"name": f"Price Room {time.time_ns()}", "capacity": 6, "price": price,
                                              "openingHours": ALL_WEEK, "maxDurationMinutes": 600})
    assert r.status_code == 201, r.text
    return r.json()


def test_rescheduling_to_a_higher_price_cancels_the_open_payment(paystack_hub, gateway):
    """The underpayment attack: a payment opened for a one-hour hold (₦10,000), the booking moved
    to four hours (₦40,000), then the old payment completed. The move cancels the open payment in
    its own transaction; the member's next initialize opens a new one for the new price; the old
    one, paid anyway, is refunded and never confirms the booking."""
    member, staff = register(paystack_hub), admin(paystack_hub)
    room = hourly_room(staff)
    day = next_weekday(5)
    r = member.post("/api/bookings", json={"type": "event", "spaceId": room["id"], "date": day, "startTime": "09:00",
                                           "endTime": "10:00"})
    assert r.status_code == 201, r.text
    booking = r.json()
    assert booking["amount"] == 10000
    old = initialize(member, booking)
    events = Events(paystack_hub, member.token)
    try:
        r = member.put(f"/api/users/bookings/{booking['id']}", json={"date": day, "startTime": "09:00", "endTime": "13:00"})
        assert r.status_code == 200, r.text
        moved = r.json()
        assert moved["amount"] == 40000 and moved["paymentReference"] is None
        cancelled = events.wait(lambda m: m["type"] == "payment_cancelled", what="payment_cancelled")
        assert cancelled["payload"]["payment"]["id"] == old["paymentId"]
    finally:
        events.close()
    assert get_payment(member, old["paymentId"])["status"] == "cancelled"

    # Initializing for the new price opens a new payment of ₦40,000; it does not hand back the old one.
    new = initialize(member, moved)
    assert new["paymentId"] != old["paymentId"] and new["reference"] != old["reference"]
    assert gateway.transaction(new["reference"])["amount"] == 4000000

    # The member pays the old ₦10,000 checkout anyway: the money goes back, the booking stays unpaid.
    assert gateway.send_webhook(paystack_hub, gateway.charge_success_event(old["reference"])).status_code == 200
    refund = wait_for(lambda: gateway.seen("refund"), what="the refund of the superseded payment")
    assert [(b["transaction"], b["amount"]) for (_, _, _, _, b) in refund] == [(old["reference"], 1000000)]
    # The hub records the refund once the gateway has answered: a moment after the gateway saw it.
    flagged = wait_for(lambda: (p := get_payment(staff, old["paymentId"]))["refundedAmount"] == 10000 and p,
                       what="the refund recorded on the superseded payment")
    assert flagged["status"] == "successful"
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"]) == ("pending", "pending"), after

    # Paying the new price confirms it.
    assert gateway.send_webhook(paystack_hub, gateway.charge_success_event(new["reference"])).status_code == 200
    paid = get_booking(member, booking["id"])
    assert (paid["status"], paid["paymentStatus"], paid["amount"], paid["paymentReference"]) == \
        ("confirmed", "paid", 40000, new["reference"])


def test_a_duplicate_refunded_leaves_the_booking_paid_by_the_charge_it_keeps(sandbox_hub):
    """P1 declined, P2 paid, then P1 completed after all: P1 is refunded as a duplicate (sandbox
    refunds settle at once) while P2's money is still held, so the booking stays `paid`; a later
    cancel refunds P2, and only then is the booking `refunded`."""
    member = register(sandbox_hub)
    booking = book(member)
    first = initialize(member, booking)
    r = requests.post(first["authorizationUrl"] + "/decline", allow_redirects=False, timeout=30)
    assert r.status_code == 303 and get_payment(member, first["paymentId"])["status"] == "failed"
    second = pay_in_sandbox(member, booking)
    assert second["paymentId"] != first["paymentId"]
    assert get_booking(member, booking["id"])["paymentStatus"] == "paid"

    r = requests.post(first["authorizationUrl"] + "/pay", allow_redirects=False, timeout=30)
    assert r.status_code == 303
    duplicate = wait_for(lambda: (p := get_payment(member, first["paymentId"]))["status"] == "refunded" and p,
                         what="the duplicate to be refunded")
    assert duplicate["refundedAmount"] == HOUR_PRICE
    held = get_booking(member, booking["id"])
    assert (held["status"], held["paymentStatus"]) == ("confirmed", "paid"), held

    r = member.delete(f"/api/users/bookings/{booking['id']}")
    assert r.status_code == 200 and r.json()["refundDue"] is True, r.text
    wait_for(lambda: get_payment(member, second["paymentId"])["status"] == "refunded", what="the kept charge's refund")
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"], after["refundDue"]) == ("cancelled", "refunded", False)


# MARK: Refunds (sandbox refunds settle at once)


def test_refund_partial_then_the_rest(sandbox_hub):
    member = register(sandbox_hub)
    staff = admin(sandbox_hub)
    booking = book(member)
    started = pay_in_sandbox(member, booking)
    pid = started["paymentId"]
    events = Events(sandbox_hub, member.token)
    try:
        r = staff.post(f"/api/admin/payments/{pid}/refund", json={"amount": 5000, "reason": "projector broken"})
        assert r.status_code == 200, r.text
        assert r.json()["refundedAmount"] == 5000 and r.json()["status"] == "successful"
        refunded = events.wait(lambda m: m["type"] == "payment_refunded", what="payment_refunded")
        assert refunded["payload"]["paymentId"] == pid and refunded["payload"]["amount"] == 5000
    finally:
        events.close()
    assert get_booking(member, booking["id"])["paymentStatus"] == "paid"

    r = staff.post(f"/api/payments/{pid}/refund", json={"amount": 10000.01})
    assert r.status_code == 422 and error_code(r) == "refund_exceeds_paid", r.text
    r = staff.post(f"/api/payments/{pid}/refund", json={"amount": 10000})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "refunded" and r.json()["refundedAmount"] == HOUR_PRICE
    assert get_booking(member, booking["id"])["paymentStatus"] == "refunded"
    payment = get_payment(member, pid)
    assert [x["amount"] for x in payment["refunds"]] == [5000, 10000]
    r = staff.post(f"/api/admin/payments/{pid}/refund", json={"amount": 1})
    assert r.status_code in (409, 422), r.text
    assert len(rows(sandbox_hub, "SELECT * FROM audit_logs WHERE resource = 'payment' AND action = 'refund' AND resource_id = ?",
                    pid)) == 2
    assert len(outbox(sandbox_hub, "refund-issued", email_of(member))) == 2


def test_refund_more_than_paid_is_refused(sandbox_hub):
    member = register(sandbox_hub)
    staff = admin(sandbox_hub)
    booking = book(member)
    started = pay_in_sandbox(member, booking)
    r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"amount": HOUR_PRICE + 1})
    assert r.status_code == 422 and error_code(r) == "refund_exceeds_paid", r.text
    assert r.json()["error"]["refundable"] == HOUR_PRICE
    for bad in (0, -5, "lots"):
        r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"amount": bad})
        assert r.status_code in (400, 422), (bad, r.text)
    payment = get_payment(member, started["paymentId"])
    assert payment["refundedAmount"] == 0 and payment["refunds"] == []
    assert rows(sandbox_hub, "SELECT * FROM audit_logs WHERE resource_id = ?", started["paymentId"]) == []


def test_cancelling_a_paid_booking_a_day_ahead_refunds_it(sandbox_hub):
    member = register(sandbox_hub)
    booking = book(member)  # three or more days ahead: inside the 24-hour refund notice
    started = pay_in_sandbox(member, booking)
    r = member.delete(f"/api/users/bookings/{booking['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["refundDue"] is True
    after = wait_for(lambda: (b := get_booking(member, booking["id"]))["paymentStatus"] == "refunded" and b,
                     what="the booking to show refunded")
    assert after["refundDue"] is False
    payment = get_payment(member, started["paymentId"])
    assert payment["status"] == "refunded" and payment["refundedAmount"] == HOUR_PRICE
    assert len(outbox(sandbox_hub, "refund-issued", email_of(member))) == 1


def test_paying_for_a_cancelled_booking_gives_the_money_back(sandbox_hub):
    member = register(sandbox_hub)
    booking = book(member)
    started = initialize(member, booking)
    r = member.delete(f"/api/users/bookings/{booking['id']}")
    assert r.status_code == 200 and r.json()["refundDue"] is False, r.text
    time.sleep(0.3)
    assert outbox(sandbox_hub, "refund-issued", email_of(member)) == []
    # The member pays the abandoned charge anyway: the money goes straight back.
    r = requests.post(started["authorizationUrl"] + "/pay", allow_redirects=False, timeout=30)
    assert r.status_code == 303
    payment = wait_for(lambda: (p := get_payment(member, started["paymentId"]))["status"] == "refunded" and p,
                       what="automatic refund of a payment for a cancelled booking")
    assert payment["refundedAmount"] == HOUR_PRICE
    assert get_booking(member, booking["id"])["status"] == "cancelled"


def test_cancelling_a_paid_booking_inside_the_notice_refunds_nothing(fresh_hub):
    """With a 90-day refund notice, a booking days ahead is cancelled without a refund."""
    hub = fresh_hub(config=write_config({"bookings": {"refundNoticeHours": 2160}}))
    member = register(hub)
    booking = book(member)
    started = pay_in_sandbox(member, booking)
    r = member.delete(f"/api/users/bookings/{booking['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["refundDue"] is False
    time.sleep(0.3)
    payment = get_payment(member, started["paymentId"])
    assert payment["status"] == "successful" and payment["refunds"] == []
    assert get_booking(member, booking["id"])["paymentStatus"] == "paid"
    assert outbox(hub, "refund-issued", email_of(member)) == []


# MARK: Authorization


def test_members_cannot_touch_each_others_payments(sandbox_hub):
    owner, stranger = register(sandbox_hub), register(sandbox_hub)
    booking = book(owner)
    r = stranger.post("/api/payments/initialize", json={"bookingId": booking["id"], "amount": HOUR_PRICE,
                                                        "currency": "NGN", "paymentMethod": "card"})
    assert r.status_code == 404, r.text
    started = initialize(owner, booking)
    r = stranger.post("/api/payments/verify", json={"reference": started["reference"]})
    assert r.status_code == 404, r.text
    assert stranger.get(f"/api/payments/{started['paymentId']}").status_code == 404
    assert requests.get(f"{sandbox_hub.url}/api/payments/{started['paymentId']}", timeout=30).status_code == 401
    pay_in_sandbox(owner, booking)
    for client in (owner, stranger):
        for path in (f"/api/payments/{started['paymentId']}/refund", f"/api/admin/payments/{started['paymentId']}/refund"):
            r = client.post(path, json={"amount": 1})
            assert r.status_code == 403, (path, r.text)
        assert client.put(f"/api/admin/payments/{started['paymentId']}/verify").status_code == 403
        assert client.get("/api/admin/payments").status_code == 403
    payment = get_payment(owner, started["paymentId"])
    assert payment["refundedAmount"] == 0 and payment["refunds"] == []


def test_admin_verifies_a_bank_transfer_by_hand(sandbox_hub):
    member = register(sandbox_hub)
    staff = admin(sandbox_hub)
    booking = book(member)
    started = initialize(member, booking, method="bank_transfer")
    r = member.put(f"/api/admin/payments/{started['paymentId']}/verify")
    assert r.status_code == 403, r.text

    listed = staff.get("/api/admin/payments?status=pending&limit=100").json()
    assert started["paymentId"] in [p["id"] for p in listed["payments"]]

    r = staff.put(f"/api/admin/payments/{started['paymentId']}/verify")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "successful" and r.json()["verifiedBy"] == staff.user["id"]
    after = get_booking(member, booking["id"])
    assert (after["status"], after["paymentStatus"]) == ("confirmed", "paid")
    stored, = rows(sandbox_hub, "SELECT status, verified_by, verified_at FROM payments WHERE id = ?", started["paymentId"])
    assert stored["status"] == "successful" and stored["verified_by"] == staff.user["id"] and stored["verified_at"]
    audit, = rows(sandbox_hub, "SELECT * FROM audit_logs WHERE resource = 'payment' AND resource_id = ?", started["paymentId"])
    assert audit["action"] == "verify" and audit["admin_id"] == staff.user["id"]
    assert json.loads(audit["new_values"])["status"] == "successful"
    assert len(outbox(sandbox_hub, "payment-received", email_of(member))) == 1

    r = staff.put(f"/api/admin/payments/{started['paymentId']}/verify")
    assert r.status_code == 409, r.text
    assert len(rows(sandbox_hub, "SELECT * FROM audit_logs WHERE resource_id = ?", started["paymentId"])) == 1
    listed = staff.get("/api/admin/payments?status=successful&limit=100").json()
    assert started["paymentId"] in [p["id"] for p in listed["payments"]]
    assert all(p["status"] == "successful" for p in listed["payments"])
    page = staff.get("/api/admin/payments?limit=1&page=1").json()
    assert len(page["payments"]) == 1 and page["total"] >= 1 and page["limit"] == 1
    assert page["payments"][0]["id"] == started["paymentId"]  # newest first
    assert staff.get("/api/admin/payments?status=bogus").status_code in (400, 422)


def test_paystack_webhooks_still_settle_when_the_gateway_is_a_stored_setting(fake, gateway, fresh_hub):
    """The configuration says sandbox and holds a Paystack key; an admin's stored setting
    (system_settings.paymentGateway) sends new payments to Paystack. Paystack's webhooks for
    those payments must be accepted, or paid bookings are never confirmed."""
    hub = fresh_hub(env={"PAYSTACK_SECRET_KEY": fake.secret, "PAYSTACK_BASE_URL": fake.url},
                    config=write_config(PAYSTACK_CONFIG))
    hub.stop()
    hub.execute("INSERT INTO system_settings (key, value, description, updated_by, updated_at) "
                "VALUES ('paymentGateway', '\"paystack\"', 'sandbox or paystack', NULL, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (Instant(0),))
    hub.port = None
    hub.start()
    member = register(hub)
    booking = book(member)
    started = initialize(member, booking)
    assert gateway.attempts("initialize") == 1
    r = gateway.send_webhook(hub, gateway.charge_success_event(started["reference"]))
    assert r.status_code == 200, r.text
    assert get_booking(member, booking["id"])["status"] == "confirmed"
