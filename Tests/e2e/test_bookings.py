"""Availability and the booking workflow over REST (issue 6): every booking endpoint, its
validation and authorization, concurrency over real sockets, hold expiry and idempotency."""
import datetime
import threading
import time
import uuid
import zoneinfo

import pytest
import requests

from conftest import error_code, register
from e2e_support import (ALL_WEEK, WS, InFlight, admin_of, coworking_body, db_rows, event_body, is_number, overbooked, parse_iso,
                         past_weekday, start_hub, unique_weekday, write_config, write_lock)

@pytest.fixture(scope="module")
def hub():
    h = start_hub()
    yield h
    h.kill()


@pytest.fixture(scope="module")
def member(hub):
    return register(hub)


def book(client, body, status=201, **kw):
    r = client.post("/api/bookings", json=body, **kw)
    assert r.status_code == status, r.text
    return r.json()


# MARK: Creating


def test_event_booking_has_seed_fields(hub, member):
    day = unique_weekday()
    before = time.time()
    b = book(member, event_body("conference-room-a", day, "10:00", "11:30", specialRequests="Projector please"))
    # The seed's `Booking`, unchanged in name and type.
    assert isinstance(b["id"], str) and len(b["id"]) == 36
    assert b["type"] == "event"
    assert b["spaceName"] == "Conference Room A"
    assert b["date"] == day and b["time"] == "10:00"
    assert b["duration"] == "90 minutes"
    assert b["status"] == "pending" and b["paymentStatus"] == "pending"
    assert is_number(b["amount"]) and b["amount"] == 22500  # 15,000/hour × 1.5
    # Ours: local times with the offset, the hold, the request text.
    assert b["spaceId"] == "conference-room-a"
    assert b["startsAt"] == f"{day}T10:00:00+01:00" and b["endsAt"] == f"{day}T11:30:00+01:00"
    hold = parse_iso(b["holdExpiresAt"]).timestamp()
    assert before + 14 * 60 <= hold <= time.time() + 15 * 60 + 1, b["holdExpiresAt"]
    assert b["specialRequests"] == "Projector please"
    assert before - 1 <= parse_iso(b["createdAt"]).timestamp() <= time.time() + 1, b["createdAt"]
    # The same JSON comes back from both read paths.
    assert member.get("/api/bookings/" + b["id"]).json() == b
    assert member.get("/api/users/bookings/" + b["id"]).json() == b
    row = db_rows(hub, "SELECT status, payment_status, amount_minor, user_id FROM bookings WHERE id = ?", (b["id"],))
    assert row == [{"status": "pending", "payment_status": "pending", "amount_minor": 2_250_000, "user_id": member.user["id"]}]


def test_coworking_booking_by_duration_on_users_path(hub, member):
    day = unique_weekday()
    r = member.post("/api/users/bookings", json=coworking_body("hot-desk", day, "09:00", "8 hours"))
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["type"] == "coworking" and b["spaceName"] == "Hot Desk"
    assert b["duration"] == "8 hours" and b["time"] == "09:00"
    assert b["amount"] == 5000  # one started day of a day plan
    assert parse_iso(b["endsAt"]) - parse_iso(b["startsAt"]) == datetime.timedelta(hours=8)


@pytest.mark.parametrize("body,field,code", [
    ({"type": "event", "spaceId": "conference-room-a", "date": "2026-13-40", "startTime": "10:00", "endTime": "11:00"}, "date", "bad_date"),
    ({"type": "event", "spaceId": "conference-room-a", "date": "tomorrow", "startTime": "10:00", "endTime": "11:00"}, "date", "bad_date"),
    ({"type": "event", "spaceId": "conference-room-a", "date": "{day}", "startTime": "25:00", "endTime": "26:00"}, "startTime", "bad_time"),
    ({"type": "event", "spaceId": "conference-room-a", "date": "{day}", "startTime": "10:00", "endTime": "11:61"}, "endTime", "bad_time"),
    ({"type": "meeting", "spaceId": "conference-room-a", "date": "{day}", "startTime": "10:00", "endTime": "11:00"}, "type", "bad_type"),
    ({"type": "event", "date": "{day}", "startTime": "10:00", "endTime": "11:00"}, "spaceId", "missing_space"),
    ({"type": "event", "spaceId": "no-such-room", "date": "{day}", "startTime": "10:00", "endTime": "11:00"}, "spaceId", "unknown_space"),
    ({"type": "coworking", "spaceId": "conference-room-a", "date": "{day}", "startTime": "10:00", "duration": "2 hours"}, "type", "type_mismatch"),
    ({"type": "coworking", "spaceId": "hot-desk", "date": "{day}", "startTime": "10:00"}, "duration", "missing_end"),
    ({"type": "coworking", "spaceId": "hot-desk", "date": "{day}", "startTime": "10:00", "duration": "a while"}, "duration", "bad_duration"),
    ({"type": "event", "spaceId": "conference-room-a", "date": "{day}", "startTime": "11:00", "endTime": "10:00"}, "endTime", "end_before_start"),
    ({"type": "event", "spaceId": "conference-room-a", "date": "{day}", "startTime": "07:00", "endTime": "09:00"}, "startTime", "outside_opening_hours"),
    ({"type": "event", "spaceId": "conference-room-a", "date": "{day}", "startTime": "19:30", "endTime": "21:00"}, "startTime", "outside_opening_hours"),
    ({"type": "event", "spaceId": "conference-room-a", "date": "{sunday}", "startTime": "10:00", "endTime": "11:00"}, "startTime", "outside_opening_hours"),
    ({"type": "event", "spaceId": "conference-room-a", "date": "{day}", "startTime": "10:00", "endTime": "10:15"}, "endTime", "too_short"),
    ({"type": "event", "spaceId": "training-room", "date": "{day}", "startTime": "10:00", "endTime": "10:45"}, "endTime", "too_short"),
    ({"type": "event", "spaceId": "conference-room-a", "date": "{day}", "startTime": "08:00", "endTime": "19:00"}, "endTime", "too_long"),
    ({"type": "event", "spaceId": "conference-room-a", "date": "{past}", "startTime": "10:00", "endTime": "11:00"}, "startTime", "in_the_past"),
    ({"type": "event", "spaceId": "conference-room-a", "date": "{far}", "startTime": "10:00", "endTime": "11:00"}, "date", "beyond_horizon"),
    ({"type": "event", "spaceId": "conference-room-a", "date": "{day}", "startTime": "10:00", "endTime": "11:00", "specialRequests": 5}, "specialRequests", "bad_special_requests"),
])
def test_create_validation(hub, member, body, field, code):
    day = unique_weekday()
    sunday = datetime.date.fromisoformat(day)
    while sunday.weekday() != 6:
        sunday += datetime.timedelta(days=1)
    far = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()
    filled = {k: (v.format(day=day, sunday=sunday.isoformat(), past=past_weekday(), far=far) if isinstance(v, str) else v)
              for k, v in body.items()}
    r = member.post("/api/bookings", json=filled)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code, r.text
    assert r.json()["error"]["field"] == field, r.text


