"""Limits an operator relies on (issue 16, items 8–10): holds per member and booking creation rate,
one hub per database file, and a database only its owner can read."""
import datetime
import os
import stat
import subprocess
import time

import pytest
import requests

from conftest import BINARY, Hub, register
from e2e_support import ALL_WEEK, admin_of, merge, write_config


def room(hub):
    r = admin_of(hub).post("/api/event-spaces", json={"name": f"Hall {time.time_ns()}", "capacity": 40, "price": 5000,
                                                      "openingHours": ALL_WEEK, "maxDurationMinutes": 24 * 60})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def whole_day(member, space, day):
    """The whole of the `day`-th day from now (inside the booking horizon)."""
    date = (datetime.date.today() + datetime.timedelta(days=day + 2)).isoformat()
    return member.post("/api/bookings", json={"type": "event", "spaceId": space, "date": date,
                                              "startTime": "00:00", "endTime": "24:00"})


def test_one_member_holds_at_most_the_configured_number_of_unpaid_bookings():
    """44 whole-day holds of the hall in 0.04 s, renewable every 15 minutes, used to be possible."""
    hub = Hub(config=write_config({"bookings": {"holdsPerMemberMax": 3}})).start()
    try:
        hall = room(hub)
        member, other = register(hub), register(hub)
        held = [whole_day(member, hall, day) for day in (1, 2, 3)]
        assert [r.status_code for r in held] == [201, 201, 201]
        r = whole_day(member, hall, 4)
        assert r.status_code == 409, r.text
        error = r.json()["error"]
        assert (error["code"], error["holds"], error["holdsMax"]) == ("too_many_holds", 3, 3)
        # Someone else is not held back by it, and the refused day stays free.
        assert whole_day(other, hall, 4).status_code == 201
        # Cancelling one frees a place; so does paying for one (a paid booking is no hold).
        assert member.delete(f"/api/users/bookings/{held[0].json()['id']}").status_code == 200
        assert whole_day(member, hall, 5).status_code == 201
        assert whole_day(member, hall, 6).status_code == 409
        started = member.post("/api/payments/initialize", json={"bookingId": held[1].json()["id"], "amount": 120000,
                                                                "currency": "NGN", "paymentMethod": "card"})
        assert started.status_code == 200, started.text
        paid = requests.post(started.json()["authorizationUrl"] + "/pay", allow_redirects=False, timeout=10)
        assert paid.status_code == 303
        assert whole_day(member, hall, 6).status_code == 201
        # The count survives a restart (it is rebuilt from the bookings that hold time).
        hub.restart()
        assert whole_day(member, hall, 7).status_code == 409
    finally:
        hub.kill()


def test_booking_creation_is_rate_limited_per_member_and_per_address():
    hub = Hub(config=write_config(merge({"bookings": {"holdsPerMemberMax": 100}},
                                        {"bookings": {"rateLimits": {"createPerMinutePerUser": 4, "createPerMinutePerIp": 6}}}))).start()
    try:
        hall = room(hub)
        member = register(hub)
        codes = [whole_day(member, hall, day).status_code for day in range(1, 6)]
        assert codes == [201, 201, 201, 201, 429], codes
        r = whole_day(member, hall, 6)
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        assert int(r.headers["Retry-After"]) >= 1
        # Another member from the same address has two of the address's six left.
        other = register(hub)
        assert [whole_day(other, hall, day).status_code for day in (10, 11, 12)] == [201, 201, 429]
    finally:
        hub.kill()


@pytest.mark.sqlite_only
def test_a_second_hub_on_the_same_database_refuses_to_start():
    first = Hub().start()
    try:
        env = dict(os.environ, SPACEHUB_DB=first.db, PORT="0", HOST="127.0.0.1", LOG_LEVEL="warning")
        second = subprocess.run([BINARY, "serve"], cwd=first.dir, env=env, capture_output=True, text=True, timeout=30)
        assert second.returncode != 0
        said = second.stdout + second.stderr
        assert first.db in said and f"pid {first.proc.pid}" in said, said
        # Migrating or seeding it under the running hub is refused the same way; creating an admin is not.
        migrate = subprocess.run([BINARY, "migrate"], cwd=first.dir, env=env, capture_output=True, text=True, timeout=30)
        assert migrate.returncode != 0 and f"pid {first.proc.pid}" in migrate.stderr, migrate.stderr
        create = subprocess.run([BINARY, "admin", "create", "--email", "night@spacehub.local", "--name", "Night Desk",
                                 "--role", "admin"], cwd=first.dir, input="a-long-password-1\na-long-password-1\n",
                                env=dict(env, SPACEHUB_ADMIN_PASSWORD="a-long-password-1"), capture_output=True, text=True,
                                timeout=60)
        assert create.returncode == 0, create.stderr
        # The first hub is unharmed and still serving.
        assert requests.get(first.url + "/healthz", timeout=5).status_code == 200
    finally:
        first.kill()
    # Killed (no clean shutdown): the kernel released the lock, so the next hub starts.
    again = Hub(db_dir=first.dir)
    again.db = first.db
    again.start()
    again.kill()


@pytest.mark.sqlite_only
def test_the_database_and_its_wal_are_readable_by_their_owner_only():
    hub = Hub().start()
    try:
        register(hub)  # something written, so the WAL exists
        for suffix in ("", "-wal", "-shm", ".lock"):
            path = hub.db + suffix
            assert os.path.exists(path), path
            mode = stat.S_IMODE(os.stat(path).st_mode)
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    finally:
        hub.kill()
