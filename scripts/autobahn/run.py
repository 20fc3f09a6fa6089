#!/usr/bin/env python3
"""Runs the Autobahn|Testsuite fuzzing client against a WebSocket echo server that is already
listening on this machine, and prints a verdict: a table per section, the failing cases, and
last the line `autobahn: N passed, M failed`. Exit status 0 only when M is 0 (1 otherwise,
2 when the command line is wrong or the suite cannot be installed).

A case passes when its behaviour is OK, NON-STRICT or INFORMATIONAL; anything else (FAILED,
UNIMPLEMENTED, no result at all) fails. With --strict-close a case whose closing behaviour is
FAILED or UNCLEAN fails too.

The suite (Python 2.7) is installed by install.sh next to this file on first use. Only the
standard library is used here. See README.md next to this file.
"""

import argparse
import base64
import fnmatch
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
HOME = os.environ.get("AUTOBAHN_HOME") or os.path.normpath(
    os.path.join(HERE, "..", "..", ".cache", "autobahn"))
PYTHON2 = os.path.join(HOME, "runtime", "python")
INSTALL_TIMEOUT = 1200  # seconds; the first install takes about 30 s on a fast connection
AGENT = "testee"        # the server's name in the suite's report files

PASSING = ("OK", "NON-STRICT", "INFORMATIONAL")
COLUMNS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "MISSING")
SECTIONS = {"1": "Framing", "2": "Pings/Pongs", "3": "Reserved bits", "4": "Opcodes",
            "5": "Fragmentation", "6": "UTF-8 handling", "7": "Close handling",
            "9": "Limits/performance", "10": "Misc", "12": "Compression (payloads)",
            "13": "Compression (parameters)"}

# Printed by the suite's Python 2.7: its versions and every case id it knows.
SUITE_INFO = r"""
import json, platform, autobahn, autobahntestsuite
from autobahntestsuite.case import Cases, CaseBasename
ids = ['.'.join(c.__name__[len(CaseBasename):].split('_')) for c in Cases]
print(json.dumps({'suite': autobahntestsuite.version, 'autobahn': autobahn.version,
                  'python': platform.python_version(), 'cases': ids}))
"""


class UsageError(Exception):
    pass


def note(msg):
    """Progress goes to stderr; stdout carries only the verdict."""
    print("autobahn: " + msg, file=sys.stderr, flush=True)


def case_key(case_id):
    return tuple(int(part) for part in case_id.split("."))


