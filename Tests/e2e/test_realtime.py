"""Real-time events (issue 7) over real sockets: live WebSocket events after REST changes, who
sees what, snapshots, resume (also across a restart), resync, SSE and long-poll."""
import datetime
import json
import socket
import threading
import time

import pytest
import requests
import websocket

from conftest import register
from e2e_support import (ALL_WEEK, EVENT_WITHIN, SSE, WS, admin_of, coworking_body, event_body, events_only, open_room,
                         start_hub, unique_weekday, write_config)


@pytest.fixture(scope="module")
def hub():
    h = start_hub({"events": {"longPollSeconds": 2, "sseHeartbeatSeconds": 1}})
    yield h
    h.kill()


def book(client, body):
    r = client.post("/api/bookings", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def current_seq(hub):
    ws = WS(hub)
    try:
        return ws.welcome["payload"]["seq"], ws.welcome["payload"]["epoch"]
    finally:
        ws.close()


def is_event(message):
    return isinstance(message.get("seq"), int) and message.get("type") not in ("snapshot", "ack", "welcome")


# MARK: Live events


def test_booking_reaches_the_owner_with_the_seed_shape(hub):
    m = register(hub)
    ws = WS(hub, token=m.token)
    try:
        assert ws.welcome["payload"]["user"]["id"] == m.user["id"]
        assert set(ws.welcome["payload"]["channels"]) == {"availability", f"bookings:{m.user['id']}", f"payments:{m.user['id']}"}
        day = unique_weekday()
        before_ms = time.time() * 1000
        b = book(m, event_body("conference-room-a", day, "10:00", "11:00"))
        updated = ws.wait_type("booking_updated", id=b["id"])
        changed = ws.wait_type("space_availability_changed", spaceId="conference-room-a", date=day)
        for message in (updated, changed):
            assert set(message) == {"type", "payload", "channel", "seq", "ts"}
            assert isinstance(message["seq"], int) and isinstance(message["ts"], int)
            assert before_ms - 5000 <= message["ts"] <= time.time() * 1000 + 5000
        # The payload is the booking as the REST API shows it.
        assert updated["payload"] == m.get("/api/bookings/" + b["id"]).json()
        assert updated["channel"] == f"bookings:{m.user['id']}"
        assert changed["channel"] == "availability"
        assert changed["payload"]["changed"] == {"start": b["startsAt"], "end": b["endsAt"]}
        assert changed["payload"]["busy"] == [{"start": b["startsAt"], "end": b["endsAt"], "status": "held"}]
        assert {"start": f"{day}T11:15:00+01:00", "end": f"{day}T20:00:00+01:00"} in changed["payload"]["free"]
        # Committed in one transaction, published in commit order.
        assert changed["seq"] == updated["seq"] + 1

        # Cancel: both again, with the slot free.
        assert m.delete("/api/users/bookings/" + b["id"]).status_code == 200
        cancelled = ws.wait_for(lambda x: x["type"] == "booking_updated" and x["payload"]["status"] == "cancelled")
        freed = ws.wait_type("space_availability_changed", spaceId="conference-room-a", date=day)
        assert cancelled["payload"]["id"] == b["id"] and freed["payload"]["busy"] == []
        assert updated["seq"] < changed["seq"] < cancelled["seq"] < freed["seq"]
    finally:
        ws.close()


def test_kiosk_sees_held_then_booked_and_moves(hub):
    m = register(hub)
    day = unique_weekday()
    kiosk = WS(hub, query={"client": "kiosk"})
    try:
        kiosk.send({"type": "subscribe", "channel": "availability:training-room", "id": 1})
        kiosk.wait_type("ack", id=1)
        b = book(m, event_body("training-room", day, "10:00", "12:00"))
        held = kiosk.wait_type("space_availability_changed", spaceId="training-room")
        assert held["payload"]["busy"] == [{"start": b["startsAt"], "end": b["endsAt"], "status": "held"}]
        # Rescheduled: the new range shows, still held.
        assert m.put("/api/users/bookings/" + b["id"], json={"startTime": "14:00", "endTime": "16:00"}).status_code == 200
        moved = kiosk.wait_type("space_availability_changed", spaceId="training-room")
        assert moved["payload"]["busy"] == [{"start": f"{day}T14:00:00+01:00", "end": f"{day}T16:00:00+01:00", "status": "held"}]
        # Confirmed (paid offline): the hold becomes a booking.
        assert admin_of(hub).put("/api/bookings/" + b["id"] + "/confirm").status_code == 200
        booked = kiosk.wait_type("space_availability_changed", spaceId="training-room")
        assert booked["payload"]["busy"] == [{"start": f"{day}T14:00:00+01:00", "end": f"{day}T16:00:00+01:00", "status": "booked"}]
        assert booked["seq"] > moved["seq"] > held["seq"]
    finally:
        kiosk.close()


def test_a_booking_across_midnight_changes_both_days(hub):
    """A kiosk holds today and tomorrow: a booking from 23:00 to 01:00 is in both day views, so
    each of its changes must reach both, or the panel keeps showing a cancelled booking."""
    space = open_room(hub, "Night Studio")["id"]
    m = register(hub)
    day = unique_weekday()
    after = (datetime.date.fromisoformat(day) + datetime.timedelta(days=1)).isoformat()
    ws = WS(hub, query={"client": "kiosk"})
    try:
        ws.send({"type": "subscribe", "channel": f"availability:{space}", "id": 1})
        ws.wait_type("ack", id=1)
        b = book(m, {"type": "event", "spaceId": space, "date": day, "startTime": "23:00", "duration": "120 minutes"})
        assert (b["startsAt"], b["endsAt"]) == (f"{day}T23:00:00+01:00", f"{after}T01:00:00+01:00")
        held = {d: ws.wait_type("space_availability_changed", spaceId=space, date=d) for d in (day, after)}
        for view in held.values():
            assert view["payload"]["changed"] == {"start": b["startsAt"], "end": b["endsAt"]}
            assert view["payload"]["busy"] == [{"start": b["startsAt"], "end": b["endsAt"], "status": "held"}]

        # Moved to the next evening: four days change, each told once.
        later = (datetime.date.fromisoformat(after) + datetime.timedelta(days=1)).isoformat()
        r = m.put("/api/users/bookings/" + b["id"], json={"date": after, "startTime": "23:30"})
        assert r.status_code == 200, r.text
        moved = r.json()
        assert (moved["startsAt"], moved["endsAt"]) == (f"{after}T23:30:00+01:00", f"{later}T01:30:00+01:00")
        views = [x for x in ws.drain(quiet=0.5) if x["type"] == "space_availability_changed"]
        assert sorted(v["payload"]["date"] for v in views) == [day, after, later], views
        busy = {v["payload"]["date"]: v["payload"]["busy"] for v in views}
        shown = [{"start": moved["startsAt"], "end": moved["endsAt"], "status": "held"}]
        assert busy == {day: [], after: shown, later: shown}

        # Cancelled: every day it touched is free again.
        assert m.delete("/api/users/bookings/" + b["id"]).status_code == 200
        freed = {d: ws.wait_type("space_availability_changed", spaceId=space, date=d) for d in (after, later)}
        assert all(v["payload"]["busy"] == [] for v in freed.values()), freed
        assert freed[after]["seq"] < freed[later]["seq"]
    finally:
        ws.close()


def test_a_change_longer_than_62_days_publishes_its_first_62_day_views(hub):
    """Three months of an office: one event per day for its first 62 days (the hub's bound per
    change), each naming the whole range, so a client holding a later day can refetch it."""
    r = admin_of(hub).post("/api/coworking-plans", json={"name": "Quarterly Office", "price": 300000, "seats": 4,
                                                         "duration": "month", "openingHours": ALL_WEEK,
                                                         "maxDurationMinutes": 12 * 30 * 24 * 60})
    assert r.status_code == 201, r.text
    plan = r.json()["id"]
    m = register(hub)
    ws = WS(hub, query={"client": "kiosk"})
    try:
        ws.send({"type": "subscribe", "channel": f"availability:{plan}", "id": 1})
        ws.wait_type("ack", id=1)
        day = unique_weekday()
        b = book(m, coworking_body(plan, day, "09:00", "3 months"))
        views = [x for x in ws.drain(quiet=0.7) if x["type"] == "space_availability_changed"]
        first = datetime.date.fromisoformat(day)
        assert [v["payload"]["date"] for v in views] == [(first + datetime.timedelta(days=n)).isoformat() for n in range(62)]
        assert all(v["payload"]["changed"] == {"start": b["startsAt"], "end": b["endsAt"]} for v in views)
        assert b["endsAt"][:10] > views[-1]["payload"]["date"]
    finally:
        ws.close()


def test_coworking_events_carry_seats_left(hub):
    m = register(hub)
    ws = WS(hub, query={"client": "dashboard"})
    try:
        day = unique_weekday()
        book(m, coworking_body("private-office", day, "09:00", "1 month"))
        changed = ws.wait_type("space_availability_changed", spaceId="private-office", date=day)
        assert changed["payload"]["seatsLeft"] == 5 and changed["payload"]["seats"] == 6
    finally:
        ws.close()


def test_members_never_see_each_others_bookings(hub):
    alice, bob = register(hub), register(hub)
    a, b = WS(hub, token=alice.token), WS(hub, token=bob.token)
    try:
        day = unique_weekday()
        booking = book(alice, event_body("conference-room-b", day, "10:00", "11:00"))
        a.wait_type("booking_updated", id=booking["id"])
        # Bob sees the room go busy, never Alice's booking.
        b.wait_type("space_availability_changed", spaceId="conference-room-b", date=day)
        alice.put("/api/users/bookings/" + booking["id"], json={"specialRequests": "Water"})
        alice.delete("/api/users/bookings/" + booking["id"])
        a.wait_for(lambda x: x["type"] == "booking_updated" and x["payload"]["status"] == "cancelled")
        seen = b.drain(quiet=0.7)
        assert seen, "bob should still get the public availability changes"
        assert all(x["type"] == "space_availability_changed" for x in seen), seen
        assert booking["id"] not in json.dumps(seen)
        assert alice.user["id"] not in json.dumps(seen)
        # Nor may he ask for them.
        for channel in (f"bookings:{alice.user['id']}", f"payments:{alice.user['id']}", "admin"):
            b.send({"type": "subscribe", "channel": channel, "id": channel})
            error = b.wait_type("error", id=channel)
            assert error["payload"]["code"] == "forbidden_channel"
            b.send({"type": "resume", "channel": channel, "seq": 0})
            assert b.wait_type("error", channel=channel)["payload"]["code"] == "forbidden_channel"
        # An admin's connection gets everything on `admin`.
        admin_ws = WS(hub, token=admin_of(hub).token)
        try:
            assert "admin" in admin_ws.welcome["payload"]["channels"]
            again = book(alice, event_body("conference-room-b", day, "14:00", "15:00"))
            seen_by_admin = admin_ws.wait_type("booking_updated", id=again["id"])
            assert seen_by_admin["channel"] == "admin"
            assert not [x for x in b.drain(quiet=0.5) if x["type"] == "booking_updated"]
        finally:
            admin_ws.close()
    finally:
        a.close()
        b.close()


def test_anonymous_connections_get_availability_only(hub):
    m = register(hub)
    ws = WS(hub)
    try:
        assert ws.welcome["payload"]["channels"] == ["availability"] and ws.welcome["payload"]["user"] is None
        for channel, code in [(f"bookings:{m.user['id']}", "forbidden_channel"), (f"payments:{m.user['id']}", "forbidden_channel"),
                              ("admin", "forbidden_channel"), ("weather", "unknown_channel"),
                              ("availability:no-such-room", "unknown_channel")]:
            ws.send({"type": "subscribe", "channel": channel, "id": channel})
            reply = ws.wait_type("error", id=channel)
            assert reply["payload"]["code"] == code, reply
        # Malformed messages are errors, not a dropped connection.
        ws.send({"channel": "availability"})
        assert ws.wait_type("error")["payload"]["code"] == "malformed_message"
        ws.send({"type": "subscribe"})
        assert ws.wait_type("error")["payload"]["code"] == "malformed_message"
        ws.send({"type": "dance"})
        assert ws.wait_type("error")["payload"]["code"] == "unknown_message_type"
        ws.send({"type": "ping", "id": 7})
        assert ws.wait_type("pong")["payload"]["id"] == 7
        # A public channel is fine.
        ws.send({"type": "subscribe", "channel": "availability:training-room", "id": 1})
        assert ws.wait_type("ack", id=1)["payload"]["channel"] == "availability:training-room"

        day = unique_weekday()
        b = book(m, event_body("training-room", day, "10:00", "11:00"))
        changed = ws.wait_type("space_availability_changed", spaceId="training-room")
        assert changed["channel"] in ("availability", "availability:training-room")
        rest = ws.drain(quiet=0.5)
        assert not [x for x in rest if x["type"] == "booking_updated"], rest
        # Delivered once although two subscribed channels carry it.
        assert [x["seq"] for x in rest if x.get("seq") == changed["seq"]] == []
        assert b["id"] not in json.dumps(changed)
    finally:
        ws.close()


def test_token_in_protocol_header_and_in_auth_message(hub):
    m = register(hub)
    day = unique_weekday()
    header_ws = WS(hub, subprotocols=["bearer", m.token])
    late = WS(hub)
    try:
        assert header_ws.ws.getsubprotocol() == "bearer"
        assert header_ws.welcome["payload"]["user"]["id"] == m.user["id"]
        late.send({"type": "auth", "token": m.token, "id": "a"})
        ack = late.wait_type("ack", id="a")
        assert f"bookings:{m.user['id']}" in ack["payload"]["channels"]
        b = book(m, event_body("conference-room-a", day, "12:00", "13:00"))
        header_ws.wait_type("booking_updated", id=b["id"])
        late.wait_type("booking_updated", id=b["id"])
    finally:
        header_ws.close()
        late.close()
    # A bad token refuses the upgrade or closes with 4401.
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(hub.ws_url + "/ws?token=not.a.jwt", timeout=5)
    assert refused.value.status_code == 401
    ws = WS(hub)
    try:
        ws.send({"type": "auth", "token": "not.a.jwt"})
        with pytest.raises(ConnectionError, match="^closed by hub: 1131"):  # 4401
            ws.wait_for(lambda message: False, timeout=EVENT_WITHIN)
        assert [m["type"] for m in ws.backlog] == ["error"]
    finally:
        ws.close()


def test_catalogue_changes_reach_dashboards(hub):
    ws = WS(hub)
    try:
        boss = admin_of(hub)
        created = boss.post("/api/event-spaces", json={"name": "Pop-up Studio", "capacity": 3, "price": 4000})
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        assert ws.wait_for(lambda x: x["type"] == "space_updated" and x["payload"]["id"] == sid)["payload"]["price"] == 4000
        assert boss.put("/api/event-spaces/" + sid, json={"price": 4500}).status_code == 200
        update = ws.wait_for(lambda x: x["type"] == "space_updated" and x["payload"]["id"] == sid)
        assert update["payload"] == requests.get(hub.url + "/api/event-spaces/" + sid, timeout=10).json()
        assert boss.delete("/api/event-spaces/" + sid).status_code == 200
        gone = ws.wait_for(lambda x: x["type"] == "space_updated" and x["payload"]["id"] == sid)
        assert gone["payload"]["isActive"] is False
    finally:
        ws.close()


def test_text_that_is_not_json_closes_with_1007(hub):
    ws = WS(hub)
    try:
        ws.ws.send("this is not json")
        with pytest.raises(ConnectionError, match="^closed by hub: 03ef"):  # 1007
            ws.recv(timeout=EVENT_WITHIN)
    finally:
        ws.close()


# MARK: Snapshots


def test_snapshot_then_live_events_without_a_gap(hub):
    m = register(hub)
    day = unique_weekday()
    existing = book(m, event_body("event-hall", day, "09:00", "12:00"))
    ws = WS(hub)
    try:
        ws.send({"type": "subscribe", "channel": "availability:event-hall", "snapshot": True, "date": day, "days": 2, "id": "s"})
        ack = ws.wait_type("ack", id="s")
        snapshot = ws.wait_type("snapshot")
        assert snapshot["channel"] == "availability:event-hall"
        assert snapshot["seq"] == ack["payload"]["seq"]
        days = snapshot["payload"]["days"]
        assert [d["date"] for d in days][0] == day and len(days) == 2
        assert days[0]["busy"] == [{"start": existing["startsAt"], "end": existing["endsAt"], "status": "held"}]
        assert snapshot["payload"]["space"]["id"] == "event-hall"
        # Live events follow with later seqs.
        later = book(m, event_body("event-hall", day, "14:00", "16:00"))
        live = ws.wait_type("space_availability_changed", spaceId="event-hall")
        assert live["seq"] > snapshot["seq"]
        assert {"start": later["startsAt"], "end": later["endsAt"], "status": "held"} in live["payload"]["busy"]
    finally:
        ws.close()
    # `?snapshot=1` on connect: the grid of every space for the date.
    ws = WS(hub, query={"snapshot": 1, "date": day})
    try:
        snapshot = ws.wait_type("snapshot")
        assert snapshot["seq"] == ws.welcome["payload"]["seq"]
        hall = next(s for s in snapshot["payload"]["spaces"] if s["spaceId"] == "event-hall")
        assert len(hall["days"][0]["busy"]) == 2
    finally:
        ws.close()


# MARK: Resume


def test_reconnect_with_since_replays_exactly_the_missed_events(hub):
    alice, bob = register(hub), register(hub)
    day = unique_weekday()
    witness = WS(hub, token=alice.token)  # stays connected: what alice's channels carried
    ws = WS(hub, token=alice.token)
    try:
        first = book(alice, event_body("conference-room-a", day, "08:00", "09:00"))
        last = ws.wait_for(lambda x: x["type"] == "space_availability_changed" and x["payload"]["date"] == day)["seq"]
        ws.close()

        second = book(alice, event_body("conference-room-b", day, "08:00", "09:00"))
        assert alice.delete("/api/users/bookings/" + first["id"]).status_code == 200
        book(bob, event_body("training-room", day, "08:00", "09:00"))  # public part only
        alice.put("/api/users/bookings/" + second["id"], json={"specialRequests": "Tea"})
        tea = witness.wait_for(lambda x: x["type"] == "booking_updated" and x["payload"].get("specialRequests") == "Tea")
        seen = sorted(events_only(witness.drain(quiet=0.3)) + [tea], key=lambda x: x["seq"])
        expected = [(x["seq"], x["type"]) for x in seen if x["seq"] > last]
        # Booked (2), cancelled (2), bob's booking (its availability only), special requests (1).
        assert [t for _, t in expected] == ["booking_updated", "space_availability_changed"] * 2 + \
            ["space_availability_changed", "booking_updated"], expected
    finally:
        witness.close()

    back = WS(hub, token=alice.token, query={"since": last})
    try:
        replayed = []
        while True:
            message = back.recv()
            if message["type"] == "ack":
                break
            replayed.append(message)
        assert [(x["seq"], x["type"]) for x in replayed] == expected
        assert message["payload"]["resumed"] == len(expected)
        assert all(x["payload"].get("userId", alice.user["id"]) == alice.user["id"] for x in replayed)
        # Then live.
        third = book(alice, event_body("conference-room-a", day, "15:00", "16:00"))
        live = back.wait_type("booking_updated", id=third["id"])
        assert live["seq"] > expected[-1][0]
    finally:
        back.close()


def test_resume_message_replays_one_channel(hub):
    m = register(hub)
    day = unique_weekday()
    since, _ = current_seq(hub)
    room_a = book(m, event_body("conference-room-a", day, "16:00", "17:00"))
    book(m, event_body("conference-room-b", day, "16:00", "17:00"))
    ws = WS(hub)
    try:
        ws.send({"type": "resume", "channel": "availability:conference-room-a", "seq": since, "id": "r"})
        replayed = ws.wait_for(lambda x: x["type"] == "space_availability_changed")
        ack = ws.wait_type("ack", id="r")
        assert replayed["payload"]["spaceId"] == "conference-room-a"
        assert replayed["payload"]["changed"]["start"] == room_a["startsAt"]
        assert replayed["channel"] == "availability:conference-room-a"
        assert ack["payload"]["resumed"] == 1
        assert not [x for x in ws.backlog if x["type"] == "space_availability_changed"]
        # Resuming from the newest seq replays nothing.
        ws.send({"type": "resume", "channel": "availability:conference-room-a", "seq": ack["payload"]["seq"], "id": "r2"})
        assert ws.wait_type("ack", id="r2")["payload"]["resumed"] == 0
        ws.send({"type": "resume", "channel": "availability"})
        assert ws.wait_type("error")["payload"]["code"] == "malformed_message"
    finally:
        ws.close()


def test_resume_after_a_restart(fresh_hub):
    h = fresh_hub(config=write_config())
    m = register(h)
    day = unique_weekday()
    ws = WS(h, token=m.token)
    epoch = ws.welcome["payload"]["epoch"]
    book(m, event_body("conference-room-a", day, "10:00", "11:00"))
    last = ws.wait_type("space_availability_changed")["seq"]
    ws.close()
    b = book(m, event_body("conference-room-b", day, "10:00", "11:00"))
    assert m.delete("/api/users/bookings/" + b["id"]).status_code == 200
    h.restart()

    back = WS(h, token=m.token, query={"since": last, "epoch": epoch})
    try:
        assert back.welcome["payload"]["epoch"] == epoch
        assert back.welcome["payload"]["seq"] == last + 4
        replayed = []
        while True:
            message = back.recv()
            if message["type"] == "ack":
                break
            replayed.append(message)
        assert [x["seq"] for x in replayed] == [last + 1, last + 2, last + 3, last + 4]
        assert [x["type"] for x in replayed] == ["booking_updated", "space_availability_changed"] * 2
        assert replayed[0]["payload"]["id"] == b["id"] and replayed[2]["payload"]["status"] == "cancelled"
        # The index came back too: the first booking still holds its slot, the cancelled one does not.
        other = register(h)
        assert other.post("/api/bookings", json=event_body("conference-room-a", day, "10:00", "11:00")).status_code == 409
        book(other, event_body("conference-room-b", day, "10:00", "11:00"))
        live = back.wait_type("space_availability_changed", spaceId="conference-room-b")
        assert live["seq"] == last + 6
    finally:
        back.close()


def test_resync_required_when_history_is_gone(fresh_hub):
    h = fresh_hub(config=write_config({"events": {"historyCount": 100}}))
    m = register(h)
    day = unique_weekday()
    for _ in range(28):  # 4 events each: 112 > 100
        b = book(m, event_body("conference-room-a", day, "10:00", "11:00"))
        assert m.delete("/api/users/bookings/" + b["id"]).status_code == 200
    last, epoch = current_seq(h)
    assert last >= 112

    def check(hub_):
        ws = WS(hub_, token=m.token, query={"since": 1})
        try:
            notice = ws.wait_type("resync_required")
            assert notice["payload"]["epoch"] == epoch and notice["payload"]["seq"] == last
        finally:
            ws.close()
        ws = WS(hub_)
        try:
            ws.send({"type": "resume", "channel": "availability", "seq": 0, "id": "old"})
            assert ws.wait_type("resync_required")["payload"]["seq"] == last
            # Recent history is still there.
            ws.send({"type": "resume", "channel": "availability", "seq": last - 10, "id": "new"})
            assert ws.wait_type("ack", id="new")["payload"]["resumed"] == 5  # every other event is availability
            # A seq from another history (wrong epoch, or ahead of ours) resyncs too.
            ws.send({"type": "resume", "channel": "availability", "seq": last - 10, "epoch": "elsewhere"})
            assert ws.wait_type("resync_required")
            ws.send({"type": "resume", "channel": "availability", "seq": last + 50})
            assert ws.wait_type("resync_required")
        finally:
            ws.close()
        r = requests.get(hub_.url + "/api/events", params={"channels": "availability", "since": 1}, timeout=10)
        assert r.status_code == 410 and r.json()["error"]["code"] == "resync_required"
        sse = SSE(hub_, "?channels=availability", headers={"Last-Event-ID": "1"})
        try:
            event = sse.next_event()
            assert event["event"] == "resync_required" and event["data"]["payload"]["seq"] == last
        finally:
            sse.close()

    check(h)
    h.restart()  # history reloaded from the event log, still bounded
    check(h)


# MARK: Fallback transports


def test_sse_and_long_poll_deliver_the_same_events(hub):
    m = register(hub)
    day = unique_weekday()
    since, epoch = current_seq(hub)
    sse = SSE(hub, "?channels=availability")
    private = SSE(hub, f"?channels=bookings:{m.user['id']}&token={m.token}")
    try:
        assert sse.status == 200 and sse.headers["content-type"].startswith("text/event-stream")
        one = book(m, event_body("conference-room-b", day, "12:00", "13:00"))
        two = book(m, coworking_body("hot-desk", day, "09:00", "4 hours"))
        streamed = sse.events(2)
        assert [e["event"] for e in streamed] == ["space_availability_changed"] * 2
        assert [e["data"]["payload"]["spaceId"] for e in streamed] == ["conference-room-b", "hot-desk"]
        assert all(int(e["id"]) == e["data"]["seq"] for e in streamed)
        mine = private.events(2)
        assert [e["data"]["payload"]["id"] for e in mine] == [one["id"], two["id"]]

        polled = requests.get(hub.url + "/api/events", params={"channels": "availability", "since": since}, timeout=10)
        assert polled.status_code == 200, polled.text
        page = polled.json()
        assert [(e["seq"], e["type"], e["payload"]) for e in page["events"]] == \
               [(e["data"]["seq"], e["data"]["type"], e["data"]["payload"]) for e in streamed]
        assert page["next"] == streamed[-1]["data"]["seq"] and page["epoch"] == epoch
        # The same envelope as the WebSocket.
        assert set(page["events"][0]) == {"type", "payload", "channel", "seq", "ts"}

        # Last-Event-ID resumes a stream: the same events again, then live.
        again = SSE(hub, "?channels=availability", headers={"Last-Event-ID": str(since)})
        try:
            assert [(e["id"], e["data"]) for e in again.events(2)] == [(e["id"], e["data"]) for e in streamed]
            three = book(m, event_body("conference-room-b", day, "15:00", "16:00"))
            live = again.next_event()
            assert live["data"]["payload"]["changed"]["start"] == three["startsAt"]
            assert sse.next_event()["id"] == live["id"]
        finally:
            again.close()
    finally:
        sse.close()
        private.close()


def test_event_stream_answers_cors_for_allowed_origins_only(hub):
    """A page on an allowed origin (the seed's dev server by default) may read the SSE fallback;
    any other origin gets no CORS header, so its browser keeps the stream from it."""
    allowed = SSE(hub, "?channels=availability", headers={"Origin": "http://localhost:3000"})
    other = SSE(hub, "?channels=availability", headers={"Origin": "http://elsewhere.example"})
    try:
        assert allowed.status == 200 and allowed.headers.get("access-control-allow-origin") == "http://localhost:3000"
        assert allowed.headers.get("vary") == "Origin"
        assert other.status == 200 and "access-control-allow-origin" not in other.headers
        snapshot = requests.get(hub.url + "/api/events/snapshot", params={"channel": "availability"},
                                headers={"Origin": "http://localhost:3000"}, timeout=10)
        assert snapshot.headers.get("access-control-allow-origin") == "http://localhost:3000"
    finally:
        allowed.close()
        other.close()


def test_fallback_transports_apply_channel_rules(hub):
    alice, bob = register(hub), register(hub)
    url = hub.url + "/api/events"
    r = bob.get("/api/events", params={"channels": f"bookings:{alice.user['id']}", "since": 0})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden_channel"
    r = requests.get(url, params={"channels": f"bookings:{alice.user['id']}", "since": 0}, timeout=10)
    assert r.status_code == 403
    r = requests.get(url, params={"channels": "weather", "since": 0}, timeout=10)
    assert r.status_code == 422
    r = requests.get(url, params={"channels": "availability", "since": "yesterday"}, timeout=10)
    assert r.status_code == 422
    sse = SSE(hub, f"?channels=bookings:{alice.user['id']}&token={bob.token}")
    try:
        assert sse.status == 403
    finally:
        sse.close()
    # Without `channels` a member's long-poll covers their own bookings.
    since, _ = current_seq(hub)
    b = book(alice, event_body("training-room", unique_weekday(), "13:00", "14:00"))
    page = alice.get("/api/events", params={"since": since}).json()
    assert [e["type"] for e in page["events"]] == ["booking_updated", "space_availability_changed"]
    assert page["events"][0]["payload"]["id"] == b["id"]
    assert [e["type"] for e in bob.get("/api/events", params={"since": since}).json()["events"]] == ["space_availability_changed"]


def test_long_poll_waits_for_the_next_event(fresh_hub):
    """Answered by the event, not by its deadline: a minute away here, so however slow the
    machine, an answer within half of it came from the event."""
    hub = fresh_hub(config=write_config({"events": {"longPollSeconds": 60}}))
    m = register(hub)
    since, _ = current_seq(hub)
    result = {}

    def poll():
        started = time.time()
        r = requests.get(hub.url + "/api/events", params={"channels": "availability:event-hall", "since": since}, timeout=90)
        result["elapsed"] = time.time() - started
        result["response"] = r
    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.3)  # let the poll park on the hub
    day = unique_weekday()
    book(m, event_body("conference-room-a", day, "09:00", "10:00"))  # another channel: does not wake it
    hall = book(m, event_body("event-hall", day, "09:00", "11:00"))
    t.join(90)
    r = result["response"]
    assert r.status_code == 200
    events = r.json()["events"]
    assert len(events) == 1 and events[0]["payload"]["changed"]["start"] == hall["startsAt"]
    assert events[0]["channel"] == "availability:event-hall"
    assert result["elapsed"] < 30  # answered by the event, not the 60 s deadline


