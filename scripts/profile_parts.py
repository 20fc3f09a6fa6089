#!/usr/bin/env python3
"""Shares of a hub's perf samples by part, inclusive (a sample counts for every part on its
stack). Input: `perf script | swift demangle --simplified` text (scripts/profile-hammer.sh).

Each part is a function the stack passes through; the parts overlap where one calls another (the
HTTP session's share includes the booking route's), so they do not add up to 100%."""
import sys

# (label, a substring of the demangled frame), outermost first within each group.
PARTS = [
    ("loop thread: HTTP sessions (read, parse, route, answer)", "HTTPSession.connectionDidRead"),
    ("  request parsing (HTTP/1.1 head)", "HTTPRequestParser.parse"),
    ("  POST /api/bookings handler", "BookingRoutes.create("),
    ("    body JSON and draft", "BookingRoutes.draft(from:)"),
    ("    policy: opening hours, price, zone", "BookingPolicy.plan("),
    ("    index: reserve (interval tree)", "AvailabilityIndex.reserve("),
    ("    day views for the availability event", "AvailabilityViews.day("),
    ("    booking view (201 body)", "BookingViews.bytes(of:"),
    ("  writing answers to sockets", "__libc_sendmsg"),
    ("loop thread: commit completions (inbox)", "LoopInbox.drain"),
    ("  event publishing (broker, fan-out)", "Broker.publish"),
    ("JSON values to text (event payloads, views)", "JSON.serialize(into:"),
    ("time zones (offsets, local days)", "Zone."),
    ("writer thread: group commit", "Writer.commit("),
    ("  fdatasync", "fdatasync"),
    ("SQLite (the library, any thread)", "libsqlite3"),
    ("PostgreSQL client (libpq, any thread)", "libpq"),
    ("memory: malloc and free", "malloc"),
    ("reference counting", "swift_retain"),
]


def main(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    samples = [s for s in text.split("\n\n") if s.strip()]
    total = len(samples)
    if not total:
        sys.exit("no samples")
    print(f"{total} samples of the hub (all threads); share of samples with the part on the stack:")
    for label, needle in PARTS:
        count = sum(1 for s in samples if needle in s)
        print(f"  {100 * count / total:5.1f}%  {label}")


if __name__ == "__main__":
    main(sys.argv[1])