def kill_group(proc):
    """Stops a child started with start_new_session=True: its process group id is its pid, so
    only it and its own children are signalled."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def run_bounded(cmd, timeout, on_tick=None, **popen_args):
    """Runs cmd in a process group of its own and waits at most `timeout` seconds; then (or on
    Ctrl-C / SIGTERM) kills that group. Returns the exit status, or None after a timeout."""
    proc = subprocess.Popen(cmd, start_new_session=True, stdin=subprocess.DEVNULL, **popen_args)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                return proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            if on_tick:
                on_tick()
            if time.monotonic() >= deadline:
                return None
    finally:
        kill_group(proc)


# --- case selection ------------------------------------------------------------------------------

def patterns(values):
    return [p for v in values or [] for p in re.split(r"[,\s]+", v) if p]


def expand(pats, ids):
    """Globs over whole case ids ('6.4.*', '7.1.?'); a bare prefix means everything below it
    ('9' is '9.*', '6.4' is '6.4.*')."""
    chosen = set()
    for p in pats:
        hits = {i for i in ids if fnmatch.fnmatchcase(i, p) or fnmatch.fnmatchcase(i, p + ".*")}
        if not hits:
            raise UsageError("case pattern %r matches no case" % p)
        chosen |= hits
    return chosen


def select_cases(args, ids):
    include = patterns(args.cases) or ["*"]
    if args.exclude is not None:
        exclude = patterns(args.exclude)
    else:
        exclude = [] if args.cases else ["12", "13"]
    chosen = expand(include, ids) - expand(exclude, ids)
    if not chosen:
        raise UsageError("the case selection is empty")
    return sorted(chosen, key=case_key)


# --- the server ----------------------------------------------------------------------------------

def parse_url(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "ws" or not u.hostname or not u.port:
        raise UsageError("--url must look like ws://127.0.0.1:PORT/PATH (got %r)" % url)
    return u.hostname, u.port, (u.path or "/") + ("?" + u.query if u.query else "")


def handshake(host, port, path):
    """One WebSocket opening handshake, closed again with 1000; raises OSError on any problem."""
    key = base64.b64encode(os.urandom(16)).decode()
    accept = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                   % (path, host, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                raise OSError("the connection closed during the handshake")
            head += chunk
        lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        if not re.match(r"HTTP/1\.1 101\b", lines[0]):
            raise OSError("the server answered %r instead of 101" % lines[0])
        if ("sec-websocket-accept: " + accept.lower()) not in (ln.lower() for ln in lines[1:]):
            raise OSError("wrong or missing Sec-WebSocket-Accept")
        s.sendall(b"\x88\x82\x00\x00\x00\x00\x03\xe8")  # masked close 1000 (zero mask)


def wait_for_server(host, port, path, seconds):
    deadline = time.monotonic() + seconds
    while True:
        try:
            handshake(host, port, path)
            return None
        except OSError as e:
            if time.monotonic() >= deadline:
                return str(e) or type(e).__name__
        time.sleep(0.25)


# --- running the suite ---------------------------------------------------------------------------

def run_suite(url, cases, report_dir, timeout):
    """Runs wstest's fuzzing client over `cases`; returns (exit status or None on timeout, the
    case that was running when it stopped, seconds taken)."""
    os.makedirs(report_dir, exist_ok=True)
    spec = {"outdir": report_dir, "servers": [{"agent": AGENT, "url": url}],
            "cases": cases, "exclude-cases": [], "exclude-agent-cases": {}}
    spec_path = os.path.join(report_dir, "spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f, indent=1)
    log_path = os.path.join(report_dir, "wstest.log")
    state = {"pos": 0, "case": None, "section": None}
    started = time.monotonic()

    def progress():  # a line per section, from the suite's own log
        with open(log_path, "rb") as f:
            f.seek(state["pos"])
            chunk = f.read()
        chunk = chunk[:chunk.rfind(b"\n") + 1]  # whole lines only
        state["pos"] += len(chunk)
        for m in re.finditer(rb"^Running test case ID (\S+) for agent", chunk, re.M):
            state["case"] = m.group(1).decode()
            section = state["case"].split(".")[0]
            if section != state["section"]:
                state["section"] = section
                note("[%5.1fs] %s.* %s" % (time.monotonic() - started, section,
                                           SECTIONS.get(section, "")))

    with open(log_path, "wb") as log:
        rc = run_bounded([PYTHON2, "-u", "-c", "from autobahntestsuite.wstest import run; run()",
                          "-m", "fuzzingclient", "-s", spec_path],
                         timeout, on_tick=progress, cwd=report_dir, stdout=log,
                         stderr=subprocess.STDOUT)
    progress()
    return rc, state["case"], time.monotonic() - started


def load_results(report_dir):
    try:
        with open(os.path.join(report_dir, "index.json")) as f:
            index = json.load(f).get(AGENT, {})
    except (OSError, ValueError):
        return {}
    results = {}
    for case_id, rec in index.items():
        try:  # the per-case file has the reason and description
            with open(os.path.join(report_dir, rec["reportfile"])) as f:
                rec = dict(json.load(f), **rec)
        except (KeyError, OSError, ValueError):
            pass
        results[case_id] = rec
    return results


# --- verdict -------------------------------------------------------------------------------------

def classify(rec, strict_close):
    if rec is None:
        return "MISSING"
    behavior = rec.get("behavior")
    if behavior in PASSING:
        if strict_close and rec.get("behaviorClose") in ("FAILED", "UNCLEAN"):
            return "FAILED"
        return behavior
    return "UNIMPLEMENTED" if behavior == "UNIMPLEMENTED" else "FAILED"


def text(value, width):
    s = " ".join(re.sub(r"<[^>]+>", " ", str(value or "")).split())
    return s if len(s) <= width else s[:width - 3] + "..."


def verdict(selected, results, strict_close, header, why_missing, report_dir):
    """Prints the table and the failing cases to stdout; returns (passed, failed)."""
    rows, failing, missing = {}, [], []
    for case_id in selected:
        status = classify(results.get(case_id), strict_close)
        rows.setdefault(case_id.split(".")[0], dict.fromkeys(COLUMNS, 0))[status] += 1
        if status == "MISSING":
            missing.append(case_id)
        elif status not in PASSING:
            failing.append(case_id)
    passed = sum(row[c] for row in rows.values() for c in PASSING)

    print()
    print(header)
    fmt = "%-4s %-26s %5s %5s %10s %5s %6s %6s %7s"
    title = fmt % ("sec", "name", "cases", "OK", "NON-STRICT", "INFO", "UNIMPL", "FAILED",
                   "MISSING")
    print(title)
    print("-" * len(title))
    total = dict.fromkeys(COLUMNS, 0)
    for section in sorted(rows, key=int):
        row = rows[section]
        for c in COLUMNS:
            total[c] += row[c]
        bad = row["UNIMPLEMENTED"] + row["FAILED"] + row["MISSING"]
        print(fmt % ((section + ".*", SECTIONS.get(section, "?"), sum(row.values()))
                     + tuple(row[c] for c in COLUMNS)) + ("  <-- failing" if bad else ""))
    print("-" * len(title))
    print(fmt % (("all", "", len(selected)) + tuple(total[c] for c in COLUMNS)))

    if failing:
        print()
        print("Failing cases (%d):" % len(failing))
        for case_id in failing:
            rec = results[case_id]
            code = rec.get("remoteCloseCode")
            if rec.get("behavior") == "UNIMPLEMENTED":
                reason = "the server did not accept the permessage-deflate offer"
            else:
                reason = rec.get("result") or ""
                if rec.get("behaviorClose") not in ("OK", "INFORMATIONAL"):
                    reason += " / close: %s" % (rec.get("resultClose") or "?")
            print("  %-8s %-13s close=%s%s  %s" % (
                case_id, rec.get("behavior"), rec.get("behaviorClose"),
                "" if code is None else "(%s)" % code, text(reason, 110)))
            print("  %-8s %-13s case: %s" % ("", "", text(rec.get("description"), 100)))
        print("  (details: %s/%s_case_<id>.html or .json)" % (report_dir, AGENT))
    if missing:
        print()
        if len(missing) == len(selected):
            print("No case has a result; all %d count as failed: %s" % (len(missing), why_missing))
        else:
            print("Cases without a result (%d), counted as failed: %s" % (len(missing), why_missing))
            print(textwrap.fill(", ".join(missing), 100, initial_indent="  ",
                                subsequent_indent="  ", break_on_hyphens=False))
    return passed, len(selected) - passed


# --- main ----------------------------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(
        prog="scripts/autobahn/run.py",
        description="Run Autobahn|Testsuite's fuzzing client against a WebSocket echo server "
                    "on this machine. Last line: 'autobahn: N passed, M failed'.")
    ap.add_argument("--url", required=True, help="the echo server, ws://127.0.0.1:PORT/PATH")
    ap.add_argument("--cases", action="append", metavar="PATTERNS",
                    help="comma-separated case ids or globs, e.g. '1.*,6.4' "
                         "(default: every case but 12.* and 13.*)")
    ap.add_argument("--exclude", action="append", metavar="PATTERNS",
                    help="cases to leave out (default: '12,13' without --cases, else none)")
    ap.add_argument("--report-dir", help="where the suite writes its reports "
                                         "(default: a new folder in /tmp)")
    ap.add_argument("--timeout", type=int, default=900,
                    help="seconds before the suite is stopped; unfinished cases fail "
                         "(default: %(default)s)")
    ap.add_argument("--wait", type=float, default=15,
                    help="seconds to wait for the server to accept a handshake "
                         "(default: %(default)s)")
    ap.add_argument("--strict-close", action="store_true",
                    help="also fail cases whose closing behaviour is FAILED or UNCLEAN")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        if e.code:
            print("autobahn: 0 passed, 1 failed")
        raise

    try:
        host, port, path = parse_url(args.url)
        rc = run_bounded([os.path.join(HERE, "install.sh")], INSTALL_TIMEOUT)
        if rc != 0:
            raise UsageError("the suite could not be installed (%s)"
                             % ("timed out" if rc is None else "exit status %d" % rc))
        out = subprocess.run([PYTHON2, "-c", SUITE_INFO], stdout=subprocess.PIPE, check=True,
                             timeout=120).stdout
        info = json.loads(out)
        with open(os.path.join(HOME, "runtime", "ACCELERATED")) as f:
            accelerated = f.read().strip()
        selected = select_cases(args, info["cases"])
    except (UsageError, subprocess.SubprocessError, OSError, ValueError) as e:
        print("autobahn: error: %s" % e, file=sys.stderr)
        print("autobahn: 0 passed, 1 failed")
        return 2

    header = "Autobahn|Testsuite %s (autobahn %s, Python %s, wsaccel: %s) against %s" % (
        info["suite"], info["autobahn"], info["python"], accelerated, args.url)
    report_dir = os.path.abspath(args.report_dir or "/tmp/autobahn-%s-%d" % (
        time.strftime("%Y%m%d-%H%M%S"), os.getpid()))

    results, why = {}, ""
    problem = wait_for_server(host, port, path, args.wait)
    if problem:
        why = "the server did not accept a WebSocket handshake within %.0fs (%s)" % (
            args.wait, problem)
        note(why)
    else:
        note("running %d cases against %s (time limit %ds, reports in %s)"
             % (len(selected), args.url, args.timeout, report_dir))
        rc, last_case, took = run_suite(args.url, selected, report_dir, args.timeout)
        note("suite ran %.0fs" % took)
        results = load_results(report_dir)
        if rc is None:
            why = ("the %ds time limit was hit while %s was running (the suite records its "
                   "results only when it finishes)" % (args.timeout, last_case))
        elif rc != 0:
            why = "wstest exited with status %d (see %s/wstest.log)" % (rc, report_dir)
        else:
            why = "wstest gave up (did the server stop accepting connections? see %s/wstest.log)" \
                % report_dir
    passed, failed = verdict(selected, results, args.strict_close, header, why, report_dir)
    print("autobahn: %d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    def on_sigterm(*_):  # unwind like Ctrl-C, so a running suite's process group is stopped
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\nautobahn: interrupted", file=sys.stderr)
        print("autobahn: 0 passed, 1 failed")
        sys.exit(130)
