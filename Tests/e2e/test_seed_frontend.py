"""The seed's front end, unchanged, against the hub.

`GuideClient` is the API Integration Guide's `ApiClient` as its TypeScript is written: every request
sends `Content-Type: application/json` and the stored token (`Authorization: Bearer …`) when there is
one, a non-2xx answer throws, and every answer is read with `response.json()`. Its error handler turns
a 401 into a redirect to `/login`. Each test below is one way that client broke against an earlier
hub (issue 15, items 1–7), called exactly as the guide calls it.
"""
import base64
import datetime
import hashlib
import hmac
import json
import time
import uuid

import requests
import websocket

from conftest import Hub, admin, register
from e2e_support import ALL_WEEK, write_config
from notify_fakes import CalendarFake, book, db_rows, wait_until

JWT_SECRET = "seed-frontend-test-secret-0123456789abcdef"
TOKEN_KEY = "8f" * 32


class GuideError(Exception):
    """`throw new Error(`API Error: ${response.status} ${response.statusText}`)`."""

    def __init__(self, response):
        super().__init__(f"API Error: {response.status_code} {response.reason}")
        self.status = response.status_code
        self.response = response

    @property
    def redirects_to_login(self):
        """The guide's `handleApiError`: `case 401: window.location.href = '/login'`."""
        return self.status == 401


