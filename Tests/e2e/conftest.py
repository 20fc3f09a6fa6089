"""End-to-end test harness: starts the real hub binary on 127.0.0.1 with a fresh database and
talks to it over loopback sockets. Nothing is mocked; outside services (Paystack, SMTP,
calendars) are real servers the tests start on 127.0.0.1.

The binary is `$SPACEHUB_BIN` (scripts/test.sh sets the release build) or `.build/debug/spacehub`.

The store is a parameter of the whole suite: `--store sqlite` (the default, a fresh SQLite file
per hub) or `--store postgresql` (a private PostgreSQL cluster started for the run by
scripts/pg.sh, a fresh database per hub). scripts/test.sh runs the suite once with each. Tests
read the hub's data through `db_rows` whichever store runs; the few that are about SQLite's
files themselves (backup, restore, file locks and modes) carry `@pytest.mark.sqlite_only`.
"""
import datetime
import os
import re
import signal
import subprocess
import tempfile
import time
import hashlib
import uuid

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("SPACEHUB_BIN", os.path.join(ROOT, ".build", "debug", "spacehub"))
START_TIMEOUT = 20


_ALL_HUBS = []


def pytest_addoption(parser):
    parser.addoption("--store", choices=["sqlite", "postgresql"], default=os.environ.get("SPACEHUB_E2E_STORE", "sqlite"),
                     help="the store every hub of the run uses (default sqlite)")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: about SQLite's own files (backup, locks, modes); skipped on PostgreSQL")
    config.addinivalue_line("markers", "postgresql_only: about PostgreSQL itself (outages, the SQLite-to-PostgreSQL copy)")
    global STORE
    STORE = config.getoption("--store")


def pytest_collection_modifyitems(config, items):
    other = "postgresql_only" if STORE == "sqlite" else "sqlite_only"
    skip = pytest.mark.skip(reason=f"runs in the suite's other pass (--store), not on {STORE}")
    for item in items:
        if other in item.keywords:
            item.add_marker(skip)


STORE = "sqlite"


