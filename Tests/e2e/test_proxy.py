"""Issue 17: the hub behind a real reverse proxy. Debian's nginx runs the configuration
docs/DEPLOY.md gives operators (deploy/nginx/spacehub.conf, its @PLACEHOLDERS@ filled in) on
loopback, terminating TLS with a certificate of the test CA, as a process of this test run (its
pid, logs and temp files in a temp directory; nothing of the system's nginx is used). Through
it: REST, links built from the forwarded scheme and host, the body limit, the WebSocket upgrade,
Server-Sent Events without buffering, long-poll, and the login rate limit and audit rows per
real client address, with clients bound to 127.0.0.2, 127.0.0.3, … as their source address.
"""
import glob
import grp
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
import requests
import websocket
from requests.adapters import HTTPAdapter

from conftest import ROOT, Hub
from e2e_support import WS, Cluster, coworking_body, db_rows, event_body, unique_weekday, write_config
from test_ca import test_ca

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TEMPLATE = os.path.join(ROOT, "deploy", "nginx", "spacehub.conf")
DEPLOY_DOC = os.path.join(ROOT, "docs", "DEPLOY.md")
DEFAULTS = os.path.join(ROOT, "config", "spacehub.json")
PLACEHOLDERS = ("@SERVER_NAME@", "@HTTPS_LISTEN@", "@HTTP_LISTEN@", "@TLS_CERT@", "@TLS_KEY@", "@UPSTREAM@")
LOGIN_LIMIT = 3  # auth.rateLimits.loginPerMinutePerIp of the hubs here
# What a client might write to pass for someone else, somewhere else.
FORGED = {"X-Forwarded-For": "203.0.113.7", "Forwarded": "for=203.0.113.8;proto=http;host=evil.example",
          "X-Forwarded-Host": "evil.example"}


