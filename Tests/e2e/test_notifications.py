"""Email delivery end to end: the hub's outbox delivered by its real senders to real servers on
127.0.0.1 (aiosmtpd with STARTTLS and AUTH, a SendGrid fake), retries with backoff, dead
letters, restarts, reminders. See docs/NOTIFICATIONS.md."""
import glob
import json
import os
import time

import requests

from conftest import Hub, Instant, admin, register, next_weekday
from notify_fakes import (SMTPFake, SendGridFake, book, confirm, db_rows, free_port, outbox, parse_message, parts,
                          self_signed_cert, wait_until)

FROM = "bookings@spacehub.test"


def smtp_env(port, **extra):
    env = {"EMAIL_SENDER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "FROM_EMAIL": FROM,
           "FROM_NAME": "SpaceHub Test", "EMAIL_POLL_INTERVAL_MS": "100"}
    env.update(extra)
    return env


def forgot(hub, email):
    r = requests.post(hub.url + "/api/auth/forgot-password", json={"email": email}, timeout=30)
    assert r.status_code == 202, r.text


def eml_files(hub, template=None):
    return sorted(glob.glob(os.path.join(hub.dir, "var", "mail", f"*-{template or '*'}.eml")))


def test_log_sender_writes_eml_files(fresh_hub):
    hub = fresh_hub({"EMAIL_POLL_INTERVAL_MS": "100"})
    member = register(hub, first="Ada", last="Obi")
    booking = book(member)
    confirm(admin(hub), booking["id"])

    path = wait_until(lambda: eml_files(hub, "booking-confirmation"), message="an .eml file")[0]
    with open(path, "rb") as f:
        message = parse_message(f.read())
    assert message["To"] == member.user["email"]
    assert message["Subject"] == "Booking Confirmation - Conference Room A"
    assert message.get_content_type() == "multipart/alternative"
    assert message["MIME-Version"] == "1.0" and message["Message-ID"] and message["Date"]
    body = parts(message)
    assert "Your booking for Conference Room A has been confirmed." in body["text/plain"]
    assert "Amount: NGN 30,000.00" in body["text/plain"]
    assert "Time: 10:00–12:00 (Africa/Lagos)" in body["text/plain"]
    assert "<h1>Booking Confirmed!</h1>" in body["text/html"]
    row = wait_until(lambda: [r for r in outbox(hub, "booking-confirmation") if r["status"] == "sent"])[0]
    assert row["attempts"] == 1 and row["sent_at"] is not None


def test_smtp_with_starttls_and_auth_delivers_multipart_with_escaped_html(fresh_hub, tmp_path):
    smtp = SMTPFake(cert=self_signed_cert(str(tmp_path)), credentials=("hub-user", "s3cret pass")).start()
    try:
        hub = fresh_hub(smtp_env(smtp.port, SMTP_USERNAME="hub-user", SMTP_PASSWORD="s3cret pass",
                                 SMTP_STARTTLS="true", SMTP_VERIFY_CERTIFICATE="false"))
        member = register(hub, first="Ada", last="<b>O'Neil & Co</b>")
        booking = book(member, specialRequests="none")
        confirm(admin(hub), booking["id"])

        wait_until(lambda: smtp.messages, message="the SMTP server to receive a message")
        received = smtp.messages[0]
        assert received["tls"], "the message must travel after STARTTLS"
        assert received["authenticated"]
        assert smtp.auth_attempts and all(ok for _, ok in smtp.auth_attempts)
        assert received["from"] == FROM
        assert received["to"] == [member.user["email"]]

        message = parse_message(received["raw"])
        assert message["Subject"] == "Booking Confirmation - Conference Room A"
        sender = message["From"].addresses[0]
        assert (sender.display_name, sender.addr_spec) == ("SpaceHub Test", FROM)
        assert message["To"] == member.user["email"]
        assert message["Message-ID"].startswith("<outbox-") and message["Message-ID"].endswith("@spacehub.test>")
        assert message["MIME-Version"] == "1.0" and message["Date"]
        assert message.get_content_type() == "multipart/alternative"
        body = parts(message)
        assert set(body) == {"text/plain", "text/html"}
        assert "Dear Ada <b>O'Neil & Co</b>," in body["text/plain"]
        assert "Dear Ada &lt;b&gt;O&#39;Neil &amp; Co&lt;/b&gt;," in body["text/html"]
        assert "<b>O'Neil" not in body["text/html"]
        assert f"Booking reference: {booking['id']}" in body["text/html"]

        wait_until(lambda: outbox(hub, "booking-confirmation")[0]["status"] == "sent")
    finally:
        smtp.stop()


