"""A fake Paystack API on 127.0.0.1 for the payments tests (docs/PAYSTACK.md).

Implements what the hub calls, with Paystack's JSON shapes (`{status, message, data}`), amounts
in kobo and `Authorization: Bearer <secret>`:

    POST /transaction/initialize      → data {authorization_url, access_code, reference}
    GET  /transaction/verify/:ref     → data {id, status, reference, amount, currency, ...}
    POST /refund                      → data {transaction, amount, status: "pending", ...}

and sends signed webhooks to a hub (`x-paystack-signature` = hex HMAC-SHA512 of the exact body,
keyed with the secret key). Each test scripts it: the next verify status or amount, N answers of
HTTP 500 or 401, or a delay beyond the hub's timeout, per endpoint. Every request is recorded.
"""
import hashlib
import hmac
import itertools
import json
import threading
import urllib.parse
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

ENDPOINTS = ("initialize", "verify", "refund", "refunds")


class FakePaystack:
    """`tls`: serve HTTPS with the test CA's certificate (test_ca.py); `chunked`: answer with
    `Transfer-Encoding: chunked` in small, uneven chunks (as a proxy or Paystack's CDN may),
    so the hub's outbound client reads both framings and both transports end to end."""

    def __init__(self, secret="sk_test_spacehub_fake_0123456789", tls=False, chunked=False):
        self.secret = secret
        self.tls = tls
        self.chunked = chunked
        self.lock = threading.Lock()
        self._ids = itertools.count(4_000_000)
        self.reset()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            from test_ca import server_context
            self.server.socket = server_context().wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # MARK: Scripting

    def reset(self):
        with self.lock:
            self.transactions = {}  # reference → {id, amount, currency, email, status, metadata}
            self.requests = []      # (endpoint, method, path, headers, json body)
            self.refunds = []       # refund request bodies accepted
            self.made = []          # refunds made, as `GET /refund` lists them: {id, reference, amount, status}
            self.fail = {name: 0 for name in ENDPOINTS}      # answer 500 this many more times
            self.delay = {name: 0.0 for name in ENDPOINTS}   # sleep this long before answering
            self.reject = {name: 0 for name in ENDPOINTS}    # answer 401 "Invalid key" this many more times
            self.lose = {name: 0 for name in ENDPOINTS}      # act, then answer 500 (the answer is lost)
            self.hold = {name: 0.0 for name in ENDPOINTS}    # act, then sleep this long before answering
            self.verify_status = {}   # reference → status verify reports ("success", "failed", …)
            self.verify_amount = {}   # reference → amount in kobo verify reports (None: reported as null)
            self.verify_currency = {}

    def attempts(self, endpoint):
        with self.lock:
            return sum(1 for r in self.requests if r[0] == endpoint)

    def seen(self, endpoint):
        with self.lock:
            return [r for r in self.requests if r[0] == endpoint]

    def transaction(self, reference):
        with self.lock:
            return dict(self.transactions[reference])

    # MARK: Webhooks

    def sign(self, body):
        return hmac.new(self.secret.encode(), body, hashlib.sha512).hexdigest()

    def charge_success_event(self, reference, amount=None, currency=None, status="success", without_amount=False):
        """The `charge.success` event Paystack sends for a completed charge (amount in kobo).
        `status` is what its `data.status` says; `without_amount` leaves the amount out."""
        tx = self.transaction(reference)
        event = {
            "event": "charge.success",
            "data": {
                "id": tx["id"], "domain": "test", "status": status, "reference": reference,
                "amount": tx["amount"] if amount is None else amount,
                "currency": currency or tx["currency"],
                "gateway_response": "Successful", "paid_at": "2026-01-01T10:00:00.000Z", "channel": "card",
                "fees": 2250, "metadata": tx["metadata"],
                "customer": {"email": tx["email"], "customer_code": "CUS_fake"},
                "authorization": {"authorization_code": "AUTH_fake", "last4": "4081", "brand": "visa", "reusable": True},
            },
        }
        if without_amount:
            del event["data"]["amount"]
        return event

    def refund_event(self, event, reference, amount=None, without_amount=False):
        """`refund.processed` / `refund.failed` for the charge `reference`, shaped as Paystack's
        (doc-code-snippets `doc/payments/refunds/events.js`): no id of its own, the transaction's
        reference, the processor's refund reference, the amount in kobo as a string (left out
        with `without_amount`: then it is about every pending refund of the charge)."""
        tx = self.transaction(reference)
        with self.lock:
            status = event.split(".", 1)[1]
            for made in self.made:
                if made["reference"] == reference and made["status"] == "pending" and amount in (None, made["amount"]):
                    made["status"] = status
                    if not without_amount:
                        break
            if event == "refund.failed":  # the money was not returned: it can be refunded again
                live = self.transactions[reference]
                live["refunded"] = live.get("refunded", 0) - (tx["amount"] if amount is None else amount)
        sent = {
            "event": event,
            "data": {
                "status": event.split(".", 1)[1], "transaction_reference": reference,
                "refund_reference": f"RRN{next(self._ids)}",
                "amount": str(tx["amount"] if amount is None else amount), "currency": tx["currency"],
                "processor": "mpgs_zen", "domain": "test", "customer": {"email": tx["email"]}, "integration": 412829,
            },
        }
        if without_amount:
            del sent["data"]["amount"]
        return sent

    def send_webhook(self, hub, event, body=None, signature=None, headers=None):
        """POSTs `event` (a dict) to the hub, signed unless `signature` is given. Returns the response."""
        raw = body if body is not None else json.dumps(event, separators=(",", ":")).encode()
        sent = {"content-type": "application/json"}
        if signature is not False:
            sent["x-paystack-signature"] = signature or self.sign(raw)
        sent.update(headers or {})
        return requests.post(hub.url + "/api/payments/webhook/paystack", data=raw, headers=sent, timeout=30)

    # MARK: Serving

    def _handle(self, handler, method):
        path = handler.path.split("?", 1)[0]
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        if method == "POST" and path == "/transaction/initialize":
            endpoint = "initialize"
        elif method == "GET" and path.startswith("/transaction/verify/"):
            endpoint = "verify"
        elif method == "POST" and path == "/refund":
            endpoint = "refund"
        elif method == "GET" and path == "/refund":
            endpoint = "refunds"
        else:
            return self._reply(handler, 404, {"status": False, "message": "Not found"})
        with self.lock:
            self.requests.append((endpoint, method, path, dict(handler.headers), body))
            delay = self.delay[endpoint]
            failing = self.fail[endpoint] > 0
            if failing:
                self.fail[endpoint] -= 1
            rejecting = self.reject[endpoint] > 0
            if rejecting:
                self.reject[endpoint] -= 1
        if delay:
            time.sleep(delay)
        if failing:
            return self._reply(handler, 500, {"status": False, "message": "Internal server error"})
        if rejecting or handler.headers.get("authorization") != "Bearer " + self.secret:
            return self._reply(handler, 401, {"status": False, "message": "Invalid key"})
        query = dict(urllib.parse.parse_qsl(handler.path.split("?", 1)[1])) if "?" in handler.path else {}
        status, answer = getattr(self, "_" + endpoint)(path, body or query)
        with self.lock:
            losing = self.lose[endpoint] > 0
            if losing:
                self.lose[endpoint] -= 1
            holding = self.hold[endpoint]
        if holding:
            time.sleep(holding)
        if losing:
            return self._reply(handler, 500, {"status": False, "message": "Internal server error"})
        self._reply(handler, status, answer)

    def _initialize(self, path, body):
        reference = body.get("reference")
        amount = body.get("amount")
        if not body.get("email") or not isinstance(amount, int):
            return 400, {"status": False, "message": "email and an integer amount in kobo are required"}
        with self.lock:
            if reference in self.transactions:
                return 400, {"status": False, "message": "Duplicate Transaction Reference"}
            self.transactions[reference] = {
                "id": next(self._ids), "amount": amount, "currency": body.get("currency", "NGN"),
                "email": body["email"], "status": "abandoned", "metadata": body.get("metadata") or {},
                "callback_url": body.get("callback_url"),
            }
        return 200, {"status": True, "message": "Authorization URL created", "data": {
            "authorization_url": "https://checkout.paystack.com/" + reference,
            "access_code": "ac_" + reference.lower(), "reference": reference}}

    def _verify(self, path, body):
        reference = path.rsplit("/", 1)[1]
        with self.lock:
            tx = self.transactions.get(reference)
            if tx is None:
                return 400, {"status": False, "message": "Transaction reference not found"}
            status = self.verify_status.get(reference, tx["status"])
            amount = self.verify_amount.get(reference, tx["amount"])
            currency = self.verify_currency.get(reference, tx["currency"])
        return 200, {"status": True, "message": "Verification successful", "data": {
            "id": tx["id"], "domain": "test", "status": status, "reference": reference, "amount": amount,
            "requested_amount": tx["amount"], "currency": currency,
            "gateway_response": "Successful" if status == "success" else "Declined",
            "paid_at": None, "channel": "card", "fees": None, "metadata": tx["metadata"],
            "customer": {"email": tx["email"]}, "authorization": {}, "log": None}}

    def _refund(self, path, body):
        reference = body.get("transaction")
        with self.lock:
            tx = self.transactions.get(reference)
            if tx is None:
                return 404, {"status": False, "message": "Transaction not found"}
            left = tx["amount"] - tx.get("refunded", 0)
            if left <= 0:
                return 400, {"status": False, "message": "Transaction has been fully reversed"}
            amount = body.get("amount", left)
            if not isinstance(amount, int) or amount <= 0 or amount > left:
                return 400, {"status": False, "message": "Refund amount cannot be more than transaction amount"}
            tx["refunded"] = tx.get("refunded", 0) + amount
            self.refunds.append(body)
            refund_id = next(self._ids)
            self.made.append({"id": refund_id, "reference": reference, "amount": amount, "status": "pending"})
        return 200, {"status": True, "message": "Refund has been queued for processing", "data": {
            "transaction": {"id": tx["id"], "reference": reference, "amount": tx["amount"], "currency": tx["currency"]},
            "integration": 100032, "deducted_amount": 0, "channel": None, "merchant_note": "", "customer_note": "",
            "status": "pending", "refunded_by": "hub@example.com", "expected_at": "2026-01-10T10:00:00.000Z",
            "currency": tx["currency"], "domain": "test", "amount": amount, "fully_deducted": False, "id": refund_id}}

    def _refunds(self, path, query):
        """`GET /refund?reference=`: the charge's refunds, as Paystack lists them (its `List Refunds`)."""
        reference = query.get("reference")
        with self.lock:
            tx = self.transactions.get(reference)
            listed = [dict(m) for m in self.made if m["reference"] == reference]
        data = [{"id": m["id"], "integration": 100032, "domain": "test", "transaction": tx["id"] if tx else None,
                 "dispute": None, "amount": m["amount"], "deducted_amount": 0, "currency": "NGN", "channel": "card",
                 "fully_deducted": False, "refunded_by": "hub@example.com", "status": m["status"],
                 "createdAt": "2026-01-01T10:00:00.000Z"} for m in listed]
        return 200, {"status": True, "message": "Refunds retrieved", "data": data,
                     "meta": {"total": len(data), "skipped": 0, "perPage": 100, "page": 1, "pageCount": 1}}

    def _reply(self, handler, status, payload):
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            if self.chunked:
                handler.send_header("Transfer-Encoding", "chunked")
            else:
                handler.send_header("Content-Length", str(len(data)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(chunked_body(data) if self.chunked else data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the hub gave up waiting (timeout test)
        handler.close_connection = True


def chunked_body(data, seed=7):
    """`data` in RFC 9112 §7.1 chunked framing: uneven chunks of 1 to 97 bytes, sizes in mixed-case
    hex, now and then a chunk extension, the last chunk and an empty trailer section."""
    import random
    rng = random.Random(seed + len(data))
    out, offset = [], 0
    while offset < len(data):
        size = min(rng.randint(1, 97), len(data) - offset)
        size_text = format(size, "x")
        size_text = size_text.upper() if rng.random() < 0.5 else size_text
        extension = ';ext="spacehub"' if rng.random() < 0.2 else ""
        out.append(f"{size_text}{extension}\r\n".encode() + data[offset:offset + size] + b"\r\n")
        offset += size
    out.append(b"0\r\n\r\n")
    return b"".join(out)

