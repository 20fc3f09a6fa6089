"""Calendars end to end: ICS feeds checked by a real parser (icalendar), and Google Calendar /
Microsoft Graph sync against fakes on 127.0.0.1 that speak their OAuth and event JSON.
See docs/NOTIFICATIONS.md."""
import datetime
import time

import icalendar
import requests

from conftest import admin, error_code, next_weekday, register
from notify_fakes import CalendarFake, book, confirm, db_rows, wait_until

TOKEN_KEY = "8f" * 32  # 32 bytes as hex


def feed(url):
    r = requests.get(url, timeout=30)
    return r


def parse(r):
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(r.content)


def events(calendar):
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def raw_lines(content):
    assert content.endswith(b"\r\n")
    lines = content.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines), "content lines are folded at 75 octets"
    return lines


# ---------------------------------------------------------------- ICS

def test_member_feed_follows_the_booking_lifecycle(fresh_hub):
    hub = fresh_hub()
    member = register(hub, first="Zoë", last="Adé")
    r = member.post("/api/calendar/feeds")
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert url.startswith(hub.url + "/api/calendar/feeds/") and url.endswith(".ics")
    assert r.json()["webcalUrl"].startswith("webcal://")

    date = next_weekday(2)
    long_request = "Projector, please; two flip charts\nand coffee — for the whole team. " * 4
    booking = book(member, date=date, start="09:30", end="11:00", specialRequests=long_request.strip())
    uid = f"{booking['id']}@spacehub"

    response = feed(url)
    calendar = parse(response)
    lines = raw_lines(response.content)
    assert any(line.startswith(b" ") for line in lines), "the long DESCRIPTION is folded"
    assert str(calendar["VERSION"]) == "2.0" and "SpaceHub" in str(calendar["PRODID"])
    tz = calendar.walk("VTIMEZONE")
    assert [str(t["TZID"]) for t in tz] == ["Africa/Lagos"]
    event = events(calendar)[uid]
    assert str(event["STATUS"]) == "TENTATIVE" and int(event["SEQUENCE"]) == 1
    assert str(event["SUMMARY"]) == "Conference Room A"
    assert long_request.strip() in str(event["DESCRIPTION"]), "unfolded and unescaped to the original text"
    assert event["DTSTART"].params["TZID"] == "Africa/Lagos"
    start = event.decoded("DTSTART")
    local = datetime.datetime.fromisoformat(f"{date}T09:30:00")
    assert start.replace(tzinfo=None) == local
    lagos = tz[0].to_tz()
    expected_utc = datetime.datetime.fromisoformat(booking["startsAt"]).astimezone(datetime.timezone.utc)
    assert local.replace(tzinfo=lagos).astimezone(datetime.timezone.utc) == expected_utc

    confirm(admin(hub), booking["id"])
    event = events(parse(feed(url)))[uid]
    assert str(event["STATUS"]) == "CONFIRMED" and int(event["SEQUENCE"]) == 2

    r = member.delete(f"/api/users/bookings/{booking['id']}")
    assert r.status_code == 200, r.text
    event = events(parse(feed(url)))[uid]
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 3
    assert len(events(parse(feed(url)))) == 1

    # Rotating the URL kills the old one; revoking kills the new one.
    r = member.post("/api/calendar/feeds")
    assert r.status_code == 201
    rotated = r.json()["url"]
    assert feed(url).status_code == 404
    assert uid in events(parse(feed(rotated)))
    r = member.delete("/api/calendar/feeds")
    assert r.status_code == 200 and r.json() == {"success": True}
    assert feed(rotated).status_code == 404
    assert feed(hub.url + "/api/calendar/feeds/not-a-token.ics").status_code == 404
    # The token is stored hashed.
    token = rotated.rsplit("/", 1)[1][:-4]
    assert not db_rows(hub, "SELECT id FROM users WHERE calendar_feed_token_hash = ?", (token,))


