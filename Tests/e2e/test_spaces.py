"""Spaces and plans over REST (issue 6): the seed's catalogue shapes, admin changes with
validation and audit rows, deactivation that keeps bookings, and who may change what."""
import json
import uuid

import pytest
import requests

from conftest import register
from e2e_support import (admin_of, db_rows, event_body, is_number, start_hub, unique_weekday)

ALL_DAY = {day: {"open": "00:00", "close": "24:00"}
           for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}


@pytest.fixture(scope="module")
def hub():
    h = start_hub()
    yield h
    h.kill()


def plan_body(**extra):
    body = {"name": f"Plan {uuid.uuid4().hex[:6]}", "description": "Test plan", "price": 2500, "duration": "hour",
            "seats": 5, "features": ["Wi-Fi"], "popular": False, "openingHours": ALL_DAY, "minDurationMinutes": 60}
    body.update(extra)
    return body


def space_body(**extra):
    body = {"name": f"Room {uuid.uuid4().hex[:6]}", "description": "Test room", "capacity": 10, "price": 12000.5,
            "features": ["Screen"], "images": ["/static/rooms/test.jpg"], "bufferMinutes": 10, "minDurationMinutes": 30}
    body.update(extra)
    return body


def check_plan_shape(plan):
    assert isinstance(plan["id"], str) and plan["id"]
    assert isinstance(plan["name"], str)
    assert isinstance(plan["description"], str)
    assert is_number(plan["price"])
    assert isinstance(plan["duration"], str)
    assert isinstance(plan["features"], list) and all(isinstance(f, str) for f in plan["features"])
    assert isinstance(plan["popular"], bool)
    # Ours.
    assert isinstance(plan["seats"], int) and plan["seats"] >= 1
    assert isinstance(plan["timeZone"], str)
    assert isinstance(plan["openingHours"], dict) and set(plan["openingHours"]) == set(ALL_DAY)
    assert isinstance(plan["minDurationMinutes"], int) and isinstance(plan["maxDurationMinutes"], int)


def check_space_shape(space):
    assert isinstance(space["id"], str) and space["id"]
    assert isinstance(space["name"], str)
    assert isinstance(space["description"], str)
    assert isinstance(space["capacity"], int) and not isinstance(space["capacity"], bool)
    assert is_number(space["price"])
    assert isinstance(space["features"], list) and all(isinstance(f, str) for f in space["features"])
    assert isinstance(space["images"], list) and all(isinstance(i, str) for i in space["images"])
    assert isinstance(space["availability"], list) and all(isinstance(a, str) for a in space["availability"])
    # Ours.
    assert isinstance(space["bufferMinutes"], int)
    assert isinstance(space["timeZone"], str)
    assert isinstance(space["openingHours"], dict)
    assert isinstance(space["minDurationMinutes"], int) and isinstance(space["maxDurationMinutes"], int)


# MARK: Public reads


def test_public_plans_have_seed_fields(hub):
    r = requests.get(hub.url + "/api/coworking-plans", timeout=10)
    assert r.status_code == 200
    plans = r.json()
    assert {"hot-desk", "dedicated-desk", "private-office"} <= {p["id"] for p in plans}
    for plan in plans:
        check_plan_shape(plan)
    hot = next(p for p in plans if p["id"] == "hot-desk")
    assert hot["price"] == 5000 and hot["duration"] == "day" and hot["popular"] is True and hot["seats"] == 40

    one = requests.get(hub.url + "/api/coworking-plans/dedicated-desk", timeout=10)
    assert one.status_code == 200
    check_plan_shape(one.json())
    assert one.json()["duration"] == "week" and one.json()["seats"] == 20


def test_public_event_spaces_have_seed_fields(hub):
    r = requests.get(hub.url + "/api/event-spaces", timeout=10)
    assert r.status_code == 200
    spaces = r.json()
    assert {"conference-room-a", "conference-room-b", "training-room", "event-hall"} <= {s["id"] for s in spaces}
    for space in spaces:
        check_space_shape(space)
    room = requests.get(hub.url + "/api/event-spaces/conference-room-a", timeout=10).json()
    check_space_shape(room)
    assert room["capacity"] == 12 and room["price"] == 15000 and room["bufferMinutes"] == 15
    assert room["timeZone"] == "Africa/Lagos"
    assert room["openingHours"]["monday"] == {"open": "08:00", "close": "20:00"}
    assert room["openingHours"]["sunday"] is None
    assert "Mon–Fri 08:00–20:00" in room["availability"]


