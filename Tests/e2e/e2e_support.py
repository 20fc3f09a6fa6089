"""Helpers shared by the booking, space and real-time end-to-end tests: hubs with a config file,
unique dates, a WebSocket client with bounded waits, a raw-socket SSE reader, and direct reads
of the hub's SQLite file. Every wait here has a deadline; nothing blocks forever.
"""
import atexit
import contextlib
import datetime
import http.client
import itertools
import json
import os
import socket
import sqlite3
import tempfile
import threading
import time

import websocket

import conftest
from conftest import Hub, Instant, admin, next_weekday

# How long a test waits for a message, an event or a close it must see. Generous on purpose: the
# tests check what arrives, not how fast (BENCHMARKS.md measures latency), and a loaded CI machine
# must not turn a late event into a failure. Waits that must end early say so with their own bound.
EVENT_WITHIN = 30

# The suites register dozens of members and sign the admin in repeatedly from 127.0.0.1, and some
# members hold many bookings at once; the default limits (10 registrations a minute per address,
# 10 unpaid holds per member, 60 new bookings a minute) are for production, not for a test run.
# The tests of those limits start hubs with their own values.
RELAXED_LIMITS = {
    "auth": {"rateLimits": {
        "registerPerMinutePerIp": 100000, "loginPerMinutePerIp": 100000, "loginPerMinutePerEmail": 100000,
    }},
    "bookings": {"holdsPerMemberMax": 10000,
                 "rateLimits": {"createPerMinutePerUser": 100000, "createPerMinutePerIp": 100000}},
}


