"""The pages the hub serves, in a real browser (issue 11): the live dashboard at `/`, the room
kiosk at `/kiosk/:spaceId` and the JavaScript client they share, driven by headless Chromium from
Debian's packages through Selenium. The hub, its WebSocket, SQLite and the sandbox checkout are
all real; only time is not ours to move, so the kiosk test waits for a booking's first minute.

Screenshots of both pages go to $SPACEHUB_SCREENSHOTS when it is set (docs/dashboard.png and
docs/kiosk.png come from there), else to a temporary directory.
"""
import datetime
import http.server
import os
import shutil
import tempfile
import threading
import time

import pytest
import requests

from conftest import register
from e2e_support import ALL_WEEK, admin_of, open_room, start_hub, unique_weekday

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")

try:
    from zoneinfo import ZoneInfo
    LAGOS = ZoneInfo("Africa/Lagos")
except Exception:  # no tz database: Lagos has been UTC+1 without daylight saving since 1919
    LAGOS = datetime.timezone(datetime.timedelta(hours=1))

# How long a test waits for a page to show what it must. Generous on purpose: these tests check
# what the pages show, not how fast (BENCHMARKS.md measures latency); a working page shows it in a
# moment, a broken one never, and a loaded CI machine should not turn the one into the other.
SHOWN_WITHIN = 30

# MARK: Fixtures


