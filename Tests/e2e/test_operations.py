"""Operating the hub (issue 17): production rails, the command line, SIGHUP, JSON logs without
secrets, readiness, rate limits beyond sign-in, backup and restore. All against the real binary."""
import datetime
import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import tempfile
import threading
import time

import pytest
import requests
import websocket

from conftest import BINARY, Hub, admin, register
from e2e_support import WS, ALL_WEEK, admin_of, write_config, write_lock

SECRET = "operations-test-secret-0123456789abcdef"
PRODUCTION = {"SPACEHUB_MODE": "production", "JWT_SECRET": SECRET, "PAYMENT_GATEWAY": "paystack",
              "PAYSTACK_SECRET_KEY": "sk_test_operations", "EMAIL_SENDER": "smtp", "SMTP_HOST": "127.0.0.1",
              "PUBLIC_URL": "https://hub.example.com", "CORS_ORIGINS": "https://app.example.com"}


def run(args, env=None, cwd=None, stdin=None, timeout=60):
    merged = {**os.environ, "LOG_LEVEL": "warning", "PASSWORD_COST_LOG2": "10", **(env or {})}
    return subprocess.run([BINARY, *args], env=merged, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout)


def serve_briefly(env, directory):
    """Starts `serve` on a fresh port and returns (exit code or None if it started, output)."""
    process = subprocess.Popen([BINARY, "serve"], env={**os.environ, "PORT": "0", "HOST": "127.0.0.1", "PASSWORD_COST_LOG2": "10",
                                                       "LOG_LEVEL": "warning", **env},
                               cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    deadline = time.time() + 20
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                return process.returncode, "".join(output)
            continue
        output.append(line)
        if "listening on" in line:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
            return None, "".join(output)
    process.kill()
    raise AssertionError("serve neither started nor exited:\n" + "".join(output))


# MARK: Production rails

@pytest.mark.parametrize("override,key", [
    ({"PAYMENT_GATEWAY": "sandbox"}, "payments.gateway"),
    ({"EMAIL_SENDER": "log"}, "email.sender"),
    ({"PUBLIC_URL": ""}, "server.publicUrl"),
    ({"CORS_ORIGINS": "https://app.example.com,http://localhost:3000"}, "server.corsOrigins"),
])
def test_production_refuses_to_start_with_demo_settings_naming_the_key(override, key, tmp_path):
    env = {**PRODUCTION, **override, "SPACEHUB_DB": str(tmp_path / "hub.sqlite")}
    code, output = serve_briefly(env, str(tmp_path))
    assert code == 2, output
    assert key in output and "production.allow" in output, output
    # `config check` says the same, without starting anything.
    checked = run(["config", "check"], env=env, cwd=str(tmp_path))
    assert checked.returncode == 2 and key in checked.stderr


def test_production_starts_when_everything_is_real_or_overridden(tmp_path):
    db = str(tmp_path / "hub.sqlite")
    code, output = serve_briefly({**PRODUCTION, "SPACEHUB_DB": db}, str(tmp_path))
    assert code is None, output
    assert stat.S_IMODE(os.stat(db).st_mode) & 0o077 == 0
    # Each rail has its override key.
    config = tmp_path / "overrides.json"
    config.write_text(json.dumps({"production": {"allowSandboxGateway": True, "allowLogEmail": True}}))
    merged = {**os.environ, **PRODUCTION, "PAYMENT_GATEWAY": "sandbox", "EMAIL_SENDER": "log", "SPACEHUB_DB": db}
    checked = subprocess.run([BINARY, "config", "check", "--config", str(config)], env=merged, capture_output=True, text=True,
                             timeout=30)
    assert checked.returncode == 0, checked.stderr


def test_production_refuses_the_demo_database_and_a_world_readable_one(tmp_path):
    db = str(tmp_path / "hub.sqlite")
    demo_code, demo_output = serve_briefly({"SPACEHUB_DB": db}, str(tmp_path))  # demo mode seeds the demo
    assert demo_code is None, demo_output
    code, output = serve_briefly({**PRODUCTION, "SPACEHUB_DB": db}, str(tmp_path))
    assert code == 2 and "store.path" in output and "production.allowDemoData" in output, output

    clean = str(tmp_path / "clean.sqlite")
    assert serve_briefly({**PRODUCTION, "SPACEHUB_DB": clean}, str(tmp_path))[0] is None
    os.chmod(clean, 0o644)
    code, output = serve_briefly({**PRODUCTION, "SPACEHUB_DB": clean}, str(tmp_path))
    assert code == 2 and "production.allowSharedDatabase" in output, output


# MARK: Command line

def test_version_and_config_check_mask_secrets(tmp_path):
    version = run(["--version"])
    assert version.returncode == 0 and version.stdout.strip().count(".") == 2, version.stdout
    checked = run(["config", "check"], env={"JWT_SECRET": SECRET, "PAYSTACK_SECRET_KEY": "sk_live_verysecret",
                                           "SPACEHUB_DB": str(tmp_path / "x.sqlite")})
    assert checked.returncode == 0, checked.stderr
    assert SECRET not in checked.stdout and "sk_live_verysecret" not in checked.stdout
    lines = {line.split()[0]: line for line in checked.stdout.splitlines() if line and not line.startswith("configuration")}
    assert f"(set, {len(SECRET)} bytes)" in lines["auth.jwtSecret"] and "$JWT_SECRET" in lines["auth.jwtSecret"]
    assert "(set, 18 bytes)" in lines["payments.paystack.secretKey"]
    assert '"127.0.0.1"' in lines["server.host"]
    bad = run(["config", "check"], env={"PORT": "seventy"})
    assert bad.returncode == 2 and "PORT" in bad.stderr


def test_admin_list_set_password_and_disable_reach_a_running_hub(tmp_path):
    hub = Hub().start()
    try:
        env = hub.store_env
        created = run(["admin", "create", "--email", "ops@example.com", "--name", "Ops Person", "--role", "admin"],
                      env={**env, "SPACEHUB_ADMIN_PASSWORD": "first-password-1"}, cwd=hub.dir)
        assert created.returncode == 0, created.stderr
        listed = run(["admin", "list"], env=env, cwd=hub.dir)
        assert "ops@example.com\tadmin\tactive\tnever" in listed.stdout, listed.stdout

        def login(password):
            return requests.post(hub.url + "/api/admin/auth/login", json={"email": "ops@example.com", "password": password},
                                 timeout=10)
        session = login("first-password-1").json()
        changed = run(["admin", "set-password", "--email", "ops@example.com"], env={**env, "SPACEHUB_ADMIN_PASSWORD": "second-password-2"},
                      cwd=hub.dir)
        assert changed.returncode == 0, changed.stderr
        assert login("first-password-1").status_code == 401 and login("second-password-2").status_code == 200
        # The refresh token of the old session is dead at once.
        assert requests.post(hub.url + "/api/auth/refresh", json={"refreshToken": session["refreshToken"]}, timeout=10).status_code == 401

        live = login("second-password-2").json()
        socket_ = WS(hub, token=live["token"])
        disabled = run(["admin", "disable", "--email", "ops@example.com"], env=env, cwd=hub.dir)
        assert disabled.returncode == 0, disabled.stderr
        assert login("second-password-2").status_code in (401, 403)
        assert "ops@example.com\tadmin\tdisabled" in run(["admin", "list"], env=env, cwd=hub.dir).stdout
        # A reload (SIGHUP) takes the revocation in: the live socket of that admin is closed.
        hub.proc.send_signal(signal.SIGHUP)
        closed = None
        deadline = time.time() + 30
        while time.time() < deadline and closed is None:
            try:
                socket_.recv(timeout=1)
            except ConnectionError as error:
                closed = str(error)
            except Exception:
                pass
        assert closed and closed.startswith("closed by hub: 1131"), closed  # 4401
        missing = run(["admin", "disable", "--email", "nobody@example.com"], env=env, cwd=hub.dir)
        assert missing.returncode != 0 and "admin list" in missing.stderr
    finally:
        hub.kill()


# MARK: SIGHUP and logs

def test_sighup_reopens_the_log_and_reloads_live_settings(tmp_path):
    log = tmp_path / "hub.log"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"server": {"corsOrigins": ["https://one.example"]}, "log": {"level": "info"}}))
    hub = Hub(env={"LOG_FILE": str(log), "LOG_FORMAT": "json", "ACCESS_LOG": "true", "LOG_LEVEL": "info"}, config=str(config))
    hub.start()
    try:
        def origin_allowed(origin):
            r = requests.get(hub.url + "/api/version", headers={"Origin": origin}, timeout=10)
            return r.headers.get("access-control-allow-origin") == origin
        assert origin_allowed("https://one.example") and not origin_allowed("https://two.example")
        os.rename(log, tmp_path / "hub.log.1")  # what logrotate does
        config.write_text(json.dumps({"server": {"corsOrigins": ["https://two.example"]}, "log": {"level": "info"}}))
        hub.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 30
        while time.time() < deadline and not log.exists():
            time.sleep(0.05)
        assert log.exists(), "the log file was not reopened"
        deadline = time.time() + 30
        while time.time() < deadline and not origin_allowed("https://two.example"):
            time.sleep(0.05)
        assert origin_allowed("https://two.example") and not origin_allowed("https://one.example")
        assert hub.proc.poll() is None, "SIGHUP must not end the hub"
        # The reload is logged once the revocations are read too (on PostgreSQL a read thread
        # answers it a moment after the settings took effect).
        def reload_line():
            lines = [json.loads(line) for line in log.read_text().splitlines()]
            return next((line for line in lines if line["message"] == "SIGHUP: configuration reloaded"), None)
        deadline = time.time() + 10
        while time.time() < deadline and reload_line() is None:
            time.sleep(0.05)
        line = reload_line()
        assert line is not None, "the reload was not logged"
        assert any("server.corsOrigins" in change for change in line["changed"])
    finally:
        hub.kill()