def merge(base, extra):
    out = json.loads(json.dumps(base))
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def write_config(extra=None):
    """A config file with relaxed rate limits plus `extra` (nested dict); returns its path."""
    handle, path = tempfile.mkstemp(prefix="spacehub-e2e-config-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(merge(RELAXED_LIMITS, extra), out)
    atexit.register(lambda: os.path.exists(path) and os.remove(path))
    return path


ALL_WEEK = {day: {"open": "00:00", "close": "24:00"}
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}


def open_room(hub, name, **extra):
    """A 24/7 event space, so a booking can cover "now" (or midnight) whatever the hour of the run."""
    r = admin_of(hub).post("/api/event-spaces", json={
        "name": name, "capacity": 8, "price": 6000, "openingHours": ALL_WEEK, "minDurationMinutes": 30,
        "maxDurationMinutes": 24 * 60, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def start_hub(extra_config=None, env=None):
    return Hub(env=env, config=write_config(extra_config)).start()


_admins = {}


def admin_of(hub):
    """One signed-in admin per hub process."""
    key = (id(hub), hub.port)
    if key not in _admins:
        _admins[key] = admin(hub)
    return _admins[key]


_day_counter = itertools.count(3)
_used_days = set()
_day_lock = threading.Lock()


def unique_weekday():
    """A Monday–Friday date no other test in this process has taken, so tests sharing one hub
    never collide on a slot."""
    with _day_lock:
        while True:
            day = next_weekday(next(_day_counter))
            if day not in _used_days:
                _used_days.add(day)
                return day


def past_weekday():
    d = datetime.date.today() - datetime.timedelta(days=3)
    while d.weekday() > 4:
        d -= datetime.timedelta(days=1)
    return d.isoformat()


def event_body(space, date, start, end, **extra):
    body = {"type": "event", "spaceId": space, "date": date, "startTime": start, "endTime": end}
    body.update(extra)
    return body


def coworking_body(space, date, start, duration, **extra):
    body = {"type": "coworking", "spaceId": space, "date": date, "startTime": start, "duration": duration}
    body.update(extra)
    return body


def parse_iso(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# MARK: SQLite


def db_rows(hub, sql, params=(), milliseconds=()):
    """Reads the hub's database directly, whichever store it runs on (`Hub.rows`)."""
    return hub.rows(sql, params, milliseconds)


def overbooked(hub):
    """Every (space, instant) where bookings that hold time exceed what the space allows: one
    at a time for event spaces, `seats` for coworking plans. Empty when nothing overlaps."""
    now = Instant(time.time())
    rows = db_rows(hub, """
        SELECT id, booking_type, space_id, starts_at, ends_at FROM bookings
        WHERE status = 'confirmed' OR (status = 'pending' AND (hold_expires_at IS NULL OR hold_expires_at > ?))""", (now,))
    seats = {r["id"]: r["seats"] for r in db_rows(hub, "SELECT id, seats FROM coworking_plans")}
    by_space = {}
    for row in rows:
        by_space.setdefault(row["space_id"], []).append(row)
    problems = []
    for space, bookings in by_space.items():
        allowed = seats.get(space, 1) if bookings[0]["booking_type"] == "coworking" else 1
        points = sorted([(b["starts_at"], 1) for b in bookings] + [(b["ends_at"], -1) for b in bookings],
                        key=lambda p: (p[0], p[1]))
        depth = 0
        for instant, delta in points:
            depth += delta
            if depth > allowed:
                problems.append((space, instant, depth, allowed))
    return problems


# MARK: WebSocket


class WS:
    """A WebSocket client on /ws. `recv` waits at most `timeout` seconds; messages read while
    waiting for something else are kept in `backlog` and returned first."""

    def __init__(self, hub, token=None, query=None, header=None, subprotocols=None, welcome=True):
        params = dict(query or {})
        if token:
            params["token"] = token
        url = hub.ws_url + "/ws"
        if params:
            url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
        self.ws = websocket.create_connection(url, timeout=10, header=header, subprotocols=subprotocols)
        self.backlog = []
        self.welcome = self.recv() if welcome else None
        if welcome:
            assert self.welcome["type"] == "welcome", self.welcome

    def send(self, message):
        self.ws.send(json.dumps(message))

    def _read(self, timeout):
        self.ws.settimeout(max(timeout, 0.01))
        opcode, data = self.ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raise ConnectionError(f"closed by hub: {data[:2].hex()} {data[2:]!r}")
        return json.loads(data)

    def recv(self, timeout=EVENT_WITHIN):
        if self.backlog:
            return self.backlog.pop(0)
        return self._read(timeout)

    def wait_for(self, predicate, timeout=EVENT_WITHIN, what="message"):
        """The first message matching `predicate`; others stay in the backlog in order."""
        for index, message in enumerate(self.backlog):
            if predicate(message):
                return self.backlog.pop(index)
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"no {what} within {timeout}s; saw {self.backlog!r}")
            try:
                message = self._read(left)
            except websocket.WebSocketTimeoutException:
                continue
            if predicate(message):
                return message
            self.backlog.append(message)

    def wait_type(self, type_, timeout=EVENT_WITHIN, **fields):
        def match(message):
            if message.get("type") != type_:
                return False
            return all(message.get("payload", {}).get(k) == v for k, v in fields.items())
        return self.wait_for(match, timeout, what=f"{type_} {fields}")

    def drain(self, quiet=0.5, limit=10):
        """Everything that arrives until the connection has been quiet for `quiet` seconds."""
        out, self.backlog = self.backlog, []
        deadline = time.time() + limit
        while time.time() < deadline:
            try:
                out.append(self._read(quiet))
            except websocket.WebSocketTimeoutException:
                break
        return out

    def close(self):
        try:
            self.ws.close(timeout=1)
        except Exception:
            pass


def events_only(messages):
    return [m for m in messages if "seq" in m and m.get("type") not in ("snapshot", "welcome", "ack")]


# MARK: Server-Sent Events


class SSE:
    """A raw-socket reader of `GET /api/events/stream`: parses `id:`/`event:`/`data:` blocks."""

    def __init__(self, hub, query="", headers=None, token=None):
        self.sock = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
        lines = [f"GET /api/events/stream{query} HTTP/1.1", f"Host: 127.0.0.1:{hub.port}", "Accept: text/event-stream"]
        if token:
            lines.append("Authorization: Bearer " + token)
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        head = self._until(b"\r\n\r\n", 10)
        self.status = int(head.split(b" ", 2)[1])
        self.headers = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.decode().partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def _until(self, marker, timeout):
        deadline = time.time() + timeout
        while marker not in self.buffer:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"SSE: nothing ending in {marker!r} within {timeout}s; have {self.buffer[-300:]!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise ConnectionError("SSE stream closed; have %r" % self.buffer[-300:])
            self.buffer += chunk
        block, _, self.buffer = self.buffer.partition(marker)
        return block

    def next_event(self, timeout=EVENT_WITHIN):
        """The next event block as {"id", "event", "data"}; comments and retry lines are skipped."""
        deadline = time.time() + timeout
        while True:
            block = self._until(b"\n\n", max(deadline - time.time(), 0.01))
            fields = {}
            for line in block.decode().split("\n"):
                if not line or line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                fields[name] = fields[name] + "\n" + value if name in fields and name == "data" else value
            if "data" in fields:
                fields["data"] = json.loads(fields["data"])
                return fields

    def events(self, count, timeout=EVENT_WITHIN):
        return [self.next_event(timeout) for _ in range(count)]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# MARK: Requests held in flight


@contextlib.contextmanager
def write_lock(hub):
    """Holds the hub database's write lock until the block ends: SQLite's `BEGIN EXCLUSIVE` from
    another connection, or on PostgreSQL `LOCK TABLE … IN EXCLUSIVE MODE` on the tables every
    write of the hub touches (bookings, the event log's head), which lets reads through as
    SQLite's WAL does. The hub still reads; each of its commits waits for the lock, up to
    `store.busyTimeoutMs` (PostgreSQL's `lock_timeout`), then fails (`503 store_unavailable`).
    With a timeout longer than the block, every write the hub starts inside it is held in flight
    and commits after it: the test decides when."""
    if hub.database_url:
        import psycopg
        with psycopg.connect(hub.database_url) as connection:
            connection.execute("LOCK TABLE bookings, event_log_head, idempotency_keys IN EXCLUSIVE MODE")
            try:
                yield
            finally:
                connection.rollback()
        return
    connection = sqlite3.connect(hub.db, isolation_level=None, timeout=10)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def _tcp_queues(local_port, remote_port):
    """(tx_queue, rx_queue) of the IPv4 loopback socket from `local_port` to `remote_port`, from
    /proc/net/tcp (Linux), or None when there is no such socket."""
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            if int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == remote_port:
                tx, rx = queues.split(":")
                return int(tx, 16), int(rx, 16)
    return None


def wait_until_hub_read(hub, client_port, timeout=10):
    """Waits until the hub has read everything sent on the connection from `client_port`: our
    side has no unacknowledged bytes and the hub's side no unread ones. The hub's loop handles a
    request in the turn that reads it, up to the first thing it waits for (a commit, a gateway
    call), so from then on the request is in the hub's hands, ahead of anything sent later."""
    deadline = time.monotonic() + timeout
    while True:
        ours, theirs = _tcp_queues(client_port, hub.port), _tcp_queues(hub.port, client_port)
        if ours is not None and theirs is not None and ours[0] == 0 and theirs[1] == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the hub did not read the request within {timeout}s: ours {ours}, theirs {theirs}")
        time.sleep(0.005)


class InFlight:
    """One HTTP request on its own connection, sent at once and answered later: `__init__`
    returns when the hub has read it (`wait_until_hub_read`); `answer()` waits for the response.
    Used with `write_lock` to order concurrent requests deliberately."""

    def __init__(self, hub, method, path, body=None, token=None, headers=None, raw=None, timeout=60):
        self.connection = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=timeout)
        self.connection.connect()
        port = self.connection.sock.getsockname()[1]
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"Content-Type": "application/json"} if data is not None else {}
        if token:
            sent["Authorization"] = "Bearer " + token
        sent.update(headers or {})
        self.connection.request(method, path, body=data, headers=sent)
        wait_until_hub_read(hub, port)

    def answer(self):
        """(status, headers, JSON body) of the response."""
        try:
            response = self.connection.getresponse()
            text = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(text) if text else None
        finally:
            self.connection.close()


class PostgresProxy:
    """A TCP proxy between one hub and PostgreSQL, for the outages the tests make on demand:
    - armed (`armed.set()`), it drops the connection whose server answers a COMMIT (the
      protocol's CommandComplete `COMMIT`) instead of passing the answer on, and sets
      `commit_cut`: the transaction committed and the hub never hears, the ambiguous commit a
      network cut or a crashed proxy makes;
    - frozen (`frozen.set()`), it holds every byte in both directions without closing anything:
      a server that stopped answering, or a network dropping packets;
    - cut (`cut()`), it closes every connection and refuses new ones until `heal()`: a node that
      lost its network."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.commit_cut = threading.Event()
        self.frozen = threading.Event()
        self.cut_off = threading.Event()
        self.sockets = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database_url, upstream_port):
        """`database_url` (on `upstream_port`) through this proxy."""
        return database_url.replace(f":{upstream_port}/", f":{self.port}/")

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source, sink, from_server):
        try:
            while True:
                data = source.recv(65536)
                if not data or self.cut_off.is_set():
                    break
                while self.frozen.is_set():
                    time.sleep(0.01)
                if from_server and self.armed.is_set() and b"COMMIT\x00" in data:
                    self.armed.clear()
                    self.commit_cut.set()
                    break
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def cut(self):
        self.cut_off.set()
        with self.lock:
            for end in self.sockets:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.sockets = []

    def heal(self):
        self.cut_off.clear()

    def close(self):
        self.cut()
        self.listener.close()


# MARK: Several hubs on one PostgreSQL (docs/SCALING.md)


BASE = {"store": {"connectTimeoutSeconds": 2}}


class Cluster:
    """`n` hubs on one new database. The first starts alone (it seeds the demo building and
    leads), the others join it; `configs[i]` adds to hub i's configuration, and hub i reaches
    PostgreSQL through `links[i]` (an `e2e_support.PostgresProxy`) when given."""

    def __init__(self, n=3, config=None, configs=None, links=None):
        self.config = config or {}
        self.configs = configs or {}
        self.links = links or {}
        self.hubs = []
        self.database_url = None
        for i in range(n):
            hub = self._hub(i)
            hub.start()
            if not self.database_url:
                self.database_url = hub.database_url
                self.reader = Hub(env={"DATABASE_URL": hub.database_url})  # never started: reads the database
            self.hubs.append(hub)

    def _hub(self, i, db_dir=None):
        url = self.database_url
        if url and i in self.links:
            url = self.links[i].url(url, conftest.PG.port)
        hub = Hub(env={"DATABASE_URL": url} if url else None, db_dir=db_dir,
                  config=write_config(merge(merge(BASE, self.config), self.configs.get(i, {}))))
        if self.hubs:
            hub.admin_email, hub.admin_password = self.hubs[0].admin_email, self.hubs[0].admin_password
        return hub

    def restart(self, i):
        old = self.hubs[i]
        hub = self._hub(i, db_dir=old.dir)
        hub.admin_email, hub.admin_password = old.admin_email, old.admin_password
        hub.start()
        self.hubs[i] = hub
        return hub

    def rows(self, sql, params=()):
        return self.reader.rows(sql, params, milliseconds=("created_at",) if "event_log" in sql else ())

    def kill(self):
        for hub in self.hubs:
            hub.kill()


def closed_with(ws, timeout=30):
    """Reads until the hub closes the socket; returns (close code, messages seen before)."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            seen.append(ws.recv(timeout=max(deadline - time.time(), 0.05)))
        except ConnectionError as closed:
            return int(str(closed).split()[3][:4], 16), seen
        except Exception:
            continue
    raise AssertionError(f"the socket stayed open; saw {seen}")


def still_open(ws):
    ws.send({"type": "ping", "id": 7})
    return ws.wait_type("pong")["payload"]["id"] == 7