def test_space_feed_is_public_and_shows_only_busy_times(fresh_hub):
    hub = fresh_hub()
    member = register(hub, first="Private", last="Person")
    booking = book(member, space="conference-room-b", start="13:00", end="14:00", specialRequests="secret plans")
    confirm(admin(hub), booking["id"])
    r = requests.get(hub.url + "/api/calendar/spaces/conference-room-b.ics", timeout=30)
    calendar = parse(r)
    for secret in [b"Private", b"Person", member.user["email"].encode(), b"secret plans", booking["id"].encode()]:
        assert secret not in r.content
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Busy" and str(event["STATUS"]) == "CONFIRMED"
    assert str(event["UID"]).endswith("@spacehub")
    assert calendar.walk("VTIMEZONE")
    assert requests.get(hub.url + "/api/calendar/spaces/no-such-space.ics", timeout=30).status_code == 404
    assert not calendar_events(requests.get(hub.url + "/api/calendar/spaces/training-room.ics", timeout=30))


def calendar_events(response):
    return parse(response).walk("VEVENT")


def test_vtimezone_describes_daylight_saving_zones(fresh_hub):
    hub = fresh_hub({"TIME_ZONE": "Europe/London"})
    member = register(hub)
    r = member.post("/api/calendar/feeds")
    booking = book(member, start="10:00", end="11:00")
    calendar = parse(feed(r.json()["url"]))
    [vtimezone] = calendar.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "Europe/London"
    assert vtimezone.walk("DAYLIGHT") and vtimezone.walk("STANDARD")
    london = vtimezone.to_tz()
    year = datetime.date.fromisoformat(booking["date"]).year
    assert datetime.datetime(year, 7, 1, 12, 0, tzinfo=london).utcoffset() == datetime.timedelta(hours=1)
    assert datetime.datetime(year, 1, 15, 12, 0, tzinfo=london).utcoffset() == datetime.timedelta(0)
    event = calendar.walk("VEVENT")[0]
    local = event.decoded("DTSTART").replace(tzinfo=None)
    expected = datetime.datetime.fromisoformat(booking["startsAt"]).astimezone(datetime.timezone.utc)
    assert local.replace(tzinfo=london).astimezone(datetime.timezone.utc) == expected


# ---------------------------------------------------------------- providers

def calendar_hub(fresh_hub, *fakes, **extra):
    env = {"CALENDAR_TOKEN_KEY": TOKEN_KEY, "CALENDAR_SYNC_INTERVAL_SECONDS": "3600"}
    for fake in fakes:
        env.update(fake.env())
    env.update(extra)
    return fresh_hub(env)


def connect(member, provider, code="good-code"):
    return member.post("/api/calendar/connect", json={"provider": provider, "authCode": code})


def links(hub, booking_id):
    return db_rows(hub, "SELECT * FROM calendar_events WHERE booking_id = ?", (booking_id,))


def test_connect_is_refused_without_a_token_key(fresh_hub):
    hub = fresh_hub()
    member = register(hub)
    r = connect(member, "google")
    assert r.status_code == 503 and error_code(r) == "calendar_not_configured"
    assert "CALENDAR_TOKEN_KEY" in r.json()["error"]["message"]