def test_long_poll_returns_empty_within_its_bound(hub):
    since, epoch = current_seq(hub)
    started = time.time()
    r = requests.get(hub.url + "/api/events", params={"channels": "availability", "since": since}, timeout=10)
    elapsed = time.time() - started
    assert r.status_code == 200
    assert r.json() == {"events": [], "next": since, "epoch": epoch}
    assert 1.9 <= elapsed < 30, elapsed  # events.longPollSeconds = 2: not before (the upper bound rules out "never")


def test_long_poll_and_sse_outlive_the_http_timeouts(fresh_hub):
    h = fresh_hub(config=write_config({"events": {"longPollSeconds": 3, "sseHeartbeatSeconds": 1},
                                       "server": {"requestTimeoutSeconds": 1, "idleTimeoutSeconds": 1}}))
    since, _ = current_seq(h)
    sse = SSE(h, "?channels=availability")
    try:
        started = time.time()
        r = requests.get(h.url + "/api/events", params={"since": since}, timeout=10)
        assert r.status_code == 200 and r.json()["events"] == [], r.text
        assert time.time() - started >= 2.5
        # The stream got heartbeats meanwhile and is still open.
        sse.sock.settimeout(0.5)
        assert b": heartbeat" in sse.buffer + sse.sock.recv(65536)
        m = register(h)
        b = book(m, event_body("conference-room-a", unique_weekday(), "10:00", "11:00"))
        assert sse.next_event()["data"]["payload"]["changed"]["start"] == b["startsAt"]
    finally:
        sse.close()