def test_unknown_and_wrong_kind_ids_are_404(hub):
    assert requests.get(hub.url + "/api/event-spaces/no-such-room", timeout=10).status_code == 404
    # A plan id under the event-space path is not an event space.
    assert requests.get(hub.url + "/api/event-spaces/hot-desk", timeout=10).status_code == 404
    assert requests.get(hub.url + "/api/coworking-plans/conference-room-a", timeout=10).status_code == 404


# MARK: Admin changes


def test_members_and_anonymous_cannot_change_spaces(hub):
    member = register(hub)
    anonymous = requests.Session()
    for method, path, body in [
        ("POST", "/api/coworking-plans", plan_body()),
        ("POST", "/api/event-spaces", space_body()),
        ("PUT", "/api/coworking-plans/hot-desk", {"price": 1}),
        ("PUT", "/api/event-spaces/conference-room-a", {"price": 1}),
        ("DELETE", "/api/coworking-plans/hot-desk", None),
        ("DELETE", "/api/event-spaces/conference-room-a", None),
    ]:
        r = anonymous.request(method, hub.url + path, json=body, timeout=10)
        assert r.status_code == 401, (method, path, r.text)
        r = member.session.request(method, hub.url + path, json=body, timeout=10)
        assert r.status_code == 403, (method, path, r.text)
    # Nothing changed.
    assert requests.get(hub.url + "/api/coworking-plans/hot-desk", timeout=10).json()["price"] == 5000
    assert requests.get(hub.url + "/api/event-spaces/conference-room-a", timeout=10).json()["price"] == 15000


def test_admin_creates_plan_and_event_space(hub):
    boss = admin_of(hub)
    r = boss.post("/api/coworking-plans", json=plan_body(name="Night Owl", seats=7, popular=True, features=["Quiet", "Lamp"]))
    assert r.status_code == 201, r.text
    plan = r.json()
    check_plan_shape(plan)
    assert plan["name"] == "Night Owl" and plan["seats"] == 7 and plan["popular"] is True and plan["duration"] == "hour"
    public = requests.get(hub.url + "/api/coworking-plans/" + plan["id"], timeout=10)
    assert public.status_code == 200 and public.json()["name"] == "Night Owl"
    assert plan["id"] in {p["id"] for p in requests.get(hub.url + "/api/coworking-plans", timeout=10).json()}

    r = boss.post("/api/event-spaces", json=space_body(name="Board Room", capacity=16))
    assert r.status_code == 201, r.text
    space = r.json()
    check_space_shape(space)
    assert space["capacity"] == 16 and space["price"] == 12000.5 and space["bufferMinutes"] == 10
    assert requests.get(hub.url + "/api/event-spaces/" + space["id"], timeout=10).json()["name"] == "Board Room"


