"""A fake Sentry on 127.0.0.1 that speaks the ingestion protocol the hub uses: `POST
/api/<project>/envelope/` with `X-Sentry-Auth: Sentry sentry_version=7, sentry_key=…,
sentry_client=…` and an envelope body (develop.sentry.dev, "Envelopes"): a JSON header line, then
items, each a JSON item header line and a payload of exactly `length` bytes when the header gives
one (else up to the next line feed), each followed by a line feed or the end of the body.

Anything that does not follow the protocol is answered 400/401/404 and kept in `refused` with the
reason, so a test can assert there were none. `hang` holds every answer back that many seconds
(a Sentry that does not answer); `status` replaces the 200 (a 429, say)."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeSentry:
    def __init__(self, key="a1b2c3d4e5f60718293a4b5c6d7e8f90", project="4242", hang=0.0, status=200):
        self.key = key
        self.project = project
        self.hang = hang
        self.status = status
        self.lock = threading.Lock()
        self.envelopes = []   # {"auth", "header", "items": [(item_header, payload_bytes)], "event", "raw"}
        self.refused = []     # (reason, raw request line)
        self.received = 0     # requests seen, before any hang
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                fake._handle(self)

            def do_GET(self):
                fake._refuse(self, 404, "only POST to the envelope endpoint")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def dsn(self):
        return f"http://{self.key}@127.0.0.1:{self.port}/{self.project}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def events(self, kind=None):
        with self.lock:
            found = [e["event"] for e in self.envelopes]
        return [e for e in found if kind is None or e.get("tags", {}).get("kind") == kind]

    def raw_bodies(self):
        with self.lock:
            return [e["raw"] for e in self.envelopes]

    def wait_for(self, predicate, timeout=15.0, what="event"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [e for e in self.events() if predicate(e)]
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {what} within {timeout}s; got {self.events()!r}; refused {self.refused!r}")

    # MARK: Protocol

    def _refuse(self, handler, status, reason):
        with self.lock:
            self.refused.append((reason, handler.requestline))
        body = json.dumps({"detail": reason}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    @staticmethod
    def parse_auth(value):
        """`Sentry sentry_version=7, sentry_key=…, sentry_client=…` as a dict (None if malformed)."""
        if not value or not value.startswith("Sentry "):
            return None
        fields = {}
        for part in value[len("Sentry "):].split(","):
            name, sep, field = part.strip().partition("=")
            if not sep:
                return None
            fields[name] = field
        return fields

    @staticmethod
    def parse_envelope(raw):
        """(header, [(item_header, payload)]) per the envelope format, or raises ValueError."""
        newline = raw.index(b"\n") if b"\n" in raw else len(raw)
        header = json.loads(raw[:newline])
        position = newline + 1
        items = []
        while position < len(raw):
            end = raw.index(b"\n", position) if b"\n" in raw[position:] else len(raw)
            item_header = json.loads(raw[position:end])
            position = end + 1
            if "length" in item_header:
                length = item_header["length"]
                payload = raw[position:position + length]
                if len(payload) != length:
                    raise ValueError(f"payload shorter than its length {length}")
                position += length
                if position < len(raw):
                    if raw[position:position + 1] != b"\n":
                        raise ValueError("payload not followed by a line feed")
                    position += 1
            else:
                end = raw.index(b"\n", position) if b"\n" in raw[position:] else len(raw)
                payload = raw[position:end]
                position = end + 1
            items.append((item_header, payload))
        return header, items

    def _handle(self, handler):
        with self.lock:
            self.received += 1
        if handler.path != f"/api/{self.project}/envelope/":
            return self._refuse(handler, 404, f"unknown path {handler.path}")
        auth = self.parse_auth(handler.headers.get("X-Sentry-Auth"))
        if auth is None or auth.get("sentry_version") != "7" or auth.get("sentry_key") != self.key \
                or not auth.get("sentry_client", "").startswith("spacehub/"):
            return self._refuse(handler, 401, f"bad X-Sentry-Auth {handler.headers.get('X-Sentry-Auth')!r}")
        if handler.headers.get("Content-Type") != "application/x-sentry-envelope":
            return self._refuse(handler, 400, f"content type {handler.headers.get('Content-Type')!r}")
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        try:
            header, items = self.parse_envelope(raw)
            events = [json.loads(payload) for item, payload in items if item.get("type") == "event"]
            if len(events) != 1:
                raise ValueError(f"{len(events)} event items")
            if header.get("event_id") != events[0].get("event_id"):
                raise ValueError("envelope and event ids differ")
        except (ValueError, KeyError) as error:
            return self._refuse(handler, 400, f"malformed envelope: {error}")
        if self.hang:
            time.sleep(self.hang)
        with self.lock:
            self.envelopes.append({"auth": auth, "header": header, "items": items, "event": events[0], "raw": raw,
                                   "headers": dict(handler.headers)})
        body = json.dumps({"id": header["event_id"]}).encode()
        handler.send_response(self.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        if self.status == 429:
            handler.send_header("Retry-After", "30")
        handler.end_headers()
        try:
            handler.wfile.write(body)
        except OSError:
            pass  # the hub gave up waiting (its timeout), as it should
