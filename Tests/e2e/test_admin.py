"""The admin desk end to end (issue 9): who may call what, suspension, analytics against money the
test moves itself, live settings, and the audit log.

Every hub here runs the real binary over loopback. A second administrator with role `admin` (not
super) is written into `admin_users` while the hub is stopped: there is no CLI for it on main, and
scrypt PHC strings are portable, so the hash comes from a member registered with the same password.
"""
import csv
import datetime
import decimal
import io
import json
import os
import tempfile
import time
import uuid
from zoneinfo import ZoneInfo

import pytest
import requests
import websocket

from conftest import Client, Hub, Instant, admin, error_code, next_weekday, register

LAGOS = ZoneInfo("Africa/Lagos")
UA = "spacehub-admin-tests/1.0"
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
SETTING_KEYS = {"siteName", "contactEmail", "paymentGateway", "emailProvider", "holdMinutes", "refundNoticeHours",
                "bookingHorizonDays", "currency", "timeZone"}

# Many registrations and sign-ins from 127.0.0.1: the production per-IP limits are not under test.
RELAXED = {"auth": {"rateLimits": {"registerPerMinutePerIp": 100000, "loginPerMinutePerIp": 100000,
                                   "loginPerMinutePerEmail": 100000}}}


# MARK: Helpers

