"""Schemathesis against a live hub: every operation of /openapi.json gets generated requests, valid
and invalid, plus stateful sequences along the document's links (book → pay → verify → refund).
Required: no server error (5xx) and no response the document does not allow (status, content type,
headers, body schema), with a member's and an admin's token. docs/CONTRACT.md records the command,
what is excluded and why, and the number of cases.

Two passes on one hub: the operations that change the building's rules (settings, spaces, member
status, calendar connections) run last, or the fuzzer would set `bookingHorizonDays` to 1, close
the spaces and suspend the member, and every later booking would be refused before it reached the
code under test.
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import requests

from conftest import Hub, admin, register
from e2e_support import write_config
from fake_paystack import FakePaystack
from notify_fakes import CalendarFake

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, "schemathesis.toml")
ST = os.path.join(os.path.dirname(sys.executable), "st")
LATE = ["updateSettings", "deleteCoworkingPlan", "deleteEventSpace", "updateCoworkingPlan", "updateEventSpace",
        "updateMemberStatus", "disconnectCalendar"]
# Each pass may take this long; the whole stage is meant to stay under three minutes.
PASS_TIMEOUT_SECONDS = 300


def booking_dates(today=None):
    """Five weekdays from three days ahead: inside every demo space's opening hours and horizon."""
    day = (today or datetime.date.today()) + datetime.timedelta(days=3)
    dates = []
    while len(dates) < 5:
        if day.weekday() < 5:
            dates.append(day.isoformat())
        day += datetime.timedelta(days=1)
    return dates


@pytest.fixture(scope="module")
def contract_hub():
    """A hub with every outside service it talks to: fake Paystack (so the webhook checks
    signatures and the paystack gateway can be chosen) and fake Google and Outlook calendars
    (the member has Google connected)."""
    paystack = FakePaystack()
    google = CalendarFake("google").start()
    outlook = CalendarFake("outlook").start()
    env = {"PAYSTACK_SECRET_KEY": paystack.secret, "PAYSTACK_BASE_URL": paystack.url,
           "CALENDAR_TOKEN_KEY": "00" * 32}
    env.update(google.env())
    env.update(outlook.env())
    config = write_config({
        "conformance": {"echo": True},  # every documented route exists
        "events": {"longPollSeconds": 1},  # a long-poll with nothing new answers within a second
        "auth": {"accessTokenTtl": "1h"},
        # Thousands of writes from one address: the production limits would answer most with 429
        # (documented, but then the handlers behind them go untested).
        "server": {"rateLimits": {"writesPerMinutePerIp": 1000000, "writesPerMinutePerUser": 1000000}},
        "websocket": {"rateLimits": {"connectsPerMinutePerIp": 1000000}},
    })
    hub = Hub(env=env, config=config).start()
    try:
        yield hub
    finally:
        hub.kill()
        paystack.close()
        google.stop()
        outlook.stop()


def run_pass(hub, workdir, env, name, args):
    """Runs one pass; returns the process result and the operations it tested (from its JUnit report)."""
    report = os.path.join(workdir, f"{name}.xml")
    # The document as the hub served it (test below), read from a file: loaded from its URL,
    # schemathesis leaves GET /openapi.json itself out of a full run.
    command = [ST, "--config-file", os.path.join(workdir, "schemathesis.toml"), "run",
               os.path.join(workdir, "openapi.json"), "--url", hub.url, "--no-color",
               "--report", "junit", "--report-junit-path", report] + args
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=PASS_TIMEOUT_SECONDS)
    # On failure pytest shows this: the failures with their curl reproductions, then the summary.
    print("$", " ".join(command[:6]), " ".join(args))
    output = result.stdout
    failures = output.find("= FAILURES =")
    print(output[failures - 40 if failures >= 0 else output.find("= SUMMARY =") - 40:][-20000:])
    with open(report, encoding="utf-8") as handle:
        tested = set(re.findall(r'<testcase[^>]* name="([^"]+)"', handle.read()))
    return result, tested


def generated(output):
    match = re.search(r"(\d+) generated", output)
    return int(match.group(1)) if match else 0


def documented():
    with open(os.path.join(HERE, "..", "..", "Sources", "HubServer", "Web", "Files", "openapi.json")) as handle:
        return json.load(handle)


def documented_operations():
    return {f"{method.upper()} {path}": operation["operationId"]
            for path, item in documented()["paths"].items() for method, operation in item.items()}


def test_schemathesis_finds_no_server_error_and_no_contract_violation(contract_hub, tmp_path):
    hub = contract_hub
    member = register(hub)
    connected = member.post("/api/calendar/connect", json={"provider": "google", "authCode": "good-code"})
    assert connected.status_code == 201, connected.text
    throwaway = register(hub)
    staff = admin(hub)

    workdir = str(tmp_path)
    served = requests.get(hub.url + "/openapi.json", timeout=30)
    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    assert served.headers["etag"] and served.json() == documented()
    with open(os.path.join(workdir, "openapi.json"), "wb") as handle:
        handle.write(served.content)
    shutil.copy(CONFIG, os.path.join(workdir, "schemathesis.toml"))
    with open(os.path.join(workdir, "dates.dict"), "w") as handle:
        handle.writelines(f'"{day}"\n' for day in booking_dates())
    env = dict(os.environ, MEMBER_TOKEN=member.token, ADMIN_TOKEN=staff.token, THROWAWAY_TOKEN=throwaway.token)

    late = "^(" + "|".join(LATE) + ")$"
    first, tested_first = run_pass(hub, workdir, env, "first", ["--exclude-operation-id-regex", late])
    # No links run between the late operations: the stateful phase would only repeat the fuzzing.
    second, tested_second = run_pass(hub, workdir, env, "second", ["--include-operation-id-regex", late,
                                                                   "--phases", "examples,coverage,fuzzing"])

    assert hub.proc.poll() is None, "the hub exited during the run:\n" + "".join(hub.output[-40:])
    assert first.returncode == 0, "schemathesis (first pass) found failures; see the output above"
    assert second.returncode == 0, "schemathesis (second pass) found failures; see the output above"
    # Every operation but the SSE stream was tested, the late ones in the second pass only: a filter
    # or config mistake cannot pass quietly.
    operations = documented_operations()
    untested = {label for label, operation_id in operations.items() if operation_id == "eventStream"}
    tested = tested_first | tested_second
    expected = set(operations) - untested
    assert tested >= expected, f"not tested: {sorted(expected - tested)}"
    assert {operations[label] for label in tested_second} == set(LATE)
    cases = generated(first.stdout) + generated(second.stdout)
    assert cases > 3000
    print(f"schemathesis: {cases} cases over {len(operations) - len(untested)} operations, 0 failures")


def test_the_booking_dates_are_weekdays_ahead():
    dates = booking_dates(datetime.date(2026, 12, 4))  # a Friday
    assert dates == ["2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10", "2026-12-11"]
