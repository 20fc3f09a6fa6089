"""Real peers on 127.0.0.1 for the notification and calendar tests: an SMTP server (aiosmtpd,
with STARTTLS and AUTH), a SendGrid fake, Google Calendar and Microsoft Graph fakes speaking
their JSON, plus helpers to read the hub's SQLite file and wait for things."""
import asyncio
import email
import email.policy
import itertools
import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import next_weekday
from e2e_support import db_rows  # noqa: F401 (the tests import it from here too)


# ---------------------------------------------------------------- helpers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=30.0, interval=0.1, message="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message} (last: {last!r})")


def outbox(hub, template=None, recipient=None):
    sql = "SELECT * FROM outbox WHERE 1=1"
    params = []
    if template:
        sql += " AND template = ?"
        params.append(template)
    if recipient:
        sql += " AND recipient = ?"
        params.append(recipient)
    return db_rows(hub, sql + " ORDER BY id", params)


def book(member, space="conference-room-a", date=None, start="10:00", end="12:00", **extra):
    body = {"type": "event", "spaceId": space, "date": date or next_weekday(2), "startTime": start, "endTime": end}
    body.update(extra)
    r = member.post("/api/bookings", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def confirm(admin_client, booking_id):
    r = admin_client.put(f"/api/bookings/{booking_id}/confirm")
    assert r.status_code == 200, r.text
    return r.json()


def parse_message(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def parts(message):
    """{content type: decoded text} of a multipart message."""
    return {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}


def self_signed_cert(directory):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    return cert, key


# ---------------------------------------------------------------- SMTP

class SMTPFake:
    """aiosmtpd on 127.0.0.1. With `cert`, STARTTLS is offered and required; with
    `credentials`, AUTH (PLAIN, LOGIN) is required, over TLS. Received messages are kept with
    what the session looked like."""

    def __init__(self, port=None, cert=None, credentials=None, delay_first_data=0.0):
        self.port = port or free_port()
        self.messages = []
        self.auth_attempts = []
        self.delay_first_data = delay_first_data
        self.data_started = threading.Event()
        kwargs = {}
        if cert:
            import ssl
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*cert)
            kwargs.update(tls_context=ctx, require_starttls=True)
        if credentials:
            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = isinstance(auth_data, LoginPassword) and \
                    (auth_data.login.decode(), auth_data.password.decode()) == credentials
                self.auth_attempts.append((mechanism, ok))
                return AuthResult(success=ok)
            kwargs.update(authenticator=authenticator, auth_require_tls=bool(cert))
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)

    async def handle_DATA(self, server, session, envelope):
        first = not self.messages
        self.messages.append({
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "raw": envelope.content,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
        })
        self.data_started.set()
        if first and self.delay_first_data:
            await asyncio.sleep(self.delay_first_data)
        return "250 2.0.0 Ok: queued as FAKE%d" % len(self.messages)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()


# ---------------------------------------------------------------- HTTP fakes

class _FakeServer:
    """A ThreadingHTTPServer whose handler calls `self.handle(method, path, headers, body)`.
    `tls`: HTTPS with the test CA's certificate (test_ca.py); `chunked`: answers in chunked
    framing (fake_paystack.chunked_body)."""

    def __init__(self, tls=False, chunked=False):
        fake = self
        self.chunked = chunked

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # chunked framing exists in HTTP/1.1 only

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload = fake.handle(self.command, self.path, self.headers, body)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                if fake.chunked and status not in (204, 304):
                    from fake_paystack import chunked_body
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(chunked_body(data))
                    return
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            from test_ca import server_context
            self.server.socket = server_context().wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class SendGridFake(_FakeServer):
    """POST /v3/mail/send with `Authorization: Bearer <key>`; 202 like SendGrid. A recipient
    containing "reject" gets 400 (a permanent refusal)."""

    def __init__(self, api_key, tls=False, chunked=False):
        super().__init__(tls=tls, chunked=chunked)
        self.api_key = api_key
        self.requests = []

    def handle(self, method, path, headers, body):
        with self.lock:
            self.requests.append({"method": method, "path": path, "auth": headers.get("Authorization"),
                                  "content_type": headers.get("Content-Type"), "body": body})
        if method != "POST" or path != "/v3/mail/send":
            return 404, {"errors": [{"message": "not found"}]}
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {"errors": [{"message": "The provided authorization grant is invalid"}]}
        doc = json.loads(body)
        if "reject" in doc["personalizations"][0]["to"][0]["email"]:
            return 400, {"errors": [{"message": "Does not contain a valid address.", "field": "personalizations.0.to"}]}
        return 202, None


