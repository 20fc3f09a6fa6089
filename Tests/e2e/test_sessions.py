"""Every way a session ends reaches its open sockets and streams (issue 16, item 4).

Logout, a password reset and a reused refresh token used to stop REST calls only: a WebSocket
opened with the old token kept receiving the member's private events until the token expired,
and a Server-Sent Events stream kept receiving them forever. Now the socket is told
(`session_ended`) and closed with 4401, the stream ends, and an SSE stream also ends when its
token expires. Connections with another, still valid session stay open.
"""
import base64
import hashlib
import hmac
import json
import time
import uuid

import requests

from conftest import Hub, register
from e2e_support import SSE, WS, closed_with, still_open, write_config

JWT_SECRET = "sessions-test-secret-0123456789abcdef0123"


def login(hub, email, password="password123"):
    r = requests.post(hub.url + "/api/auth/login", json={"email": email, "password": password}, timeout=10)
    assert r.status_code == 200, r.text
    return r


def start():
    return Hub(env={"JWT_SECRET": JWT_SECRET}, config=write_config()).start()


def test_logout_closes_the_sockets_of_that_session_and_no_other():
    hub = start()
    try:
        member = register(hub)
        other_session = login(hub, member.user["email"]).json()
        doomed = WS(hub, token=member.token)
        kept = WS(hub, token=other_session["token"])
        assert f"bookings:{member.user['id']}" in doomed.welcome["payload"]["channels"]

        r = member.post("/api/auth/logout")
        assert r.status_code == 200, r.text
        code, seen = closed_with(doomed)
        assert code == 4401
        assert [m["payload"]["code"] for m in seen if m["type"] == "session_ended"] == ["token_revoked"]
        assert still_open(kept), "another session of the same member is untouched"
    finally:
        hub.kill()


def test_a_password_reset_closes_every_socket_and_stream_of_the_member():
    hub = start()
    try:
        member = register(hub)
        second = login(hub, member.user["email"]).json()
        sockets = [WS(hub, token=member.token), WS(hub, token=second["token"])]
        stream = SSE(hub, query=f"?token={member.token}")
        assert stream.status == 200
        bystander = register(hub)
        unrelated = WS(hub, token=bystander.token)

        assert requests.post(hub.url + "/api/auth/forgot-password", json={"email": member.user["email"]}, timeout=10).status_code == 202
        (payload,), = [tuple(row.values()) for row in hub.rows("SELECT payload FROM outbox WHERE template = 'password-reset'")]
        token = json.loads(payload)["token"]
        r = requests.post(hub.url + "/api/auth/reset-password", json={"token": token, "password": "a-brand-new-one"}, timeout=10)
        assert r.status_code == 200, r.text

        for ws in sockets:
            assert closed_with(ws)[0] == 4401
        try:
            while True:
                stream.next_event()
        except ConnectionError:
            pass  # the stream ended
        assert still_open(unrelated)
    finally:
        hub.kill()


def test_a_reused_refresh_token_ends_the_sessions_live_socket():
    hub = start()
    try:
        member = register(hub)
        ws = WS(hub, token=member.token)
        first = requests.post(hub.url + "/api/auth/refresh", json={"refreshToken": member.refresh}, timeout=10)
        assert first.status_code == 200
        # The old refresh token again (a thief's copy): the whole session is revoked.
        again = requests.post(hub.url + "/api/auth/refresh", json={"refreshToken": member.refresh}, timeout=10)
        assert again.status_code == 401 and again.json()["error"]["code"] == "refresh_token_reused"
        assert closed_with(ws)[0] == 4401
    finally:
        hub.kill()


def test_logout_ends_an_sse_stream_opened_with_that_token():
    hub = start()
    try:
        member = register(hub)
        stream = SSE(hub, query=f"?token={member.token}&channels=bookings:{member.user['id']}")
        assert stream.status == 200
        assert member.post("/api/auth/logout").status_code == 200
        began = time.time()
        try:
            while time.time() - began < 30:
                stream.next_event(timeout=30)
            raise AssertionError("the stream is still open")
        except ConnectionError:
            pass
    finally:
        hub.kill()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_expiring_in(member, seconds):
    """An access token the hub accepts for about `seconds` more: its `exp` is in the past by less
    than the 30 s clock-skew leeway the hub allows, as a request check and a stream see it."""
    now = int(time.time())
    claims = {"sub": member.user["id"], "role": "user", "typ": "access", "iat": now - 600, "exp": now - 30 + seconds,
              "jti": f"{uuid.uuid4()}.{uuid.uuid4().hex[:8]}"}
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    mac = hmac.new(JWT_SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def test_an_sse_stream_ends_when_its_token_expires():
    """An EventSource cannot be handed a new token, so its stream ends at the token's expiry (the
    client reconnects with a fresh one and `Last-Event-ID`); before, it kept private events forever."""
    hub = start()
    try:
        member = register(hub)
        token = token_expiring_in(member, 3)
        stream = SSE(hub, query=f"?token={token}&channels=bookings:{member.user['id']}")
        assert stream.status == 200
        began = time.time()
        try:
            while time.time() - began < 40:
                stream.next_event(timeout=40)
            raise AssertionError("the stream outlived its token")
        except ConnectionError:
            pass
        assert time.time() - began >= 1.5, "it ended at the expiry, not at once"
        # The expired token opens no new stream.
        r = requests.get(hub.url + f"/api/events/stream?token={token}", timeout=10)
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    finally:
        hub.kill()