def free_ports(count):
    """`count` distinct free loopback ports (bound together, then released for nginx)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def children_of(pid):
    """Pids whose parent is `pid` (nginx's workers), read from /proc."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.split("/")[2]))
    return found


class Nginx:
    """Debian's nginx in front of one hub: `deploy/nginx/spacehub.conf` with its placeholders
    filled in, included from a minimal main configuration that keeps the pid file, logs and
    temp directories in a temp directory. It runs in the foreground (`daemon off`) as the
    current user, and is stopped by its pid."""

    def __init__(self, hub, others=()):
        self.hub = hub
        # Several hubs on one PostgreSQL: every one is a server of the upstream (docs/SCALING.md).
        self.others = list(others)
        self.dir = tempfile.mkdtemp(prefix="spacehub-nginx-")
        self.proc = None
        self.workers = []
        self.https_port = self.http_port = None
        self.ca, self.cert, self.key = test_ca()

    def site_config(self):
        with open(TEMPLATE) as f:
            text = f.read()
        values = {
            "@SERVER_NAME@": "127.0.0.1 localhost",
            "@HTTPS_LISTEN@": f"127.0.0.1:{self.https_port}",
            "@HTTP_LISTEN@": f"127.0.0.1:{self.http_port}",
            "@TLS_CERT@": self.cert,
            "@TLS_KEY@": self.key,
            "@UPSTREAM@": f"127.0.0.1:{self.hub.port}",
        }
        if self.others:
            servers = [f"server 127.0.0.1:{h.port} max_fails=1 fail_timeout=5s;" for h in [self.hub] + self.others]
            assert "server @UPSTREAM@;" in text
            text = text.replace("server @UPSTREAM@;", "\n    ".join(servers))
        for placeholder, value in values.items():
            assert placeholder in text, f"{placeholder} missing from {TEMPLATE}"
            text = text.replace(placeholder, value)
        left = re.findall(r"@[A-Z_]+@", text)
        assert not left, f"placeholders the test does not fill: {left}"
        return text

    def main_config(self):
        d = self.dir
        # As root, nginx would run its workers as `nobody`, who cannot enter this private temp
        # directory; `user` keeps them the current user (it is ignored, with a warning, otherwise).
        user = ""
        if os.geteuid() == 0:
            user = f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};"
        return f"""
{user}
worker_processes 1;
pid {d}/nginx.pid;
lock_file {d}/nginx.lock;
error_log {d}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/spacehub.conf;
}}
"""

    def start(self):
        for attempt in range(3):  # another process may take a port between choosing and binding
            self.https_port, self.http_port = free_ports(2)
            with open(os.path.join(self.dir, "spacehub.conf"), "w") as f:
                f.write(self.site_config())
            with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
                f.write(self.main_config())
            with open(os.path.join(self.dir, "stderr.log"), "ab") as err:
                self.proc = subprocess.Popen(
                    [NGINX, "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf"),
                     "-e", os.path.join(self.dir, "error.log"), "-g", "daemon off;"],
                    stdin=subprocess.DEVNULL, stdout=err, stderr=err)
            if self._wait_listening(timeout=10):
                self.workers = children_of(self.proc.pid)
                assert self.workers, "nginx started no worker"
                return self
            self.stop()
            if "Address already in use" not in self.log("error.log"):
                break
        raise RuntimeError("nginx did not start:\n" + self.log("error.log") + self.log("stderr.log"))

    def _wait_listening(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                for port in (self.https_port, self.http_port):
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """SIGTERM (nginx's fast shutdown) to the master, whose workers exit with it; SIGKILL to
        both if that takes longer than 10 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for pid in self.workers:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"nginx: worker" in f.read():
                        os.kill(pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass

    @property
    def url(self):
        return f"https://127.0.0.1:{self.https_port}"

    def tls_context(self):
        return ssl.create_default_context(cafile=self.ca)


class SourceAddressAdapter(HTTPAdapter):
    """Connects from a chosen loopback address, as a different client would."""

    def __init__(self, source):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


class Client:
    """A client of the site through nginx over HTTPS, from `source`, trusting the test CA."""

    def __init__(self, front, source="127.0.0.1", token=None):
        self.front = front
        self.source = source
        self.session = requests.Session()
        self.session.mount("https://", SourceAddressAdapter(source))
        self.token = token
        self.user = None

    def request(self, method, path, headers=None, **kw):
        headers = dict(headers or {})
        if self.token:
            headers.setdefault("Authorization", "Bearer " + self.token)
        # verify per request: requests lets REQUESTS_CA_BUNDLE override a session's `verify`.
        return self.session.request(method, self.front.url + path, headers=headers, timeout=40,
                                    verify=self.front.ca, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def register(self):
        email = f"proxied-{uuid.uuid4().hex[:10]}@example.com"
        r = self.post("/api/auth/register", json={"email": email, "password": "password123", "firstName": "Ngozi",
                                                  "lastName": "Eze", "phone": "+2348012345678"})
        assert r.status_code == 201, r.text
        self.token, self.user = r.json()["token"], r.json()["user"]
        return self


def hub_config(trusted):
    return write_config({
        "server": {"trustedProxies": ["127.0.0.1"] if trusted else []},
        "auth": {"rateLimits": {"loginPerMinutePerIp": LOGIN_LIMIT}},
        # No heartbeat during a test: nothing but the event itself could push an SSE buffer out.
        "events": {"sseHeartbeatSeconds": 300},
    })


def proxied_hub(trusted=True):
    hub = Hub(env={"ACCESS_LOG": "true", "LOG_LEVEL": "info"}, config=hub_config(trusted)).start()
    try:
        return hub, Nginx(hub).start()
    except BaseException:
        hub.kill()
        raise


@pytest.fixture(scope="module")
def site():
    hub, front = proxied_hub()
    yield hub, front
    front.stop()
    hub.kill()


@pytest.fixture(scope="module")
def front(site):
    return site[1]


def access_lines(hub, path, until=bool, timeout=30):
    """The hub's access-log lines for `path`, once `until(lines)` holds (or at the deadline): they
    reach `hub.output` through a reader thread, a moment after the responses they log."""
    deadline = time.time() + timeout
    while True:
        lines = [line for line in list(hub.output) if f": POST {path} " in line or f": GET {path} " in line]
        if until(lines) or time.time() > deadline:
            return lines
        time.sleep(0.05)


def peers(lines):
    return [re.search(r"\bpeer=(\S+)", line).group(1) for line in lines]


# MARK: The configuration is the documented one


def test_deploy_doc_shows_the_deploy_files_verbatim():
    """Operators copy from docs/DEPLOY.md: what it shows is what this test runs (nginx) and what
    the release ships (the rest)."""
    with open(DEPLOY_DOC) as f:
        doc = f.read()
    files = ["deploy/nginx/spacehub.conf", "deploy/systemd/spacehub.service", "deploy/systemd/spacehub-backup.service",
             "deploy/systemd/spacehub-backup.timer", "deploy/logrotate/spacehub"]
    for name in files:
        with open(os.path.join(ROOT, name)) as f:
            assert f.read() in doc, f"docs/DEPLOY.md must include {name} verbatim"
    with open(TEMPLATE) as f:
        assert set(re.findall(r"@[A-Z_]+@", f.read())) == set(PLACEHOLDERS)


def test_nginx_limits_agree_with_the_hub_defaults():
    """Read timeouts outlast the long-poll and the WebSocket ping interval, the body limit is the
    hub's, and nginx drops idle upstream connections before the hub does."""
    with open(TEMPLATE) as f:
        conf = f.read()
    with open(DEFAULTS) as f:
        defaults = json.load(f)

    def seconds(directive):
        values = re.findall(rf"^\s*{directive}\s+(\d+)s;", conf, re.M)
        assert len(values) == 1, (directive, values)
        return int(values[0])
    assert seconds("proxy_read_timeout") > defaults["events"]["longPollSeconds"]
    assert seconds("proxy_read_timeout") > defaults["websocket"]["pingIntervalSeconds"]
    assert seconds("keepalive_timeout") < defaults["server"]["idleTimeoutSeconds"]
    size = re.findall(r"^\s*client_max_body_size\s+(\d+)m;", conf, re.M)
    assert [int(size[0]) * 1024 * 1024] == [defaults["server"]["limits"]["bodyBytesMax"]]


# MARK: REST through the proxy


def test_rest_through_tls(site):
    hub, front = site
    member = Client(front, "127.0.0.6").register()
    r = member.get("/api/version")
    assert r.status_code == 200 and r.json()["name"] == "spacehub"
    assert r.headers["Strict-Transport-Security"] == "max-age=63072000"  # nginx's header: it went through
    assert r.headers["x-request-id"]  # and the hub's

    signed_in = Client(front, "127.0.0.6").post("/api/auth/login",
                                                 json={"email": member.user["email"], "password": "password123"})
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["user"]["id"] == member.user["id"]

    day = unique_weekday()
    booked = member.post("/api/bookings", json=event_body("conference-room-a", day, "10:00", "11:00"))
    assert booked.status_code == 201, booked.text
    assert member.get("/api/bookings/" + booked.json()["id"]).json()["id"] == booked.json()["id"]

    # The hub's own JSON errors come back unchanged (nginx does not replace 4xx bodies).
    taken = member.post("/api/bookings", json=event_body("conference-room-a", day, "10:30", "11:30"))
    assert taken.status_code == 409 and taken.json()["error"]["code"], taken.text
    missing = member.get("/api/bookings/" + str(uuid.uuid4()))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found", missing.text
    anonymous = Client(front).get("/api/auth/me")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"], anonymous.text


def test_links_use_the_forwarded_scheme_and_host(site):
    """With no publicUrl, the payment page link is built from what nginx forwarded: https and the
    Host the client used, so the member's browser comes back through the proxy; forwarding
    headers the client wrote itself (another host, plain http) are not believed."""
    hub, front = site
    member = Client(front, "127.0.0.6").register()
    booking = member.post("/api/bookings", json=event_body("training-room", unique_weekday(), "09:00", "10:00")).json()
    r = member.post("/api/payments/initialize", headers=dict(FORGED, **{"X-Forwarded-Proto": "http"}), json={
        "bookingId": booking["id"], "amount": booking["amount"], "currency": "NGN", "paymentMethod": "card"})
    assert r.status_code == 200, r.text
    started = r.json()
    assert started["authorizationUrl"] == f"{front.url}/pay/sandbox/{started['reference']}"
    page = member.get(started["authorizationUrl"][len(front.url):])
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_plain_http_is_redirected_to_https(front):
    r = requests.get(f"http://127.0.0.1:{front.http_port}/api/version?x=1", allow_redirects=False, timeout=10)
    assert r.status_code == 308
    assert r.headers["Location"] == "https://127.0.0.1/api/version?x=1"


def test_metrics_are_not_served_to_the_public(front):
    r = Client(front).get("/metrics", headers={"Authorization": "Bearer anything"})
    assert r.status_code == 403 and "x-request-id" not in r.headers  # nginx refused; the hub never saw it


def test_body_limit_is_the_hubs(site):
    """nginx passes what the hub reads (`client_max_body_size 1m` = `server.limits.bodyBytesMax`):
    a booking padded to the hub's JSON cap (64 KiB, a field the hub ignores) is booked; a 1 MiB
    body reaches the hub, which refuses to parse it (its own JSON 413); one byte more is refused by
    nginx before anything is sent on."""
    hub, front = site
    member = Client(front, "127.0.0.6").register()

    def body(size):
        head = json.dumps(event_body("conference-room-b", unique_weekday(), "09:00", "10:00"))[:-1] + ', "pad": "'
        return (head + "x" * (size - len(head) - 2) + '"}').encode()
    at_cap = member.post("/api/bookings", data=body(64 * 1024), headers={"Content-Type": "application/json"})
    assert len(at_cap.request.body) == 64 * 1024
    assert at_cap.status_code == 201 and at_cap.json()["spaceId"] == "conference-room-b", at_cap.text
    at_limit = member.post("/api/bookings", data=body(1024 * 1024), headers={"Content-Type": "application/json"})
    assert at_limit.status_code == 413 and "x-request-id" in at_limit.headers, at_limit.text  # the hub's answer
    assert at_limit.json()["error"]["code"] == "payload_too_large"
    assert "65536" in at_limit.json()["error"]["message"]  # the JSON cap, not the 1 MiB body limit
    over = member.post("/api/bookings", data=body(1024 * 1024 + 1), headers={"Content-Type": "application/json"})
    assert over.status_code == 413
    assert "x-request-id" not in over.headers and over.headers["content-type"].startswith("text/html")


# MARK: Real time through the proxy


class ProxiedWS(WS):
    """e2e_support's WebSocket client, over wss:// through nginx."""

    def __init__(self, front, token):
        self.ws = websocket.create_connection(f"wss://127.0.0.1:{front.https_port}/ws?token={token}", timeout=10,
                                              sslopt={"ca_certs": front.ca})
        self.backlog = []
        self.welcome = self.recv()
        assert self.welcome["type"] == "welcome", self.welcome


def test_websocket_upgrade_and_live_event(site):
    hub, front = site
    member = Client(front).register()
    ws = ProxiedWS(front, member.token)
    try:
        assert ws.welcome["payload"]["user"]["id"] == member.user["id"]
        booked = member.post("/api/bookings", json=coworking_body("hot-desk", unique_weekday(), "09:00", "2 hours"))
        assert booked.status_code == 201, booked.text
        event = ws.wait_type("booking_updated", timeout=10, id=booked.json()["id"])
        assert event["channel"] == f"bookings:{member.user['id']}"
        # And the other way: a client message reaches the hub through the proxy and is answered.
        ws.send({"type": "subscribe", "channel": "availability:event-hall", "id": 7})
        ws.wait_type("ack", timeout=10, id=7)
    finally:
        ws.close()


class ProxiedSSE:
    """`GET /api/events/stream` through nginx with http.client, which undoes nginx's chunked
    framing: `readline()` answers b"" once the stream has ended."""

    def __init__(self, front, query):
        self.conn = http.client.HTTPSConnection("127.0.0.1", front.https_port, timeout=10,
                                                context=front.tls_context())
        self.conn.request("GET", "/api/events/stream" + query, headers={"Accept": "text/event-stream"})
        try:
            self.response = self.conn.getresponse()
        except TimeoutError:
            raise AssertionError("no response head through the proxy within 10 s (buffered?)") from None

    def next_event(self, timeout):
        """The next event's fields, or None when the stream ends first; raises on timeout."""
        self.conn.sock.settimeout(timeout)
        fields = {}
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if not line:
                if "data" in fields:
                    fields["data"] = json.loads(fields["data"])
                    return fields
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value

    def close(self):
        self.conn.close()


def test_server_sent_events_are_not_buffered(site):
    """The event reaches the client while the stream is still open: the stream only ends when the
    member logs out, after the event was read. A buffering proxy would hold the event until the
    stream ended (there are no heartbeats here to fill its buffer)."""
    hub, front = site
    member = Client(front).register()
    stream = ProxiedSSE(front, f"?channels=bookings:{member.user['id']}&token={member.token}")
    try:
        assert stream.response.status == 200
        assert stream.response.getheader("Content-Type").startswith("text/event-stream")
        assert stream.response.getheader("X-Accel-Buffering") is None  # nginx consumed it
        booked = member.post("/api/bookings", json=event_body("conference-room-b", unique_weekday(), "14:00", "15:00"))
        assert booked.status_code == 201, booked.text
        try:
            event = stream.next_event(timeout=10)
        except (socket.timeout, TimeoutError):
            pytest.fail("the event did not come through while the stream was open (buffered by the proxy?)")
        assert event is not None, "the stream ended before its event arrived"
        assert event["event"] == "booking_updated" and event["data"]["payload"]["id"] == booked.json()["id"]
        assert int(event["id"]) == event["data"]["seq"]

        assert member.post("/api/auth/logout", json={}).status_code in (200, 204)
        assert stream.next_event(timeout=10) is None  # the logout ended the stream, through nginx too
    finally:
        stream.close()


def test_long_poll_returns_when_an_event_happens(site):
    hub, front = site
    member = Client(front).register()
    ws = ProxiedWS(front, member.token)
    since = ws.welcome["payload"]["seq"]
    ws.close()
    result = {}

    def poll():
        result["response"] = Client(front).get(f"/api/events?channels=availability:event-hall&since={since}")
    waiter = threading.Thread(target=poll, daemon=True)
    waiter.start()
    waiter.join(1.0)
    assert waiter.is_alive(), f"the poll returned before any event: {result.get('response') and result['response'].text}"
    hall = member.post("/api/bookings", json=event_body("event-hall", unique_weekday(), "09:00", "11:00"))
    assert hall.status_code == 201, hall.text
    waiter.join(20)  # under events.longPollSeconds (25): only the event can have ended the wait
    assert not waiter.is_alive(), "the long-poll did not return after the event"
    r = result["response"]
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert [e["channel"] for e in events] == ["availability:event-hall"]
    assert events[0]["payload"]["changed"]["start"] == hall.json()["startsAt"]


# MARK: Client addresses behind the proxy


def failed_login(client, headers=None):
    return client.post("/api/auth/login", json={"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com",
                                                "password": "not-the-password"}, headers=headers)


def test_login_limit_is_per_client_address(site):
    """Each client address has its own budget, and a client cannot buy a new one by writing
    forwarding headers of its own: nginx appends the real peer, and drops Forwarded."""
    hub, front = site
    first, second = Client(front, "127.0.0.2"), Client(front, "127.0.0.3")
    assert [failed_login(first).status_code for _ in range(LOGIN_LIMIT)] == [401] * LOGIN_LIMIT
    refused = failed_login(first)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert failed_login(first, headers=FORGED).status_code == 429
    assert failed_login(second).status_code == 401  # its own budget
    assert failed_login(second, headers=FORGED).status_code == 401

    # The hub's access log names the two clients, never an address a client wrote.
    expected = (LOGIN_LIMIT + 2, 2)
    seen = peers(access_lines(hub, "/api/auth/login",
                              until=lambda lines: (peers(lines).count("127.0.0.2"), peers(lines).count("127.0.0.3")) == expected))
    assert (seen.count("127.0.0.2"), seen.count("127.0.0.3")) == expected, seen
    assert not [peer for peer in seen if peer.startswith("203.0.113.")], seen


def test_audit_rows_record_the_real_client_address(site):
    hub, front = site
    office, home = Client(front, "127.0.0.4"), Client(front, "127.0.0.5")
    r = office.post("/api/admin/auth/login", json={"email": hub.admin_email, "password": hub.admin_password})
    assert r.status_code == 200, r.text
    office.token = home.token = r.json()["token"]

    created = office.post("/api/event-spaces", headers=FORGED, json={
        "name": f"Proxy Room {uuid.uuid4().hex[:6]}", "capacity": 6, "price": 5000})
    assert created.status_code == 201, created.text
    space = created.json()["id"]
    assert home.put("/api/event-spaces/" + space, json={"price": 5500}).status_code == 200
    rows = db_rows(hub, "SELECT ip_address FROM audit_logs WHERE resource_id = ? ORDER BY rowid", (space,))
    assert [row["ip_address"] for row in rows] == ["127.0.0.4", "127.0.0.5"]


def test_without_trusted_proxies_every_client_is_the_proxy():
    """The control: the same nginx in front of a hub that does not trust it. The hub sees one
    client, nginx's address, so clients share one login budget; the per-address budgets above
    come from server.trustedProxies."""
    hub, front = proxied_hub(trusted=False)
    try:
        first, second = Client(front, "127.0.0.2"), Client(front, "127.0.0.3")
        assert [failed_login(first).status_code for _ in range(LOGIN_LIMIT)] == [401] * LOGIN_LIMIT
        assert failed_login(second).status_code == 429
        assert set(peers(access_lines(hub, "/api/auth/login"))) == {"127.0.0.1"}
    finally:
        front.stop()
        hub.kill()


@pytest.mark.postgresql_only
def test_three_hubs_behind_nginx_lose_one_and_clients_go_on():
    """Three hubs on one PostgreSQL as nginx's upstream (docs/SCALING.md): a WebSocket client
    and members reach whichever hub nginx picks. One hub is killed (kill -9): bookings through
    nginx go on succeeding on the others, and the client, reconnecting through nginx and
    resuming from its last seq, gets every event it missed exactly once."""
    cluster = Cluster(config={"server": {"trustedProxies": ["127.0.0.1"]}})
    front = Nginx(cluster.hubs[0], others=cluster.hubs[1:]).start()
    try:
        member = Client(front).register()
        ws = ProxiedWS(front, member.token)
        day = unique_weekday()
        seen = []

        def book(hour):
            booked = member.post("/api/bookings", json=event_body("conference-room-a", day, f"{hour:02d}:00", f"{hour:02d}:30"))
            assert booked.status_code == 201, booked.text
            return booked.json()["id"]

        first = book(8)
        seen.append(ws.wait_type("booking_updated", timeout=10, id=first)["seq"])
        epoch = ws.welcome["payload"]["epoch"]
        cluster.hubs[0].kill()
        ids = [book(hour) for hour in range(9, 19)]  # nginx passes over the dead hub
        assert requests.get(front.url + "/readyz", verify=front.ca, timeout=10).status_code == 200
        ws.close()
        resumed = ProxiedWS(front, member.token)
        resumed.send({"type": "resume", "channel": f"bookings:{member.user['id']}", "seq": seen[-1], "epoch": epoch, "id": 1})
        got = {}
        deadline = time.time() + 20
        while len(got) < len(ids) and time.time() < deadline:
            message = resumed.recv(timeout=max(0.1, deadline - time.time()))
            if message.get("type") == "booking_updated":
                booking = message["payload"]["id"]
                assert booking not in got, "an event came twice"
                got[booking] = message["seq"]
        assert set(got) == set(ids), "an event was missed"
        assert list(got.values()) == sorted(got.values()), "out of order"
        resumed.close()
    finally:
        front.stop()
        cluster.kill()