def test_smtp_dot_stuffing_keeps_lines_that_start_with_a_dot(fresh_hub):
    smtp = SMTPFake().start()
    try:
        hub = fresh_hub(smtp_env(smtp.port, SMTP_STARTTLS="false"))
        # Quoted-printable wraps this line so that continuation lines start with "."; without
        # dot-stuffing the server would drop a dot from each of them (RFC 5321 §4.5.2).
        dots = "." * 90
        member = register(hub, first="Ada", last=dots)
        forgot(hub, member.user["email"])
        wait_until(lambda: smtp.messages)
        raw = smtp.messages[0]["raw"]
        assert b"\r\n." in raw, "the encoded message should contain lines starting with a dot"
        text = parts(parse_message(raw))["text/plain"]
        assert f"Dear Ada {dots}," in text
    finally:
        smtp.stop()


def test_smtp_down_retries_with_backoff_then_dead_letters_and_admin_retry(fresh_hub):
    port = free_port()  # nothing listens here yet
    hub = fresh_hub(smtp_env(port, SMTP_STARTTLS="false", EMAIL_RETRY_BASE_SECONDS="1", EMAIL_RETRIES_MAX="2",
                             EMAIL_TIMEOUT_SECONDS="2"))
    member = register(hub)
    forgot(hub, member.user["email"])

    seen = {}

    def progress():
        rows = outbox(hub, "password-reset")
        if rows:
            row = rows[0]
            seen[row["attempts"]] = row
            return row["status"] == "dead"
        return False

    wait_until(progress, timeout=30, interval=0.05, message="the message to be dead-lettered")
    dead = outbox(hub, "password-reset")[0]
    assert dead["attempts"] == 3, "one attempt plus email.retriesMax=2 retries"
    assert "connect" in dead["last_error"]
    # Backoff: 1 s after the first failure, 2 s after the second.
    assert seen[1]["next_attempt_at"] - seen[1]["last_attempt_at"] == 1
    assert seen[2]["next_attempt_at"] - seen[2]["last_attempt_at"] == 2

    staff = admin(hub)
    r = staff.get("/api/admin/notifications/outbox?status=dead")
    assert r.status_code == 200, r.text
    listing = r.json()
    assert listing["counts"]["dead"] == 1 and listing["total"] == 1
    message = listing["messages"][0]
    assert message["template"] == "password-reset" and message["attempts"] == 3 and message["lastError"]
    assert message["variables"]["token"] == "[redacted]" and message["variables"]["resetLink"] == "[redacted]"
    assert member.get("/api/admin/notifications/outbox").status_code == 403

    smtp = SMTPFake(port=port).start()
    try:
        r = staff.post(f"/api/admin/notifications/outbox/{message['id']}/retry")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "pending" and r.json()["attempts"] == 0
        wait_until(lambda: smtp.messages, message="delivery after the admin retry")
        row = wait_until(lambda: [x for x in outbox(hub, "password-reset") if x["status"] == "sent"])[0]
        assert row["attempts"] == 1
        assert staff.post(f"/api/admin/notifications/outbox/{message['id']}/retry").status_code == 409
        audit = db_rows(hub, "SELECT * FROM audit_logs WHERE resource = 'outbox'")
        assert len(audit) == 1 and audit[0]["resource_id"] == str(message["id"]) and audit[0]["action"] == "retry"
        assert json.loads(audit[0]["old_values"])["status"] == "dead"
    finally:
        smtp.stop()


