"""What only PostgreSQL has: the database arbitrating bookings itself, the server going away under
load, and an operator copying a SQLite hub into PostgreSQL (`spacehub migrate --from --to`).

These run in the suite's `--store postgresql` pass, on the run's private cluster (conftest's
`PostgresCluster`, scripts/pg.sh). Everything else in the suite runs on both stores.
"""

import concurrent.futures
import os
import subprocess
import threading
import time
import uuid

import pytest
import requests

import conftest
from conftest import BINARY, Hub, Instant, admin, register
from e2e_support import ALL_WEEK, WS, PostgresProxy, coworking_body, event_body, open_room, unique_weekday, write_config

pytestmark = pytest.mark.postgresql_only


def test_the_database_refuses_an_overlap_the_hub_never_decided():
    """The hub decides first, the database is the last line of defence: a row written past the
    hub (plain SQL) that overlaps a held booking, buffer included, is refused by the exclusion
    constraint; a seat past a plan's capacity by the seat trigger."""
    hub = Hub().start()
    try:
        member = register(hub)
        day = unique_weekday()
        booked = member.post("/api/bookings", json=event_body("conference-room-a", day, "10:00", "11:00"))
        assert booked.status_code == 201, booked.text
        row = hub.rows("SELECT * FROM bookings WHERE id = ?", (booked.json()["id"],))[0]
        columns = ["id", "user_id", "booking_type", "space_id", "space_name", "starts_at", "ends_at", "time_zone",
                   "booking_date", "duration", "amount_minor", "currency", "status", "payment_status", "created_at",
                   "updated_at"]

        def insert(**changes):
            values = dict(row, id=str(uuid.uuid4()), **changes)
            params = [Instant(values[c]) if c.endswith("_at") else values[c] for c in columns]
            return hub.execute(f"INSERT INTO bookings ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", params)

        with pytest.raises(Exception, match="bookings_no_overlap"):
            insert(status="confirmed")
        with pytest.raises(Exception, match="bookings_no_overlap"):  # half an hour later: still inside
            insert(starts_at=row["starts_at"] + 1800, ends_at=row["ends_at"] + 1800)
        assert insert(status="cancelled") == 1, "a cancelled booking holds nothing"

        seats = 3
        plan = admin(hub).post("/api/coworking-plans", json={
            "name": "Three Seats", "price": 1000, "duration": "hour", "seats": seats, "minDurationMinutes": 60,
            "openingHours": ALL_WEEK})
        assert plan.status_code == 201, plan.text
        plan_id = plan.json()["id"]
        taken = []
        for _ in range(seats):
            r = register(hub).post("/api/bookings", json=coworking_body(plan_id, day, "09:00", "2 hours"))
            assert r.status_code == 201, r.text
            taken.append(r.json()["id"])
        row = hub.rows("SELECT * FROM bookings WHERE id = ?", (taken[0],))[0]
        with pytest.raises(Exception, match="no seat left"):
            insert(status="confirmed")
        with pytest.raises(Exception, match="no seat left"):  # an hour later: overlaps all three
            insert(status="confirmed", starts_at=row["starts_at"] + 3600, ends_at=row["ends_at"] + 3600)
        assert insert(starts_at=row["ends_at"], ends_at=row["ends_at"] + 3600) == 1, "after them: free"
        assert hub.rows("SELECT COUNT(*) AS n FROM bookings WHERE space_id = ? AND status <> 'cancelled'", (plan_id,)) \
            == [{"n": seats + 1}]
    finally:
        hub.kill()