def test_google_connect_sync_refresh_and_disconnect(fresh_hub):
    google = CalendarFake("google", expires_in=30).start()  # shorter than the refresh margin
    try:
        hub = calendar_hub(fresh_hub, google)
        member = register(hub)

        r = connect(member, "google", code="wrong-code")
        assert r.status_code == 400 and error_code(r) == "authorization_failed", r.text
        assert not db_rows(hub, "SELECT id FROM calendar_integrations")

        r = connect(member, "google")
        assert r.status_code == 201, r.text
        integration = r.json()
        assert integration["provider"] == "google" and integration["isActive"]
        assert integration["providerUserId"] == "ada@gmail.example"
        assert "accessToken" not in integration and "refreshToken" not in integration
        [row] = db_rows(hub, "SELECT access_token, refresh_token FROM calendar_integrations")
        assert google.access_token.encode() not in row["access_token"], "tokens are sealed at rest"
        assert google.refresh_token.encode() not in row["refresh_token"]

        listed = member.get("/api/calendar/providers").json()
        assert [p["id"] for p in listed["providers"]] == [integration["id"]]
        assert "google" in listed["available"] and listed["enabled"]
        assert b"at-google" not in member.get("/api/calendar/providers").content

        # Confirming syncs automatically; the 30 s token is refreshed before use.
        booking = book(member, start="10:00", end="12:00")
        assert not google.events, "a pending hold is not put in the calendar"
        confirm(admin(hub), booking["id"])
        event_id = "sh" + booking["id"].replace("-", "")
        wait_until(lambda: event_id in google.events, message="the Google event")
        assert google.refreshes >= 1
        event = google.events[event_id]
        assert event["summary"] == "Conference Room A"
        assert event["start"] == {"dateTime": f"{booking['date']}T10:00:00", "timeZone": "Africa/Lagos"}
        assert event["end"] == {"dateTime": f"{booking['date']}T12:00:00", "timeZone": "Africa/Lagos"}
        assert event["status"] == "confirmed" and event["iCalUID"] == f"{booking['id']}@spacehub"
        [link] = wait_until(lambda: links(hub, booking["id"]))
        assert link["external_id"] == event_id and link["synced_version"] == 2

        # An explicit sync updates the same event.
        r = member.post("/api/calendar/sync-event", json={"bookingId": booking["id"], "providers": ["google"]})
        assert r.status_code == 200, r.text
        [result] = r.json()["results"]
        assert (result["provider"], result["action"], result["status"], result["externalId"]) == ("google", "updated", "ok", event_id)
        assert len(google.events) == 1

        # A token the provider stopped accepting is refreshed once and the call retried.
        google.invalidate_access_token()
        refreshes = google.refreshes
        r = member.post("/api/calendar/sync-event", json={"bookingId": booking["id"]})
        assert r.status_code == 200, r.text
        assert google.refreshes > refreshes

        # Cancelling deletes the event.
        assert member.delete(f"/api/users/bookings/{booking['id']}").status_code == 200
        wait_until(lambda: event_id not in google.events, message="the event to be deleted")
        wait_until(lambda: not links(hub, booking["id"]))

        # Disconnecting deactivates, erases the tokens and revokes at Google.
        refresh_token = google.refresh_token
        r = member.delete(f"/api/calendar/providers/{integration['id']}")
        assert r.status_code == 200 and r.json()["id"] == integration["id"] and r.json()["isActive"] is False, r.text
        assert member.get("/api/calendar/providers").json()["providers"] == []
        [row] = db_rows(hub, "SELECT is_active, access_token, refresh_token FROM calendar_integrations")
        assert row == {"is_active": 0, "access_token": None, "refresh_token": None}
        wait_until(lambda: google.revoked == [refresh_token], message="the revocation call")
        assert member.delete(f"/api/calendar/providers/{integration['id']}").status_code == 404
    finally:
        google.stop()


def test_outlook_sync_through_graph(fresh_hub):
    outlook = CalendarFake("outlook").start()
    try:
        hub = calendar_hub(fresh_hub, outlook)
        member = register(hub)
        assert connect(member, "outlook").status_code == 201
        booking = book(member, start="15:00", end="16:30")

        # An explicit sync of a pending hold makes a tentative event.
        r = member.post("/api/calendar/sync-event", json={"bookingId": booking["id"], "providers": ["outlook"]})
        assert r.status_code == 200, r.text
        [result] = r.json()["results"]
        assert result["action"] == "created"
        event = outlook.events[result["externalId"]]
        assert event["subject"] == "Conference Room A" and event["showAs"] == "tentative"
        assert event["transactionId"] == booking["id"]
        starts = datetime.datetime.fromisoformat(booking["startsAt"]).astimezone(datetime.timezone.utc)
        assert event["start"] == {"dateTime": starts.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}

        confirm(admin(hub), booking["id"])
        wait_until(lambda: outlook.events[result["externalId"]]["showAs"] == "busy", message="the update after confirm")
        assert len(outlook.events) == 1

        # Moving the booking moves the event.
        r = member.put(f"/api/users/bookings/{booking['id']}", json={"startTime": "17:00", "endTime": "18:00"})
        assert r.status_code == 200, r.text
        moved = datetime.datetime.fromisoformat(r.json()["startsAt"]).astimezone(datetime.timezone.utc)
        wait_until(lambda: outlook.events[result["externalId"]]["start"]["dateTime"] == moved.strftime("%Y-%m-%dT%H:%M:%S"))

        # Microsoft rotates refresh tokens: the rotated one is stored and used next time.
        outlook.invalidate_access_token()
        r = member.post("/api/calendar/sync-event", json={"bookingId": booking["id"]})
        assert r.status_code == 200, r.text
        outlook.invalidate_access_token()
        r = member.post("/api/calendar/sync-event", json={"bookingId": booking["id"]})
        assert r.status_code == 200, r.text
        assert outlook.refreshes == 2

        assert member.put(f"/api/bookings/{booking['id']}/cancel").status_code == 200
        wait_until(lambda: not outlook.events, message="the Graph event to be deleted")
    finally:
        outlook.stop()


