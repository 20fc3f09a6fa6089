"""Issue 2, the HTTP foundation, over real loopback sockets against the real binary: system
routes, errors, keep-alive, pipelining, parser limits, smuggling, timeouts, CORS, request ids,
graceful shutdown, configuration errors and the command line."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import BINARY, Hub, error_code
from rawhttp import RawConnection, get, request


def write_config(values):
    """A temporary JSON config file (the loader rejects unknown keys, so keep to real ones)."""
    handle, path = tempfile.mkstemp(prefix="spacehub-config-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(values, out)
    return path


def run_cli(*args, env=None, input=None, timeout=20):
    """Runs the spacehub binary to completion in a scratch directory."""
    workdir = tempfile.mkdtemp(prefix="spacehub-cli-")
    full_env = dict(os.environ)
    full_env.update({"SPACEHUB_DB": os.path.join(workdir, "hub.sqlite"), "PASSWORD_COST_LOG2": "10",
                     "LOG_LEVEL": "warning"})
    full_env.update(env or {})
    return subprocess.run([BINARY, *args], cwd=workdir, env=full_env, input=input, capture_output=True,
                          text=True, timeout=timeout)


# How long a test waits for the hub to close a connection it must close: generous, since these
# tests check that it closes, not how fast; the deadlines under test are a few seconds.
CLOSE_WITHIN = 20


@pytest.fixture(scope="module")
def timed_hub():
    """A hub with short request and idle deadlines, for the slow-peer tests."""
    h = Hub(config=write_config({"server": {"requestTimeoutSeconds": 2, "idleTimeoutSeconds": 2}})).start()
    yield h
    h.kill()


# MARK: System routes and errors

def test_health_ready_and_version(hub):
    r = requests.get(hub.url + "/healthz", timeout=5)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = requests.get(hub.url + "/readyz", timeout=5)
    assert r.status_code == 200 and r.json()["status"] == "ready"
    r = requests.get(hub.url + "/api/version", timeout=5)
    assert r.status_code == 200
    assert r.json()["name"] == "spacehub" and r.json()["version"]
    assert r.headers["Content-Type"].startswith("application/json")


def test_head_is_answered_like_get_without_a_body(hub):
    with RawConnection(hub.port) as conn:
        conn.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head = conn.read_response(head_only=True)
        assert head.status == 200 and head.header("content-length") == "15"
        following = conn.read_response()
        assert following.status == 200 and following.json() == {"status": "ok"}


def test_unknown_route_is_404_in_the_error_format(hub):
    r = requests.get(hub.url + "/no/such/route", timeout=5)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert r.json()["error"]["message"]


def test_wrong_method_is_405_with_allow(hub):
    r = requests.delete(hub.url + "/healthz", timeout=5)
    assert r.status_code == 405
    assert error_code(r) == "method_not_allowed"
    allow = {m.strip() for m in r.headers["Allow"].split(",")}
    assert {"GET", "HEAD"} <= allow and "DELETE" not in allow
    r = requests.get(hub.url + "/api/auth/login", timeout=5)
    assert r.status_code == 405
    assert "POST" in r.headers["Allow"] and "GET" not in r.headers["Allow"].split(", ")


def test_options_answers_with_the_allowed_methods(hub):
    r = requests.options(hub.url + "/healthz", timeout=5)
    assert r.status_code == 204
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}
    assert requests.options(hub.url + "/nothing-here", timeout=5).status_code == 404


def test_invalid_json_is_400_invalid_json(hub):
    for body in (b"{not json", b"", b"[1, 2]", b'{"email": "a@b.co",}'):
        r = requests.post(hub.url + "/api/auth/login", data=body, headers={"Content-Type": "application/json"}, timeout=5)
        assert r.status_code == 400, (body, r.text)
        assert error_code(r) == "invalid_json"


# MARK: Connections

def test_keep_alive_serves_two_requests_on_one_socket(hub):
    with RawConnection(hub.port) as conn:
        conn.send(get("/healthz"))
        first = conn.read_response()
        assert first.status == 200 and first.header("connection") != "close"
        conn.send(get("/api/version"))
        second = conn.read_response()
        assert second.status == 200 and second.json()["name"] == "spacehub"
        assert first.header("x-request-id") != second.header("x-request-id")


def test_connection_close_is_honoured(hub):
    with RawConnection(hub.port) as conn:
        conn.send(get("/healthz", ["Connection: close"]))
        r = conn.read_response()
        assert r.status == 200 and r.header("connection") == "close"
        assert conn.closed_by_peer(within=CLOSE_WITHIN)


def test_half_closed_client_still_gets_its_answer(hub):
    with RawConnection(hub.port) as conn:
        conn.send(get("/api/version"))
        conn.sock.shutdown(socket.SHUT_WR)
        r = conn.read_response()
        assert r.status == 200 and r.json()["name"] == "spacehub"
        assert conn.closed_by_peer(within=CLOSE_WITHIN)


def test_pipelined_requests_are_answered_in_order(hub):
    with RawConnection(hub.port) as conn:
        conn.send(get("/healthz", ["X-Request-Id: first"]) + get("/nothing-here", ["X-Request-Id: second"])
                  + get("/api/version", ["X-Request-Id: third"]))
        responses = [conn.read_response() for _ in range(3)]
    assert [r.status for r in responses] == [200, 404, 200]
    assert [r.header("x-request-id") for r in responses] == ["first", "second", "third"]
    assert responses[2].json()["name"] == "spacehub"


def test_chunked_request_body_is_read(hub):
    body = json.dumps({"email": "nobody@example.com", "password": "not-the-password"}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]))
    r = request(hub.port, b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
    # 401 (not 400): the server reassembled the JSON and looked the account up.
    assert r.status == 401 and r.error_code == "invalid_credentials"


def test_expect_100_continue_gets_an_interim_response(hub):
    body = b'{"email": "nobody@example.com", "password": "whatever-it-is"}'
    with RawConnection(hub.port) as conn:
        conn.send(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        interim = conn.read_response()
        assert interim.status == 100
        conn.send(body)
        final = conn.read_response()
        assert final.status == 401 and final.error_code == "invalid_credentials"


# MARK: Limits (HTTPLimits defaults: 8 KiB line, 16 KiB / 100 header fields, 1 MiB body)

def test_request_line_at_the_limit_passes_and_one_byte_more_is_414(hub):
    prefix, suffix = "GET /", " HTTP/1.1"
    target = "a" * (8192 - len(prefix) - len(suffix))
    at_limit = request(hub.port, f"{prefix}{target}{suffix}\r\nHost: x\r\n\r\n")
    assert at_limit.status == 404
    over = request(hub.port, f"{prefix}{target}a{suffix}\r\nHost: x\r\n\r\n")
    assert over.status == 414 and over.error_code == "uri_too_long"
    assert over.header("connection") == "close"


def test_header_section_over_16k_is_431(hub):
    big = "X-Filler: " + "v" * (16 * 1024)
    r = request(hub.port, get("/healthz", [big]))
    assert r.status == 431 and r.error_code == "headers_too_large"


def test_more_than_100_header_fields_is_431(hub):
    # Host is one of the fields: 99 more make exactly 100.
    ok = request(hub.port, get("/healthz", [f"X-H{i}: {i}" for i in range(99)]))
    assert ok.status == 200
    r = request(hub.port, get("/healthz", [f"X-H{i}: {i}" for i in range(100)]))
    assert r.status == 431 and r.error_code == "too_many_headers"


def test_a_json_body_over_64kib_is_refused_before_it_is_parsed(hub):
    """server.jsonBytesMax (64 KiB): a megabyte of JSON would hold the loop for 10-20 ms; a body
    at the cap is parsed and judged (here: the sign-in fails), one byte more is 413."""
    def login_body(size):
        body = {"email": "nobody@example.com", "password": "x", "pad": ""}
        body["pad"] = "p" * (size - len(json.dumps(body)))
        data = json.dumps(body).encode()
        assert len(data) == size
        return data
    at_cap = requests.post(hub.url + "/api/auth/login", data=login_body(64 * 1024),
                           headers={"Content-Type": "application/json"}, timeout=10)
    assert at_cap.status_code == 401 and error_code(at_cap) == "invalid_credentials", at_cap.text
    over = requests.post(hub.url + "/api/auth/login", data=login_body(64 * 1024 + 1),
                         headers={"Content-Type": "application/json"}, timeout=10)
    assert over.status_code == 413 and error_code(over) == "payload_too_large", over.text
    assert "65536" in over.json()["error"]["message"]


def test_body_over_1mib_is_refused_with_413_before_it_is_sent(hub):
    with RawConnection(hub.port) as conn:
        conn.send(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (1024 * 1024 + 1))
        r = conn.read_response()  # no body byte was sent
        assert r.status == 413 and r.error_code == "payload_too_large"
        assert conn.closed_by_peer(within=CLOSE_WITHIN)


def test_a_client_still_sending_a_refused_body_reads_the_413(hub):
    """The hub answers 413 from the headers and closes while the client is still sending: it
    lingers (reads and drops the rest) so the client's sends succeed and it reads the answer,
    instead of a reset for the unread bytes."""
    with RawConnection(hub.port) as conn:
        conn.send(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (4 * 1024 * 1024))
        time.sleep(0.1)  # the 413 and the hub's end of stream are out before the body follows
        for _ in range(16):
            conn.send(b"x" * 65536)  # raises ConnectionResetError / BrokenPipeError after a reset
        r = conn.read_response()
        assert r.status == 413 and r.error_code == "payload_too_large"
        assert conn.closed_by_peer(within=CLOSE_WITHIN)


@pytest.mark.parametrize("raw, code", [
    (b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     "ambiguous_length"),
    (b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", "ambiguous_length"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  continued\r\n\r\n", "obs_fold"),
    (b"GET /healthz HTTP/1.1\nHost: x\r\n\r\n", "bare_lf"),
    (b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n", "bad_chunk"),
    (b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", "bad_header"),
    (b"GET /healthz HTTP/1.1\r\n\r\n", "bad_host"),
])
def test_smuggling_ambiguities_are_400(hub, raw, code):
    with RawConnection(hub.port) as conn:
        conn.send(raw)
        r = conn.read_response()
        assert r.status == 400, r
        assert r.error_code == code
        assert r.header("connection") == "close"
        assert conn.closed_by_peer(within=CLOSE_WITHIN)


def test_chunked_body_over_1mib_is_413(hub):
    with RawConnection(hub.port) as conn:
        conn.send(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"%x\r\n" % (1024 * 1024 + 1))
        r = conn.read_response()
        assert r.status == 413 and r.error_code == "payload_too_large"


def test_http_2_request_line_is_505(hub):
    r = request(hub.port, b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n")
    assert r.status == 505 and r.error_code == "http_version_not_supported"


def test_http_1_0_is_served_and_closed(hub):
    with RawConnection(hub.port) as conn:
        conn.send(b"GET /healthz HTTP/1.0\r\n\r\n")
        r = conn.read_response()
        assert r.status == 200
        assert conn.closed_by_peer(within=CLOSE_WITHIN)


# MARK: Deadlines

def test_peer_sending_headers_one_byte_per_second_is_cut_off(timed_hub):
    data = get("/healthz", ["X-Slow: " + "s" * 100])
    started = time.monotonic()
    with RawConnection(timed_hub.port, timeout=1) as conn:
        cut_off = False
        for byte in data:  # never completes: the head is longer than 100 s at this pace
            try:
                conn.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                cut_off = True
                break
            if conn.closed_by_peer(within=1.0):
                cut_off = True
                break
            assert time.monotonic() - started < 60, "slow peer still connected"
        elapsed = time.monotonic() - started
        assert cut_off
        # requestTimeoutSeconds=2, checked every second: not before; the head would take over 100 s.
        assert 1.5 <= elapsed < 60, elapsed
        assert conn.buffer.startswith(b"HTTP/1.1 408 "), conn.buffer[:100]


def test_idle_keep_alive_connection_is_closed_after_the_idle_timeout(timed_hub):
    with RawConnection(timed_hub.port) as conn:
        conn.send(get("/healthz"))
        assert conn.read_response().status == 200
        started = time.monotonic()
        assert conn.closed_by_peer(within=CLOSE_WITHIN)
        elapsed = time.monotonic() - started
        assert elapsed >= 1.5, elapsed  # idleTimeoutSeconds=2, checked every second: not before


def test_connection_that_never_sends_is_closed(timed_hub):
    with RawConnection(timed_hub.port) as conn:
        started = time.monotonic()
        assert conn.closed_by_peer(within=CLOSE_WITHIN)
        assert time.monotonic() - started >= 1.5
        assert conn.buffer == b""


def test_connection_in_use_is_not_closed_as_idle(timed_hub):
    with RawConnection(timed_hub.port) as conn:
        for _ in range(4):  # 4 × 0.8 s spans two idle timeouts, activity resets the clock
            conn.send(get("/healthz"))
            assert conn.read_response().status == 200
            assert not conn.closed_by_peer(within=0.8)


def test_also_listens_on_ipv6_when_configured(fresh_hub):
    h = fresh_hub(env={"HOST_IPV6": "::1"})
    with socket.create_connection(("::1", h.port), timeout=5) as sock:
        sock.sendall(get("/healthz"))
        assert sock.recv(100).startswith(b"HTTP/1.1 200 ")
    assert requests.get(h.url + "/healthz", timeout=5).status_code == 200


def test_access_log_has_a_line_per_request(fresh_hub):
    h = fresh_hub(env={"ACCESS_LOG": "true", "LOG_LEVEL": "info"})
    requests.get(h.url + "/api/version", headers={"X-Request-Id": "log-me-123"}, timeout=5)
    deadline = time.monotonic() + 5
    while not any("rid=log-me-123" in line for line in h.output):
        assert time.monotonic() < deadline, "".join(h.output[-5:])
        time.sleep(0.05)
    line = next(line for line in h.output if "rid=log-me-123" in line)
    assert "GET /api/version 200" in line


# MARK: CORS and request ids

def test_cors_preflight_from_an_allowed_origin(hub):
    r = requests.options(hub.url + "/api/auth/login", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"}, timeout=5)
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    allowed_headers = r.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers


def test_cors_headers_only_for_configured_origins(hub):
    allowed = requests.get(hub.url + "/api/version", headers={"Origin": "http://localhost:3000"}, timeout=5)
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "Origin" in allowed.headers.get("Vary", "")
    other = requests.get(hub.url + "/api/version", headers={"Origin": "http://evil.example"}, timeout=5)
    assert other.status_code == 200
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = requests.options(hub.url + "/api/auth/login", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}, timeout=5)
    assert "Access-Control-Allow-Origin" not in preflight.headers
    # Errors carry CORS headers too, or a browser would hide them from the page.
    failed = requests.get(hub.url + "/missing", headers={"Origin": "http://localhost:3000"}, timeout=5)
    assert failed.status_code == 404 and failed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_every_response_has_a_request_id(hub):
    seen = set()
    for method, path in (("GET", "/healthz"), ("GET", "/missing"), ("DELETE", "/healthz"), ("POST", "/api/auth/login")):
        r = requests.request(method, hub.url + path, timeout=5)
        assert r.headers.get("X-Request-Id"), (method, path)
        seen.add(r.headers["X-Request-Id"])
    assert len(seen) == 4
    # Also the answers the parser gives before any route runs.
    for raw in (b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n"):
        r = request(hub.port, raw)
        assert r.status >= 400 and r.header("x-request-id"), r


def test_sane_incoming_request_id_is_echoed_and_others_replaced(hub):
    r = requests.get(hub.url + "/healthz", headers={"X-Request-Id": "trace-abc-123"}, timeout=5)
    assert r.headers["X-Request-Id"] == "trace-abc-123"
    for bad in ("has spaces in it", "x" * 65, "semi;colon"):
        r = requests.get(hub.url + "/healthz", headers={"X-Request-Id": bad}, timeout=5)
        assert r.headers["X-Request-Id"] not in ("", bad)


# MARK: Graceful shutdown

def test_graceful_shutdown_finishes_the_request_in_flight(fresh_hub):
    h = fresh_hub(config=write_config({"server": {"shutdownGraceSeconds": 60}}))
    email = "shutdown-" + os.urandom(4).hex() + "@example.com"
    body = json.dumps({"email": email, "password": "password123", "firstName": "Ada", "lastName": "Obi"}).encode()
    busy = RawConnection(h.port)
    idle = RawConnection(h.port)
    try:
        idle.send(get("/healthz"))
        assert idle.read_response().status == 200
        # The head is parsed (the 100 proves it) and half the body has been sent.
        busy.send(b"POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        assert busy.read_response().status == 100
        busy.send(body[:20])

        h.proc.send_signal(signal.SIGTERM)
        assert idle.closed_by_peer(within=CLOSE_WITHIN), "idle keep-alive connection left open during shutdown"
        deadline = time.monotonic() + CLOSE_WITHIN
        while True:
            try:
                socket.create_connection(("127.0.0.1", h.port), timeout=1).close()
            except ConnectionRefusedError:
                break
            assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
            time.sleep(0.05)
        assert h.proc.poll() is None, "exited before finishing the request in flight"

        busy.send(body[20:])
        r = busy.read_response()
        assert r.status == 201, r
        assert r.header("connection") == "close"
        assert busy.closed_by_peer(within=CLOSE_WITHIN)
    finally:
        busy.close()
        idle.close()
    assert h.proc.wait(timeout=30) == 0
    assert h.rows("SELECT COUNT(*) AS n FROM users WHERE email = ?", (email,)) == [{"n": 1}]


def test_shutdown_does_not_wait_for_a_peer_that_never_finishes(fresh_hub):
    h = fresh_hub(config=write_config({"server": {"requestTimeoutSeconds": 2, "shutdownGraceSeconds": 60}}))
    with RawConnection(h.port) as stalled:
        stalled.send(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n")
        assert stalled.read_response().status == 100  # the server holds the head, so it is not idle
        stalled.send(b"{")
        started = time.monotonic()
        h.proc.send_signal(signal.SIGTERM)
        assert h.proc.wait(timeout=45) == 0
        assert time.monotonic() - started < 30  # the 2 s request deadline, not the 60 s grace
        assert stalled.closed_by_peer(within=CLOSE_WITHIN)
        assert stalled.buffer.startswith(b"HTTP/1.1 408 ")


def test_shutdown_with_nothing_in_flight_does_not_wait_for_the_grace_period(fresh_hub):
    h = fresh_hub(config=write_config({"server": {"shutdownGraceSeconds": 60}}))
    requests.get(h.url + "/healthz", timeout=5)
    started = time.monotonic()
    assert h.stop(timeout=45) == 0
    assert time.monotonic() - started < 30  # nothing to wait for: not the 60 s grace


# MARK: Configuration and the command line

@pytest.mark.parametrize("config, key", [
    ({"server": {"prot": 8080}}, "server.prot"),
    ({"server": {"port": 70000}}, "server.port"),
    ({"server": {"requestTimeoutSeconds": "soon"}}, "server.requestTimeoutSeconds"),
    ({"mode": "staging"}, "mode"),
    ({"auth": {"rateLimits": {"loginPerMinutePerIp": 0}}}, "auth.rateLimits.loginPerMinutePerIp"),
])
def test_bad_config_file_stops_start_up_with_exit_2_naming_the_key(config, key):
    result = run_cli("serve", "--config", write_config(config))
    assert result.returncode == 2, result
    assert key in result.stderr
    assert "listening" not in result.stdout


def test_bad_environment_value_stops_start_up_naming_the_variable():
    result = run_cli("serve", env={"PORT": "eighty"})
    assert result.returncode == 2
    assert "PORT" in result.stderr
    result = run_cli("serve", env={"SPACEHUB_MODE": "production", "JWT_SECRET": ""})
    assert result.returncode == 2
    assert "JWT_SECRET" in result.stderr
    result = run_cli("serve", env={"JWT_SECRET": "too-short"})
    assert result.returncode == 2 and "JWT_SECRET" in result.stderr


def test_unreadable_or_invalid_config_file_exits_2():
    result = run_cli("serve", "--config", "/nonexistent/spacehub.json")
    assert result.returncode == 2 and "/nonexistent/spacehub.json" in result.stderr
    handle, path = tempfile.mkstemp(suffix=".json")
    os.write(handle, b"{ not json")
    os.close(handle)
    result = run_cli("serve", "--config", path)
    assert result.returncode == 2 and path in result.stderr


def test_help_explains_the_commands():
    top = run_cli("--help")
    assert top.returncode == 0
    for command in ("serve", "migrate", "admin"):
        assert command in top.stdout
    serve = run_cli("serve", "--help")
    assert serve.returncode == 0
    for option in ("--config", "--host", "--port"):
        assert option in serve.stdout
    migrate = run_cli("migrate", "--help")
    assert migrate.returncode == 0 and "--config" in migrate.stdout


def test_serve_options_override_the_environment():
    workdir = tempfile.mkdtemp(prefix="spacehub-serve-")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, SPACEHUB_DB=os.path.join(workdir, "hub.sqlite"), HOST="0.0.0.0", PORT="1",
               PASSWORD_COST_LOG2="10", LOG_LEVEL="warning")
    proc = subprocess.Popen([BINARY, "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "listening on" in line:
                break
        assert f"listening on http://127.0.0.1:{port}" in "".join(lines), lines
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.sqlite_only
def test_migrate_creates_the_schema_and_is_idempotent():
    workdir = tempfile.mkdtemp(prefix="spacehub-migrate-")
    db_path = os.path.join(workdir, "sub", "hub.sqlite")
    first = run_cli("migrate", env={"SPACEHUB_DB": db_path})
    assert first.returncode == 0, first
    with sqlite3.connect(db_path) as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert version >= 1
    assert {"users", "admin_users", "refresh_tokens", "outbox"} <= tables
    assert str(version) in first.stdout
    second = run_cli("migrate", env={"SPACEHUB_DB": db_path})
    assert second.returncode == 0
    assert "up to date" in second.stdout
    # The migrated file serves.
    h = Hub(db_dir=workdir)
    h.db = db_path
    h.start()
    try:
        assert requests.get(h.url + "/readyz", timeout=5).status_code == 200
    finally:
        h.kill()


def test_migrate_with_a_bad_config_exits_2():
    result = run_cli("migrate", "--config", write_config({"store": {"durability": "sometimes"}}))
    assert result.returncode == 2 and "store.durability" in result.stderr


def _cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_out_of_descriptors_the_hub_closes_peers_it_cannot_serve_and_recovers():
    """With every descriptor in use, a connection the hub cannot take is accepted and closed at
    once: its client sees the end, not a hang, and the waiting peer does not keep the loop
    spinning. The connections it holds are served, and once they go it serves new ones."""
    h = Hub(open_files=128).start()
    clients = []
    try:
        for _ in range(200):
            c = socket.create_connection(("127.0.0.1", h.port), timeout=5)
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            clients.append(c)
        served = shed = 0
        for c in clients:
            c.settimeout(5)
            try:
                answer = c.recv(4096)
            except ConnectionResetError:
                answer = b""
            if answer.startswith(b"HTTP/1.1 200"):
                served += 1
            elif answer == b"":
                shed += 1
        assert served > 0 and shed > 0 and served + shed == len(clients), (served, shed)
        before = _cpu_seconds(h.proc.pid)
        time.sleep(1)
        assert _cpu_seconds(h.proc.pid) - before < 0.5, "the hub is busy while nothing happens"
        assert any("accept failed" in line and "EMFILE" in line for line in h.output), h.output[-5:]
    finally:
        for c in clients:
            c.close()
    deadline = time.time() + 5
    while True:  # the hub sees the closes in its next turns
        try:
            assert requests.get(h.url + "/healthz", timeout=5).status_code == 200
            break
        except requests.ConnectionError:
            assert time.time() < deadline, "the hub does not serve after the descriptors came back"
            time.sleep(0.1)
    h.kill()