# MARK: Slow consumers


def test_a_subscriber_that_stops_reading_is_cut_off_with_1008(fresh_hub):
    """Direct replies count against the outbound cap as broadcasts do (test_websocket.py has the
    broadcast case): a client that asks for 28 KB snapshots and never reads them is closed with
    1008 once its unsent bytes pass `websocket.outboundBytesMax`, and the close frame reaches it
    behind the backlog; another subscriber is unaffected."""
    # A close timeout far beyond the reads below, so the hub never drops the connection (and the
    # close frame with it) while the backlog drains; a 64 KiB window so it drains without the
    # hub's window probes backing off (test_websocket.py explains both).
    h = fresh_hub(config=write_config({"websocket": {"outboundBytesMax": 16384, "closeTimeoutSeconds": 60}}))
    m = register(h)
    healthy = WS(h)
    slow = websocket.create_connection(h.ws_url + "/ws", timeout=10,
                                       sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 65536),))

    def cut_off():
        return any("slow consumer" in line for line in list(h.output))
    try:
        # Snapshots, never read, until the hub says it cut the client off: once one no longer fits
        # in the kernel's buffers, its unsent bytes pass the cap (a snapshot of 14 days is larger
        # than this cap, so that may be the very first one).
        requests_sent = 0
        while not cut_off():
            assert requests_sent < 2000, "2000 unread snapshots and no slow consumer cut off"
            slow.send(json.dumps({"type": "subscribe", "channel": "availability", "snapshot": True, "days": 14,
                                  "id": requests_sent}))
            requests_sent += 1
            if requests_sent % 20 == 0:
                time.sleep(0.01)  # let the log line that ends the loop come through
        day = unique_weekday()
        b = book(m, event_body("conference-room-a", day, "10:00", "11:00"))
        assert healthy.wait_type("space_availability_changed", timeout=30)["payload"]["changed"]["start"] == b["startsAt"]

        # What reached the slow client ends with the close frame: 1008, nothing else.
        slow.settimeout(30)
        snapshots = 0
        while True:
            opcode, data = slow.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(data[:2], "big")
                break
            if opcode == websocket.ABNF.OPCODE_TEXT and json.loads(data)["type"] == "snapshot":
                snapshots += 1
        assert code == 1008, (code, data)
        assert b"slow consumer" in data[2:]
        # Everything queued before the cut still arrives, the close frame last.
        assert 1 <= snapshots <= requests_sent, (snapshots, requests_sent)
        assert sum("slow consumer" in line for line in list(h.output)) == 1, "only the slow client is cut off"
        assert requests.get(h.url + "/healthz", timeout=30).status_code == 200
    finally:
        healthy.close()
        try:
            slow.close(timeout=1)
        except Exception:
            pass