@pytest.mark.timeout(240)
def test_postgresql_stopping_under_load_loses_no_acknowledged_booking():
    """`pg_ctl stop -m immediate` while members book: while it is down, writes answer 503 (never
    201), `/readyz` is 503 and availability is still answered from the index; once it is back
    the hub commits again without a restart. Every 201 is in the database, nothing overlaps, and
    the event log's `seq` has no gap and no reuse."""
    hub = Hub(config=write_config({"store": {"busyTimeoutMs": 1000, "connectTimeoutSeconds": 2}})).start()
    members = [register(hub) for _ in range(8)]
    room = open_room(hub, "Outage Room " + uuid.uuid4().hex[:6])
    day = unique_weekday()
    acknowledged, statuses = [], []
    lock = threading.Lock()
    stop = threading.Event()

    def book(index):
        slot = 0
        while not stop.is_set() and slot < 40:
            start = f"{slot // 2:02d}:{30 * (slot % 2):02d}"
            end_slot = slot + 1
            end = f"{end_slot // 2:02d}:{30 * (end_slot % 2):02d}" if end_slot < 48 else "23:59"
            slot += 1
            try:
                r = members[index].post("/api/bookings", json=event_body(room["id"], day, start, end))
            except requests.RequestException:
                continue
            with lock:
                statuses.append(r.status_code)
                if r.status_code == 201:
                    acknowledged.append(r.json()["id"])
            time.sleep(0.02)

    try:
        with concurrent.futures.ThreadPoolExecutor(len(members)) as pool:
            futures = [pool.submit(book, i) for i in range(len(members))]
            time.sleep(0.5)
            conftest.PG.crash()
            try:
                down = members[0].post("/api/bookings", json=event_body("conference-room-b", unique_weekday(), "09:00", "10:00"))
                assert down.status_code == 503 and down.json()["error"]["code"] == "store_unavailable", down.text
                assert requests.get(hub.url + "/readyz", timeout=10).status_code == 503
                # A read that needs the store fails fast too (the read threads cannot connect):
                # 503, not "your account is gone", and not a wait for the connect timeout each time.
                started = time.time()
                me = members[0].get("/api/auth/me")
                assert me.status_code == 503 and me.json()["error"]["code"] == "store_unavailable", me.text
                assert time.time() - started < 5, "a read waited on a server that is down"
                view = requests.get(hub.url + "/api/spaces/availability", timeout=10, params={
                    "type": "event", "spaceId": room["id"], "date": day, "startTime": "23:00", "endTime": "23:30"})
                assert view.status_code == 200, view.text
                time.sleep(1.0)
            finally:
                conftest.PG.start()
            deadline = time.time() + 30
            while requests.get(hub.url + "/readyz", timeout=10).status_code != 200:
                assert time.time() < deadline, "the hub did not become ready after PostgreSQL came back"
                time.sleep(0.2)
            stop.set()
            for future in futures:
                future.result()
        assert 503 in statuses, statuses
        after = members[0].post("/api/bookings", json=event_body("conference-room-b", unique_weekday(), "09:00", "10:00"))
        assert after.status_code == 201, after.text
        acknowledged.append(after.json()["id"])

        stored = {row["id"] for row in hub.rows("SELECT id FROM bookings")}
        missing = set(acknowledged) - stored
        assert not missing, f"acknowledged bookings lost: {missing}"
        rows = hub.rows("SELECT starts_at, ends_at FROM bookings WHERE space_id = ? AND status IN ('pending', 'confirmed') "
                        "ORDER BY starts_at", (room["id"],))
        for earlier, later in zip(rows, rows[1:]):
            assert earlier["ends_at"] <= later["starts_at"], (earlier, later)
        seqs = [row["seq"] for row in hub.rows("SELECT seq FROM event_log ORDER BY seq")]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a gap or a reused seq"
        assert hub.rows("SELECT seq FROM event_log_head") == [{"seq": seqs[-1]}]
    finally:
        stop.set()
        hub.kill()


def api_views(hub, member, boss):
    """What the API shows of a hub's data, for comparing one store with another."""
    return {
        "bookings": member.get("/api/users/bookings?limit=100").json(),
        "payments": boss.get("/api/admin/payments?limit=100").json(),
        "users": boss.get("/api/admin/users?limit=100").json(),
        "audit": boss.get("/api/admin/audit-logs?limit=100").json(),
        "spaces": requests.get(hub.url + "/api/event-spaces", timeout=10).json(),
        "plans": requests.get(hub.url + "/api/coworking-plans", timeout=10).json(),
    }