@pytest.fixture(scope="module")
def chromium():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("SPACEHUB_SKIP_BROWSER") == "1":
            pytest.skip("no Chromium; SPACEHUB_SKIP_BROWSER=1")
        pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are needed: run scripts/setup.sh (Debian's chromium, chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--window-size=1440,900", "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium):
    """The shared browser, on a blank page with an empty console before and after each test (a
    page left open would keep reconnecting to a hub the test has stopped)."""
    chromium.get("about:blank")
    chromium.get_log("browser")
    yield chromium
    for handle in chromium.window_handles[1:]:
        chromium.switch_to.window(handle)
        chromium.close()
    chromium.switch_to.window(chromium.window_handles[0])
    chromium.get("about:blank")
    chromium.get_log("browser")


@pytest.fixture(scope="module")
def hub():
    h = start_hub()
    yield h
    h.kill()


@pytest.fixture(scope="module")
def screenshots():
    wanted = os.environ.get("SPACEHUB_SCREENSHOTS")
    directory = wanted or tempfile.mkdtemp(prefix="spacehub-screens-")
    os.makedirs(directory, exist_ok=True)
    yield directory
    if not wanted:
        shutil.rmtree(directory, ignore_errors=True)


def viewport(driver, width, height):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


# MARK: Helpers


def wait_until(condition, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
            if last:
                return last
        except Exception as error:  # an element replaced while we read it: try again
            last = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def js(driver, script, *args):
    return driver.execute_script(script, *args)


NETWORK_FAILURES = ("WebSocket connection to", "net::ERR_CONNECTION_REFUSED", "net::ERR_EMPTY_RESPONSE",
                    "net::ERR_CONNECTION_RESET", "Failed to load resource")


def no_page_errors(driver, network_failures_expected=False):
    """Script errors and CSP violations show up as SEVERE console entries. A test that takes the
    hub away expects the browser to report the connections it refused."""
    severe = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    if network_failures_expected:
        severe = [m for m in severe if not any(f in m for f in NETWORK_FAILURES)]
    assert severe == [], severe


def grid_hours(hub, date):
    """"HH-HH": the whole hours from the earliest opening to the latest closing of any space on
    `date`, by the REST grid, as the dashboard should draw them."""
    grid = requests.get(hub.url + "/api/spaces/availability/grid", params={"date": date}, timeout=10).json()

    def minutes_on(iso):
        day = iso[:10]
        return 0 if day < date else 1440 if day > date else int(iso[11:13]) * 60 + int(iso[14:16])
    first, last = 24, 0
    for space in grid["spaces"]:
        for r in space["days"][0]["open"]:
            start, end = minutes_on(r["start"]), minutes_on(r["end"])
            if end > start:
                first, last = min(first, start // 60), max(last, -(-end // 60))
    return f"{first:02}-{last:02}" if first < last else "06-24"


def book(member, space_id, start, minutes=30, type_="event"):
    r = member.post("/api/bookings", json={
        "type": type_, "spaceId": space_id, "date": start.date().isoformat(), "startTime": start.strftime("%H:%M"),
        "duration": f"{minutes} minutes"})
    assert r.status_code == 201, r.text
    return r.json()


def next_minute(margin_seconds=5):
    """The next local minute boundary at least `margin_seconds` away: bookings cannot start in the
    past, and whole minutes are the finest start the API takes."""
    now = datetime.datetime.now(LAGOS)
    start = (now + datetime.timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (start - now).total_seconds() < margin_seconds:
        start += datetime.timedelta(minutes=1)
    return start


def kiosk_status(driver):
    return js(driver, "return [document.getElementById('status').textContent, document.body.dataset.status]")[0]


def kiosk_next(driver):
    return js(driver, "return document.getElementById('next').dataset.start")


def kiosk_conn(driver):
    return js(driver, "return document.body.dataset.conn")


# MARK: Serving


def test_pages_and_client_are_served_with_validators_and_a_strict_policy(hub):
    for path, kind in [("/", "text/html"), ("/client/spacehub.js", "text/javascript"),
                       ("/client/spacehub.mjs", "text/javascript"), ("/assets/app.css", "text/css"),
                       ("/assets/dashboard.js", "text/javascript"), ("/assets/kiosk.js", "text/javascript"),
                       ("/assets/kiosk.css", "text/css"), ("/kiosk/conference-room-a", "text/html")]:
        r = requests.get(hub.url + path, timeout=10)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith(kind), path
        policy = r.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert r.headers["x-content-type-options"] == "nosniff"
        etag = r.headers["etag"]
        again = requests.get(hub.url + path, headers={"If-None-Match": etag}, timeout=10)
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag, path
        assert "content-length" not in again.headers, path  # RFC 9110 §8.6: not the 200's length, so none
    page = requests.get(hub.url + "/", timeout=10).text
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    script = next(part.split('"')[0] for part in page.split('src="')[1:] if part.startswith("/client/spacehub.js"))
    versioned = requests.get(hub.url + script, timeout=10)
    assert "immutable" in versioned.headers["cache-control"]
    assert requests.get(hub.url + "/kiosk/no-such-room", timeout=10).status_code == 404


def test_snapshot_endpoint_and_admin_lookup_follow_channel_rules(hub):
    head = requests.get(hub.url + "/api/events/snapshot", timeout=10).json()
    assert set(head) >= {"seq", "epoch"}
    snap = requests.get(hub.url + "/api/events/snapshot", params={"channel": "availability:conference-room-a"}, timeout=10).json()
    assert snap["channel"] == "availability:conference-room-a" and snap["payload"]["space"]["id"] == "conference-room-a"
    member = register(hub)
    r = requests.get(hub.url + "/api/events/snapshot", params={"channel": "admin"}, timeout=10)
    assert r.status_code == 403
    r = requests.get(hub.url + "/api/events/snapshot", params={"channel": "bookings:" + member.user["id"]}, timeout=10)
    assert r.status_code == 403
    r = member.get("/api/events/snapshot", params={"channel": "bookings:" + member.user["id"]})
    assert r.status_code == 200 and r.json()["payload"] == {"bookings": []}
    date = unique_weekday()
    assert requests.get(hub.url + "/api/admin/dashboard/bookings", params={"date": date}, timeout=10).status_code == 401
    assert member.get("/api/admin/dashboard/bookings", params={"date": date}).status_code == 403
    booking = member.post("/api/bookings", json={"type": "event", "spaceId": "training-room", "date": date,
                                                 "startTime": "09:00", "endTime": "10:00"}).json()
    found = admin_of(hub).get("/api/admin/dashboard/bookings", params={"date": date, "spaceId": "training-room"}).json()
    assert [b["id"] for b in found["bookings"]] == [booking["id"]]
    assert found["bookings"][0]["member"]["email"] == member.user["email"]


# MARK: Dashboard


def test_dashboard_shows_a_booking_made_over_rest_and_its_payment(hub, browser, screenshots):
    viewport(browser, 1440, 900)
    date = unique_weekday()
    browser.get(f"{hub.url}/?date={date}")
    wait_until(lambda: js(browser, "const g = document.getElementById('grid'); return g.dataset.ready === 'true' && g.dataset.date")
               == date, SHOWN_WITHIN, "the grid for " + date)
    wait_until(lambda: js(browser, "return document.getElementById('conn').dataset.state") == "live", SHOWN_WITHIN, "a live connection")
    assert js(browser, "return document.querySelectorAll('.grid-row').length") >= 7
    # The columns run from the day's earliest opening to its latest closing.
    assert js(browser, "return document.getElementById('grid').dataset.hours") == grid_hours(hub, date)

    member = register(hub)
    booking = book(member, "conference-room-b", datetime.datetime.fromisoformat(f"{date}T10:00"), minutes=90)
    selector = f'.block[data-space="conference-room-b"][data-start="{booking["startsAt"]}"][data-status="held"]'
    wait_until(lambda: browser.find_elements("css selector", selector), SHOWN_WITHIN, "the held block on the dashboard")
    assert "Last update" in browser.find_element("id", "last-update").text

    # Paid, the block turns from held to booked.
    started = member.post("/api/payments/initialize", json={"bookingId": booking["id"], "amount": booking["amount"],
                                                             "currency": "NGN", "paymentMethod": "card"}).json()
    assert requests.post(started["authorizationUrl"] + "/pay", allow_redirects=False, timeout=10).status_code == 303
    booked = selector.replace('[data-status="held"]', '[data-status="booked"]')
    wait_until(lambda: browser.find_elements("css selector", booked), SHOWN_WITHIN, "the booked block")

    # The day picker moves to another day and back without reloading.
    browser.find_element("id", "next-day").click()
    wait_until(lambda: js(browser, "return document.getElementById('grid').dataset.date") != date, SHOWN_WITHIN, "the next day")
    assert not browser.find_elements("css selector", booked)
    browser.find_element("id", "prev-day").click()
    wait_until(lambda: browser.find_elements("css selector", booked), SHOWN_WITHIN, "the booked block again")
    no_page_errors(browser)


def test_dashboard_shows_last_nights_booking_on_the_morning_it_runs_into(hub, browser):
    """A booking from 23:00 to 01:00 is on two days' grids: the dashboard showing the second day
    draws it (and clears it when cancelled) from the event for that day."""
    viewport(browser, 1440, 900)
    room = open_room(hub, "Midnight Studio")
    date = unique_weekday()
    evening = datetime.date.fromisoformat(date) - datetime.timedelta(days=1)
    browser.get(f"{hub.url}/?date={date}")
    wait_until(lambda: js(browser, "const g = document.getElementById('grid'); return g.dataset.ready === 'true' && g.dataset.date")
               == date, SHOWN_WITHIN, "the grid for " + date)
    wait_until(lambda: js(browser, "return document.getElementById('conn').dataset.state") == "live", SHOWN_WITHIN, "a live connection")
    blocks = f'.block[data-space="{room["id"]}"]'
    assert not browser.find_elements("css selector", blocks)

    member = register(hub)
    booking = book(member, room["id"], datetime.datetime.fromisoformat(f"{evening}T23:00"), minutes=120)
    assert booking["endsAt"] == f"{date}T01:00:00+01:00"
    wait_until(lambda: browser.find_elements("css selector", blocks), SHOWN_WITHIN, "last night's booking on this morning's row")
    assert member.put(f"/api/bookings/{booking['id']}/cancel", json={}).status_code == 200
    wait_until(lambda: not browser.find_elements("css selector", blocks), SHOWN_WITHIN, "the block gone once cancelled")
    no_page_errors(browser)


def test_dashboard_shows_the_booking_behind_a_block_to_an_admin(hub, browser, screenshots):
    viewport(browser, 1440, 900)
    date = unique_weekday()
    member = register(hub, first="Ngozi", last="Eze")
    booking = book(member, "conference-room-a", datetime.datetime.fromisoformat(f"{date}T14:00"), minutes=60)
    browser.get(f"{hub.url}/?date={date}")
    selector = f'.block[data-space="conference-room-a"][data-start="{booking["startsAt"]}"]'
    block = wait_until(lambda: browser.find_elements("css selector", selector), SHOWN_WITHIN, "the block")[0]

    # Anonymous: the block says what it is, not who booked it.
    block.click()
    wait_until(lambda: "Sign in as an admin" in browser.find_element("id", "detail").text, SHOWN_WITHIN, "the anonymous detail")
    assert member.user["email"] not in browser.find_element("id", "detail").text

    browser.find_element("id", "sign-in-toggle").click()
    browser.find_element("id", "sign-in-email").send_keys(hub.admin_email)
    browser.find_element("id", "sign-in-password").send_keys(hub.admin_password)
    browser.find_element("css selector", "#sign-in button[type=submit]").click()
    wait_until(lambda: browser.find_element("id", "sign-out").is_displayed(), SHOWN_WITHIN, "signed in")
    assert js(browser, "return sessionStorage.getItem('spacehub.adminToken')")

    browser.find_element("css selector", selector).click()
    wait_until(lambda: browser.find_element("id", "detail-id").text == booking["id"], SHOWN_WITHIN, "the booking detail")
    assert member.user["email"] in browser.find_element("id", "detail-member").text
    assert browser.find_element("id", "detail-status").text.lower() == "pending"

    # Signed in, the dashboard also follows the admin channel: the open detail updates live.
    r = member.put(f"/api/bookings/{booking['id']}/cancel", json={"reason": "plans changed"})
    assert r.status_code == 200, r.text
    wait_until(lambda: browser.find_element("id", "detail-status").text.lower() == "cancelled", SHOWN_WITHIN, "the detail to update")
    wait_until(lambda: not browser.find_elements("css selector", selector), SHOWN_WITHIN, "the block to go")

    # A reload keeps the session (sessionStorage); signing out forgets it.
    browser.refresh()
    wait_until(lambda: browser.find_element("id", "sign-out").is_displayed(), SHOWN_WITHIN, "still signed in")
    browser.find_element("id", "sign-out").click()
    assert js(browser, "return sessionStorage.getItem('spacehub.adminToken')") is None
    no_page_errors(browser)


# MARK: Client library


def test_client_resumes_what_it_missed_exactly_once_and_in_order(hub, browser):
    """The client in a page of its own: two channels that both carry each availability event,
    a dropped connection, bookings made while it is down. After the reconnect every missed event
    arrives once (not once per channel), in seq order, also as the seed's window CustomEvent."""
    browser.get(hub.url + "/kiosk/conference-room-a")  # any page that loads /client/spacehub.js
    js(browser, """
        window.__seen = []; window.__window = []; window.__opens = [];
        window.__hub = new SpaceHub({ client: 'test' });
        __hub.subscribe('availability:conference-room-a', { snapshot: true });
        __hub.on('space_availability_changed', (m) => __seen.push([m.seq, m.channel, m.payload.spaceId]));
        __hub.on('open', (info) => __opens.push(info));
        window.addEventListener('space_availability_changed', (e) => __window.push(e.detail.spaceId));
    """)
    wait_until(lambda: js(browser, "return __hub.state") == "open", SHOWN_WITHIN, "open")
    assert js(browser, "return Object.keys(__hub.channels()).sort()") == ["availability", "availability:conference-room-a"]
    member = register(hub)
    date = unique_weekday()
    book(member, "conference-room-a", datetime.datetime.fromisoformat(f"{date}T08:00"), 60)
    wait_until(lambda: len(js(browser, "return __seen")) == 1, SHOWN_WITHIN, "the first event")

    # Drop the connection and keep the client away for a while; book twice meanwhile.
    js(browser, "__hub.options.backoff.initialMs = 4000; __hub._ws.close(4000, 'test drop');")
    wait_until(lambda: js(browser, "return __hub.state") != "open", SHOWN_WITHIN, "disconnected")
    book(member, "conference-room-a", datetime.datetime.fromisoformat(f"{date}T10:00"), 60)
    book(member, "training-room", datetime.datetime.fromisoformat(f"{date}T10:00"), 60)
    assert len(js(browser, "return __seen")) == 1
    wait_until(lambda: len(js(browser, "return __opens")) == 2, SHOWN_WITHIN, "the reconnect")
    assert js(browser, "return __opens[1].resumed") is True
    wait_until(lambda: len(js(browser, "return __seen")) == 3, SHOWN_WITHIN, "the missed events")
    time.sleep(0.5)  # nothing else may follow: no duplicates from the second channel
    seen = js(browser, "return __seen")
    assert len(seen) == 3 and [e[0] for e in seen] == sorted({e[0] for e in seen}), seen
    assert [e[2] for e in seen] == ["conference-room-a", "conference-room-a", "training-room"]
    assert js(browser, "return __window") == ["conference-room-a", "conference-room-a", "training-room"]
    js(browser, "__hub.close()")
    no_page_errors(browser)


def test_client_takes_a_new_snapshot_when_the_history_no_longer_reaches_back(browser):
    """More events while it is away than the hub keeps (`events.historyCount`): the resume is
    answered with resync_required, and the client re-subscribes for a fresh snapshot by itself."""
    h = start_hub({"events": {"historyCount": 100}})
    try:
        day, other_day = unique_weekday(), unique_weekday()
        browser.get(h.url + "/kiosk/conference-room-a")
        js(browser, """
            window.__snapshots = []; window.__resyncs = [];
            window.__hub = new SpaceHub({ client: 'test' });
            __hub.subscribe('availability', { snapshot: true, date: arguments[0] });
            __hub.on('snapshot', (m) => __snapshots.push(m.payload.spaces.find((s) => s.spaceId === 'hot-desk').days[0].bookings));
            __hub.on('resync', (r) => __resyncs.push(r));
        """, day)
        wait_until(lambda: js(browser, "return __snapshots") == [0], SHOWN_WITHIN, "the first snapshot")
        js(browser, "__hub.options.backoff.initialMs = 8000; __hub._ws.close(4000, 'test drop');")
        member = register(h)
        for i in range(60):  # two events each: booking_updated and space_availability_changed
            book(member, "hot-desk", datetime.datetime.fromisoformat(f"{day if i < 30 else other_day}T09:00"), 60,
                 type_="coworking")
        wait_until(lambda: js(browser, "return __resyncs.length") == 1, SHOWN_WITHIN, "resync")
        wait_until(lambda: js(browser, "return __snapshots") == [0, 30], SHOWN_WITHIN, "a fresh snapshot")
        assert js(browser, "return __resyncs[0].channels").count("availability") == 1
        js(browser, "__hub.close()")
        no_page_errors(browser)
    finally:
        h.kill()


# MARK: Kiosk


@pytest.mark.timeout(300)  # waits for the next whole minutes on the real clock
def test_kiosk_flips_free_held_busy_free_as_a_booking_is_made_paid_and_cancelled(hub, browser, screenshots):
    viewport(browser, 1280, 800)
    room = open_room(hub, "Huddle Room")
    browser.get(f"{hub.url}/kiosk/{room['id']}")
    wait_until(lambda: kiosk_status(browser) == "FREE", SHOWN_WITHIN, "FREE")
    wait_until(lambda: kiosk_conn(browser) == "live", SHOWN_WITHIN, "a live connection")
    assert browser.find_element("id", "room-name").text == "Huddle Room"

    # Made: a hold from the next minute. Until it starts the room is free and the hold is next.
    member = register(hub)
    start = next_minute()
    booking = book(member, room["id"], start)
    wait_until(lambda: kiosk_next(browser) == booking["startsAt"], SHOWN_WITHIN, "the hold as next booking")
    later = book(register(hub, first="Tunde", last="Bello"), room["id"], start + datetime.timedelta(minutes=75), minutes=60)
    assert kiosk_status(browser) == "FREE"
    while datetime.datetime.now(LAGOS) < start - datetime.timedelta(seconds=1):
        assert kiosk_status(browser) == "FREE"
        time.sleep(0.2)
    # Its first second turns the panel HELD, from the kiosk's own clock and the state it holds.
    wait_until(lambda: kiosk_status(browser) == "HELD", SHOWN_WITHIN, "HELD once the hold begins")
    assert datetime.datetime.now(LAGOS) >= start - datetime.timedelta(seconds=1)
    assert browser.find_element("id", "until").text.endswith((start + datetime.timedelta(minutes=30)).strftime("%H:%M"))

    # Paid in the sandbox checkout, in the same browser: BUSY.
    started = member.post("/api/payments/initialize", json={"bookingId": booking["id"], "amount": booking["amount"],
                                                             "currency": "NGN", "paymentMethod": "card"}).json()
    kiosk_tab = browser.current_window_handle
    browser.switch_to.new_window("tab")
    browser.get(started["authorizationUrl"])
    assert browser.find_element("id", "amount").text
    browser.find_element("id", "pay").click()
    wait_until(lambda: "booking confirmed" in browser.find_element("id", "result").text, SHOWN_WITHIN, "the payment result")
    no_page_errors(browser)
    browser.close()
    browser.switch_to.window(kiosk_tab)
    wait_until(lambda: kiosk_status(browser) == "BUSY", SHOWN_WITHIN, "BUSY once paid")
    assert "ends in" in browser.find_element("id", "countdown").text
    assert kiosk_next(browser) == later["startsAt"]
    time.sleep(1.2)  # the colour fades in over half a second
    browser.save_screenshot(os.path.join(screenshots, "kiosk.png"))

    # Cancelled: FREE again.
    r = member.put(f"/api/bookings/{booking['id']}/cancel", json={})
    assert r.status_code == 200, r.text
    wait_until(lambda: kiosk_status(browser) == "FREE", SHOWN_WITHIN, "FREE once cancelled")
    no_page_errors(browser)


def test_kiosk_clears_a_cancelled_booking_that_crosses_midnight(hub, browser):
    """Whatever the hour of the run: a room in the zone where it is now between 22:30 and 23:30,
    and a booking from the next minute into tomorrow. The kiosk holds today's and tomorrow's views;
    a cancel has to clear both (it once cleared only the first, and the panel kept the booking)."""
    viewport(browser, 1280, 800)
    utc = datetime.datetime.now(datetime.timezone.utc)
    hours = ((23 if utc.minute < 30 else 22) - utc.hour) % 24
    hours = hours - 24 if hours > 14 else hours
    zone = datetime.timezone(datetime.timedelta(hours=hours))
    room = open_room(hub, "Late Room", timeZone=f"Etc/GMT{-hours:+d}" if hours else "Etc/GMT")
    now = datetime.datetime.now(zone)
    start = (now + datetime.timedelta(minutes=2)).replace(second=0, microsecond=0)
    member = register(hub)
    booking = book(member, room["id"], start, minutes=120)
    assert booking["startsAt"][:10] < booking["endsAt"][:10], booking  # it does cross midnight there

    # Opened after the booking: both days of its snapshot hold it. Its first snapshot is the
    # room's today, not the hub's (Lagos may be a day ahead), so it is FREE at once, not CLOSED.
    browser.get(f"{hub.url}/kiosk/{room['id']}")
    wait_until(lambda: kiosk_conn(browser) == "live" and kiosk_next(browser) == booking["startsAt"], SHOWN_WITHIN,
               "live, with the booking as next")
    assert kiosk_status(browser) == "FREE"
    assert browser.find_element("id", "until").text.startswith("Free until "), browser.find_element("id", "until").text

    r = member.put(f"/api/bookings/{booking['id']}/cancel", json={})
    assert r.status_code == 200, r.text
    wait_until(lambda: kiosk_next(browser) == "", SHOWN_WITHIN, "no booking next once cancelled")
    assert kiosk_status(browser) == "FREE"
    no_page_errors(browser)


@pytest.mark.timeout(300)  # waits for the next whole minutes on the real clock
def test_coworking_kiosk_counts_the_seats_free_now(hub, browser):
    viewport(browser, 1280, 800)
    r = admin_of(hub).post("/api/coworking-plans", json={
        "name": "Night Desk", "price": 500, "seats": 2, "duration": "hour", "openingHours": ALL_WEEK})
    assert r.status_code == 201, r.text
    plan = r.json()
    browser.get(f"{hub.url}/kiosk/{plan['id']}")
    wait_until(lambda: kiosk_status(browser) == "FREE", SHOWN_WITHIN, "FREE")
    countdown = lambda: browser.find_element("id", "countdown").text
    wait_until(lambda: countdown() == "2 of 2 seats free", SHOWN_WITHIN, "both seats free")
    start = next_minute()
    book(register(hub), plan["id"], start, minutes=60, type_="coworking")
    # One of two seats: still FREE, one seat left once the booking begins.
    while datetime.datetime.now(LAGOS) < start - datetime.timedelta(seconds=1):
        assert kiosk_status(browser) == "FREE"
        time.sleep(0.2)
    wait_until(lambda: countdown() == "1 of 2 seats free", SHOWN_WITHIN, "one seat taken")
    assert kiosk_status(browser) == "FREE"
    # The second seat fills it: FULL until the first booking ends.
    book(register(hub, first="Tunde", last="Bello"), plan["id"], next_minute(), minutes=30, type_="coworking")
    wait_until(lambda: "full in" in countdown(), SHOWN_WITHIN, "the time it fills up")
    no_page_errors(browser)


def test_kiosk_keeps_its_state_offline_and_recovers_after_the_hub_restarts(browser):
    viewport(browser, 1280, 800)
    h = start_hub()
    try:
        room = open_room(h, "Quiet Room")
        member = register(h)
        later = next_minute() + datetime.timedelta(hours=2)
        first = book(member, room["id"], later)
        browser.get(f"{h.url}/kiosk/{room['id']}")
        wait_until(lambda: kiosk_conn(browser) == "live" and kiosk_next(browser) == first["startsAt"], SHOWN_WITHIN, "live, with the booking")

        port = h.port
        h.stop()
        wait_until(lambda: kiosk_conn(browser) == "offline", SHOWN_WITHIN, "offline")
        banner = browser.find_element("id", "offline")
        assert banner.is_displayed() and banner.text.startswith("Offline since ")
        # No flicker: the last known state stays on screen while the hub is away.
        assert kiosk_status(browser) == "FREE" and kiosk_next(browser) == first["startsAt"]

        h.restart(port=port)
        # Changed right after the restart, maybe before the kiosk is back: resume by seq delivers it.
        assert member.put(f"/api/bookings/{first['id']}/cancel", json={}).status_code == 200
        second = book(member, room["id"], later + datetime.timedelta(hours=1))
        wait_until(lambda: kiosk_conn(browser) == "live", SHOWN_WITHIN, "live again")
        wait_until(lambda: kiosk_next(browser) == second["startsAt"], SHOWN_WITHIN, "the change made during the restart")
        assert not browser.find_element("id", "offline").is_displayed()
        assert kiosk_status(browser) == "FREE"
        no_page_errors(browser, network_failures_expected=True)
    finally:
        h.kill()


def test_kiosk_falls_back_to_server_sent_events_when_the_websocket_is_refused(browser):
    viewport(browser, 1280, 800)
    # The WebSocket lives elsewhere on this hub: /ws answers 404, as behind a proxy that
    # does not pass upgrades.
    h = start_hub({"websocket": {"path": "/ws-elsewhere"}})
    try:
        room = open_room(h, "Phone Booth")
        browser.get(f"{h.url}/kiosk/{room['id']}")
        wait_until(lambda: js(browser, "return document.body.dataset.transport") == "sse" and kiosk_conn(browser) == "live",
                   SHOWN_WITHIN, "live over SSE")
        assert kiosk_status(browser) == "FREE"
        member = register(h)
        booking = book(member, room["id"], next_minute() + datetime.timedelta(hours=1))
        wait_until(lambda: kiosk_next(browser) == booking["startsAt"], SHOWN_WITHIN, "the booking over SSE")
        no_page_errors(browser, network_failures_expected=True)
    finally:
        h.kill()


def test_a_page_on_another_allowed_origin_follows_the_hub_over_server_sent_events(browser):
    """An app served from elsewhere (here: another port, another origin) loads the client from the
    hub and, forced onto the SSE fallback, reads the snapshot and the stream across origins,
    because its origin is on the hub's CORS allow-list."""
    viewport(browser, 1024, 700)
    hub_port = {}

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hub = f"http://127.0.0.1:{hub_port['port']}"
            body = f"""<!doctype html><meta charset="utf-8"><title>app</title>
<script src="{hub}/client/spacehub.js"></script>
<script>
  window.seen = [];
  const hub = new SpaceHub({{ url: '{hub}', transport: 'sse', windowEvents: false }});
  hub.on('space_availability_changed', (m) => window.seen.push(m.payload.spaceId));
  hub.on('state', () => {{ document.body.dataset.state = hub.state; document.body.dataset.transport = hub.transport || ''; }});
</script>""".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    pages = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    page_origin = f"http://127.0.0.1:{pages.server_address[1]}"
    h = start_hub({"server": {"corsOrigins": [page_origin]}})
    try:
        hub_port["port"] = h.port
        browser.get(page_origin + "/")
        wait_until(lambda: js(browser, "return [document.body.dataset.state, document.body.dataset.transport]") == ["open", "sse"],
                   SHOWN_WITHIN, "the client live over SSE from another origin")
        member = register(h)
        r = member.post("/api/bookings", json={"type": "event", "spaceId": "training-room", "date": unique_weekday(),
                                               "startTime": "09:00", "endTime": "10:00"})
        assert r.status_code == 201, r.text
        wait_until(lambda: "training-room" in js(browser, "return window.seen"), SHOWN_WITHIN, "the event across origins")
        no_page_errors(browser)
    finally:
        browser.get("about:blank")
        h.kill()
        pages.shutdown()
        pages.server_close()


# MARK: Screenshots


def test_dashboard_screenshot_of_a_busy_day(hub, browser, screenshots):
    """A day with every kind of block, for docs/dashboard.png; also checks the counts add up."""
    viewport(browser, 1440, 860)
    date = unique_weekday()
    people = [register(hub, first=f, last=l) for f, l in
              [("Ada", "Obi"), ("Tunde", "Bello"), ("Ngozi", "Eze"), ("Kemi", "Adeyemi"), ("Chidi", "Okafor"), ("Zainab", "Musa")]]

    def at(hhmm):
        return datetime.datetime.fromisoformat(f"{date}T{hhmm}")

    def pay(member, booking):
        started = member.post("/api/payments/initialize", json={"bookingId": booking["id"], "amount": booking["amount"],
                                                                 "currency": "NGN", "paymentMethod": "card"}).json()
        assert requests.post(started["authorizationUrl"] + "/pay", allow_redirects=False, timeout=10).status_code == 303

    plan = [(0, "conference-room-a", "09:00", 120, True), (1, "conference-room-a", "13:00", 90, False),
            (2, "conference-room-a", "16:00", 120, True), (3, "conference-room-b", "08:30", 90, True),
            (4, "conference-room-b", "11:00", 60, False), (5, "conference-room-b", "15:00", 240, True),
            (0, "training-room", "10:00", 360, True), (1, "event-hall", "12:00", 480, False)]
    held = 0
    for who, space, hhmm, minutes, paid in plan:
        booking = book(people[who], space, at(hhmm), minutes)
        if paid:
            pay(people[who], booking)
        else:
            held += 1
    for member in people:
        pay(member, book(member, "private-office", at("00:00"), 30 * 24 * 60, type_="coworking"))
        book(member, "hot-desk", at("09:00"), 8 * 60, type_="coworking")

    browser.get(f"{hub.url}/?date={date}")
    wait_until(lambda: js(browser, "return document.getElementById('grid').dataset.date") == date, SHOWN_WITHIN, "the grid")
    wait_until(lambda: js(browser, "return document.getElementById('conn').dataset.state") == "live", SHOWN_WITHIN, "live")
    assert len(browser.find_elements("css selector", ".block.held")) == held
    assert len(browser.find_elements("css selector", ".block.booked")) == len(plan) - held
    assert browser.find_elements("css selector", '.block.full[data-space="private-office"]')
    # Six of the hot desk's 40 seats are taken 09:00–17:00: a bar, not a block.
    taken = browser.find_elements("css selector", '.seg.taken[data-space="hot-desk"]')
    assert [t.get_attribute("data-taken") for t in taken] == ["6"]
    assert "6 of 40 seats taken" in taken[0].get_attribute("title")
    time.sleep(0.5)
    browser.save_screenshot(os.path.join(screenshots, "dashboard.png"))
    no_page_errors(browser)