def test_a_members_own_channels_snapshot_their_bookings_and_payments(hub):
    """`bookings:<id>` and `payments:<id>` snapshots hold the member's own state (the payments one
    was an empty object); another member's are refused."""
    member, other = register(hub), register(hub)
    day = unique_weekday()
    booked = member.post("/api/bookings", json=event_body("training-room", day, "09:00", "10:00"))
    assert booked.status_code == 201, booked.text
    other.post("/api/bookings", json=event_body("training-room", day, "11:00", "12:00"))
    started = member.post("/api/payments/initialize", json={"bookingId": booked.json()["id"], "amount": booked.json()["amount"],
                                                            "currency": "NGN", "paymentMethod": "card"})
    assert started.status_code == 200, started.text

    def snapshot(client, channel):
        return requests.get(hub.url + "/api/events/snapshot", params={"channel": channel},
                            headers={"Authorization": f"Bearer {client.token}"}, timeout=10)

    bookings = snapshot(member, f"bookings:{member.user['id']}").json()["payload"]["bookings"]
    assert [b["id"] for b in bookings] == [booked.json()["id"]]
    payments = snapshot(member, f"payments:{member.user['id']}").json()["payload"]["payments"]
    assert [(p["id"], p["status"]) for p in payments] == [(started.json()["paymentId"], "pending")]
    assert snapshot(other, f"payments:{member.user['id']}").status_code == 403