class CalendarFake(_FakeServer):
    """The OAuth token endpoint plus the event endpoints of Google Calendar v3 (`/calendar/v3`)
    or Microsoft Graph (`/v1.0`). Only the newest access token is accepted (older ones: 401).
    `fail` maps an operation ("token", "refresh", "insert", "patch", "delete") to a status the
    fake answers with instead."""

    CLIENTS = {"google": ("google-client", "google-secret"), "outlook": ("outlook-client", "outlook-secret")}
    REDIRECT = "http://localhost:3000/calendar/callback"

    def __init__(self, provider, expires_in=3600):
        super().__init__()
        self.provider = provider
        self.expires_in = expires_in
        self.counter = itertools.count(1)
        self.access_token = None
        self.refresh_token = None
        self.events = {}
        self.log = []
        self.exchanges = 0
        self.refreshes = 0
        self.revoked = []
        self.fail = {}
        self.good_code = "good-code"

    @property
    def api_base(self):
        return self.url + ("/calendar/v3" if self.provider == "google" else "/v1.0")

    def env(self):
        p = "GOOGLE" if self.provider == "google" else "OUTLOOK"
        client_id, secret = self.CLIENTS[self.provider]
        env = {f"{p}_TOKEN_URL": self.url + "/token", f"{p}_API_BASE_URL": self.api_base,
               f"{p}_CLIENT_ID": client_id, f"{p}_CLIENT_SECRET": secret,
               "CALENDAR_REDIRECT_URI": self.REDIRECT}
        if self.provider == "google":
            env["GOOGLE_REVOKE_URL"] = self.url + "/revoke"
        return env

    def invalidate_access_token(self):
        """The provider forgets the current access token (as if it expired early)."""
        with self.lock:
            self.access_token = "revoked-" + str(next(self.counter))

    def _issue(self, rotate_refresh):
        self.access_token = f"at-{self.provider}-{next(self.counter)}"
        grant = {"access_token": self.access_token, "token_type": "Bearer", "expires_in": self.expires_in}
        if rotate_refresh:
            self.refresh_token = f"rt-{self.provider}-{next(self.counter)}"
            grant["refresh_token"] = self.refresh_token
        if self.provider == "google":
            claims = {"sub": "1234567890", "email": "ada@gmail.example"}
            segment = __import__("base64").urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            grant["id_token"] = "eyJhbGciOiJub25lIn0." + segment + ".sig"
        return grant

    def handle(self, method, path, headers, body):
        with self.lock:
            self.log.append((method, path, headers.get("Authorization"), body))
            if path == "/token":
                return self._token(headers, body)
            if path == "/revoke":
                self.revoked.append(urllib.parse.parse_qs(body.decode()).get("token", [""])[0])
                return 200, {}
            return self._api(method, path, headers, body)

    def _token(self, headers, body):
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        if headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return 400, {"error": "invalid_request", "error_description": "form encoding expected"}
        if (form.get("client_id"), form.get("client_secret")) != self.CLIENTS[self.provider]:
            return 401, {"error": "invalid_client"}
        if self.provider == "outlook" and "offline_access" not in form.get("scope", ""):
            return 400, {"error": "invalid_scope"}
        if form.get("grant_type") == "authorization_code":
            self.exchanges += 1
            if "token" in self.fail:
                return self.fail["token"], {"error": "server_error"}
            if form.get("code") != self.good_code or form.get("redirect_uri") != self.REDIRECT:
                return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
            return 200, self._issue(rotate_refresh=True)
        if form.get("grant_type") == "refresh_token":
            self.refreshes += 1
            if "refresh" in self.fail:
                return self.fail["refresh"], {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            if form.get("refresh_token") != self.refresh_token:
                return 400, {"error": "invalid_grant", "error_description": "unknown refresh token"}
            # Microsoft rotates refresh tokens; Google keeps the first.
            return 200, self._issue(rotate_refresh=self.provider == "outlook")
        return 400, {"error": "unsupported_grant_type"}

    def _api(self, method, path, headers, body):
        if headers.get("Authorization") != f"Bearer {self.access_token}":
            if self.provider == "google":
                return 401, {"error": {"code": 401, "message": "Invalid Credentials"}}
            return 401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired."}}
        collection = "/calendar/v3/calendars/primary/events" if self.provider == "google" else "/v1.0/me/events"
        if path == collection and method == "POST":
            if "insert" in self.fail:
                return self.fail["insert"], {"error": {"code": self.fail["insert"], "message": "Backend Error"}}
            doc = json.loads(body)
            if self.provider == "google":
                event_id = doc["id"]
                if event_id in self.events:
                    return 409, {"error": {"code": 409, "message": "The requested identifier already exists."}}
            else:
                event_id = f"AAMk-{next(self.counter)}"
            doc["id"] = event_id
            self.events[event_id] = doc
            return (200 if self.provider == "google" else 201), doc
        if path.startswith(collection + "/"):
            event_id = urllib.parse.unquote(path[len(collection) + 1:])
            if method == "PATCH":
                if "patch" in self.fail:
                    return self.fail["patch"], {"error": {"message": "Backend Error"}}
                if event_id not in self.events:
                    return 404, {"error": {"message": "Not Found"}}
                self.events[event_id].update(json.loads(body))
                return 200, self.events[event_id]
            if method == "DELETE":
                if "delete" in self.fail:
                    return self.fail["delete"], {"error": {"message": "Backend Error"}}
                if self.events.pop(event_id, None) is None:
                    return 404, {"error": {"message": "Not Found"}}
                return 204, None
        return 404, {"error": {"message": f"no route {method} {path}"}}