def test_provider_errors_are_reported_and_nothing_is_half_applied(fresh_hub):
    google = CalendarFake("google").start()
    try:
        hub = calendar_hub(fresh_hub, google)
        member = register(hub)

        google.fail["token"] = 500
        r = connect(member, "google")
        assert r.status_code == 502 and error_code(r) == "provider_error", r.text
        assert "500" in r.json()["error"]["message"]
        assert not db_rows(hub, "SELECT id FROM calendar_integrations")
        del google.fail["token"]
        assert connect(member, "google").status_code == 201

        booking = book(member)
        google.fail["insert"] = 500
        r = member.post("/api/calendar/sync-event", json={"bookingId": booking["id"], "providers": ["google"]})
        assert r.status_code == 502, r.text
        error = r.json()["error"]
        assert error["code"] == "provider_error" and "500" in error["message"] and "Google Calendar" in error["message"]
        assert error["results"][0]["status"] == "error"
        assert not links(hub, booking["id"]) and not google.events
        [row] = db_rows(hub, "SELECT last_error, is_active FROM calendar_integrations")
        assert "500" in row["last_error"] and row["is_active"] == 1

        del google.fail["insert"]
        r = member.post("/api/calendar/sync-event", json={"bookingId": booking["id"], "providers": ["google"]})
        assert r.status_code == 200, r.text
        assert r.json()["results"][0]["action"] == "created"
        assert len(links(hub, booking["id"])) == 1

        # Not connected, not the member's booking, unknown provider.
        r = member.post("/api/calendar/sync-event", json={"bookingId": booking["id"], "providers": ["outlook"]})
        assert r.status_code == 409 and error_code(r) == "not_connected"
        assert [(x["provider"], x["error"]["code"]) for x in r.json()["error"]["results"]] == [("outlook", "not_connected")]
        r = member.post("/api/calendar/sync-event", json={"bookingId": booking["id"], "providers": ["yahoo"]})
        assert r.status_code == 422
        other = register(hub)
        assert other.post("/api/calendar/sync-event", json={"bookingId": booking["id"]}).status_code == 409
        assert connect(other, "google").status_code == 201
        r = other.post("/api/calendar/sync-event", json={"bookingId": booking["id"]})
        assert r.status_code == 404, "another member's booking is not found"
    finally:
        google.stop()


def test_a_dead_refresh_token_deactivates_the_connection(fresh_hub):
    google = CalendarFake("google", expires_in=30).start()
    try:
        hub = calendar_hub(fresh_hub, google)
        member = register(hub)
        assert connect(member, "google").status_code == 201
        booking = book(member)
        google.fail["refresh"] = 400
        r = member.post("/api/calendar/sync-event", json={"bookingId": booking["id"]})
        assert r.status_code == 409 and error_code(r) == "reauthorization_required", r.text
        assert member.get("/api/calendar/providers").json()["providers"] == []
        assert not google.events
        # Connecting again works.
        del google.fail["refresh"]
        assert connect(member, "google").status_code == 201
        assert member.post("/api/calendar/sync-event", json={"bookingId": booking["id"]}).status_code == 200
    finally:
        google.stop()


def test_reconciliation_syncs_bookings_made_before_connecting(fresh_hub):
    google = CalendarFake("google").start()
    try:
        hub = calendar_hub(fresh_hub, google, CALENDAR_SYNC_INTERVAL_SECONDS="1")
        member = register(hub)
        booking = book(member)
        confirm(admin(hub), booking["id"])
        assert connect(member, "google").status_code == 201
        event_id = "sh" + booking["id"].replace("-", "")
        wait_until(lambda: event_id in google.events, message="the reconciliation to create the event")
        time.sleep(2.5)
        inserts = [entry for entry in google.log if entry[0] == "POST" and entry[1].endswith("/events")]
        assert len(inserts) == 1, "an event in sync is not written again"
    finally:
        google.stop()

