"""Errors to Sentry end to end (issue 17), against a fake Sentry on 127.0.0.1 (fake_sentry.py)
that checks the envelope protocol and the X-Sentry-Auth header.

Real failures, no mocks: a booking while another connection holds SQLite's write lock (the hub's
busy timeout is 50 ms) is a real `503 store_unavailable` and a real failed commit group; a
password-reset email to an SMTP port where nothing listens is a real dead letter; a Paystack fake
answering 500 is a real gateway failure. Every report must arrive with its fields and without any
secret the hub knows or was sent: tokens, keys, passwords, `?token=` values, the reset link.
"""
import json
import re
import time
import uuid

import requests

from conftest import Hub, register
from e2e_support import event_body, unique_weekday, write_config, write_lock
from fake_paystack import FakePaystack
from fake_sentry import FakeSentry
from notify_fakes import free_port, outbox, wait_until
from test_metrics import samples, scrape, value

ROOM = "conference-room-a"
JWT_SECRET = "jwt-Secret-" + uuid.uuid4().hex
SMTP_PASSWORD = "smtp-Pa55word-" + uuid.uuid4().hex[:12]
METRICS_TOKEN = "metrics-Token-" + uuid.uuid4().hex
QUERY_SECRET = "query-Secret-" + uuid.uuid4().hex


def sentry_hub(sentry, paystack=None, env=None, config=None):
    full = {
        "SENTRY_DSN": sentry.dsn, "SENTRY_ENVIRONMENT": "e2e", "JWT_SECRET": JWT_SECRET,
        "METRICS_ENABLED": "true", "METRICS_HOST": "", "METRICS_TOKEN": METRICS_TOKEN,
        "EMAIL_SENDER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(free_port()), "SMTP_STARTTLS": "false",
        "SMTP_USERNAME": "hub", "SMTP_PASSWORD": SMTP_PASSWORD, "EMAIL_RETRIES_MAX": "0", "EMAIL_POLL_INTERVAL_MS": "100",
        "EMAIL_TIMEOUT_SECONDS": "2",
    }
    if paystack:
        full.update({"PAYMENT_GATEWAY": "paystack", "PAYSTACK_SECRET_KEY": paystack.secret, "PAYSTACK_BASE_URL": paystack.url})
    full.update(env or {})
    extra = {"store": {"busyTimeoutMs": 50}, "payments": {"timeoutSeconds": 1, "retries": 1}}
    extra.update(config or {})
    return Hub(env=full, config=write_config(extra)).start()


def metrics(hub):
    return samples(scrape(hub.url + "/metrics", METRICS_TOKEN))[0]