@pytest.fixture(scope="module")
def config_path():
    handle, path = tempfile.mkstemp(prefix="spacehub-admin-config-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(RELAXED, out)
    yield path
    os.unlink(path)


def lagos_today():
    return datetime.datetime.now(LAGOS).date()


def dec(value):
    """A JSON number or CSV field as an exact decimal."""
    return decimal.Decimal(str(value))


def add_staff_admin(hub, password="staff-pass-123"):
    """Writes an `admin` (not super) row into the stopped hub's database, restarts the hub and
    signs the new admin in."""
    probe = register(hub, password=password)
    hub.stop()
    email = f"staff-{uuid.uuid4().hex[:8]}@spacehub.local"
    (found,) = hub.rows("SELECT password_hash FROM users WHERE id = ?", (probe.user["id"],))
    # The probe member only lent its hash; leave no trace of it in the member lists.
    hub.execute("DELETE FROM refresh_tokens WHERE subject_id = ?", (probe.user["id"],))
    hub.execute("DELETE FROM users WHERE id = ?", (probe.user["id"],))
    now = Instant(time.time())
    hub.execute("""INSERT INTO admin_users (id, email, password_hash, name, role, is_active, created_at, updated_at)
                   VALUES (?, ?, ?, 'Staff Admin', 'admin', 1, ?, ?)""", (str(uuid.uuid4()), email, found["password_hash"], now, now))
    hub.start()
    r = requests.post(hub.url + "/api/admin/auth/login", json={"email": email, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["role"] == "admin"
    return Client(hub, body["token"], body["user"], body["refreshToken"])


def with_ua(client):
    client.session.headers["User-Agent"] = UA
    return client


def always_open_space(staff, name=None, price=10000, **extra):
    """An event space open 00:00–24:00 every day (overnight bookings fit), no buffer."""
    body = {"name": name or f"Night Studio {uuid.uuid4().hex[:6]}", "price": price, "capacity": 10, "bufferMinutes": 0,
            "openingHours": {day: {"open": "00:00", "close": "24:00"} for day in WEEKDAYS}}
    body.update(extra)
    r = staff.post("/api/event-spaces", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def book(member, space_id, date, start, duration=None, end=None, kind="event"):
    body = {"type": kind, "spaceId": space_id, "date": str(date), "startTime": start}
    if duration:
        body["duration"] = duration
    if end:
        body["endTime"] = end
    r = member.post("/api/bookings", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def initialize(member, booking):
    r = member.post("/api/payments/initialize",
                    json={"bookingId": booking["id"], "amount": booking["amount"], "currency": booking["currency"]})
    assert r.status_code == 200, r.text
    return r.json()


def pay(member, booking):
    """Pays through the sandbox checkout as a member's browser would; returns the settled payment."""
    started = initialize(member, booking)
    r = requests.post(member.hub.url + f"/pay/sandbox/{started['reference']}/pay", allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text
    payment = member.get(f"/api/payments/{started['paymentId']}").json()
    assert payment["status"] == "successful", payment
    return payment


def ws_connect(hub, token=None, client=None):
    query = "&".join(part for part in [token and f"token={token}", client and f"client={client}"] if part)
    ws = websocket.create_connection(hub.ws_url + "/ws" + (f"?{query}" if query else ""), timeout=10)
    welcome = json.loads(ws.recv())
    assert welcome["type"] == "welcome", welcome
    return ws, welcome


def wait_message(ws, type_, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        ws.settimeout(max(0.1, deadline - time.time()))
        message = json.loads(ws.recv())
        if message["type"] == type_:
            return message
    raise AssertionError(f"no {type_} message within {timeout} s")


def wait_close(ws, timeout=10):
    """(code, reason) of the server's close frame, read as a control frame."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ws.settimeout(max(0.1, deadline - time.time()))
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big"), data[2:].decode()
    raise AssertionError(f"no close frame within {timeout} s")


def login(hub, email, password="password123"):
    return requests.post(hub.url + "/api/auth/login", json={"email": email, "password": password}, timeout=30)


def audit_logs(client, **params):
    r = client.get("/api/admin/audit-logs", params=params)
    assert r.status_code == 200, r.text
    return r.json()


# MARK: Shared hub for the role matrix, members and suspension

class Desk:
    def __init__(self, hub, super_admin, staff):
        self.hub = hub
        self.super = super_admin
        self.staff = staff


@pytest.fixture(scope="module")
def desk(config_path):
    hub = Hub(config=config_path).start()
    try:
        staff = add_staff_admin(hub)
        yield Desk(hub, admin(hub), staff)
    finally:
        hub.kill()


# MARK: Role matrix

def _space_body(_):
    return {"name": f"Matrix Room {uuid.uuid4().hex[:6]}", "price": 5000, "capacity": 4}


def _plan_body(_):
    return {"name": f"Matrix Plan {uuid.uuid4().hex[:6]}", "price": 2000, "seats": 5, "duration": "day"}


# (name, method, path, body, least role, status when allowed)
ENDPOINTS = [
    ("users-list", "GET", lambda c: "/api/admin/users", None, "admin", 200),
    ("users-show", "GET", lambda c: f"/api/admin/users/{c['member_id']}", None, "admin", 200),
    ("users-update", "PUT", lambda c: f"/api/admin/users/{c['member_id']}", lambda c: {"status": "active"}, "super", 200),
    ("analytics-overview", "GET", lambda c: "/api/admin/analytics/overview", None, "admin", 200),
    ("analytics-revenue", "GET", lambda c: "/api/admin/analytics/revenue", None, "admin", 200),
    ("analytics-bookings", "GET", lambda c: "/api/admin/analytics/bookings", None, "admin", 200),
    ("settings-get", "GET", lambda c: "/api/admin/settings", None, "super", 200),
    ("settings-put", "PUT", lambda c: "/api/admin/settings", lambda c: {"siteName": "Nithub Space Management"}, "super", 200),
    ("audit-logs", "GET", lambda c: "/api/admin/audit-logs", None, "admin", 200),
    ("payments-list", "GET", lambda c: "/api/admin/payments", None, "admin", 200),
    ("payments-verify", "PUT", lambda c: f"/api/admin/payments/{uuid.uuid4()}/verify", None, "admin", 404),
    ("payments-refund", "POST", lambda c: f"/api/admin/payments/{uuid.uuid4()}/refund", lambda c: {}, "admin", 404),
    ("event-space-create", "POST", lambda c: "/api/event-spaces", _space_body, "admin", 201),
    ("event-space-update", "PUT", lambda c: f"/api/event-spaces/{c['space_id']}", lambda c: {"description": "matrix"}, "admin", 200),
    ("event-space-delete", "DELETE", lambda c: f"/api/event-spaces/{c['space_id']}", None, "admin", 200),
    ("coworking-plan-create", "POST", lambda c: "/api/coworking-plans", _plan_body, "admin", 201),
    ("coworking-plan-update", "PUT", lambda c: f"/api/coworking-plans/{c['plan_id']}", lambda c: {"description": "matrix"}, "admin", 200),
    ("coworking-plan-delete", "DELETE", lambda c: f"/api/coworking-plans/{c['plan_id']}", None, "admin", 200),
    ("booking-confirm", "PUT", lambda c: f"/api/bookings/{uuid.uuid4()}/confirm", None, "admin", 404),
    ("payment-refund", "POST", lambda c: f"/api/payments/{uuid.uuid4()}/refund", lambda c: {}, "admin", 404),
    ("admin-me", "GET", lambda c: "/api/admin/auth/me", None, "admin", 200),
]
ROLES = ["anonymous", "member", "admin", "super_admin"]


@pytest.fixture(scope="module")
def matrix(desk):
    member = register(desk.hub)
    space = always_open_space(desk.super, name="Matrix Target")
    plan = desk.super.post("/api/coworking-plans", json=_plan_body(None)).json()
    return {"member": member, "member_id": member.user["id"], "space_id": space["id"], "plan_id": plan["id"]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_role_matrix(desk, matrix, role, endpoint):
    name, method, path, body, least, allowed = endpoint
    caller = {"anonymous": None, "member": matrix["member"], "admin": desk.staff, "super_admin": desk.super}[role]
    url = desk.hub.url + path(matrix)
    payload = body(matrix) if body else None
    if caller is None:
        r = requests.request(method, url, json=payload, timeout=30)
    else:
        r = caller.session.request(method, url, json=payload, timeout=30)
    if role == "anonymous":
        assert r.status_code == 401, r.text
        assert r.headers.get("WWW-Authenticate") == "Bearer"
    elif role == "member":
        assert r.status_code == 403, r.text
        assert error_code(r) == ("super_admin_required" if least == "super" else "admin_required")
    elif role == "admin" and least == "super":
        assert r.status_code == 403, r.text
        assert error_code(r) == "super_admin_required"
    else:
        assert r.status_code == allowed, r.text


def test_denied_calls_change_nothing(desk, matrix):
    """A member's or plain admin's refused PUT leaves the settings and the account as they were."""
    before = desk.super.get("/api/admin/settings").json()
    assert desk.staff.put("/api/admin/settings", json={"siteName": "Hijacked"}).status_code == 403
    assert matrix["member"].put("/api/admin/settings", json={"siteName": "Hijacked"}).status_code == 403
    assert desk.super.get("/api/admin/settings").json() == before
    r = desk.staff.put(f"/api/admin/users/{matrix['member_id']}", json={"status": "suspended", "reason": "nope"})
    assert r.status_code == 403
    assert matrix["member"].get("/api/auth/me").status_code == 200


# MARK: Members

def test_users_list_search_counts_and_show(desk):
    tag = uuid.uuid4().hex[:8]
    older = register(desk.hub, email=f"ann-{tag}@example.com", first="Annabel", last=f"Okafor{tag}", phone="+2348030000001")
    # Its email contains the older member's whole email: a substring search must not mix them up.
    newer = register(desk.hub, email=f"joann-{tag}@example.com", first="Jo", last=f"Ann{tag}", phone="+2348030000002")
    space = always_open_space(desk.super)
    day = lagos_today() + datetime.timedelta(days=5)
    paid = book(older, space["id"], day, "09:00", end="11:00")
    payment = pay(older, paid)
    unpaid = book(older, space["id"], day, "12:00", end="13:00")  # left pending

    listed = desk.staff.get("/api/admin/users", params={"search": tag}).json()
    assert listed["total"] == 2 and listed["page"] == 1
    assert [u["id"] for u in listed["users"]] == [newer.user["id"], older.user["id"]]  # newest first
    by_id = {u["id"]: u for u in listed["users"]}
    assert by_id[older.user["id"]]["bookingCount"] == 2
    assert dec(by_id[older.user["id"]]["totalPaid"]) == dec(payment["amount"]) == dec(20000)
    assert by_id[newer.user["id"]]["bookingCount"] == 0 and dec(by_id[newer.user["id"]]["totalPaid"]) == 0
    assert all("passwordHash" not in u and "password_hash" not in u for u in listed["users"])

    for search, expected in [(f"Annabel Okafor{tag}", [older]), (f"ANNABEL okafor{tag}", [older]), ("+2348030000002", None),
                             (f"joann-{tag}@EXAMPLE.com", [newer])]:
        found = desk.staff.get("/api/admin/users", params={"search": search}).json()
        if expected is None:
            assert newer.user["id"] in [u["id"] for u in found["users"]]
        else:
            assert [u["id"] for u in found["users"]] == [m.user["id"] for m in expected], search
    assert desk.staff.get("/api/admin/users", params={"search": "%"}).json()["total"] == 0  # LIKE wildcards are literal

    page1 = desk.staff.get("/api/admin/users", params={"search": tag, "limit": 1, "page": 1}).json()
    page2 = desk.staff.get("/api/admin/users", params={"search": tag, "limit": 1, "page": 2}).json()
    assert page1["total"] == page2["total"] == 2
    assert [page1["users"][0]["id"], page2["users"][0]["id"]] == [newer.user["id"], older.user["id"]]

    shown = desk.staff.get(f"/api/admin/users/{older.user['id']}").json()
    assert shown["id"] == older.user["id"] and shown["email"] == older.user["email"]
    assert shown["bookingCount"] == 2 and dec(shown["totalPaid"]) == dec(20000)
    assert sorted(b["id"] for b in shown["bookings"]) == sorted([paid["id"], unpaid["id"]])
    assert [p["id"] for p in shown["payments"]] == [payment["id"]]
    assert desk.staff.get(f"/api/admin/users/{uuid.uuid4()}").status_code == 404


def test_update_user_validation(desk):
    member = register(desk.hub)
    path = f"/api/admin/users/{member.user['id']}"
    for body, field in [({"status": "banned"}, "status"), ({"status": "suspended"}, "reason"),
                        ({"status": "suspended", "reason": "   "}, "reason"), ({"status": "active", "email": "x@y.z"}, "email"), ({}, "status")]:
        r = desk.super.put(path, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["field"] == field
    assert desk.super.put(f"/api/admin/users/{uuid.uuid4()}", json={"status": "suspended", "reason": "x"}).status_code == 404
    assert member.get("/api/auth/me").status_code == 200


# MARK: Suspension

def test_suspension_cuts_off_tokens_sockets_and_holds(desk):
    hub = desk.hub
    member = register(hub)
    other = register(hub)
    space = always_open_space(desk.super)
    day = lagos_today() + datetime.timedelta(days=4)
    hold = book(member, space["id"], day, "14:00", end="16:00")
    assert hold["status"] == "pending"
    ws, welcome = ws_connect(hub, token=member.token)
    assert welcome["payload"]["user"]["id"] == member.user["id"]
    bystander, _ = ws_connect(hub, token=other.token)

    r = with_ua(desk.super).put(f"/api/admin/users/{member.user['id']}", json={"status": "suspended", "reason": "chargeback fraud"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "suspended" and r.json()["suspendedReason"] == "chargeback fraud"

    # The live socket is closed with the application code for a suspended account.
    code, reason = wait_close(ws)
    assert code == 4403, (code, reason)
    ws.close()
    # Someone else's socket stays open and usable.
    bystander.send(json.dumps({"type": "ping", "id": 1}))
    assert wait_message(bystander, "pong")["payload"]["id"] == 1
    bystander.close()

    # The access token issued before the suspension no longer works, nor do login and refresh.
    r = member.get("/api/auth/me")
    assert r.status_code == 403 and error_code(r) == "account_suspended"
    r = member.post("/api/bookings", json={"type": "event", "spaceId": space["id"], "date": str(day), "startTime": "18:00", "endTime": "19:00"})
    assert r.status_code == 403 and error_code(r) == "account_suspended"
    r = login(hub, member.user["email"])
    assert r.status_code == 403 and error_code(r) == "account_suspended"
    r = requests.post(hub.url + "/api/auth/refresh", json={"refreshToken": member.refresh}, timeout=30)
    assert r.status_code == 403 and error_code(r) == "account_suspended"
    r = websocket.WebSocket()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        r.connect(hub.ws_url + "/ws?token=" + member.token, timeout=10)
    assert refused.value.status_code == 403

    # The pending hold was released: cancelled, and the slot is someone else's to take.
    held = desk.super.get(f"/api/bookings/{hold['id']}").json()
    assert held["status"] == "cancelled" and held["holdExpiresAt"] is None
    assert "suspend" in (held["cancelReason"] or "")
    taken = book(other, space["id"], day, "14:00", end="16:00")
    assert taken["status"] == "pending"

    shown = desk.staff.get(f"/api/admin/users/{member.user['id']}").json()
    assert shown["status"] == "suspended" and shown["suspendedReason"] == "chargeback fraud"
    mails = hub.rows("SELECT template FROM outbox WHERE recipient = ?", (member.user["email"],))
    assert {"template": "account-suspended"} in mails

    # Reactivation restores sign-in (in the very second of the suspension too); the old token stays dead.
    r = desk.super.put(f"/api/admin/users/{member.user['id']}", json={"status": "active"})
    assert r.status_code == 200 and r.json()["status"] == "active"
    r = login(hub, member.user["email"])
    assert r.status_code == 200, r.text
    fresh = Client(hub, r.json()["token"], r.json()["user"], r.json()["refreshToken"])
    assert fresh.get("/api/auth/me").status_code == 200
    r = requests.post(hub.url + "/api/auth/refresh", json={"refreshToken": fresh.refresh}, timeout=30)
    assert r.status_code == 200, r.text
    assert member.get("/api/auth/me").status_code == 401
    ws, _ = ws_connect(hub, token=fresh.token)
    ws.close()

    actions = [(log["action"], log["resourceId"]) for log in audit_logs(desk.staff, resource="user")["logs"]]
    assert actions[:2] == [("reactivate", member.user["id"]), ("suspend", member.user["id"])]


def test_suspension_survives_restart(config_path, fresh_hub):
    hub = fresh_hub(config=config_path)
    member = register(hub)
    assert admin(hub).put(f"/api/admin/users/{member.user['id']}", json={"status": "suspended", "reason": "abuse"}).status_code == 200
    hub.restart()
    r = member.get("/api/auth/me")
    assert r.status_code == 403 and error_code(r) == "account_suspended"
    assert login(hub, member.user["email"]).status_code == 403


# MARK: Analytics

def test_live_connections_are_counted_by_client_kind_while_open(hub):
    """The overview's live connections by `?client=` kind: a kind counts while its connections are
    open and is gone after; a client calling itself `total` cannot overwrite the hub's total."""
    boss = admin(hub)

    def live():
        return boss.get("/api/admin/analytics/overview").json()["liveConnections"]

    kind = f"kiosk-{uuid.uuid4().hex[:6]}"
    sockets = [ws_connect(hub, client=kind)[0] for _ in range(2)] + [ws_connect(hub, client="total")[0]]
    try:
        counts = live()
        assert counts[kind] == 2, counts
        assert counts["total"] >= 3, counts  # the hub's own count, every open connection
    finally:
        for ws in sockets:
            ws.close()
    deadline = time.time() + 10
    while kind in live() and time.time() < deadline:
        time.sleep(0.05)
    assert kind not in live()


def occupancy_of(overview, space_id):
    return next(entry for entry in overview["occupancy"] if entry["spaceId"] == space_id)


def test_analytics_against_the_money_moved(config_path, fresh_hub):
    hub = fresh_hub(config=config_path)
    boss = admin(hub)
    today = lagos_today()
    night = always_open_space(boss, name="Night Studio", price=10000)
    alice, bob = register(hub), register(hub)
    day = today + datetime.timedelta(days=3)

    # 22:00 → 02:00 Lagos: two hours on each local day (three and one in UTC).
    overnight = book(alice, night["id"], day, "22:00", duration="4 hours")
    assert overnight["endsAt"].startswith(str(day + datetime.timedelta(days=1)) + "T02:00")
    paid_overnight = pay(alice, overnight)
    morning = book(alice, night["id"], day + datetime.timedelta(days=1), "10:00", end="13:00")
    paid_morning = pay(alice, morning)
    r = boss.post(f"/api/admin/payments/{paid_morning['id']}/refund", json={"amount": "12500.50", "reason": "projector broke"})
    assert r.status_code == 200, r.text
    pending = book(bob, "conference-room-a", next_weekday(4), "10:00", end="11:00")
    initialize(bob, pending)  # a payment left pending
    dropped = book(bob, night["id"], day + datetime.timedelta(days=2), "09:00", end="10:00")
    assert bob.delete(f"/api/users/bookings/{dropped['id']}").status_code == 200
    dashboard, _ = ws_connect(hub, token=boss.token, client="dashboard")

    charged = dec(paid_overnight["amount"]) + dec(paid_morning["amount"])
    assert charged == dec(70000)
    net = charged - dec("12500.50")

    try:
        overview = boss.get("/api/admin/analytics/overview").json()
        if overview["date"] != str(today):
            pytest.skip("Lagos midnight passed during the test")
        assert overview["timeZone"] == "Africa/Lagos" and overview["currency"] == "NGN"
        assert overview["today"]["bookings"] == 4 and dec(overview["today"]["revenue"]) == net
        assert overview["month"]["bookings"] == 4 and dec(overview["month"]["revenue"]) == net
        assert overview["pendingPayments"] == 1
        assert overview["liveConnections"]["dashboard"] == 1 and overview["liveConnections"]["total"] >= 1
    finally:
        dashboard.close()

    first = occupancy_of(boss.get("/api/admin/analytics/overview", params={"date": str(day)}).json(), night["id"])
    assert (dec(first["bookedHours"]), dec(first["openHours"]), dec(first["occupancyPercent"])) == (2, 24, dec("8.3"))  # percent to one decimal
    second = occupancy_of(boss.get("/api/admin/analytics/overview", params={"date": str(day + datetime.timedelta(days=1))}).json(), night["id"])
    assert (dec(second["bookedHours"]), dec(second["occupancyPercent"])) == (2 + 3, dec("20.8"))
    third = occupancy_of(boss.get("/api/admin/analytics/overview", params={"date": str(day + datetime.timedelta(days=2))}).json(), night["id"])
    assert dec(third["bookedHours"]) == 0  # the cancelled booking holds no time
    assert boss.get("/api/admin/analytics/overview", params={"date": "2026-02-30"}).status_code == 422

    revenue = boss.get("/api/admin/analytics/revenue", params={"period": "daily", "startDate": str(today - datetime.timedelta(days=2)),
                                                              "endDate": str(today)}).json()
    assert revenue["currency"] == "NGN" and revenue["timeZone"] == "Africa/Lagos"
    assert [row["period"] for row in revenue["series"]] == [str(today - datetime.timedelta(days=n)) for n in (2, 1, 0)]
    row = revenue["series"][-1]
    assert (row["payments"], dec(row["charged"]), dec(row["refunded"]), dec(row["revenue"])) == (2, charged, dec("12500.50"), net)
    assert all(dec(r["charged"]) == 0 and r["payments"] == 0 for r in revenue["series"][:-1])
    assert dec(revenue["total"]) == net

    monthly = boss.get("/api/admin/analytics/revenue", params={"period": "monthly", "year": str(today.year)}).json()
    assert [r["period"] for r in monthly["series"]] == [f"{today.year}-{m:02d}" for m in range(1, 13)]
    month = monthly["series"][today.month - 1]
    assert (dec(month["charged"]), dec(month["refunded"]), dec(month["revenue"])) == (charged, dec("12500.50"), net)
    assert month["start"] == str(today.replace(day=1))

    stats = boss.get("/api/admin/analytics/bookings", params={"startDate": str(today), "endDate": str(today)}).json()
    assert stats["total"] == 4
    assert stats["byStatus"] == {"cancelled": 1, "confirmed": 2, "pending": 1}
    assert stats["byType"] == {"event": 4}
    assert dec(stats["cancellationRate"]) == dec("0.25") and dec(stats["expiryRate"]) == 0
    top = {entry["spaceId"]: entry for entry in stats["topSpaces"]}
    assert stats["topSpaces"][0]["spaceId"] == night["id"]
    assert top[night["id"]]["bookings"] == 3 and dec(top[night["id"]]["hours"]) == 7  # 4 + 3; the cancelled hour not
    assert top["conference-room-a"]["bookings"] == 1 and dec(top["conference-room-a"]["hours"]) == 1
    assert stats["series"] == [{"period": str(today), "bookings": 4}]

    # The money moved is what the payments desk lists.
    listed = boss.get("/api/admin/payments", params={"status": "successful"}).json()["payments"]
    assert sum(dec(p["amount"]) - dec(p["refundedAmount"]) for p in listed) == net


def test_revenue_buckets_follow_the_building_zone(config_path, fresh_hub):
    """The same payment lands on the local date of the zone in settings: Kiritimati (UTC+14) and
    Pago Pago (UTC−11) are always on different dates, so at least one differs from UTC's."""
    hub = fresh_hub(config=config_path)
    boss = admin(hub)
    member = register(hub)
    space = always_open_space(boss)
    payment = pay(member, book(member, space["id"], lagos_today() + datetime.timedelta(days=2), "10:00", end="11:00"))
    paid_at = datetime.datetime.fromisoformat(payment["verifiedAt"].replace("Z", "+00:00"))
    seen = set()
    for zone in ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Africa/Lagos"]:
        assert boss.put("/api/admin/settings", json={"timeZone": zone}).status_code == 200
        local = paid_at.astimezone(ZoneInfo(zone)).date()
        series = boss.get("/api/admin/analytics/revenue", params={
            "period": "daily", "startDate": str(local - datetime.timedelta(days=2)), "endDate": str(local + datetime.timedelta(days=2))}).json()
        assert series["timeZone"] == zone
        paid_rows = [row["period"] for row in series["series"] if row["payments"]]
        assert paid_rows == [str(local)], (zone, series["series"])
        seen.add(local)
        overview = boss.get("/api/admin/analytics/overview").json()
        assert overview["date"] == str(datetime.datetime.now(ZoneInfo(zone)).date())
    assert len(seen) >= 2


@pytest.mark.parametrize("year", [2015, 2019, 2020, 2024, 2026])
def test_weekly_labels_are_iso_weeks(desk, year):
    params = {"period": "weekly", "startDate": f"{year}-12-01", "endDate": f"{year + 1}-01-31"}
    revenue = desk.staff.get("/api/admin/analytics/revenue", params=params).json()["series"]
    for row in revenue:
        iso = datetime.date.fromisoformat(row["start"]).isocalendar()
        assert row["period"] == f"{iso[0]}-W{iso[1]:02d}", row
    assert len({row["period"] for row in revenue}) == len(revenue) in (9, 10)
    bookings = desk.staff.get("/api/admin/analytics/bookings", params=params).json()["series"]
    assert [row["period"] for row in bookings] == [row["period"] for row in revenue]
    for row in revenue[1:-1]:
        start, end = datetime.date.fromisoformat(row["start"]), datetime.date.fromisoformat(row["end"])
        assert start.weekday() == 0 and end - start == datetime.timedelta(days=6)
    assert revenue[0]["start"] == f"{year}-12-01" and revenue[-1]["end"] == f"{year + 1}-01-31"
    # 28 December is always in the last ISO week of its year.
    last = datetime.date(year, 12, 28).isocalendar()[1]
    assert f"{year}-W{last:02d}" in [row["period"] for row in revenue]


def test_analytics_csv_matches_json(config_path, fresh_hub):
    hub = fresh_hub(config=config_path)
    boss = admin(hub)
    member = register(hub)
    space = always_open_space(boss, price="1234.56")
    payment = pay(member, book(member, space["id"], lagos_today() + datetime.timedelta(days=2), "10:00", end="11:00"))
    assert boss.post(f"/api/admin/payments/{payment['id']}/refund", json={"amount": "0.56"}).status_code == 200
    today = lagos_today()
    params = {"period": "daily", "startDate": str(today - datetime.timedelta(days=6)), "endDate": str(today)}

    as_json = boss.get("/api/admin/analytics/revenue", params=params).json()
    by_query = boss.get("/api/admin/analytics/revenue", params={**params, "format": "csv"})
    by_accept = boss.get("/api/admin/analytics/revenue", params=params, headers={"Accept": "text/csv"})
    for response in (by_query, by_accept):
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in response.headers.get("Content-Disposition", "")
        assert response.content.endswith(b"\r\n")
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))
        assert len(rows) == len(as_json["series"]) == 7
        for row, expected in zip(rows, as_json["series"]):
            assert (row["period"], row["start"], row["end"]) == (expected["period"], expected["start"], expected["end"])
            assert int(row["payments"]) == expected["payments"]
            assert dec(row["charged"]) == dec(expected["charged"]) and dec(row["refunded"]) == dec(expected["refunded"])
            assert dec(row["net"]) == dec(expected["revenue"]) and row["currency"] == "NGN"
    assert dec(rows[-1]["charged"]) == dec("1234.56") and dec(rows[-1]["net"]) == dec("1234.00")

    bookings_json = boss.get("/api/admin/analytics/bookings", params=params).json()
    bookings_csv = boss.get("/api/admin/analytics/bookings", params={**params, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(bookings_csv.content.decode("utf-8"), newline="")))
    assert [(r["period"], int(r["bookings"])) for r in rows] == [(s["period"], s["bookings"]) for s in bookings_json["series"]]
    assert sum(int(r["bookings"]) for r in rows) == 1


def test_analytics_range_validation(desk):
    for params, field in [({"period": "hourly"}, "period"), ({"startDate": "2026-13-01"}, "startDate"),
                          ({"startDate": "2026-05-02", "endDate": "2026-05-01"}, "endDate"), ({"year": "20x6"}, "year"),
                          ({"startDate": "2020-01-01", "endDate": "2026-01-01"}, "startDate")]:
        for path in ["/api/admin/analytics/revenue", "/api/admin/analytics/bookings"]:
            r = desk.staff.get(path, params=params)
            assert r.status_code == 422, (path, params, r.text)
            assert r.json()["error"]["field"] == field


# MARK: Settings

def test_settings_defaults_and_validation(config_path, fresh_hub):
    hub = fresh_hub(config=config_path)
    boss = admin(hub)
    # The seed's flat object, as PUT takes it; ?describe=true adds what each key means.
    current = boss.get("/api/admin/settings").json()
    assert set(current) == SETTING_KEYS
    assert current["holdMinutes"] == 15 and current["timeZone"] == "Africa/Lagos"
    assert current["currency"] == "NGN" and current["paymentGateway"] == "sandbox"
    described = boss.get("/api/admin/settings", params={"describe": "true"}).json()
    assert described["settings"] == current and set(described["descriptions"]) == SETTING_KEYS
    assert all(isinstance(text, str) and text for text in described["descriptions"].values())
    r = boss.get("/api/admin/settings", params={"describe": "maybe"})
    assert r.status_code == 422 and error_code(r) == "bad_flag"

    r = boss.put("/api/admin/settings", json={"bogus": 1})
    assert r.status_code == 422 and error_code(r) == "unknown_setting" and r.json()["error"]["field"] == "bogus"
    assert boss.put("/api/admin/settings", json={}).status_code == 422
    assert boss.put("/api/admin/settings", data="[1]", headers={"Content-Type": "application/json"}).status_code in (400, 422)

    bad = [("holdMinutes", 0), ("holdMinutes", 1441), ("holdMinutes", "15"), ("holdMinutes", 2.5), ("holdMinutes", None),
           ("refundNoticeHours", -1), ("bookingHorizonDays", 0), ("currency", "EUR"), ("timeZone", "Mars/Olympus"),
           ("contactEmail", "not-an-email"), ("siteName", ""), ("siteName", "x" * 201), ("paymentGateway", "stripe"),
           ("emailProvider", "pigeon"),
           # No Paystack secret key is configured: switching to it would break every checkout.
           ("paymentGateway", "paystack"), ("emailProvider", "sendgrid")]
    for key, value in bad:
        r = boss.put("/api/admin/settings", json={key: value})
        assert r.status_code == 422, (key, value, r.text)
        assert error_code(r) == "invalid_setting" and r.json()["error"]["field"] == key, (key, value, r.text)

    # One bad key of several: nothing is applied, nothing is stored, nothing is audited.
    for body in [{"siteName": "Changed", "holdMinutes": 0}, {"holdMinutes": 5, "bogus": True}, {"siteName": "Changed", "currency": "XXX"}]:
        assert boss.put("/api/admin/settings", json=body).status_code == 422
    assert boss.get("/api/admin/settings").json() == current
    assert audit_logs(boss, resource="settings")["total"] == 0
    assert hub.rows("SELECT COUNT(*) AS n FROM system_settings") == [{"n": 0}]


def test_settings_live_effect_broadcast_and_restart(config_path, fresh_hub):
    hub = fresh_hub(config=config_path)
    boss = with_ua(admin(hub))
    member = register(hub)
    space = always_open_space(boss)
    watcher, welcome = ws_connect(hub, token=boss.token)
    assert "admin" in welcome["payload"]["channels"]
    outsider, outsider_welcome = ws_connect(hub, token=member.token)
    assert "admin" not in outsider_welcome["payload"]["channels"]

    r = boss.put("/api/admin/settings", json={"holdMinutes": 7, "siteName": "Night Desk", "bookingHorizonDays": 10})
    assert r.status_code == 200, r.text
    assert r.json()["holdMinutes"] == 7
    event = wait_message(watcher, "settings_updated")
    assert event["channel"] == "admin"
    assert event["payload"] == {"holdMinutes": 7, "siteName": "Night Desk", "bookingHorizonDays": 10}
    watcher.close()

    def hold_minutes(booking):
        expires = datetime.datetime.fromisoformat(booking["holdExpiresAt"].replace("Z", "+00:00"))
        return (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 60

    before = time.time()
    booking = book(member, space["id"], lagos_today() + datetime.timedelta(days=2), "10:00", end="11:00")
    assert abs(hold_minutes(booking) - 7) < (time.time() - before + 2) / 60
    started = initialize(member, booking)
    page = requests.get(started["authorizationUrl"], timeout=30)
    assert "Night Desk" in page.text
    far = member.post("/api/bookings", json={"type": "event", "spaceId": space["id"], "startTime": "10:00", "endTime": "11:00",
                                             "date": str(lagos_today() + datetime.timedelta(days=20))})
    assert far.status_code == 422 and error_code(far) == "beyond_horizon"

    # The member's socket is not on the admin channel: no settings event reached it.
    outsider.settimeout(0.5)
    received = []
    try:
        while True:
            received.append(json.loads(outsider.recv())["type"])
    except websocket.WebSocketTimeoutException:
        pass
    outsider.close()
    assert "settings_updated" not in received

    log = audit_logs(boss, resource="settings")["logs"][0]
    assert log["action"] == "update" and log["adminId"] == boss.user["id"]
    assert log["oldValues"] == {"holdMinutes": 15, "siteName": "Nithub Space Management", "bookingHorizonDays": 365}
    assert log["newValues"] == {"holdMinutes": 7, "siteName": "Night Desk", "bookingHorizonDays": 10}
    assert log["userAgent"] == UA and log["ipAddress"] == "127.0.0.1"

    hub.restart()
    boss = admin(hub)
    kept = boss.get("/api/admin/settings").json()
    assert (kept["holdMinutes"], kept["siteName"], kept["bookingHorizonDays"]) == (7, "Night Desk", 10)
    member = Client(hub, login(hub, member.user["email"]).json()["token"], member.user)
    again = book(member, space["id"], lagos_today() + datetime.timedelta(days=2), "12:00", end="13:00")
    assert abs(hold_minutes(again) - 7) < 1  # seven minutes, not the default fifteen


def test_currency_setting_prices_new_spaces_and_reports(config_path, fresh_hub):
    hub = fresh_hub(config=config_path)
    boss = admin(hub)
    member = register(hub)
    naira_space = always_open_space(boss, price=1000)
    pay(member, book(member, naira_space["id"], lagos_today() + datetime.timedelta(days=2), "10:00", end="11:00"))
    assert boss.put("/api/admin/settings", json={"currency": "USD"}).status_code == 200
    dollar_space = always_open_space(boss, price="25.50")
    assert dollar_space["currency"] == "USD" and naira_space["currency"] == "NGN"
    today = str(lagos_today())
    # Naira are not dollars: the report in the building's new currency does not count them.
    usd = boss.get("/api/admin/analytics/revenue", params={"period": "daily", "startDate": today, "endDate": today}).json()
    assert usd["currency"] == "USD" and dec(usd["total"]) == 0 and usd["series"][0]["payments"] == 0
    ngn = boss.get("/api/admin/analytics/revenue", params={"period": "daily", "startDate": today, "endDate": today,
                                                          "currency": "NGN"}).json()
    assert ngn["currency"] == "NGN" and dec(ngn["total"]) == 1000 and ngn["series"][0]["payments"] == 1
    assert dec(boss.get("/api/admin/analytics/overview").json()["today"]["revenue"]) == 0
    assert boss.get("/api/admin/analytics/revenue", params={"currency": "EUR"}).status_code == 422


# MARK: Audit log

def test_every_admin_mutation_is_audited(config_path, fresh_hub):
    hub = fresh_hub(config=config_path)
    staff = with_ua(add_staff_admin(hub))
    boss = with_ua(admin(hub))
    member = register(hub)
    today = lagos_today()

    space = always_open_space(boss, name="Audit Room")
    assert boss.put(f"/api/event-spaces/{space['id']}", json={"description": "now with a view"}).status_code == 200
    assert boss.delete(f"/api/event-spaces/{space['id']}").status_code == 200
    assert boss.put(f"/api/admin/users/{member.user['id']}", json={"status": "suspended", "reason": "audit test"}).status_code == 200
    assert boss.put(f"/api/admin/users/{member.user['id']}", json={"status": "active"}).status_code == 200
    assert boss.put("/api/admin/settings", json={"refundNoticeHours": 48}).status_code == 200
    member = Client(hub, login(hub, member.user["email"]).json()["token"], member.user)
    target = always_open_space(staff)  # by the plain admin
    booking = book(member, target["id"], today + datetime.timedelta(days=3), "10:00", end="12:00")
    payment_id = initialize(member, booking)["paymentId"]
    verified = boss.put(f"/api/admin/payments/{payment_id}/verify")
    assert verified.status_code == 200 and verified.json()["status"] == "successful"
    refunded = boss.post(f"/api/admin/payments/{payment_id}/refund", json={"amount": 5000, "reason": "goodwill"})
    assert refunded.status_code == 200, refunded.text
    walk_in = book(member, target["id"], today + datetime.timedelta(days=4), "10:00", end="11:00")
    assert staff.put(f"/api/bookings/{walk_in['id']}/confirm").json()["status"] == "confirmed"
    assert boss.put(f"/api/bookings/{walk_in['id']}/cancel", json={"reason": "double booked"}).json()["status"] == "cancelled"
    own = book(member, target["id"], today + datetime.timedelta(days=5), "10:00", end="11:00")
    assert member.delete(f"/api/users/bookings/{own['id']}").status_code == 200  # a member's own change: not audited

    everything = audit_logs(boss, limit=100)
    logs = everything["logs"]
    assert everything["total"] == len(logs) == 11
    expected = [  # newest first
        ("cancel", "booking", walk_in["id"], boss), ("confirm", "booking", walk_in["id"], staff),
        ("refund", "payment", payment_id, boss), ("verify", "payment", payment_id, boss),
        ("create", "event_space", target["id"], staff),
        ("update", "settings", None, boss),
        ("reactivate", "user", member.user["id"], boss), ("suspend", "user", member.user["id"], boss),
        ("deactivate", "event_space", space["id"], boss), ("update", "event_space", space["id"], boss),
        ("create", "event_space", space["id"], boss),
    ]
    assert [(l["action"], l["resource"], l["resourceId"], l["adminId"]) for l in logs] == \
        [(a, r, i, who.user["id"]) for a, r, i, who in expected]
    stamps = [l["createdAt"] for l in logs]
    assert stamps == sorted(stamps, reverse=True)
    for log in logs:
        assert log["ipAddress"] == "127.0.0.1" and log["userAgent"] == UA, log

    by_action = {}
    for log in logs:
        by_action.setdefault((log["action"], log["resource"]), log)
    created = by_action[("create", "event_space")]  # the newest create: the plain admin's
    assert created["oldValues"] is None and created["newValues"]["id"] == target["id"]
    update = by_action[("update", "event_space")]
    assert update["oldValues"]["description"] == "" and update["newValues"]["description"] == "now with a view"
    gone = by_action[("deactivate", "event_space")]
    assert gone["oldValues"]["isActive"] is True and gone["newValues"]["isActive"] is False
    suspend = by_action[("suspend", "user")]
    assert suspend["oldValues"]["status"] == "active"
    assert suspend["newValues"]["status"] == "suspended" and suspend["newValues"]["suspendedReason"] == "audit test"
    assert "passwordHash" not in json.dumps(suspend)
    assert by_action[("reactivate", "user")]["newValues"]["status"] == "active"
    settings = by_action[("update", "settings")]
    assert settings["oldValues"] == {"refundNoticeHours": 24} and settings["newValues"] == {"refundNoticeHours": 48}
    verify = by_action[("verify", "payment")]
    assert verify["oldValues"]["status"] == "pending" and verify["newValues"]["status"] == "successful"
    refund = by_action[("refund", "payment")]
    assert refund["oldValues"]["status"] == "successful" and dec(refund["oldValues"]["refundedAmount"]) == 0
    confirm = by_action[("confirm", "booking")]
    assert confirm["oldValues"]["status"] == "pending" and confirm["newValues"]["status"] == "confirmed"
    cancel = by_action[("cancel", "booking")]
    assert cancel["oldValues"]["status"] == "confirmed" and cancel["newValues"]["status"] == "cancelled"
    assert cancel["newValues"]["cancelReason"] == "double booked"
    assert dec(refund["newValues"]["amount"]) == 5000 and refund["newValues"]["reason"] == "goodwill"

    # Filters.
    mine = audit_logs(boss, actor=staff.user["id"])
    assert [(l["action"], l["resourceId"]) for l in mine["logs"]] == [("confirm", walk_in["id"]), ("create", target["id"])]
    assert [l["action"] for l in audit_logs(boss, resource="payment")["logs"]] == ["refund", "verify"]
    assert [l["action"] for l in audit_logs(boss, resource="user", actor=boss.user["id"])["logs"]] == ["reactivate", "suspend"]
    assert audit_logs(boss, actor=member.user["id"])["total"] == 0
    assert audit_logs(boss, **{"from": str(today), "to": str(today)})["total"] == 11
    assert audit_logs(boss, **{"from": str(today + datetime.timedelta(days=1))})["total"] == 0
    assert audit_logs(boss, to=str(today - datetime.timedelta(days=1)))["total"] == 0
    future = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    past = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert audit_logs(boss, **{"from": future})["total"] == 0
    assert audit_logs(boss, **{"from": past, "to": future})["total"] == 11
    assert boss.get("/api/admin/audit-logs", params={"from": "yesterday"}).status_code == 422
    page = audit_logs(boss, limit=2, page=2)
    assert page["total"] == 11 and [l["id"] for l in page["logs"]] == [l["id"] for l in logs[2:4]]

    # Append-only: no route changes a row, and SQL cannot either.
    log_id = logs[0]["id"]
    for method in ["PUT", "DELETE", "POST"]:
        r = boss.session.request(method, hub.url + "/api/admin/audit-logs", json={}, timeout=30)
        assert r.status_code == 405, (method, r.status_code)
        r = boss.session.request(method, hub.url + f"/api/admin/audit-logs/{log_id}", json={}, timeout=30)
        assert r.status_code in (404, 405), (method, r.status_code)
    # The store refuses too (a trigger), whichever it is: sqlite3's or psycopg's error.
    with pytest.raises(Exception, match="append-only"):
        hub.execute("UPDATE audit_logs SET action = 'nothing' WHERE id = ?", (log_id,))
    with pytest.raises(Exception, match="append-only"):
        hub.execute("DELETE FROM audit_logs")
    assert hub.rows("SELECT COUNT(*) AS n FROM audit_logs") == [{"n": 11}]
    assert hub.rows("SELECT action FROM audit_logs WHERE id = ?", (log_id,)) == [{"action": "cancel"}]
    assert audit_logs(boss)["total"] == 11
