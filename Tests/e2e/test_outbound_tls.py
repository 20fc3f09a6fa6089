"""Outbound calls as the real services make them: HTTPS with the certificate checked, answers in
chunked framing, STARTTLS with verification on.

The other fakes answer plain HTTP with a `Content-Length`, which is easier than Paystack,
SendGrid and a mail provider are. Here each fake presents a certificate signed by the test run's
own CA (test_ca.py), which the hub trusts through `SSL_CERT_FILE` and nothing else: peer and host
name verification stay on, and a hub that does not trust the CA refuses to talk.
"""
import json

import requests

from conftest import Hub, admin, register
from e2e_support import write_config
from fake_paystack import FakePaystack
from notify_fakes import SMTPFake, SendGridFake, book, confirm, outbox, wait_until
from test_ca import test_ca, trusting_env
from test_payments import get_booking, get_payment, initialize, paystack_env

FROM = "bookings@spacehub.test"


def test_paystack_over_https_with_chunked_answers():
    fake = FakePaystack(tls=True, chunked=True)
    hub = Hub(env={**paystack_env(fake), **trusting_env()},
              config=write_config({"payments": {"timeoutSeconds": 5, "retries": 0}})).start()
    try:
        assert fake.url.startswith("https://")
        member, staff = register(hub), admin(hub)
        booking = book(member, space="conference-room-a", start="10:00", end="11:00")
        started = initialize(member, booking)  # POST /transaction/initialize, chunked answer
        assert started["authorizationUrl"].endswith(started["reference"])
        assert fake.transaction(started["reference"])["amount"] == booking["amount"] * 100  # kobo
        fake.verify_status[started["reference"]] = "success"
        r = member.post("/api/payments/verify", json={"reference": started["reference"]})  # GET verify, chunked
        assert r.status_code == 200 and r.json()["status"] == "successful", r.text
        assert get_booking(member, booking["id"])["paymentStatus"] == "paid"
        r = staff.post(f"/api/admin/payments/{started['paymentId']}/refund", json={"reason": "over TLS"})  # GET + POST /refund
        assert r.status_code == 200, r.text
        assert len(fake.refunds) == 1 and get_payment(staff, started["paymentId"])["refundedAmount"] == booking["amount"]
    finally:
        hub.kill()
        fake.close()


def test_a_hub_that_does_not_trust_the_certificate_refuses_to_send():
    fake = FakePaystack(tls=True)
    hub = Hub(env={**paystack_env(fake), "SSL_CERT_FILE": "/nonexistent", "SSL_CERT_DIR": "/nonexistent"},
              config=write_config({"payments": {"timeoutSeconds": 5, "retries": 0}})).start()
    try:
        member = register(hub)
        booking = book(member, space="conference-room-a", start="12:00", end="13:00")
        r = member.post("/api/payments/initialize", json={"bookingId": booking["id"], "amount": booking["amount"],
                                                          "currency": "NGN", "paymentMethod": "card"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "gateway_unavailable", r.text
        assert "TLS" in r.json()["error"]["message"] and "certificate" in r.json()["error"]["message"], r.text
        assert fake.attempts("initialize") == 0, "nothing was sent to an unverified peer"
    finally:
        hub.kill()
        fake.close()


def test_sendgrid_over_https_with_a_chunked_answer():
    fake = SendGridFake("SG.tls-key", tls=True, chunked=True).start()
    hub = Hub(env={"EMAIL_SENDER": "sendgrid", "SENDGRID_API_KEY": "SG.tls-key", "SENDGRID_BASE_URL": fake.url,
                   "FROM_EMAIL": FROM, "EMAIL_POLL_INTERVAL_MS": "100", **trusting_env()}).start()
    try:
        member = register(hub)
        confirm(admin(hub), book(member)["id"])
        row = wait_until(lambda: [r for r in outbox(hub, "booking-confirmation") if r["status"] == "sent"],
                         message="the email to be sent over HTTPS")[0]
        assert row["attempts"] == 1
        sent = json.loads(fake.requests[0]["body"])
        assert sent["personalizations"][0]["to"] == [{"email": member.user["email"]}]
    finally:
        hub.kill()
        fake.stop()


def test_smtp_starttls_with_the_certificate_checked():
    _, cert, key = test_ca()
    smtp = SMTPFake(cert=(cert, key), credentials=("hub-user", "pw")).start()
    hub = Hub(env={"EMAIL_SENDER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "FROM_EMAIL": FROM,
                   "EMAIL_POLL_INTERVAL_MS": "100", "SMTP_USERNAME": "hub-user", "SMTP_PASSWORD": "pw",
                   "SMTP_STARTTLS": "true", "SMTP_VERIFY_CERTIFICATE": "true", **trusting_env()}).start()
    try:
        member = register(hub)
        requests.post(hub.url + "/api/auth/forgot-password", json={"email": member.user["email"]}, timeout=10)
        wait_until(lambda: smtp.messages, message="the message over verified STARTTLS")
        assert smtp.messages[0]["tls"] and smtp.messages[0]["authenticated"]
        wait_until(lambda: outbox(hub, "password-reset")[0]["status"] == "sent")
    finally:
        hub.kill()
        smtp.stop()