class PostgresCluster:
    """The run's private PostgreSQL (scripts/pg.sh): one database per hub directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="spacehub-e2e-pg-", dir="/tmp")
        self.url = self._pg("start").stdout.strip()
        self.port = int(open(os.path.join(self.dir, "port")).read())

    def _pg(self, command, check=True):
        return subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), command, self.dir], check=check,
                              capture_output=True, text=True)

    def admin(self, database="postgres"):
        import psycopg
        return psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/{database}", autocommit=True)

    def database_for(self, directory):
        """The database of the hub whose files live in `directory`, made on first use (a hub
        restarted on the same directory finds its data)."""
        name = "hub_" + hashlib.sha1(directory.encode()).hexdigest()[:16]
        with self.admin() as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                admin.execute(f"CREATE DATABASE {name} OWNER spacehub")
        return f"postgresql://spacehub:spacehub@127.0.0.1:{self.port}/{name}"

    def crash(self):
        """Stops the server at once (`pg_ctl stop -m immediate`), as a crash would."""
        self._pg("crash")

    def start(self):
        """Starts it again; it recovers from its WAL."""
        self._pg("start")

    def destroy(self):
        self._pg("destroy", check=False)


PG = None


@pytest.fixture(scope="session", autouse=True)
def _clean_up_hubs():
    """At the end of the run: no hub process outlives the tests, and temp files go. Every
    temporary file and directory the tests make (tempfile's default directory) lives under one
    directory of this run, removed at the end. On `--store postgresql` the run's cluster is
    started first and removed last."""
    import shutil
    global PG
    if STORE == "postgresql":
        PG = PostgresCluster()
    run_dir = tempfile.mkdtemp(prefix="spacehub-e2e-run-")
    tempfile.tempdir = run_dir
    try:
        yield
    finally:
        for hub in _ALL_HUBS:
            hub.kill()
        tempfile.tempdir = None
        shutil.rmtree(run_dir, ignore_errors=True)
        if PG:
            PG.destroy()


class Hub:
    """One hub process. `env` overrides configuration (see config/README.md)."""

    def __init__(self, env=None, db_dir=None, config=None, sqlite=False, open_files=None):
        self.dir = db_dir or tempfile.mkdtemp(prefix="spacehub-e2e-")
        # The process's open-file limit, soft and hard (the hub raises its soft limit to the hard).
        self.open_files = open_files
        _ALL_HUBS.append(self)
        self.db = os.path.join(self.dir, "hub.sqlite")
        self.env = dict(env or {})
        # On PostgreSQL the hub's database follows its directory (tests that reuse a directory
        # reuse the data), unless the test names one itself.
        self.database_url = self.env.get("DATABASE_URL") or (PG.database_for(self.dir) if PG and not sqlite else None)
        if self.database_url:
            self.env["DATABASE_URL"] = self.database_url
        self.config = config
        self.proc = None
        self.port = None
        self.admin_email = None
        self.admin_password = None
        self.output = []

    def start(self, port=0):
        """Starts the process; `port` 0 takes a free port (see `self.port` after)."""
        env = dict(os.environ)
        env.update({
            "SPACEHUB_DB": self.db,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            # Cheap scrypt: tests hash hundreds of passwords. Production uses 2^15.
            "PASSWORD_COST_LOG2": "10",
            "ACCESS_LOG": "false",
            "LOG_LEVEL": "warning",
            "SPACEHUB_DURABILITY": "normal",
            # Every test talks from 127.0.0.1, many of them faster than any one client would:
            # the general limits on writes and WebSocket use are lifted unless a test sets them
            # (test_limits.py and test_operations.py test them). Login, registration and booking
            # limits stay as configured (e2e_support.RELAXED_LIMITS lifts those per hub).
            "RATE_LIMIT_WRITES_PER_IP": "1000000", "RATE_LIMIT_WRITES_PER_USER": "1000000",
            "RATE_LIMIT_WS_CONNECTS_PER_IP": "1000000", "RATE_LIMIT_WS_MESSAGES": "1000000",
        })
        env.update(self.env)
        args = [BINARY, "serve"]
        if self.config:
            args += ["--config", self.config]
        limit = None
        if self.open_files:
            import resource
            limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))  # noqa: E731
        self.proc = subprocess.Popen(args, cwd=self.dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1, preexec_fn=limit)
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise RuntimeError("hub exited during start:\n" + "".join(self.output))
                continue
            self.output.append(line)
            m = re.search(r"email:\s+(\S+)", line)
            if m:
                self.admin_email = m.group(1)
            m = re.search(r"password:\s+(\S+)", line)
            if m:
                self.admin_password = m.group(1)
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.kill()
            raise RuntimeError("hub did not start:\n" + "".join(self.output))
        # Drain output in the background so the pipe never fills.
        import threading
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self):
        for line in self.proc.stdout:
            self.output.append(line)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}"

    def stop(self, timeout=15):
        """SIGTERM and wait: a graceful shutdown exits 0."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        return self.proc.returncode if self.proc else None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def store_env(self):
        """The environment naming this hub's store, for the one-shot commands (`spacehub admin …`)."""
        env = {"SPACEHUB_DB": self.db}
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    def rows(self, sql, params=(), milliseconds=()):
        """Rows of the hub's database as dicts, read on a connection of the test's own (SQLite's
        WAL, PostgreSQL's MVCC: the hub goes on writing). `?` placeholders either way; instants
        come back as Unix seconds either way, or milliseconds for the columns named in
        `milliseconds` (the event log's `created_at`)."""
        if not self.database_url:
            import sqlite3
            connection = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
            try:
                connection.row_factory = sqlite3.Row
                return [dict(row) for row in connection.execute(sql, _params(params, False))]
            finally:
                connection.close()
        import psycopg
        from psycopg.rows import dict_row
        with psycopg.connect(self.database_url, autocommit=True, row_factory=dict_row) as connection:
            rows = connection.execute(_psycopg_sql(sql), _params(params, True)).fetchall()
        return [{key: (int(value.timestamp() * 1000) if key in milliseconds and isinstance(value, datetime.datetime)
                       else _plain(value)) for key, value in row.items()} for row in rows]

    def execute(self, sql, params=()):
        """Runs one write on the hub's database from outside the hub (tests that break rules the
        hub would not). Returns rows changed. Instants go as `Instant(seconds)`."""
        if not self.database_url:
            import sqlite3
            connection = sqlite3.connect(self.db, timeout=10)
            try:
                with connection:
                    return connection.execute(sql, _params(params, False)).rowcount
            finally:
                connection.close()
        import psycopg
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            return connection.execute(_psycopg_sql(sql), _params(params, True)).rowcount

    def restart(self, port=0):
        """Stops gracefully and starts on the same database. The port changes unless `port` is
        given: `restart(port=hub.port)` lets clients that reconnect to the old address find it."""
        self.stop()
        self.port = None
        return self.start(port=port)


class Instant(int):
    """A Unix-seconds parameter for `Hub.rows`/`Hub.execute`: an integer in SQLite, a
    `timestamptz` in PostgreSQL."""


def _psycopg_sql(sql):
    """The tests' SQL (SQLite's `?` placeholders) in psycopg's spelling (`%s`, a literal `%%`)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _params(params, postgres):
    if not postgres:
        return tuple(int(p) if isinstance(p, Instant) else p for p in params)
    return tuple(datetime.datetime.fromtimestamp(int(p), datetime.timezone.utc) if isinstance(p, Instant) else p
                 for p in params)


def _plain(value):
    """PostgreSQL's values as the SQLite file holds them: instants as Unix seconds, uuids as text."""
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


@pytest.fixture(scope="module")
def hub():
    h = Hub().start()
    yield h
    h.kill()


@pytest.fixture
def fresh_hub():
    hubs = []

    def make(env=None, config=None):
        h = Hub(env=env, config=config).start()
        hubs.append(h)
        return h
    yield make
    for h in hubs:
        h.kill()


class Client:
    """A signed-in member or admin."""

    def __init__(self, hub, token, user, refresh=None):
        self.hub = hub
        self.token = token
        self.user = user
        self.refresh = refresh
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + token

    def get(self, path, **kw):
        return self.session.get(self.hub.url + path, timeout=30, **kw)

    def post(self, path, json=None, **kw):
        return self.session.post(self.hub.url + path, json=json, timeout=30, **kw)

    def put(self, path, json=None, **kw):
        return self.session.put(self.hub.url + path, json=json, timeout=30, **kw)

    def delete(self, path, **kw):
        return self.session.delete(self.hub.url + path, timeout=30, **kw)


def register(hub, email=None, password="password123", first="Ada", last="Obi", phone="+2348012345678"):
    email = email or f"member-{uuid.uuid4().hex[:10]}@example.com"
    r = requests.post(hub.url + "/api/auth/register", json={
        "email": email, "password": password, "firstName": first, "lastName": last, "phone": phone}, timeout=30)
    assert r.status_code == 201, r.text
    body = r.json()
    return Client(hub, body["token"], body["user"], body["refreshToken"])


def admin(hub):
    r = requests.post(hub.url + "/api/admin/auth/login",
                      json={"email": hub.admin_email, "password": hub.admin_password}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    return Client(hub, body["token"], body["user"], body["refreshToken"])


def next_weekday(days_ahead=2):
    """A date `days_ahead` or more days from today (Lagos) that falls Monday–Friday."""
    d = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).date()
    d += datetime.timedelta(days=days_ahead)
    while d.weekday() > 4:
        d += datetime.timedelta(days=1)
    return d.isoformat()


def error_code(response):
    return response.json()["error"]["code"]


# MARK: A fake Paystack per module (test_payments, test_settlement, test_lifecycle)


@pytest.fixture(scope="module")
def fake():
    """A fake Paystack on 127.0.0.1 for the module's hubs (fake_paystack.py)."""
    from fake_paystack import FakePaystack
    f = FakePaystack()
    yield f
    f.close()


@pytest.fixture
def gateway(fake):
    """The module's fake Paystack, with this test's script cleared."""
    fake.reset()
    yield fake
    fake.reset()