def test_5xx_answers_and_failed_background_work_reach_sentry_scrubbed():
    sentry = FakeSentry()
    paystack = FakePaystack()
    hub = sentry_hub(sentry, paystack)
    try:
        member = register(hub)
        date = unique_weekday()
        held = member.post("/api/bookings", json=event_body(ROOM, date, "09:00", "10:00"))
        assert held.status_code == 201, held.text

        # 1. A 503: the store cannot commit. The request carries secrets in its header and query.
        with write_lock(hub):
            r = member.post(f"/api/bookings?token={QUERY_SECRET}", json=event_body(ROOM, date, "11:00", "12:00"))
            assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable", r.text
            request_id = r.headers["x-request-id"]
            # Identical failures within sentry.dedupeSeconds are counted, not sent again.
            for _ in range(3):
                again = member.post("/api/bookings", json=event_body(ROOM, date, "13:00", "14:00"))
                assert again.status_code == 503, again.text
        http = sentry.wait_for(lambda e: e["tags"]["kind"] == "http_5xx" and e["tags"]["route"] == "/api/bookings",
                               what="the 503 report")[0]
        assert http["tags"] == {"kind": "http_5xx", "route": "/api/bookings", "method": "POST", "status": "503",
                                "code": "store_unavailable", "request_id": request_id}
        assert http["transaction"] == "POST /api/bookings"
        assert http["exception"]["values"][0]["type"] == "store_unavailable"
        assert http["exception"]["values"][0]["mechanism"] == {"type": "http_5xx", "handled": True}
        assert "store_unavailable" in http["message"]["formatted"]
        assert http["fingerprint"] == ["http_5xx", "POST /api/bookings", "503", "store_unavailable"]
        commit = sentry.wait_for(lambda e: e["tags"]["kind"] == "store_commit_failed", what="the commit report")[0]
        assert commit["tags"]["sqlite_code"] == "SQLITE_5"  # SQLITE_BUSY: the lock we hold
        assert commit["extra"]["jobs"] >= 1

        # 2. A dead letter: the reset email meets an SMTP port where nothing listens; no retries.
        assert requests.post(hub.url + "/api/auth/forgot-password", json={"email": member.user["email"]},
                             timeout=10).status_code == 202
        dead = sentry.wait_for(lambda e: e["tags"]["kind"] == "outbox_dead_letter" and e["tags"]["template"] == "password-reset",
                               what="the dead-letter report")[0]
        row = wait_until(lambda: [m for m in outbox(hub, "password-reset") if m["status"] == "dead"])[0]
        assert dead["tags"]["outbox_id"] == str(row["id"])
        assert dead["tags"]["sender"] == "smtp"
        assert dead["exception"]["values"][0]["type"] == "email_retries_exhausted"
        assert dead["extra"]["attempts"] == 1
        reset_token = json.loads(row["payload"])["token"]

        # 3. A gateway failure: Paystack answers 500 to every initialize (one retry).
        paystack.fail["initialize"] = 10
        r = member.post("/api/payments/initialize", json={
            "bookingId": held.json()["id"], "amount": held.json()["amount"], "currency": "NGN", "paymentMethod": "card"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "gateway_unavailable", r.text
        gateway = sentry.wait_for(lambda e: e["tags"]["kind"] == "gateway_failure", what="the gateway report")[0]
        assert {k: gateway["tags"][k] for k in ("gateway", "operation", "outcome")} == \
            {"gateway": "paystack", "operation": "initialize", "outcome": "unavailable"}
        sentry.wait_for(lambda e: e["tags"].get("route") == "/api/payments/initialize", what="the initialize 503")

        # Every event: the Sentry event fields, consistent ids, the auth header, nothing refused.
        now = time.time()
        version = requests.get(hub.url + "/api/version", timeout=10).json()["version"]
        for envelope in sentry.envelopes:
            event = envelope["event"]
            assert re.fullmatch(r"[0-9a-f]{32}", event["event_id"]) and envelope["header"]["event_id"] == event["event_id"]
            assert envelope["items"][0][0]["type"] == "event"
            assert envelope["auth"] == {"sentry_version": "7", "sentry_key": sentry.key, "sentry_client": f"spacehub/{version}"}
            assert (event["level"], event["platform"], event["logger"]) == ("error", "other", "spacehub")
            assert event["release"] == f"spacehub@{version}" and event["environment"] == "e2e" and event["server_name"]
            assert abs(event["timestamp"] - now) < 120
            assert "authorization" not in {name.lower() for name in envelope["headers"]}
        assert not sentry.refused, sentry.refused
        kinds = [e["tags"]["kind"] for e in sentry.events()]
        assert kinds.count("http_5xx") == 2, kinds  # the booking 503 once, the initialize 503

        # Nothing secret left the hub: tokens sent to it, its keys and passwords, the reset link.
        secrets = [member.token, member.refresh, JWT_SECRET, SMTP_PASSWORD, METRICS_TOKEN, QUERY_SECRET, paystack.secret,
                   reset_token, member.user["email"]]
        for raw in sentry.raw_bodies():
            for secret in secrets:
                assert secret.encode() not in raw, f"{secret[:12]}… reached Sentry"

        counted = metrics(hub)
        assert value(counted, "spacehub_sentry_events_total", outcome="suppressed") >= 3
        assert value(counted, "spacehub_sentry_events_total", outcome="sent") == len(sentry.envelopes)
        assert value(counted, "spacehub_sentry_events_total", outcome="dropped") == 0
    finally:
        hub.kill()
        paystack.close()
        sentry.close()


def test_reports_are_bounded_and_never_hold_up_a_request():
    """A Sentry that never answers in time: requests are answered as fast as without it, at most
    `sentry.queueMax` reports wait, the rest are dropped and counted, each send gives up after
    `sentry.timeoutSeconds`, and the hub still stops promptly."""
    sentry = FakeSentry(hang=5.0)
    hub = sentry_hub(sentry, config={"sentry": {"queueMax": 2, "timeoutSeconds": 1, "dedupeSeconds": 0}})
    try:
        member = register(hub)
        date = unique_weekday()
        with write_lock(hub):
            for hour in range(8, 16):
                started = time.time()
                r = member.post("/api/bookings", json=event_body(ROOM, date, f"{hour:02d}:00", f"{hour:02d}:30"))
                assert r.status_code == 503, r.text
                assert time.time() - started < 1.0, "a request waited for Sentry"
        counted = metrics(hub)
        # Each failed booking makes two reports (the 503 and its failed commit group): 16 in all,
        # one being sent, two waiting, the rest dropped.
        assert value(counted, "spacehub_sentry_events_total", outcome="dropped") >= 8
        assert value(counted, "spacehub_sentry_queue_depth") <= 2
        wait_until(lambda: value(metrics(hub), "spacehub_sentry_events_total", outcome="failed") >= 1, timeout=10,
                   message="a send to time out")
        assert sentry.received >= 1
        started = time.time()
        assert hub.stop(timeout=15) == 0
        assert time.time() - started < 8, "shutdown waited on Sentry beyond its timeout"
    finally:
        hub.kill()
        sentry.close()