def admin_live_streams(hub):
    r = admin_of(hub).get("/api/admin/analytics/overview")
    assert r.status_code == 200, r.text
    return r.json()["liveConnections"]["streams"]


@pytest.mark.timeout(300)
def test_an_sse_stream_that_stops_reading_is_closed_at_the_cap_while_another_keeps_receiving(fresh_hub):
    """The SSE fallback has the same outbound cap as the WebSocket (`SSEStream.receive`): a stream
    whose reader stopped is closed once its unsent bytes pass `websocket.outboundBytesMax`, and
    resumes later with Last-Event-ID; a stream that reads gets every event, before and after."""
    h = fresh_hub(config=write_config({"websocket": {"outboundBytesMax": 16384},
                                       "events": {"sseHeartbeatSeconds": 300}}))
    room = open_room(h, f"SSE Room {time.time_ns()}")["id"]
    members = [register(h) for _ in range(3)]
    day = unique_weekday()
    # A full day makes each day view (every event below) a few KB, so the buffers fill sooner.
    for start in range(0, 22 * 60, 30):
        end = start + 30
        book(members[0], event_body(room, day, f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"))
    free = event_body(room, day, "22:00", "22:30")
    # The stalled reader: a 64 KiB window (see test_websocket.py), and not a byte read after the
    # response head, which is read byte by byte so nothing after it is taken with it.
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    stalled.settimeout(10)
    stalled.connect(("127.0.0.1", h.port))
    stalled.sendall(f"GET /api/events/stream?channels=availability HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += stalled.recv(1)
    assert head.startswith(b"HTTP/1.1 200"), head
    reading = SSE(h, "?channels=availability")
    received = []  # seq of each space_availability_changed the reading stream got
    done = threading.Event()

    def read():
        while not done.is_set():
            try:
                event = reading.next_event(timeout=1)
            except AssertionError:
                continue  # quiet for a second
            except (ConnectionError, OSError) as error:
                received.append(f"the reading stream ended: {error!r}")
                return
            if event["data"]["type"] == "space_availability_changed":
                received.append(int(event["id"]))
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert admin_live_streams(h) == 2
        published = 0
        cycles = 0
        while admin_live_streams(h) == 2:
            assert cycles < 5000, "5000 create/cancel cycles and the stalled stream is still open"
            for _ in range(20):
                b = book(members[1 + cycles % 2], free)
                r = members[1 + cycles % 2].delete(f"/api/users/bookings/{b['id']}")
                assert r.status_code == 200, r.text
                cycles += 1
                published += 2  # one day view when the slot is taken, one when it is free again
        # Closed: the reading stream is the one left. It still gets everything, after the cut too.
        for _ in range(3):
            b = book(members[1], free)
            assert members[1].delete(f"/api/users/bookings/{b['id']}").status_code == 200
            published += 2
        wait_for_count = time.monotonic() + 60
        while len(received) < published and time.monotonic() < wait_for_count:
            time.sleep(0.05)
        assert not [x for x in received if isinstance(x, str)], received[-1]
        assert len(received) == published and received == sorted(received)
        assert admin_live_streams(h) == 1

        # The stalled stream got a part of it, then the end of the stream (a backlog the hub stopped
        # adding to, not a reset).
        stalled.settimeout(30)
        backlog = b""
        while True:
            chunk = stalled.recv(65536)
            if not chunk:
                break
            backlog += chunk
        blocks = [block for block in backlog.split(b"\n\n") if b"space_availability_changed" in block]
        assert 0 < len(blocks) < published, (len(blocks), published)
    finally:
        done.set()
        reader.join(timeout=5)
        reading.close()
        stalled.close()