def test_pending_messages_are_delivered_after_a_restart(fresh_hub):
    port = free_port()
    hub = fresh_hub(smtp_env(port, SMTP_STARTTLS="false", EMAIL_RETRY_BASE_SECONDS="1", EMAIL_RETRY_CAP_SECONDS="1",
                             EMAIL_RETRIES_MAX="50", EMAIL_TIMEOUT_SECONDS="2"))
    member = register(hub)
    forgot(hub, member.user["email"])
    wait_until(lambda: outbox(hub, "password-reset") and outbox(hub, "password-reset")[0]["attempts"] >= 1)
    assert hub.stop() == 0
    assert outbox(hub, "password-reset")[0]["status"] == "pending"

    smtp = SMTPFake(port=port).start()
    try:
        hub.restart()
        wait_until(lambda: smtp.messages, message="delivery after the restart")
        assert smtp.messages[0]["to"] == [member.user["email"]]
        wait_until(lambda: outbox(hub, "password-reset")[0]["status"] == "sent")
        assert len(smtp.messages) == 1
    finally:
        smtp.stop()


def test_a_message_in_flight_when_the_hub_dies_is_sent_again_after_restart(fresh_hub):
    """At least once: the server got the message but the hub died before recording it, so the
    restarted hub sends it again, with the same Message-ID."""
    smtp = SMTPFake(delay_first_data=30).start()
    try:
        hub = fresh_hub(smtp_env(smtp.port, SMTP_STARTTLS="false", EMAIL_TIMEOUT_SECONDS="60"))
        member = register(hub)
        forgot(hub, member.user["email"])
        assert smtp.data_started.wait(15)
        hub.kill()  # SIGKILL while the server holds back its answer to DATA
        assert outbox(hub, "password-reset")[0]["status"] == "pending"
        hub.restart()
        wait_until(lambda: len(smtp.messages) == 2, message="the message to be sent again")
        wait_until(lambda: outbox(hub, "password-reset")[0]["status"] == "sent")
        ids = {parse_message(m["raw"])["Message-ID"] for m in smtp.messages}
        assert len(ids) == 1, "a resend keeps its Message-ID so receivers can drop the duplicate"
        time.sleep(1)
        assert len(smtp.messages) == 2
    finally:
        smtp.stop()


def test_sendgrid_sender_posts_the_seed_body_with_the_api_key(fresh_hub):
    fake = SendGridFake("SG.test-key").start()
    try:
        hub = fresh_hub({"EMAIL_SENDER": "sendgrid", "SENDGRID_API_KEY": "SG.test-key", "SENDGRID_BASE_URL": fake.url,
                         "FROM_EMAIL": FROM, "FROM_NAME": "Nithub Space Management", "EMAIL_POLL_INTERVAL_MS": "100"})
        member = register(hub, last="Smith & <Sons>")
        booking = book(member)
        confirm(admin(hub), booking["id"])
        wait_until(lambda: fake.requests)
        request = fake.requests[0]
        assert request["method"] == "POST" and request["path"] == "/v3/mail/send"
        assert request["auth"] == "Bearer SG.test-key"
        assert request["content_type"] == "application/json"
        body = json.loads(request["body"])
        assert body["personalizations"] == [{"to": [{"email": member.user["email"]}],
                                             "subject": "Booking Confirmation - Conference Room A"}]
        assert body["from"] == {"email": FROM, "name": "Nithub Space Management"}
        assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
        assert "Smith & <Sons>" in body["content"][0]["value"]
        assert "Smith &amp; &lt;Sons&gt;" in body["content"][1]["value"]
        wait_until(lambda: outbox(hub, "booking-confirmation")[0]["status"] == "sent")

        # A 400 is the request's fault: dead-lettered at once, not retried.
        rejected = register(hub, email=f"reject-{member.user['id'][:8]}@example.com")
        forgot(hub, rejected.user["email"])
        row = wait_until(lambda: [r for r in outbox(hub, "password-reset") if r["status"] == "dead"])[0]
        assert row["attempts"] == 1 and "400" in row["last_error"]
    finally:
        fake.stop()


