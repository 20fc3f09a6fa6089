"""`GET /metrics` end to end (issue 17): who may scrape it where, that the page parses as the
Prometheus text format (prometheus_client's own parser), that its counters move as requests,
bookings and WebSocket messages happen, that routes are labelled by pattern and never by the path
a client sent, and that every series is documented in docs/METRICS.md."""
import os
import re
import subprocess
import tempfile
import time
import uuid

import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import BINARY, ROOT, Hub, register
from e2e_support import WS, event_body, unique_weekday, write_config
from notify_fakes import free_port, wait_until

TOKEN = "metrics-token-" + uuid.uuid4().hex
ROOM = "conference-room-a"


def scrape(url, token=None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    r = requests.get(url, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return r.text


def samples(text):
    """{(sample name, sorted labels): value} and the families, parsed by prometheus_client."""
    families = list(text_string_to_metric_families(text))
    values = {}
    for family in families:
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values, families


def value(values, name, **labels):
    return values.get((name, tuple(sorted(labels.items()))), 0)


def metrics_hub(env=None, config=None):
    port = free_port()
    hub = Hub(env={"METRICS_ENABLED": "true", "METRICS_PORT": str(port), **(env or {})}, config=config).start()
    hub.metrics_url = f"http://127.0.0.1:{port}/metrics"
    return hub


def test_metrics_are_off_by_default_and_never_on_the_public_port_without_a_token():
    plain = Hub().start()
    try:
        assert requests.get(plain.url + "/metrics", timeout=10).status_code == 404
    finally:
        plain.kill()
    hub = metrics_hub()
    try:
        assert any(f"Metrics on {hub.metrics_url}" in line for line in hub.output), hub.output
        assert requests.get(hub.url + "/metrics", timeout=10).status_code == 404
        scrape(hub.metrics_url)
        # The listener serves /metrics and nothing else.
        assert requests.get(hub.metrics_url.replace("/metrics", "/api/version"), timeout=10).status_code == 404
    finally:
        hub.kill()


def test_token_gates_every_scrape_in_constant_time_with_401():
    hub = metrics_hub({"METRICS_TOKEN": TOKEN})
    try:
        member = register(hub)
        for url in (hub.url + "/metrics", hub.metrics_url):
            for headers in ({}, {"Authorization": "Bearer wrong-" + TOKEN}, {"Authorization": "Bearer " + TOKEN[:-1]},
                            {"Authorization": "Basic " + TOKEN}, {"Authorization": "Bearer " + member.token}):
                r = requests.get(url, headers=headers, timeout=10)
                assert r.status_code == 401, (url, headers, r.text)
                assert r.headers["www-authenticate"] == 'Bearer realm="metrics"'
                assert r.json()["error"]["code"] == "unauthorized"
            scrape(url, TOKEN)
    finally:
        hub.kill()
    # Only a token on the public port: no listener of its own.
    public_only = Hub(env={"METRICS_ENABLED": "true", "METRICS_HOST": "", "METRICS_TOKEN": TOKEN}).start()
    try:
        scrape(public_only.url + "/metrics", TOKEN)
        assert not any("Metrics on" in line for line in public_only.output)
    finally:
        public_only.kill()


def test_metrics_that_cannot_be_reached_or_have_a_weak_token_stop_start_up():
    for env, key in (({"METRICS_ENABLED": "true", "METRICS_HOST": ""}, "metrics.enabled"),
                     ({"METRICS_ENABLED": "true", "METRICS_TOKEN": "short"}, "metrics.token")):
        workdir = tempfile.mkdtemp(prefix="spacehub-cli-")
        full = dict(os.environ, SPACEHUB_DB=os.path.join(workdir, "hub.sqlite"), PORT="0", **env)
        result = subprocess.run([BINARY, "serve"], cwd=workdir, env=full, capture_output=True, text=True, timeout=20)
        assert result.returncode == 2 and key in result.stderr, result.stderr


def test_counters_move_with_requests_bookings_and_websocket_messages():
    hub = metrics_hub(config=write_config({"auth": {"rateLimits": {"loginPerMinutePerEmail": 2}}}))
    try:
        before, _ = samples(scrape(hub.metrics_url))
        member = register(hub)
        date = unique_weekday()
        socket = WS(hub, token=member.token)
        created = []
        for start, end in (("09:00", "10:00"), ("11:00", "12:00")):
            r = member.post("/api/bookings", json=event_body(ROOM, date, start, end))
            assert r.status_code == 201, r.text
            created.append(r.json())
        for booking in created + created[:1]:
            assert member.get(f"/api/bookings/{booking['id']}").status_code == 200
        assert member.get(f"/api/bookings/{uuid.uuid4()}").status_code == 404
        for n in range(3):
            socket.send({"type": "ping", "id": n})
            socket.wait_type("pong")
        for booking in created:
            socket.wait_for(lambda m: m.get("type") == "booking_updated" and m["payload"]["id"] == booking["id"])
        # Two wrong passwords pass, the third meets the per-email limit.
        for _ in range(3):
            requests.post(hub.url + "/api/auth/login", json={"email": member.user["email"], "password": "nope-nope"}, timeout=10)

        text = scrape(hub.metrics_url)
        after, families = samples(text)

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        # HTTP, by route pattern.
        assert delta("spacehub_http_requests_total", method="POST", route="/api/bookings", code="201") == 2
        assert delta("spacehub_http_requests_total", method="GET", route="/api/bookings/:id", code="200") == 3
        assert delta("spacehub_http_requests_total", method="GET", route="/api/bookings/:id", code="404") == 1
        assert delta("spacehub_http_requests_total", method="POST", route="/api/auth/login", code="429") == 1
        assert delta("spacehub_http_requests_total", method="GET", route="/ws", code="101") == 1
        routes = {labels["route"] for family in families for sample in family.samples
                  for labels in [sample.labels] if "route" in labels}
        assert "/api/bookings/:id" in routes
        for route in routes:
            assert route.startswith("/") or route in ("(unmatched)", "(preflight)"), route
            assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", route), f"raw path in a label: {route}"
        duration = "spacehub_http_request_duration_seconds"
        count = value(after, duration + "_count", method="POST", route="/api/bookings")
        assert count >= 2
        buckets = sorted((float(dict(labels)["le"]), v) for (name, labels), v in after.items()
                         if name == duration + "_bucket" and dict(labels).get("route") == "/api/bookings"
                         and dict(labels).get("method") == "POST")
        assert buckets[-1] == (float("inf"), count)
        assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "buckets are cumulative"
        assert value(after, duration + "_sum", method="POST", route="/api/bookings") > 0

        # Real time.
        assert delta("spacehub_websocket_messages_total", direction="received") == 3
        assert delta("spacehub_websocket_messages_total", direction="sent") >= 3 + 1 + 2  # pongs, welcome, events
        assert delta("spacehub_websocket_payload_bytes_total", direction="received") > 3 * len('{"type":"ping"}')
        assert delta("spacehub_event_deliveries_total") >= 2
        assert delta("spacehub_events_published_total", type="booking_updated") == 2
        assert delta("spacehub_events_published_total", type="space_availability_changed") == 2
        assert value(after, "spacehub_websockets_open") >= 1
        assert value(after, "spacehub_subscriptions", kind="bookings") >= 1
        assert value(after, "spacehub_subscriptions", kind="payments") >= 1
        assert value(after, "spacehub_subscriptions", kind="availability") >= 1

        # Bookings, the store and the limits.
        assert delta("spacehub_bookings_live", status="pending") == 2
        assert delta("spacehub_holds") == 2
        assert delta("spacehub_booking_changes_total", change="created") == 2
        assert delta("spacehub_store_commit_groups_total", outcome="committed") >= 1
        assert delta("spacehub_store_writes_total", outcome="committed") >= 3  # registration, two bookings
        assert delta("spacehub_store_commit_duration_seconds_count") >= 1
        assert delta("spacehub_store_commit_group_size_sum") >= 3
        assert delta("spacehub_rate_limit_refusals_total", action="login-email") == 1
        # The loop-lag timer ticks four times a second.
        wait_until(lambda: value(samples(scrape(hub.metrics_url))[0], "spacehub_loop_lag_seconds_count") > 0,
                   message="a loop-lag tick")

        # Closing the socket moves the gauges back.
        socket.close()
        wait_until(lambda: value(samples(scrape(hub.metrics_url))[0], "spacehub_websockets_open") == 0,
                   message="the WebSocket gauge to fall")
    finally:
        hub.kill()


def test_every_series_is_documented():
    """docs/METRICS.md names every family the hub exports, so the page stays the reference."""
    hub = metrics_hub({"SENTRY_DSN": "http://key0123456789@127.0.0.1:9/1"})
    try:
        register(hub)
        text = scrape(hub.metrics_url)
    finally:
        hub.kill()
    names = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    with open(os.path.join(ROOT, "docs", "METRICS.md"), encoding="utf-8") as doc:
        documented = set(re.findall(r"`([a-z_:]+)`", doc.read()))
    assert names and not names - documented, f"undocumented: {sorted(names - documented)}"
    # Every sample's family has HELP and TYPE (the parser reads them; a bare sample is "unknown").
    for family in text_string_to_metric_families(text):
        assert family.type in ("counter", "gauge", "histogram") and family.documentation, family.name