class GuideClient:
    """The guide's `ApiClient` (baseURL = NEXT_PUBLIC_API_URL, i.e. `<hub>/api`)."""

    def __init__(self, hub, token=None):
        self.base_url = hub.url + "/api"
        self.token = token  # localStorage.getItem('auth_token')
        self.last = None

    def request(self, endpoint, method="GET", body=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = requests.request(method, self.base_url + endpoint, headers=headers,
                                    data=None if body is None else json.dumps(body), timeout=30)
        self.last = response
        if not response.ok:
            raise GuideError(response)
        return response.json()  # raises on an empty body, as `response.json()` rejects

    def login(self, email, password):
        answer = self.request("/auth/login", "POST", {"email": email, "password": password})
        self.token = answer["token"]
        return answer

    def get_coworking_plans(self):
        return self.request("/coworking-plans")

    def get_event_spaces(self):
        return self.request("/event-spaces")


def guide_admin(hub):
    client = GuideClient(hub)
    answer = client.request("/admin/auth/login", "POST", {"email": hub.admin_email, "password": hub.admin_password})
    client.token = answer["token"]
    return client


def start(env=None, config=None):
    base = {"JWT_SECRET": JWT_SECRET}
    base.update(env or {})
    return Hub(env=base, config=write_config(config)).start()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_token(claims):
    """An HS256 access token signed with the hub's JWT_SECRET, with the claims the hub issues."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signature = hmac.new(JWT_SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def test_item1_a_plan_with_the_guides_coworking_plan_fields_is_created_with_default_seats():
    hub = start()
    try:
        desk = guide_admin(hub)
        # `CoworkingPlan` exactly: id, name, description, price, duration, features, popular. A form
        # built from the interface sends an id it made up, or an empty one.
        plan = {"id": "", "name": "Evening Desk", "description": "Desks after six", "price": 2500, "duration": "day",
                "features": ["Wi-Fi", "Coffee"], "popular": False}
        created = desk.request("/coworking-plans", "POST", plan)
        assert desk.last.status_code == 201
        assert created["id"] and created["id"] != ""
        assert created["seats"] == 10, "the documented default"
        assert (created["name"], created["price"], created["duration"], created["features"], created["popular"]) == \
            ("Evening Desk", 2500, "day", ["Wi-Fi", "Coffee"], False)
        assert any(p["id"] == created["id"] for p in GuideClient(hub).get_coworking_plans())
        # The seats can be set then, or later.
        edited = desk.request(f"/coworking-plans/{created['id']}", "PUT", {**created, "seats": 3})
        assert edited["seats"] == 3 and edited["id"] == created["id"]
    finally:
        hub.kill()


def test_item2_an_event_space_with_every_field_of_the_guides_interface_is_accepted():
    hub = start()
    try:
        desk = guide_admin(hub)
        space = {"id": "made-up-by-the-form", "name": "Garden Hall", "description": "Under the trees", "capacity": 60,
                 "price": 20000, "features": ["Projector"], "images": ["/img/garden.jpg"],
                 "availability": ["Mon-Fri 9AM-6PM"]}
        created = desk.request("/event-spaces", "POST", space)
        assert desk.last.status_code == 201
        assert created["id"] != "made-up-by-the-form", "the server owns ids"
        assert (created["name"], created["capacity"], created["price"], created["images"]) == \
            ("Garden Hall", 60, 20000, ["/img/garden.jpg"])
        assert isinstance(created["availability"], list) and created["availability"], "derived from the opening hours"
        # Loading the space and saving it back (the whole object, server fields included) works.
        again = desk.request(f"/event-spaces/{created['id']}", "PUT", {**created, "capacity": 70})
        assert again["capacity"] == 70 and again["id"] == created["id"]
        # A field that is no part of any space is still refused, naming it.
        try:
            desk.request("/event-spaces", "POST", {**space, "colour": "green"})
            raise AssertionError("an unknown field was accepted")
        except GuideError as error:
            assert error.status == 422
            body = error.response.json()["error"]
            assert (body["code"], body["field"]) == ("unknown_field", "colour")
    finally:
        hub.kill()


def test_item3_disconnecting_a_calendar_answers_json():
    google = CalendarFake("google").start()
    hub = start(env={"CALENDAR_TOKEN_KEY": TOKEN_KEY, "CALENDAR_SYNC_INTERVAL_SECONDS": "3600", **google.env()})
    try:
        member = register(hub)
        client = GuideClient(hub, member.token)
        connected = client.request("/calendar/connect", "POST", {"provider": "google", "authCode": "good-code"})
        removed = client.request(f"/calendar/providers/{connected['id']}", "DELETE")
        assert client.last.status_code == 200
        assert removed["id"] == connected["id"] and removed["provider"] == "google" and removed["isActive"] is False
        assert client.request("/calendar/providers")["providers"] == []
        feed = client.request("/calendar/feeds", "POST")
        assert feed["url"].endswith(".ics")
        assert client.request("/calendar/feeds", "DELETE") == {"success": True}
        assert requests.get(feed["url"], timeout=10).status_code == 404
    finally:
        hub.kill()
        google.stop()


def test_item4_settings_load_into_a_form_and_save_back_unchanged():
    hub = start()
    try:
        desk = guide_admin(hub)
        form = desk.request("/admin/settings")
        # The flat object the guide's PUT sends: siteName, contactEmail, paymentGateway, emailProvider.
        for key in ("siteName", "contactEmail", "paymentGateway", "emailProvider"):
            assert key in form, key
        assert "settings" not in form and "descriptions" not in form
        form["siteName"] = "Nithub Space Management (Lagos)"
        saved = desk.request("/admin/settings", "PUT", form)
        assert saved == form
        assert desk.request("/admin/settings")["siteName"] == "Nithub Space Management (Lagos)"
        described = desk.request("/admin/settings?describe=true")
        assert described["settings"] == saved and set(described["descriptions"]) == set(saved)
    finally:
        hub.kill()


def test_item5_a_stale_token_does_not_throw_a_browsing_member_out():
    hub = start()
    try:
        member = register(hub)
        now = int(time.time())
        expired = signed_token({"sub": member.user["id"], "role": "user", "typ": "access", "iat": now - 3600,
                                "exp": now - 600, "jti": f"{uuid.uuid4()}.{uuid.uuid4().hex[:8]}"})
        forged = expired[:-4] + ("AAAA" if not expired.endswith("AAAA") else "BBBB")
        logged_out = register(hub)
        r = requests.post(hub.url + "/api/auth/logout", headers={"Authorization": f"Bearer {logged_out.token}"}, timeout=10)
        assert r.status_code == 200, r.text
        day = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
        for token, reason in [(expired, "token_expired"), (forged, "invalid_token_signature"),
                              (logged_out.token, "token_revoked"), ("not-a-jwt", "invalid_token")]:
            client = GuideClient(hub, token)
            assert client.get_coworking_plans() and client.get_event_spaces(), reason
            assert client.last.headers["X-Token-Ignored"] == reason, (reason, client.last.headers)
            view = client.request(f"/spaces/availability?type=event&spaceId=conference-room-a&date={day}")
            assert "free" in view
            assert "X-Token-Ignored" in client.last.headers
            # A route that needs the token still says 401, so the client signs in again.
            try:
                client.request("/users/bookings")
                raise AssertionError("a stale token reached a member route")
            except GuideError as error:
                assert error.redirects_to_login, reason
        # A good token reads the same routes without the header.
        good = GuideClient(hub, member.token)
        good.get_event_spaces()
        assert "X-Token-Ignored" not in good.last.headers
    finally:
        hub.kill()


def test_item6_a_bare_ws_url_opens_the_hub_socket_and_the_page_still_loads():
    hub = start()
    try:
        # NEXT_PUBLIC_WS_URL=wss://ws.example.com: `new WebSocket(url)` requests `/`.
        socket = websocket.create_connection(hub.ws_url, timeout=10)
        try:
            welcome = json.loads(socket.recv())
            assert welcome["type"] == "welcome" and "availability" in welcome["payload"]["channels"]
            desk = admin(hub)
            r = desk.post("/api/event-spaces", json={"name": "Bare Socket Room", "capacity": 4, "price": 1000,
                                                     "openingHours": ALL_WEEK})
            assert r.status_code == 201, r.text
            deadline = time.time() + 10
            seen = []
            while time.time() < deadline:
                message = json.loads(socket.recv())
                seen.append(message["type"])
                if message["type"] == "space_updated":
                    assert message["payload"]["id"] == r.json()["id"]
                    break
            else:
                raise AssertionError(f"no space_updated on the bare socket; saw {seen}")
        finally:
            socket.close()
        page = requests.get(hub.url + "/", timeout=10)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    finally:
        hub.kill()


def test_item7_sync_event_with_both_providers_when_only_google_is_connected():
    google = CalendarFake("google").start()
    hub = start(env={"CALENDAR_TOKEN_KEY": TOKEN_KEY, "CALENDAR_SYNC_INTERVAL_SECONDS": "3600", **google.env()})
    try:
        member = register(hub)
        client = GuideClient(hub, member.token)
        booking = book(member)
        # Nothing connected yet: 409, and the client may offer to connect.
        try:
            client.request("/calendar/sync-event", "POST", {"bookingId": booking["id"], "providers": ["google", "outlook"]})
            raise AssertionError("sync without a connection succeeded")
        except GuideError as error:
            assert error.status == 409 and error.response.json()["error"]["code"] == "not_connected"
        client.request("/calendar/connect", "POST", {"provider": "google", "authCode": "good-code"})
        answer = client.request("/calendar/sync-event", "POST", {"bookingId": booking["id"], "providers": ["google", "outlook"]})
        assert client.last.status_code == 200
        outcomes = {r["provider"]: r for r in answer["results"]}
        assert outcomes["google"]["status"] == "ok" and outcomes["google"]["action"] == "created"
        assert outcomes["outlook"]["status"] == "error" and outcomes["outlook"]["error"]["code"] == "not_connected"
        assert (answer["synced"], answer["failed"]) == (1, 1)
        wait_until(lambda: outcomes["google"]["externalId"] in google.events, message="the Google event")
        [link] = db_rows(hub, "SELECT provider FROM calendar_events JOIN calendar_integrations i ON i.id = integration_id "
                              "WHERE booking_id = ?", (booking["id"],))
        assert link["provider"] == "google"
    finally:
        hub.kill()
        google.stop()