def test_every_template_renders_with_its_variables(fresh_hub):
    """Rows as payments and admin code will write them (payment-received, refund-issued,
    account-suspended) render into complete emails."""
    hub = fresh_hub({"EMAIL_POLL_INTERVAL_MS": "100"})
    member = register(hub)
    booking = book(member)
    confirm(admin(hub), booking["id"])
    base = json.loads(wait_until(lambda: outbox(hub, "booking-confirmation"))[0]["payload"])
    extras = {
        "payment-received": {"reference": "PSK_ref_123"},
        "refund-issued": {"refundAmount": "NGN 15,000.00"},
        "account-suspended": {"reason": "Policy violation"},
        "booking-cancelled": {"refundDue": True, "reason": "plans changed"},
    }
    now = Instant(time.time())
    for template, extra in extras.items():
        payload = dict(base, **extra)
        hub.execute("INSERT INTO outbox (kind, recipient, template, payload, status, attempts, next_attempt_at, created_at)"
                    " VALUES ('email', ?, ?, ?, 'pending', 0, ?, ?)",
                    (member.user["email"], template, json.dumps(payload), now, now))
    for template in extras:
        wait_until(lambda: eml_files(hub, template), message=f"{template} to be written")
    subjects = {}
    for template in extras:
        with open(eml_files(hub, template)[0], "rb") as f:
            message = parse_message(f.read())
        subjects[template] = message["Subject"]
        body = parts(message)
        for content in body.values():
            assert "{{" not in content
    assert subjects["payment-received"] == f"Payment Received - {booking['id']}"
    assert subjects["refund-issued"] == f"Refund Issued - {booking['id']}"
    with open(eml_files(hub, "payment-received")[0], "rb") as f:
        text = parts(parse_message(f.read()))["text/plain"]
    assert "NGN 30,000.00" in text and "PSK_ref_123" in text
    with open(eml_files(hub, "booking-cancelled")[0], "rb") as f:
        text = parts(parse_message(f.read()))["text/plain"]
    assert "a full refund is on its way" in text and "Reason: plans changed" in text


def test_reminder_is_sent_once_across_restarts_and_reschedules(fresh_hub):
    hub = fresh_hub({"REMINDER_LEAD_HOURS": "168", "REMINDER_SWEEP_SECONDS": "1", "EMAIL_POLL_INTERVAL_MS": "100"})
    member = register(hub)
    booking = book(member, date=next_weekday(2), start="10:00", end="11:00")
    staff = admin(hub)
    confirm(staff, booking["id"])

    def reminders():
        return [r for r in outbox(hub, "booking-reminder") if booking["id"] in (r["dedupe_key"] or "")]

    first = wait_until(lambda: [r for r in reminders() if r["status"] == "sent"], message="the reminder")[0]
    starts_at = db_rows(hub, "SELECT starts_at FROM bookings WHERE id = ?", (booking["id"],))[0]["starts_at"]
    assert first["dedupe_key"] == f"reminder:{booking['id']}:{starts_at}"
    message_path = wait_until(lambda: eml_files(hub, "booking-reminder"))[0]
    with open(message_path, "rb") as f:
        message = parse_message(f.read())
    assert message["Subject"].startswith("Reminder: Conference Room A on ")
    assert "10:00–11:00" in parts(message)["text/plain"]

    assert hub.stop() == 0
    hub.restart()
    time.sleep(3)  # several sweeps
    assert len(reminders()) == 1
    assert len(eml_files(hub, "booking-reminder")) == 1

    # Moved to another time: one reminder for the new time. Moved back: nothing new.
    r = member.put(f"/api/users/bookings/{booking['id']}", json={"startTime": "14:00", "endTime": "15:00"})
    assert r.status_code == 200, r.text
    wait_until(lambda: len(reminders()) == 2, message="a reminder for the new time")
    r = member.put(f"/api/users/bookings/{booking['id']}", json={"startTime": "10:00", "endTime": "11:00"})
    assert r.status_code == 200, r.text
    time.sleep(3)
    assert len(reminders()) == 2
    wait_until(lambda: all(r["status"] in ("sent", "skipped") for r in reminders()))
