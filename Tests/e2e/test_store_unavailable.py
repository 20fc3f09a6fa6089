"""A commit that fails is answered 503 `store_unavailable` and nothing is half-applied.

No mock: the hub runs with a short `store.busyTimeoutMs`, and the test holds SQLite's write lock
from another connection (`BEGIN EXCLUSIVE` on the hub's own file). In WAL mode readers go on, so
the hub still answers reads; every write waits out the busy timeout and fails. Then the lock is
let go and the same requests succeed (and Paystack's retry of a webhook settles the payment).
"""

import requests

from conftest import Hub, register
from e2e_support import write_config, write_lock
from fake_paystack import FakePaystack
from test_payments import HOUR_PRICE, ROOM, book, get_booking, initialize, paystack_env, unique_slot


def unavailable(r):
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "store_unavailable", r.text
    return True


def test_writes_fail_cleanly_while_the_store_cannot_commit_and_succeed_after():
    fake = FakePaystack()
    hub = Hub(env=paystack_env(fake), config=write_config({"store": {"busyTimeoutMs": 50}})).start()
    try:
        member = register(hub)
        held = book(member)
        date, start, end = unique_slot()
        body = {"type": "event", "spaceId": ROOM, "date": date, "startTime": start, "endTime": end}
        with write_lock(hub):
            # A new booking: 503, and its slot is not left reserved.
            assert unavailable(member.post("/api/bookings", json=body))
            view = requests.get(hub.url + "/api/spaces/availability", timeout=10,
                                params={"type": "event", "spaceId": ROOM, "date": date, "startTime": start, "endTime": end})
            assert view.status_code == 200 and view.json()["available"] is True, view.text
            # A reschedule: 503, the booking keeps its time.
            assert unavailable(member.put(f"/api/users/bookings/{held['id']}",
                                          json={"date": date, "startTime": start, "endTime": end}))
            assert (get_booking(member, held["id"])["startsAt"], get_booking(member, held["id"])["version"]) == \
                (held["startsAt"], held["version"])
            # Opening a payment: Paystack opened it, the hub could not record it: 503, no payment row.
            assert unavailable(member.post("/api/payments/initialize", json={
                "bookingId": held["id"], "amount": HOUR_PRICE, "currency": "NGN", "paymentMethod": "card"}))
        assert hub.rows("SELECT COUNT(*) AS n FROM payments") == [{"n": 0}]

        # The store is back: the same requests go through.
        started = initialize(member, held)
        event = fake.charge_success_event(started["reference"])
        with write_lock(hub):
            # Paystack's webhook cannot be recorded: a 5xx, so Paystack delivers it again.
            r = fake.send_webhook(hub, event)
            assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable", r.text
            assert get_booking(member, held["id"])["paymentStatus"] == "pending"
        r = fake.send_webhook(hub, event)  # the retry
        assert r.status_code == 200 and r.json()["duplicate"] is False, r.text
        after = get_booking(member, held["id"])
        assert (after["status"], after["paymentStatus"]) == ("confirmed", "paid")
        other = register(hub)
        assert other.post("/api/bookings", json=body).status_code == 201, "the slot the failed booking wanted was free"
    finally:
        hub.kill()
        fake.close()
