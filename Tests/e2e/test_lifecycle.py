"""Bookings over time, on the clock the hub really reads (no fake time): a booking whose time has
begun can no longer change, one that ends is completed, money for an expired hold whose time has
begun goes back, and holds expire in the order of their deadlines.

A booking's minutes are whole and never in the past, so the earliest one starts at the next whole
minute. The bookings here start then (`begun` below, shared by the tests so the module waits for
that minute once) and last one minute, in 24/7 rooms with a one-minute minimum. Every wait is for
a known instant or an event, and bounded.
"""
import datetime
import json
import time

import pytest

from conftest import Hub, register
from e2e_support import WS, admin_of, db_rows, event_body, open_room, unique_weekday, write_config
from test_payments import PAYSTACK_CONFIG, email_of, get_booking, get_payment, initialize, outbox, paystack_env, wait_for

LAGOS = datetime.timezone(datetime.timedelta(hours=1))  # Africa/Lagos: UTC+1, no daylight saving


def next_minute(margin=10):
    """The next whole minute at least `margin` seconds away (Unix seconds): time to book for it."""
    now = time.time()
    start = (int(now) // 60 + 1) * 60
    return start if start - now >= margin else start + 60


def lagos(instant):
    """("YYYY-MM-DD", "HH:MM") of `instant` on Lagos clocks."""
    moment = datetime.datetime.fromtimestamp(instant, LAGOS)
    return moment.date().isoformat(), moment.strftime("%H:%M")


def sleep_until(instant, slack=0.2):
    delay = instant + slack - time.time()
    if delay > 0:
        time.sleep(delay)


def epoch(iso):
    return datetime.datetime.fromisoformat(iso).timestamp()


@pytest.fixture(scope="module")
def hub(fake):
    h = Hub(env=paystack_env(fake), config=write_config(PAYSTACK_CONFIG | {"bookings": {"holdSeconds": 2, "holdSweepMs": 100}})).start()
    yield h
    h.kill()


@pytest.fixture(scope="module")
def begun(hub, fake):
    """One-minute bookings starting at the next whole minute, made now: a confirmed one (`confirmed`)
    and an unpaid hold with a payment opened (`held`, `payment`) whose two-second hold lapses long
    before its time begins."""
    start = next_minute()
    date, time_ = lagos(start)

    def one_minute(name):
        room = open_room(hub, f"{name} {time.time_ns()}", minDurationMinutes=1)
        member = register(hub)
        r = member.post("/api/bookings", json={"type": "event", "spaceId": room["id"], "date": date, "startTime": time_,
                                               "duration": "1 minute"})
        assert r.status_code == 201, r.text
        booking = r.json()
        assert epoch(booking["startsAt"]) == start and epoch(booking["endsAt"]) == start + 60, booking
        return member, booking

    confirmed_member, confirmed = one_minute("Minute Room")
    r = admin_of(hub).put(f"/api/bookings/{confirmed['id']}/confirm")
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    held_member, held = one_minute("Lapsed Room")
    payment = initialize(held_member, held)
    return {"start": start, "end": start + 60, "confirmed": (confirmed_member, r.json()), "held": (held_member, held),
            "payment": payment}


# MARK: Once the booked time has begun


@pytest.mark.timeout(300)
def test_money_for_an_expired_hold_whose_time_has_begun_is_refunded(hub, fake, begun):
    """The hold lapsed, nobody took the slot, and the charge succeeds after the booked time began:
    the booking cannot be reinstated for a time already under way, so the money is refunded
    automatically (the other late-payment branches, slot free or taken, are in test_payments.py)."""
    member, booking = begun["held"]
    started = begun["payment"]
    assert epoch(booking["holdExpiresAt"]) < begun["start"]
    expired = wait_for(lambda: (b := get_booking(member, booking["id"]))["status"] == "expired" and b, timeout=30,
                       what="the hold to lapse")
    assert expired["paymentStatus"] == "pending"
    sleep_until(begun["start"])

    r = fake.send_webhook(hub, fake.charge_success_event(started["reference"]))
    assert r.status_code == 200, r.text
    (_, _, _, _, body), = wait_for(lambda: fake.seen("refund"), timeout=30, what="the refund at Paystack")
    assert (body["transaction"], body["amount"]) == (started["reference"], booking["amount"] * 100)
    payment = wait_for(lambda: (p := get_payment(member, started["paymentId"]))["refunds"] and p, timeout=30,
                       what="the refund to be recorded")
    assert (payment["status"], payment["refundedAmount"], payment["flagged"]) == ("successful", booking["amount"], None)
    assert [x["reason"] for x in payment["refunds"]] == ["the hold expired and the booked time has already begun"]
    after = get_booking(member, booking["id"])
    assert after["status"] == "expired" and after["paymentStatus"] != "paid", after
    # The slot was free all along: the refund is for the time, not for a lost slot.
    assert db_rows(hub, "SELECT id FROM bookings WHERE space_id = ?", (booking["spaceId"],)) == [{"id": booking["id"]}]
    assert outbox(hub, "booking-confirmation", email_of(member)) == []
    assert len(outbox(hub, "refund-issued", email_of(member))) == 1


@pytest.mark.timeout(300)
def test_a_booking_that_has_begun_cannot_change_and_completes_when_it_ends(hub, begun):
    member, booking = begun["confirmed"]
    events = WS(hub, token=member.token)
    try:
        sleep_until(begun["start"])
        later = unique_weekday()
        for change in ({"date": later, "startTime": "10:00", "endTime": "11:00"}, {"specialRequests": "a projector"}):
            r = member.put(f"/api/users/bookings/{booking['id']}", json=change)
            assert r.status_code == 409 and r.json()["error"]["code"] == "not_changeable", (change, r.text)
        current = get_booking(member, booking["id"])
        assert (current["status"], current["version"], current["startsAt"]) == \
            ("confirmed", booking["version"], booking["startsAt"])

        completed = events.wait_for(lambda m: m.get("type") == "booking_updated" and m["payload"]["id"] == booking["id"]
                                    and m["payload"]["status"] == "completed",
                                    timeout=begun["end"] - time.time() + 30, what="booking_updated (completed)")
        assert completed["ts"] >= begun["end"] * 1000, "completed before it ended"
        assert completed["payload"]["version"] == booking["version"] + 1
    finally:
        events.close()
    after = get_booking(member, booking["id"])
    assert (after["status"], after["endsAt"]) == ("completed", booking["endsAt"])
    stored, = db_rows(hub, "SELECT status FROM bookings WHERE id = ?", (booking["id"],))
    assert stored["status"] == "completed"
    # Over: it can be neither cancelled nor changed.
    r = member.delete(f"/api/users/bookings/{booking['id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition", r.text
    r = member.put(f"/api/users/bookings/{booking['id']}", json={"specialRequests": "too late"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_changeable", r.text


# MARK: Hold expiry order


def test_many_holds_expire_in_the_order_of_their_deadlines(fresh_hub):
    """Holds enter the deadline queue in no useful order: those found at start first (by row), then
    new ones. Here the first twenty are taken with ten-second holds, the hub restarts with
    three-second holds, and twenty more are taken: the later ones are due first. Every hold must
    expire, each at or after its deadline, and the `booking_hold_expired` events (numbered in
    commit order) must follow the deadlines. A queue that kept insertion order would hold the
    short holds back behind the long ones."""
    per_batch = 20

    def config(hold_seconds):
        return write_config({"bookings": {"holdSeconds": hold_seconds, "holdSweepMs": 50}})
    hub = fresh_hub(config=config(10))
    room = open_room(hub, f"Queue Room {time.time_ns()}")["id"]
    member = register(hub)
    day = unique_weekday()

    def take(batch):
        ids = []
        for index in range(per_batch):
            minutes = (batch * per_batch + index) * 30
            start, end = f"{minutes // 60:02d}:{minutes % 60:02d}", f"{(minutes + 30) // 60:02d}:{(minutes + 30) % 60:02d}"
            r = member.post("/api/bookings", json=event_body(room, day, start, end))
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        return ids
    long_holds = take(0)
    hub.config = config(3)
    hub.restart()
    short_holds = take(1)
    deadlines = {row["id"]: row["hold_expires_at"] for row in
                 db_rows(hub, "SELECT id, hold_expires_at FROM bookings WHERE space_id = ?", (room,))}
    assert max(deadlines[i] for i in short_holds) < min(deadlines[i] for i in long_holds), deadlines

    def expired():
        rows = db_rows(hub, "SELECT seq, payload, created_at FROM event_log WHERE type = 'booking_hold_expired' ORDER BY seq",
                       milliseconds=("created_at",))
        return [(json.loads(row["payload"])["bookingId"], row["created_at"]) for row in rows]
    wait_for(lambda: len(expired()) == 2 * per_batch, timeout=max(deadlines.values()) - time.time() + 30,
             what="every hold to expire")
    order = expired()
    assert [deadlines[i] for i, _ in order] == sorted(deadlines[i] for i, _ in order), order
    assert {i for i, _ in order[:per_batch]} == set(short_holds)
    for booking_id, at_ms in order:
        assert at_ms >= deadlines[booking_id] * 1000, (booking_id, at_ms, deadlines[booking_id])
    statuses = db_rows(hub, "SELECT DISTINCT status FROM bookings WHERE space_id = ?", (room,))
    assert statuses == [{"status": "expired"}]