@pytest.mark.parametrize("path,body,field", [
    ("/api/coworking-plans", plan_body(name=""), "name"),
    ("/api/coworking-plans", {k: v for k, v in plan_body().items() if k != "price"}, "price"),
    ("/api/coworking-plans", plan_body(price="lots"), "price"),
    ("/api/coworking-plans", plan_body(price=-5), "price"),
    ("/api/coworking-plans", plan_body(price=1.001), "price"),
    ("/api/coworking-plans", plan_body(seats=0), "seats"),
    ("/api/coworking-plans", plan_body(seats="ten"), "seats"),
    ("/api/coworking-plans", plan_body(duration="fortnight"), "duration"),
    ("/api/coworking-plans", plan_body(features="Wi-Fi"), "features"),
    ("/api/coworking-plans", plan_body(popular="yes"), "popular"),
    ("/api/coworking-plans", plan_body(openingHours={"funday": None}), "openingHours"),
    ("/api/coworking-plans", plan_body(openingHours={"monday": {"open": "18:00", "close": "09:00"}}), "openingHours"),
    ("/api/coworking-plans", plan_body(timeZone="Mars/Olympus"), "timeZone"),
    ("/api/coworking-plans", plan_body(minDurationMinutes=120, maxDurationMinutes=60), "maxDurationMinutes"),
    ("/api/coworking-plans", plan_body(colour="red"), "colour"),
    ("/api/event-spaces", space_body(capacity=0), "capacity"),
    ("/api/event-spaces", space_body(images=[1, 2]), "images"),
    ("/api/event-spaces", space_body(bufferMinutes=-1), "bufferMinutes"),
    ("/api/event-spaces", space_body(blackoutDates=["2026-02-30"]), "blackoutDates"),
])
def test_admin_create_validation_names_the_field(hub, path, body, field):
    boss = admin_of(hub)
    before = len(requests.get(hub.url + path, timeout=10).json())
    r = boss.post(path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field, r.text
    assert len(requests.get(hub.url + path, timeout=10).json()) == before


def test_update_validates_and_is_audited(hub):
    boss = admin_of(hub)
    created = boss.post("/api/event-spaces", json=space_body(name="Audit Room", price=9000)).json()
    sid = created["id"]

    bad = boss.put("/api/event-spaces/" + sid, json={"capacity": -3})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "capacity"
    assert boss.put("/api/event-spaces/no-such-room", json={"price": 1}).status_code == 404
    # A plan is not changed through the event-space path.
    assert boss.put("/api/event-spaces/hot-desk", json={"price": 1}).status_code == 404

    r = boss.put("/api/event-spaces/" + sid, json={"price": 9500, "features": ["Screen", "Phone"]})
    assert r.status_code == 200, r.text
    assert r.json()["price"] == 9500 and r.json()["features"] == ["Screen", "Phone"]
    assert r.json()["name"] == "Audit Room"  # untouched fields stay
    assert requests.get(hub.url + "/api/event-spaces/" + sid, timeout=10).json()["price"] == 9500

    rows = db_rows(hub, "SELECT * FROM audit_logs WHERE resource_id = ? ORDER BY rowid", (sid,))
    assert [row["action"] for row in rows] == ["create", "update"], rows
    create, update = rows
    assert create["resource"] == "event_space" and create["admin_id"] == boss.user["id"]
    assert create["old_values"] is None and json.loads(create["new_values"])["price"] == 9000
    old, new = json.loads(update["old_values"]), json.loads(update["new_values"])
    assert old["price"] == 9000 and new["price"] == 9500
    assert old["features"] == ["Screen"] and new["features"] == ["Screen", "Phone"]
    assert update["admin_id"] == boss.user["id"]
    assert update["ip_address"] == "127.0.0.1" or update["ip_address"].endswith("127.0.0.1")
    # The rejected update left no row.
    assert not any(json.loads(row["new_values"] or "{}").get("capacity") == -3 for row in rows)


def test_delete_deactivates_and_keeps_bookings(hub):
    boss = admin_of(hub)
    member = register(hub)
    space = boss.post("/api/event-spaces", json=space_body(name="Soon Gone", minDurationMinutes=30)).json()
    sid = space["id"]
    day = unique_weekday()
    booked = member.post("/api/bookings", json=event_body(sid, day, "10:00", "11:00"))
    assert booked.status_code == 201, booked.text
    booking = booked.json()

    r = boss.delete("/api/event-spaces/" + sid)
    assert r.status_code == 200, r.text
    assert r.json()["isActive"] is False

    # Gone from the public catalogue…
    assert requests.get(hub.url + "/api/event-spaces/" + sid, timeout=10).status_code == 404
    assert sid not in {s["id"] for s in requests.get(hub.url + "/api/event-spaces", timeout=10).json()}
    # …still there for admins, and in the database.
    assert boss.get("/api/event-spaces/" + sid).status_code == 200
    assert db_rows(hub, "SELECT is_active FROM event_spaces WHERE id = ?", (sid,)) == [{"is_active": 0}]
    # The existing booking is unaffected.
    kept = member.get("/api/users/bookings/" + booking["id"])
    assert kept.status_code == 200
    assert kept.json()["status"] == "pending" and kept.json()["startsAt"] == booking["startsAt"]
    # No new bookings.
    refused = member.post("/api/bookings", json=event_body(sid, day, "14:00", "15:00"))
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "spaceId"

    rows = db_rows(hub, "SELECT action, old_values, new_values FROM audit_logs WHERE resource_id = ? AND action = 'deactivate'", (sid,))
    assert len(rows) == 1
    assert json.loads(rows[0]["old_values"])["isActive"] is True
    assert json.loads(rows[0]["new_values"])["isActive"] is False

    # Deleting a plan works the same way.
    plan = boss.post("/api/coworking-plans", json=plan_body()).json()
    assert boss.delete("/api/coworking-plans/" + plan["id"]).status_code == 200
    assert requests.get(hub.url + "/api/coworking-plans/" + plan["id"], timeout=10).status_code == 404