def test_json_access_log_lines_and_no_secrets(tmp_path):
    log = tmp_path / "hub.log"
    hub = Hub(env={"LOG_FILE": str(log), "LOG_FORMAT": "json", "ACCESS_LOG": "true", "LOG_LEVEL": "info"}).start()
    try:
        member = register(hub)
        feed = member.post("/api/calendar/feeds").json()
        assert requests.get(feed["url"], timeout=10).status_code == 200
        token = member.token
        stream = requests.get(hub.url + f"/api/events?token={token}&timeout=1", timeout=30)
        assert stream.status_code in (200, 204)
        requests.get(hub.url + "/api/bookings/some-id", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        deadline = time.time() + 30
        text = ""
        while time.time() < deadline:
            text = log.read_text()
            if "/api/bookings/some-id" in text:
                break
            time.sleep(0.05)
        lines = [json.loads(line) for line in text.splitlines()]
        access = next(line for line in lines if "/api/bookings/some-id" in line["message"])
        for field in ("time", "level", "message", "rid", "route", "status", "us", "peer"):
            assert field in access, (field, access)
        assert access["route"] == "/api/bookings/:id" and access["status"] == 404 and isinstance(access["us"], int)
        assert access["peer"] == "127.0.0.1"
        assert feed["token"] not in text, "the ICS feed token reached the log"
        assert token not in text, "an access token reached the log"
        assert "[redacted]" in text
    finally:
        hub.kill()


# MARK: Readiness

def test_readiness_follows_the_stores_ability_to_commit():
    hub = Hub(config=write_config({"store": {"busyTimeoutMs": 100}})).start()
    try:
        assert requests.get(hub.url + "/readyz", timeout=10).json()["status"] == "ready"
        with write_lock(hub):
            r = requests.get(hub.url + "/readyz", timeout=10)
            assert r.status_code == 503 and r.json()["error"]["code"] in ("store_unavailable", "store_stuck"), r.text
            assert requests.get(hub.url + "/healthz", timeout=10).status_code == 200, "alive, not ready"
            r = requests.get(hub.url + "/readyz", timeout=10)
            assert r.status_code == 503 and r.json()["error"]["code"] in ("store_failing", "store_unavailable", "store_stuck")
        assert requests.get(hub.url + "/readyz", timeout=10).status_code == 200
    finally:
        hub.kill()


def test_readiness_ends_at_the_first_moment_of_a_graceful_shutdown():
    hub = Hub(config=write_config({"events": {"longPollSeconds": 20}})).start()
    try:
        # A long-poll keeps the hub in its grace period after SIGTERM.
        def long_poll():
            try:
                requests.get(hub.url + "/api/events?since=0", timeout=30)
            except requests.RequestException:
                pass  # the shutdown ends it
        poll = threading.Thread(target=long_poll, daemon=True)
        keep = socket.create_connection(("127.0.0.1", hub.port))
        keep.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" in keep.recv(4096)
        poll.start()
        time.sleep(0.2)
        hub.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", hub.port), timeout=2).close()  # not ready: no new connections
        assert hub.proc.wait(timeout=30) == 0
    finally:
        hub.kill()


# MARK: Rate limits beyond sign-in

def test_writes_and_websocket_use_are_rate_limited_per_client():
    hub = Hub(env={"RATE_LIMIT_WRITES_PER_IP": "5", "RATE_LIMIT_WS_CONNECTS_PER_IP": "3", "RATE_LIMIT_WS_MESSAGES": "10"},
              config=write_config()).start()
    try:
        codes = [requests.post(hub.url + "/api/bookings/check-conflicts", json={}, timeout=10).status_code for _ in range(7)]
        assert codes[:5] == [422] * 5 and codes[5:] == [429, 429], codes
        r = requests.post(hub.url + "/api/bookings/check-conflicts", json={}, timeout=10)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and r.json()["error"]["code"] == "rate_limited"
        assert requests.get(hub.url + "/api/coworking-plans", timeout=10).status_code == 200, "reads are not limited"
        # The signed webhook is exempt (it answers 404 here: no Paystack key; not 429).
        assert requests.post(hub.url + "/api/payments/webhook/paystack", data=b"{}", timeout=10).status_code == 404

        sockets = [websocket.create_connection(hub.ws_url + "/ws", timeout=10) for _ in range(3)]
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(hub.ws_url + "/ws", timeout=10)
        assert refused.value.status_code == 429
        chatty = sockets[0]
        chatty.recv()  # welcome
        for index in range(12):
            try:
                chatty.send(json.dumps({"type": "ping", "id": index}))
            except (BrokenPipeError, websocket.WebSocketConnectionClosedException):
                break
        code = None
        deadline = time.time() + 30
        while time.time() < deadline:
            opcode, data = chatty.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(data[:2], "big")
                break
        assert code == 1008
        for other in sockets[1:]:
            other.close()
    finally:
        hub.kill()


# MARK: Backup and restore

@pytest.mark.sqlite_only
def test_backup_under_load_then_restore_keeps_what_was_acknowledged_and_rotates_the_epoch(tmp_path):
    hub = Hub(config=write_config()).start()
    directory = hub.dir
    try:
        staff = admin_of(hub)
        room = staff.post("/api/event-spaces", json={"name": "Backup Room", "capacity": 4, "price": 1000,
                                                      "openingHours": ALL_WEEK, "minDurationMinutes": 15}).json()["id"]
        member = register(hub)
        acknowledged = []
        stop = threading.Event()

        def book_continuously():
            day = datetime.date.today() + datetime.timedelta(days=10)
            slot = 0
            while not stop.is_set() and slot < 2000:
                start = datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(minutes=15 * slot)
                end = start + datetime.timedelta(minutes=15)
                slot += 1
                if start.date() != end.date() or (end - datetime.timedelta(seconds=1)).date() != start.date():
                    day += datetime.timedelta(days=1)
                    slot = 0
                    continue
                r = member.post("/api/bookings", json={"type": "event", "spaceId": room, "date": start.date().isoformat(),
                                                       "startTime": start.strftime("%H:%M"), "endTime": end.strftime("%H:%M")})
                if r.status_code == 201:
                    acknowledged.append((time.time(), r.json()["id"]))
        writer = threading.Thread(target=book_continuously, daemon=True)
        writer.start()
        time.sleep(1.0)
        watcher = WS(hub, token=member.token)
        epoch, seq = watcher.welcome["payload"]["epoch"], watcher.welcome["payload"]["seq"]
        began = time.time()
        backup = str(tmp_path / "hub-backup.sqlite")
        done = run(["backup", "--to", backup], env={"SPACEHUB_DB": hub.db}, cwd=directory)
        assert done.returncode == 0, done.stderr
        time.sleep(0.5)
        stop.set()
        writer.join(30)
        watcher.close()
        before = [booking for at, booking in acknowledged if at < began]
        assert len(before) > 10 and len(acknowledged) > len(before), "the backup ran while bookings were being made"
        assert stat.S_IMODE(os.stat(backup).st_mode) & 0o077 == 0
        assert run(["backup", "--to", backup], env={"SPACEHUB_DB": hub.db}).returncode != 0, "never overwrites"

        refused = run(["restore", "--from", backup], env={"SPACEHUB_DB": hub.db}, cwd=directory)
        assert refused.returncode != 0 and "in use by another hub" in refused.stderr
        hub.stop()
        restored = run(["restore", "--from", backup], env={"SPACEHUB_DB": hub.db}, cwd=directory)
        assert restored.returncode == 0, restored.stderr
        with sqlite3.connect(f"file:{hub.db}?mode=ro", uri=True) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            kept = {row[0] for row in db.execute("SELECT id FROM bookings")}
        assert set(before) <= kept, "a booking acknowledged before the backup began is missing"
        hub.port = None
        hub.start()
        resumed = WS(hub, token=member.token, query={"since": seq, "epoch": epoch})
        assert resumed.welcome["payload"]["epoch"] != epoch
        notice = resumed.wait_type("resync_required")
        assert notice["payload"]["epoch"] == resumed.welcome["payload"]["epoch"]
        resumed.close()
    finally:
        hub.kill()