def test_create_requires_sign_in_and_json(hub, member):
    day = unique_weekday()
    r = requests.post(hub.url + "/api/bookings", json=event_body("conference-room-a", day, "10:00", "11:00"), timeout=10)
    assert r.status_code == 401
    r = member.session.post(hub.url + "/api/bookings", data="{not json", headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code in (400, 422)
    # Nothing was booked by either.
    assert book(member, event_body("conference-room-a", day, "10:00", "11:00"))["status"] == "pending"


def test_conflict_is_409_with_the_conflicting_ranges(hub, member):
    other = register(hub)
    day = unique_weekday()
    first = book(member, event_body("conference-room-b", day, "10:00", "11:00"))
    r = other.post("/api/bookings", json=event_body("conference-room-b", day, "10:30", "12:00"))
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "booking_conflict"
    assert error["conflicts"] == [{"start": first["startsAt"], "end": first["endsAt"]}]
    # The 15-minute buffer after the booking is part of the rule…
    assert error_code(other.post("/api/bookings", json=event_body("conference-room-b", day, "11:10", "12:00"))) == "booking_conflict"
    # …and the slot right after the buffer is free.
    book(other, event_body("conference-room-b", day, "11:15", "12:00"))
    # A different room at the same time is free.
    book(other, event_body("conference-room-a", day, "10:00", "11:00"))


# MARK: Availability


def test_availability_reports_fit_conflicts_and_free_slots(hub, member):
    day = unique_weekday()
    taken = book(member, event_body("training-room", day, "12:00", "14:00"))
    url = hub.url + "/api/spaces/availability"
    q = {"type": "event", "spaceId": "training-room", "date": day, "startTime": "13:00", "endTime": "15:00"}
    r = requests.get(url, params=q, timeout=10)
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["available"] is False
    assert a["conflicts"] == [{"start": taken["startsAt"], "end": taken["endsAt"]}]
    assert a["busy"][0]["start"] == taken["startsAt"] and a["busy"][0]["status"] == "held"
    # Free slots: opening hours minus the booking widened by the 30-minute buffer.
    assert a["free"] == [{"start": f"{day}T08:00:00+01:00", "end": f"{day}T11:30:00+01:00"},
                         {"start": f"{day}T14:30:00+01:00", "end": f"{day}T20:00:00+01:00"}]
    q.update(startTime="15:00", endTime="17:00")
    a = requests.get(url, params=q, timeout=10).json()
    assert a["available"] is True and a["conflicts"] == [] and a["amount"] == 50000
    # A range the rules refuse is unavailable with the reason.
    q.update(startTime="06:00", endTime="07:00")
    a = requests.get(url, params=q, timeout=10).json()
    assert a["available"] is False and a["reason"]["code"] == "outside_opening_hours"
    # Coworking: seats left over the range.
    book(member, coworking_body("private-office", day, "09:00", "1 month"))
    a = requests.get(url, params={"type": "coworking", "spaceId": "private-office", "date": day,
                                  "startTime": "09:00", "duration": "1 month"}, timeout=10).json()
    assert a["available"] is True and a["seatsLeft"] == 5
    # Bad parameters are 422 naming them.
    r = requests.get(url, params={"spaceId": "training-room", "date": "31/12/2026"}, timeout=10)
    assert r.status_code == 422 and r.json()["error"]["field"] == "date"
    r = requests.get(url, params={"spaceId": "nowhere", "date": day}, timeout=10)
    assert r.status_code == 422 and r.json()["error"]["field"] == "spaceId"
    r = requests.get(url, params={"type": "coworking", "spaceId": "training-room", "date": day}, timeout=10)
    assert r.status_code == 422 and r.json()["error"]["field"] == "type"


def test_grid_lists_every_active_space(hub, member):
    day = unique_weekday()
    b = book(member, event_body("event-hall", day, "09:00", "12:00"))
    desk = [book(member, coworking_body("hot-desk", day, "09:00", "8 hours")),
            book(member, coworking_body("hot-desk", day, "13:00", "2 hours"))]
    r = requests.get(hub.url + "/api/spaces/availability/grid", params={"date": day, "days": 2}, timeout=10)
    assert r.status_code == 200, r.text
    grid = r.json()
    assert grid["date"] == day and grid["days"] == 2
    spaces = {s["spaceId"]: s for s in grid["spaces"]}
    active = {p["id"] for p in requests.get(hub.url + "/api/coworking-plans", timeout=10).json()} | \
             {s["id"] for s in requests.get(hub.url + "/api/event-spaces", timeout=10).json()}
    assert set(spaces) == active
    hall = spaces["event-hall"]
    assert len(hall["days"]) == 2 and hall["days"][0]["date"] == day
    assert [(x["start"], x["end"]) for x in hall["days"][0]["busy"]] == [(b["startsAt"], b["endsAt"])]
    assert hall["days"][1]["busy"] == []
    assert spaces["hot-desk"]["seats"] == 40 and "free" in spaces["hot-desk"]["days"][0]
    # Seats taken through the day: one, then two while the bookings overlap, then one.
    occupancy = [(x["start"], x["end"], x["taken"]) for x in spaces["hot-desk"]["days"][0]["occupancy"]]
    assert occupancy == [(desk[0]["startsAt"], desk[1]["startsAt"], 1), (desk[1]["startsAt"], desk[1]["endsAt"], 2),
                         (desk[1]["endsAt"], desk[0]["endsAt"], 1)], occupancy
    assert spaces["hot-desk"]["days"][0]["busy"] == [] and spaces["hot-desk"]["days"][0]["bookings"] == 2
    r = requests.get(hub.url + "/api/spaces/availability/grid", params={"date": day, "days": 15}, timeout=10)
    assert r.status_code == 422 and r.json()["error"]["field"] == "days"


def test_check_conflicts_reports_without_holding(hub, member):
    day = unique_weekday()
    taken = book(member, event_body("conference-room-a", day, "15:00", "16:00"))
    url = hub.url + "/api/bookings/check-conflicts"
    r = requests.post(url, json=event_body("conference-room-a", day, "15:30", "16:30"), timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["hasConflicts"] is True
    assert r.json()["conflicts"] == [{"start": taken["startsAt"], "end": taken["endsAt"]}]
    free = requests.post(url, json=event_body("conference-room-a", day, "17:00", "18:00"), timeout=10).json()
    assert free["hasConflicts"] is False and free["available"] is True
    # Checking held nothing: the checked slot can still be booked.
    book(register(hub), event_body("conference-room-a", day, "17:00", "18:00"))
    r = requests.post(url, json={"type": "event", "spaceId": "conference-room-a", "date": day, "startTime": "nope"}, timeout=10)
    assert r.status_code == 422 and r.json()["error"]["field"] == "startTime"


# MARK: Reading and authorization


def test_other_members_cannot_see_change_or_cancel(hub):
    alice, bob = register(hub), register(hub)
    day = unique_weekday()
    b = book(alice, event_body("conference-room-a", day, "12:00", "13:00"))
    path = "/api/bookings/" + b["id"]
    assert bob.get(path).status_code == 404
    assert bob.get("/api/users/bookings/" + b["id"]).status_code == 404
    assert bob.put("/api/users/bookings/" + b["id"], json={"specialRequests": "mine now"}).status_code == 404
    assert bob.put("/api/users/bookings/" + b["id"], json={"startTime": "14:00", "endTime": "15:00"}).status_code == 404
    assert bob.delete("/api/users/bookings/" + b["id"]).status_code == 404
    assert bob.put(path + "/cancel").status_code == 404
    assert bob.put(path + "/confirm").status_code == 403
    # The same 404 as an id that does not exist: ids cannot be probed.
    missing = bob.get("/api/bookings/" + str(uuid.uuid4()))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == bob.get(path).json()["error"]["code"]
    assert all(x["id"] != b["id"] for x in bob.get("/api/users/bookings").json()["bookings"])
    for method in ("GET", "DELETE"):
        assert requests.request(method, hub.url + "/api/users/bookings/" + b["id"], timeout=10).status_code == 401
    # Untouched, and the owner and an admin still see it.
    mine = alice.get(path).json()
    assert mine["status"] == "pending" and mine["specialRequests"] is None and mine["time"] == "12:00"
    assert admin_of(hub).get(path).status_code == 200


def test_list_pages_newest_first_with_status_filter(hub):
    m = register(hub)
    day = unique_weekday()
    made = [book(m, event_body("conference-room-b", day, f"{h:02d}:00", f"{h:02d}:30")) for h in (8, 9, 10, 11, 12)]
    r = m.get("/api/users/bookings", params={"limit": 2, "page": 1})
    assert r.status_code == 200
    page = r.json()
    assert page["total"] == 5 and page["page"] == 1 and len(page["bookings"]) == 2
    seen = []
    for number in (1, 2, 3):
        seen += m.get("/api/users/bookings", params={"limit": 2, "page": number}).json()["bookings"]
    assert [x["id"] for x in seen] == [x["id"] for x in reversed(made)]  # newest first, no repeats
    assert m.get("/api/users/bookings", params={"limit": 2, "page": 4}).json()["bookings"] == []
    # Status filter.
    assert m.delete("/api/users/bookings/" + made[0]["id"]).status_code == 200
    cancelled = m.get("/api/users/bookings", params={"status": "cancelled"}).json()
    assert cancelled["total"] == 1 and [x["id"] for x in cancelled["bookings"]] == [made[0]["id"]]
    assert m.get("/api/users/bookings", params={"status": "pending"}).json()["total"] == 4
    # Limits.
    assert len(m.get("/api/users/bookings", params={"limit": 100}).json()["bookings"]) == 5
    for params, field in [({"limit": 101}, "limit"), ({"limit": 0}, "limit"), ({"page": 0}, "page"),
                          ({"status": "lost"}, "status")]:
        r = m.get("/api/users/bookings", params=params)
        assert r.status_code == 422 and r.json()["error"]["field"] == field, (params, r.text)
    # The seed's default page.
    default = m.get("/api/users/bookings").json()
    assert default["page"] == 1 and len(default["bookings"]) == 5


# MARK: Changing


def test_reschedule_moves_when_the_new_slot_fits(hub):
    m, other = register(hub), register(hub)
    day = unique_weekday()
    b = book(m, event_body("conference-room-a", day, "09:00", "10:00"))
    r = m.put("/api/users/bookings/" + b["id"], json={"startTime": "13:00", "endTime": "14:30"})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["id"] == b["id"] and moved["time"] == "13:00" and moved["startsAt"] == f"{day}T13:00:00+01:00"
    assert moved["amount"] == 22500 and moved["status"] == "pending"
    assert m.get("/api/bookings/" + b["id"]).json()["endsAt"] == f"{day}T14:30:00+01:00"
    # The old slot is free, the new one is taken.
    book(other, event_body("conference-room-a", day, "09:00", "10:00"))
    assert error_code(other.post("/api/bookings", json=event_body("conference-room-a", day, "13:30", "14:00"))) == "booking_conflict"
    # Moving within its own range (overlapping itself) is fine.
    r = m.put("/api/users/bookings/" + b["id"], json={"startTime": "13:30", "endTime": "15:00"})
    assert r.status_code == 200, r.text


def test_reschedule_with_only_a_new_start_or_date_keeps_the_length(hub):
    m = register(hub)
    day, later = unique_weekday(), unique_weekday()
    b = book(m, event_body("conference-room-a", day, "09:00", "10:30"))
    r = m.put("/api/users/bookings/" + b["id"], json={"startTime": "15:00"})
    assert r.status_code == 200, r.text
    assert r.json()["startsAt"] == f"{day}T15:00:00+01:00" and r.json()["endsAt"] == f"{day}T16:30:00+01:00"
    # A month-long office booking moves to another date as a whole month.
    office = book(m, coworking_body("private-office", day, "09:00", "1 month"))
    r = m.put("/api/users/bookings/" + office["id"], json={"date": later})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["date"] == later and moved["time"] == "09:00"
    assert parse_iso(moved["endsAt"]) - parse_iso(moved["startsAt"]) == parse_iso(office["endsAt"]) - parse_iso(office["startsAt"])
    assert moved["amount"] == office["amount"]


def test_reschedule_into_a_conflict_keeps_the_old_slot(hub):
    m, other = register(hub), register(hub)
    day = unique_weekday()
    b = book(m, event_body("conference-room-b", day, "09:00", "10:00"))
    blocker = book(other, event_body("conference-room-b", day, "14:00", "15:00"))
    r = m.put("/api/users/bookings/" + b["id"], json={"startTime": "14:30", "endTime": "15:30"})
    assert r.status_code == 409 and error_code(r) == "booking_conflict"
    assert r.json()["error"]["conflicts"] == [{"start": blocker["startsAt"], "end": blocker["endsAt"]}]
    kept = m.get("/api/bookings/" + b["id"]).json()
    assert kept["startsAt"] == b["startsAt"] and kept["endsAt"] == b["endsAt"]
    # The old slot is still held, and the rejected range was not left reserved.
    assert error_code(other.post("/api/bookings", json=event_body("conference-room-b", day, "09:00", "10:00"))) == "booking_conflict"
    assert db_rows(hub, "SELECT starts_at FROM bookings WHERE id = ?", (b["id"],))[0]["starts_at"] == \
        int(parse_iso(b["startsAt"]).timestamp())
    # Rules are checked on the new range too.
    r = m.put("/api/users/bookings/" + b["id"], json={"startTime": "06:00", "endTime": "07:00"})
    assert r.status_code == 422 and error_code(r) == "outside_opening_hours"
    r = m.put("/api/users/bookings/" + b["id"], json={"spaceId": "conference-room-a", "startTime": "11:00", "endTime": "12:00"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "spaceId"


def test_a_cancelled_booking_cannot_change(hub):
    """Only bookings that hold time and have not begun change (`not_changeable`); a booking that
    has begun is refused the same way (test_lifecycle.py)."""
    m = register(hub)
    day = unique_weekday()
    b = book(m, event_body("conference-room-b", day, "11:00", "12:00"))
    assert m.delete("/api/users/bookings/" + b["id"]).status_code == 200
    cancelled = m.get("/api/bookings/" + b["id"]).json()
    for change in ({"startTime": "13:00", "endTime": "14:00"}, {"specialRequests": "after all"}):
        r = m.put("/api/users/bookings/" + b["id"], json=change)
        assert r.status_code == 409 and error_code(r) == "not_changeable", (change, r.text)
    after = m.get("/api/bookings/" + b["id"]).json()
    assert after == cancelled
    # The time it gave up stays free for others.
    book(register(hub), event_body("conference-room-b", day, "11:00", "12:00"))


def test_a_paid_booking_moves_only_to_a_time_with_the_same_price(hub):
    """Money was taken for one price: a paid booking may move to another hour of the same length,
    but not to a longer one (`amount_would_change`; cancel and book again), and a refused move
    leaves it as it was, still paid and holding its slot."""
    m = register(hub)
    day = unique_weekday()
    b = book(m, event_body("conference-room-b", day, "09:00", "10:00"))
    started = m.post("/api/payments/initialize", json={"bookingId": b["id"], "amount": b["amount"], "currency": "NGN",
                                                       "paymentMethod": "card"})
    assert started.status_code == 200, started.text
    r = requests.post(started.json()["authorizationUrl"] + "/pay", allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text
    paid = m.get("/api/bookings/" + b["id"]).json()
    assert (paid["status"], paid["paymentStatus"]) == ("confirmed", "paid")

    r = m.put("/api/users/bookings/" + b["id"], json={"startTime": "09:00", "endTime": "11:00"})
    assert r.status_code == 422 and error_code(r) == "amount_would_change", r.text
    assert r.json()["error"]["field"] == "endTime"
    assert m.get("/api/bookings/" + b["id"]).json() == paid
    r = register(hub).post("/api/bookings", json=event_body("conference-room-b", day, "09:00", "10:00"))
    assert r.status_code == 409 and error_code(r) == "booking_conflict", "the refused move gave up the slot"

    r = m.put("/api/users/bookings/" + b["id"], json={"startTime": "14:00", "endTime": "15:00"})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert (moved["startsAt"], moved["amount"], moved["status"], moved["paymentStatus"]) == \
        (f"{day}T14:00:00+01:00", paid["amount"], "confirmed", "paid")


def test_update_special_requests_only(hub, member):
    day = unique_weekday()
    b = book(member, event_body("conference-room-b", day, "16:00", "17:00"))
    r = member.put("/api/users/bookings/" + b["id"], json={"specialRequests": "Vegan lunch for 6"})
    assert r.status_code == 200 and r.json()["specialRequests"] == "Vegan lunch for 6"
    assert r.json()["startsAt"] == b["startsAt"]
    r = member.put("/api/users/bookings/" + b["id"], json={"specialRequests": "x" * 1001})
    assert r.status_code == 422 and r.json()["error"]["field"] == "specialRequests"
    r = member.put("/api/users/bookings/" + b["id"], json={})
    assert r.status_code == 422


def test_cancel_by_delete_and_by_put_frees_the_slot(hub):
    m, other = register(hub), register(hub)
    day = unique_weekday()
    first = book(m, event_body("training-room", day, "09:00", "10:00"))
    second = book(m, event_body("training-room", day, "15:00", "16:00"))
    r = m.delete("/api/users/bookings/" + first["id"])
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.json()["holdExpiresAt"] is None and r.json()["refundDue"] is False
    r = m.put("/api/bookings/" + second["id"] + "/cancel", json={"reason": "Plans changed"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["cancelReason"] == "Plans changed"
    # Both slots are free again.
    book(other, event_body("training-room", day, "09:00", "10:00"))
    book(other, event_body("training-room", day, "15:00", "16:00"))
    # Cancelling twice is a conflict, not a second change.
    r = m.delete("/api/users/bookings/" + first["id"])
    assert r.status_code == 409 and error_code(r) == "illegal_transition"
    # A cancelled booking cannot be rescheduled.
    r = m.put("/api/users/bookings/" + first["id"], json={"startTime": "17:00", "endTime": "18:00"})
    assert r.status_code == 409
    # Staff may cancel a member's booking.
    third = book(m, event_body("training-room", day, "17:00", "18:00"))
    r = admin_of(hub).put("/api/bookings/" + third["id"] + "/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["cancelReason"] == "cancelled by staff"
    statuses = {row["id"]: row["status"] for row in db_rows(hub, "SELECT id, status FROM bookings WHERE user_id = ?", (m.user["id"],))}
    assert statuses == {first["id"]: "cancelled", second["id"]: "cancelled", third["id"]: "cancelled"}


def test_admin_confirms_a_pending_booking(hub, member):
    day = unique_weekday()
    b = book(member, event_body("event-hall", day, "14:00", "17:00"))
    assert member.put("/api/bookings/" + b["id"] + "/confirm").status_code == 403
    boss = admin_of(hub)
    r = boss.put("/api/bookings/" + b["id"] + "/confirm")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["holdExpiresAt"] is None
    assert member.get("/api/bookings/" + b["id"]).json()["status"] == "confirmed"
    r = boss.put("/api/bookings/" + b["id"] + "/confirm")
    assert r.status_code == 409 and error_code(r) == "illegal_transition"
    assert boss.put("/api/bookings/" + str(uuid.uuid4()) + "/confirm").status_code == 404
    # Still holds its slot.
    assert error_code(register(hub).post("/api/bookings", json=event_body("event-hall", day, "15:00", "18:00"))) == "booking_conflict"


# MARK: Idempotency


def test_idempotency_key_returns_the_first_answer(hub):
    m = register(hub)
    day = unique_weekday()
    key = "retry-" + uuid.uuid4().hex
    body = event_body("conference-room-a", day, "16:00", "17:00")
    first = m.post("/api/bookings", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    again = m.post("/api/bookings", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    rows = db_rows(hub, "SELECT id FROM bookings WHERE user_id = ?", (m.user["id"],))
    assert rows == [{"id": first.json()["id"]}]
    # The same key with another body is refused, and books nothing.
    other = m.post("/api/bookings", json=event_body("conference-room-a", day, "18:00", "19:00"), headers={"Idempotency-Key": key})
    assert other.status_code == 422 and error_code(other) == "idempotency_key_reused"
    assert len(db_rows(hub, "SELECT id FROM bookings WHERE user_id = ?", (m.user["id"],))) == 1
    # Keys belong to one member: another member's identical key is a new request (here: a conflict).
    stranger = register(hub).post("/api/bookings", json=body, headers={"Idempotency-Key": key})
    assert stranger.status_code == 409
    # Without a key the same body is a second request.
    assert m.post("/api/bookings", json=body).status_code == 409


def test_idempotency_key_retried_while_the_first_request_is_in_flight_is_in_use(fresh_hub):
    """The first request is held in flight for certain: its commit waits on SQLite's write lock,
    held by the test, and the hub has read it (and holds its slot) before the retry is sent. The
    retry with the same key is refused, `409 idempotency_key_in_use`; once the lock goes the first
    is answered 201, and a third request replays that answer."""
    hub = fresh_hub(config=write_config({"store": {"busyTimeoutMs": 30000}}))
    m = register(hub)
    day = unique_weekday()
    key = "in-flight-" + uuid.uuid4().hex
    body = event_body("conference-room-b", day, "08:00", "09:00")
    slot = {"type": "event", "spaceId": "conference-room-b", "date": day, "startTime": "08:00", "endTime": "09:00"}
    with write_lock(hub):
        first = InFlight(hub, "POST", "/api/bookings", body, token=m.token, headers={"Idempotency-Key": key})
        # In flight: the slot is held in memory, nothing is on disk yet. (The hub first reads the
        # key's record: on PostgreSQL on a read thread, so the hold comes a moment after the
        # request arrives.)
        deadline = time.time() + 10
        while True:
            view = requests.get(hub.url + "/api/spaces/availability", params=slot, timeout=30)
            assert view.status_code == 200, view.text
            if view.json()["available"] is False or time.time() > deadline:
                break
            time.sleep(0.02)
        assert view.json()["available"] is False, view.text
        assert db_rows(hub, "SELECT id FROM bookings WHERE user_id = ?", (m.user["id"],)) == []
        retry = m.post("/api/bookings", json=body, headers={"Idempotency-Key": key})
        assert retry.status_code == 409 and error_code(retry) == "idempotency_key_in_use", retry.text
    status, _, created = first.answer()
    assert status == 201, created
    replay = m.post("/api/bookings", json=body, headers={"Idempotency-Key": key})
    assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true", replay.text
    assert replay.json()["id"] == created["id"]
    assert db_rows(hub, "SELECT id FROM bookings WHERE user_id = ?", (m.user["id"],)) == [{"id": created["id"]}]


def test_idempotency_key_burst_books_once(hub):
    """Eight retries at once, in whatever order the hub takes them: one booking; every 201 names
    it, every other answer says the key is in use. (Whether any retry overlapped the first is
    left to chance here; the test above makes that overlap certain.)"""
    m = register(hub)
    day = unique_weekday()
    key = "burst-" + uuid.uuid4().hex
    body = event_body("conference-room-b", day, "08:00", "09:00")
    results = []
    barrier = threading.Barrier(8)

    def fire():
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + m.token
        s.get(hub.url + "/healthz", timeout=10)
        barrier.wait(timeout=10)
        r = s.post(hub.url + "/api/bookings", json=body, headers={"Idempotency-Key": key}, timeout=30)
        results.append((r.status_code, r.json()))
    threads = [threading.Thread(target=fire) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8
    rows = db_rows(hub, "SELECT id FROM bookings WHERE user_id = ?", (m.user["id"],))
    assert len(rows) == 1
    for status, body_ in results:
        assert status in (201, 409), (status, body_)
        if status == 201:
            assert body_["id"] == rows[0]["id"]
        else:
            assert body_["error"]["code"] == "idempotency_key_in_use"


# MARK: Concurrency


def race(hub, clients, body, path="/api/bookings"):
    """Every client on its own keep-alive connection, opened before a barrier releases them all
    at once. Returns (status, json) per client."""
    results = [None] * len(clients)
    barrier = threading.Barrier(len(clients))

    def run(index, client):
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + client.token
        try:
            assert s.get(hub.url + "/healthz", timeout=30).status_code == 200  # connection is open
            barrier.wait(timeout=60)
            r = s.post(hub.url + path, json=body, timeout=60)
            results[index] = (r.status_code, r.json())
        except Exception as error:  # recorded, asserted below
            results[index] = ("error", repr(error))
        finally:
            s.close()
    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def register_many(hub, count):
    out = [None] * count

    def run(index):
        out[index] = register(hub)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(out)
    return out


def test_two_hundred_clients_race_for_one_event_slot(hub):
    clients = register_many(hub, 200)
    day = unique_weekday()
    results = race(hub, clients, event_body("event-hall", day, "10:00", "13:00"))
    statuses = [r[0] for r in results]
    assert statuses.count(201) == 1, [r for r in results if r[0] not in (201, 409)][:5]
    assert statuses.count(409) == 199
    assert all(r[1]["error"]["code"] == "booking_conflict" for r in results if r[0] == 409)
    winner = next(r[1] for r in results if r[0] == 201)
    rows = db_rows(hub, "SELECT id, user_id FROM bookings WHERE space_id = 'event-hall' AND booking_date = ? AND status = 'pending'",
                   (day,))
    assert [row["id"] for row in rows] == [winner["id"]]
    assert overbooked(hub) == []


def test_fifty_clients_race_for_a_ten_seat_plan(hub):
    boss = admin_of(hub)
    plan = boss.post("/api/coworking-plans", json={
        "name": "Ten Seats", "description": "race", "price": 1000, "duration": "hour", "seats": 10, "minDurationMinutes": 60,
        "openingHours": {d: {"open": "00:00", "close": "24:00"}
                         for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}})
    assert plan.status_code == 201, plan.text
    pid = plan.json()["id"]
    clients = register_many(hub, 50)
    day = unique_weekday()
    results = race(hub, clients, coworking_body(pid, day, "09:00", "3 hours"))
    statuses = [r[0] for r in results]
    assert statuses.count(201) == 10, results[:3]
    assert statuses.count(409) == 40
    assert all(r[1]["error"]["code"] == "booking_conflict" for r in results if r[0] == 409)
    rows = db_rows(hub, "SELECT COUNT(*) AS n FROM bookings WHERE space_id = ? AND status = 'pending'", (pid,))
    assert rows[0]["n"] == 10
    # A range overlapping the full one is refused; a later one fits.
    late = register(hub)
    assert error_code(late.post("/api/bookings", json=coworking_body(pid, day, "11:00", "2 hours"))) == "booking_conflict"
    book(late, coworking_body(pid, day, "12:00", "2 hours"))
    a = requests.get(hub.url + "/api/spaces/availability", params={"spaceId": pid, "date": day, "startTime": "09:00",
                                                                    "duration": "1 hour"}, timeout=10).json()
    assert a["available"] is False and a["seatsLeft"] == 0
    assert overbooked(hub) == []


# MARK: Hold expiry


def test_an_expired_hold_frees_the_slot(fresh_hub):
    h = fresh_hub(config=write_config({"bookings": {"holdSeconds": 2, "holdSweepMs": 50}}))
    m, other = register(h), register(h)
    day = unique_weekday()
    ws = WS(h, token=m.token)
    watcher = WS(h, query={"client": "kiosk"})
    try:
        b = book(m, event_body("conference-room-a", day, "10:00", "11:00"))
        hold = parse_iso(b["holdExpiresAt"]).timestamp()
        assert hold - time.time() <= 3
        assert error_code(other.post("/api/bookings", json=event_body("conference-room-a", day, "10:00", "11:00"))) == "booking_conflict"

        expired = ws.wait_type("booking_hold_expired")
        assert expired["payload"]["bookingId"] == b["id"] and expired["payload"]["spaceId"] == "conference-room-a"
        assert expired["payload"]["booking"]["status"] == "expired"
        assert time.time() >= hold - 1  # not before the deadline
        update = ws.wait_for(lambda x: x["type"] == "booking_updated" and x["payload"]["status"] == "expired")
        assert update["payload"]["id"] == b["id"]
        # Dashboards see the slot come free.
        freed = watcher.wait_for(lambda x: x["type"] == "space_availability_changed" and
                                 x["payload"]["date"] == day and x["payload"]["busy"] == [], timeout=10)
        assert freed["payload"]["spaceId"] == "conference-room-a"

        assert m.get("/api/bookings/" + b["id"]).json()["status"] == "expired"
        assert db_rows(h, "SELECT status FROM bookings WHERE id = ?", (b["id"],)) == [{"status": "expired"}]
        book(other, event_body("conference-room-a", day, "10:00", "11:00"))
        # An expired booking cannot be confirmed any more.
        assert admin_of(h).put("/api/bookings/" + b["id"] + "/confirm").status_code == 409
    finally:
        ws.close()
        watcher.close()


def test_a_hold_that_lapsed_while_the_hub_was_down_is_settled_at_start(fresh_hub):
    h = fresh_hub(config=write_config({"bookings": {"holdSeconds": 2, "holdSweepMs": 50}}))
    m, other = register(h), register(h)
    day = unique_weekday()
    b = book(m, event_body("conference-room-b", day, "10:00", "11:00"))
    h.stop()
    time.sleep(max(0.0, parse_iso(b["holdExpiresAt"]).timestamp() - time.time()) + 1.2)
    h.start()
    ws = WS(h, token=m.token, query={"since": 0})
    try:
        expired = ws.wait_type("booking_hold_expired")
        assert expired["payload"]["bookingId"] == b["id"]
    finally:
        ws.close()
    assert m.get("/api/bookings/" + b["id"]).json()["status"] == "expired"
    assert db_rows(h, "SELECT status FROM bookings WHERE id = ?", (b["id"],)) == [{"status": "expired"}]
    book(other, event_body("conference-room-b", day, "10:00", "11:00"))


# Zones whose clocks change in different months (London: March and October; Sydney: October and
# April), so a change of each kind always falls within the booking horizon, whatever today is.
DST_ZONES = ("Europe/London", "Australia/Sydney")


def _offset_text(offset):
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _clock_changes(zone_name, first, last):
    """Every daylight-saving change of `zone_name` on local days `first`..`last`, from the
    system's tz database (the hub's too): (day, "gap" or "fold", wall clock where the skipped or
    repeated hour begins, offset before, offset after)."""
    zone = zoneinfo.ZoneInfo(zone_name)
    utc = datetime.timezone.utc
    changes = []
    day = first
    while day <= last:
        midnight = datetime.datetime.combine(day, datetime.time(0), zone).astimezone(utc)
        step = datetime.timedelta(minutes=15)
        for index in range(24 * 4):
            before, after = midnight + index * step, midnight + (index + 1) * step
            old, new = before.astimezone(zone).utcoffset(), after.astimezone(zone).utcoffset()
            if old != new:
                kind = "gap" if new > old else "fold"
                wall = (after + (old if kind == "gap" else new)).replace(tzinfo=None)
                changes.append((day, kind, wall, old, new))
                break
        day += datetime.timedelta(days=1)
    return changes


def test_local_times_that_do_not_exist_or_repeat_are_refused(hub):
    """When clocks go forward an hour of wall-clock time never happens; when they go back an hour
    happens twice. The dates are the next such changes within the booking horizon, found from
    today (a fixed date, or the next one in a single zone, sooner or later lies beyond it)."""
    boss = admin_of(hub)
    today = datetime.date.today()
    first, last = today + datetime.timedelta(days=2), today + datetime.timedelta(days=300)
    changes = sorted((change + (zone,) for zone in DST_ZONES for change in _clock_changes(zone, first, last)),
                     key=lambda change: change[0])
    gap = next(change for change in changes if change[1] == "gap")
    fold = next(change for change in changes if change[1] == "fold")
    rooms = {}

    def room(zone):
        if zone not in rooms:
            r = boss.post("/api/event-spaces", json={
                "name": f"DST Room {zone} {time.time_ns()}", "capacity": 4, "price": 1000, "timeZone": zone,
                "minDurationMinutes": 30, "bufferMinutes": 0, "openingHours": ALL_WEEK})
            assert r.status_code == 201, r.text
            rooms[zone] = r.json()["id"]
        return rooms[zone]

    def hhmm(wall, minutes=0):
        return (wall + datetime.timedelta(minutes=minutes)).strftime("%H:%M")

    m = register(hub)
    day, _, skipped, before, after, zone = gap
    r = m.post("/api/bookings", json=event_body(room(zone), day.isoformat(), hhmm(skipped, 30), hhmm(skipped, 150)))
    assert r.status_code == 422 and error_code(r) == "nonexistent_local_time" and r.json()["error"]["field"] == "startTime", \
        (gap, r.text)
    fold_day, _, repeated, _, _, fold_zone = fold
    r = m.post("/api/bookings", json=event_body(room(fold_zone), fold_day.isoformat(), hhmm(repeated, -30), hhmm(repeated, 30)))
    assert r.status_code == 422 and error_code(r) == "ambiguous_local_time" and r.json()["error"]["field"] == "endTime", \
        (fold, r.text)
    # Around the gap the clock arithmetic is real time: from half an hour before the skipped hour
    # to an hour and a half after it is two hours, not three.
    b = book(m, event_body(room(zone), day.isoformat(), hhmm(skipped, -30), hhmm(skipped, 150)))
    assert b["startsAt"] == f"{day}T{hhmm(skipped, -30)}:00{_offset_text(before)}", (gap, b)
    assert b["endsAt"] == f"{day}T{hhmm(skipped, 150)}:00{_offset_text(after)}", (gap, b)
    assert b["duration"] == "2 hours" and b["amount"] == 2000