def test_migrate_copies_a_populated_sqlite_hub_into_postgresql():
    """An operator moving up: a SQLite hub with members, bookings, a paid and refunded booking, an
    admin's changes and an event history is stopped and copied into an empty PostgreSQL
    database. The hub started on PostgreSQL shows the same data through the API, keeps the event
    epoch (a client resumes without a resync) and numbers the next event after the last."""
    sqlite_hub = Hub(sqlite=True).start()
    member = register(sqlite_hub)
    boss = admin(sqlite_hub)
    day = unique_weekday()
    kept = member.post("/api/bookings", json=event_body("conference-room-a", day, "09:00", "10:00"))
    paid = member.post("/api/bookings", json=event_body("conference-room-a", day, "11:00", "12:00"))
    desk = member.post("/api/bookings", json=coworking_body("hot-desk", day, "09:00", "8 hours"))
    assert kept.status_code == paid.status_code == desk.status_code == 201, desk.text
    started = member.post("/api/payments/initialize", json={"bookingId": paid.json()["id"], "amount": paid.json()["amount"],
                                                            "currency": "NGN", "paymentMethod": "card"})
    assert started.status_code == 200, started.text
    settled = requests.post(f"{sqlite_hub.url}/pay/sandbox/{started.json()['reference']}/pay", allow_redirects=False, timeout=10)
    assert settled.status_code == 303, settled.text
    assert member.delete(f"/api/users/bookings/{paid.json()['id']}").status_code == 200, "cancelled a day ahead: refunded"
    assert boss.put("/api/admin/settings", json={"refundNoticeHours": 12}).status_code == 200
    socket = WS(sqlite_hub, token=member.token)
    epoch, seq = socket.welcome["payload"]["epoch"], socket.welcome["payload"]["seq"]
    socket.close()
    before = api_views(sqlite_hub, member, boss)
    sqlite_hub.stop()

    target = conftest.PG.database_for("migrate-target-" + uuid.uuid4().hex)
    copied = subprocess.run([BINARY, "migrate", "--from", f"sqlite:{sqlite_hub.db}", "--to", target],
                            capture_output=True, text=True, timeout=60)
    assert copied.returncode == 0, copied.stderr
    assert "bookings\t3" in copied.stdout and "spacehub:***@" in copied.stdout, copied.stdout
    again = subprocess.run([BINARY, "migrate", "--from", f"sqlite:{sqlite_hub.db}", "--to", target],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "already holds data" in again.stderr, "never copies into a populated database"

    pg_hub = Hub(env={"DATABASE_URL": target}).start()
    try:
        member.hub = boss.hub = pg_hub
        after = api_views(pg_hub, member, boss)
        for view in before:
            assert after[view] == before[view], view
        resumed = WS(pg_hub, token=member.token, query={"since": seq, "epoch": epoch})
        assert resumed.welcome["payload"]["epoch"] == epoch and resumed.welcome["payload"]["seq"] == seq
        fresh = member.post("/api/bookings", json=event_body("conference-room-b", day, "09:00", "10:00"))
        assert fresh.status_code == 201, fresh.text
        assert pg_hub.rows("SELECT MAX(seq) AS seq FROM event_log")[0]["seq"] > seq
        assert pg_hub.rows("SELECT COUNT(*) AS n FROM bookings") == [{"n": 4}]
        resumed.close()
    finally:
        pg_hub.kill()


def test_a_dump_restored_into_another_database_gets_a_new_epoch():
    """Restoring a dump (pg_dump, pg_restore into a new database) may rewind the history clients
    hold positions in: the hub notices the database is not the one its history was written in,
    makes a new epoch, and a client resuming by the old `(epoch, seq)` is told to resync instead of
    being fed another history. The data itself comes back whole."""
    import glob
    bin_dir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    hub = Hub().start()
    member = register(hub)
    booked = member.post("/api/bookings", json=event_body("conference-room-a", unique_weekday(), "09:00", "10:00"))
    assert booked.status_code == 201, booked.text
    socket = WS(hub, token=member.token)
    epoch, seq = socket.welcome["payload"]["epoch"], socket.welcome["payload"]["seq"]
    socket.close()
    hub.stop()

    target = conftest.PG.database_for("restore-" + uuid.uuid4().hex)
    dump = subprocess.run([f"{bin_dir}/pg_dump", "-Fc", hub.database_url], capture_output=True, timeout=60, check=True)
    restored = subprocess.run([f"{bin_dir}/pg_restore", "--no-owner", "-d", target], input=dump.stdout, capture_output=True,
                              timeout=60)
    assert restored.returncode == 0, restored.stderr.decode()

    again = Hub(env={"DATABASE_URL": target}).start()
    try:
        member.hub = again
        assert member.get(f"/api/users/bookings/{booked.json()['id']}").status_code == 200
        resumed = WS(again, token=member.token, query={"since": seq, "epoch": epoch})
        assert resumed.welcome["payload"]["epoch"] != epoch
        resumed.wait_type("resync_required")
        resumed.close()
    finally:
        again.kill()


def test_an_ambiguous_commit_is_never_a_201_nor_lost():
    """The connection breaks after COMMIT was sent: the hub cannot know the outcome, so it answers
    503, never 201. The booking did commit: the client's retry with the same `Idempotency-Key`
    gets it back (once, with its id), and the hub adopts it into its index, so the slot is
    no longer offered to anyone else."""
    cutter = PostgresProxy(conftest.PG.port)
    direct = Hub()
    proxied = direct.database_url.replace(f":{conftest.PG.port}/", f":{cutter.port}/")
    hub = Hub(env={"DATABASE_URL": proxied}, db_dir=direct.dir).start()
    try:
        member, rival = register(hub), register(hub)
        day = unique_weekday()
        body = event_body("conference-room-b", day, "13:00", "14:00")
        key = "ambiguous-" + uuid.uuid4().hex
        watcher = WS(hub)
        cutter.armed.set()
        first = member.post("/api/bookings", json=body, headers={"Idempotency-Key": key})
        assert cutter.commit_cut.is_set(), "the proxy saw no COMMIT to cut"
        assert first.status_code == 503 and first.json()["error"]["code"] == "store_unavailable", first.text
        committed = direct.rows("SELECT id, status FROM bookings WHERE user_id = ?", (member.user["id"],))
        assert len(committed) == 1, "the COMMIT took effect although the hub was not told"

        retry = member.post("/api/bookings", json=body, headers={"Idempotency-Key": key})
        assert retry.status_code == 201 and retry.json()["id"] == committed[0]["id"], retry.text
        deadline = time.time() + 15
        while True:
            view = requests.get(hub.url + "/api/spaces/availability", timeout=10, params={
                "type": "event", "spaceId": "conference-room-b", "date": day, "startTime": "13:00", "endTime": "14:00"})
            if view.json()["available"] is False:
                break
            assert time.time() < deadline, "the committed booking was never adopted into the index"
            time.sleep(0.2)
        taken = rival.post("/api/bookings", json=body)
        assert taken.status_code == 409, taken.text
        # Its events were committed but never published as the commit's answer was lost: the
        # hub reads them back from the log (EventFollower.readAll) and its subscribers get them.
        changed = watcher.wait_for(lambda m: m.get("type") == "space_availability_changed"
                                   and m["payload"].get("spaceId") == "conference-room-b" and m["payload"].get("date") == day)
        assert changed["seq"] == direct.rows("SELECT MIN(seq) AS seq FROM event_log WHERE type = 'space_availability_changed' "
                                             "AND payload LIKE ?", (f'%{day}%',))[0]["seq"]
        watcher.close()
        assert len(direct.rows("SELECT id FROM bookings WHERE space_id = 'conference-room-b' AND booking_date = ?", (day,))) == 1
    finally:
        hub.kill()
        cutter.close()


def test_a_frozen_postgresql_never_holds_the_loop():
    """PostgreSQL stops answering without closing anything (a frozen server, a network that drops
    everything): the server's own timeouts cannot fire, and TCP would wait many seconds. Reads
    run on the threadpool and give up after `store.readTimeoutMs`, so the hub keeps answering
    everything else meanwhile, a read that needed the store answers 503 (not "your account is
    gone") within that bound, and once the server answers again the hub reads again without a
    restart."""
    cutter = PostgresProxy(conftest.PG.port)
    direct = Hub()
    proxied = direct.database_url.replace(f":{conftest.PG.port}/", f":{cutter.port}/")
    hub = Hub(env={"DATABASE_URL": proxied}, db_dir=direct.dir,
              config=write_config({"store": {"readTimeoutMs": 300, "connectTimeoutSeconds": 2}})).start()
    try:
        member = register(hub)
        assert member.get("/api/auth/me").status_code == 200
        reads, stop = [], threading.Event()

        def keep_reading():
            while not stop.is_set():
                started = time.time()
                r = member.get("/api/auth/me")
                reads.append((r.status_code, time.time() - started))

        cutter.frozen.set()
        reader = threading.Thread(target=keep_reading)
        reader.start()
        worst = 0.0
        deadline = time.time() + 3
        while time.time() < deadline:
            started = time.time()
            assert requests.get(hub.url + "/healthz", timeout=10).status_code == 200
            worst = max(worst, time.time() - started)
            time.sleep(0.05)
        stop.set()
        reader.join()
        cutter.frozen.clear()
        assert reads and all(status == 503 for status, _ in reads), reads
        assert max(elapsed for _, elapsed in reads) < 1.5, reads
        assert worst < 0.5, f"the loop was held {worst:.2f} s while the store was frozen"
        deadline = time.time() + 15
        while member.get("/api/auth/me").status_code != 200:
            assert time.time() < deadline, "the hub did not read again once PostgreSQL answered"
            time.sleep(0.2)
    finally:
        cutter.frozen.clear()
        hub.kill()
        cutter.close()
