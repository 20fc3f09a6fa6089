"""The loop's longest stall under the worst body each public endpoint accepts (issue 16, item 5).

A probe keeps one keep-alive connection sending `GET /healthz` back to back and records how long
each answer takes; meanwhile an attacker sends, one at a time and each `--repeat` times, the
largest or most expensive request an anonymous client or a member can send to each public
endpoint, within the hub's own limits (1 MiB bodies, 64 KiB of them parsed as JSON, 1,024 members per object, 16,384 values per
document, 64 deep; 64 KiB WebSocket messages). A probe answer delayed by an attack request is the
loop being busy with it: the report gives, per attack, the longest probe answer while it was in
flight, beside the longest answer with no attack at all (the floor: scheduling and loopback).

Run by scripts/bench-stall.sh (hub pinned to one core, this script to the other). Stdlib only.
"""
import argparse
import base64
import json
import os
import socket
import threading
import time
import urllib.request


class Probe(threading.Thread):
    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.samples = []  # (start, seconds)
        self.stop = False

    def run(self):
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
        while not self.stop:
            began = time.perf_counter()
            sock.sendall(request)
            data = b""
            while not data.endswith(b'{"status":"ok"}'):
                chunk = sock.recv(4096)
                if not chunk:
                    return
                data += chunk
            self.samples.append((began, time.perf_counter() - began))

    def worst_between(self, start, end):
        inside = [seconds for began, seconds in self.samples if began + seconds >= start and began <= end]
        return max(inside) if inside else 0.0


def http(port, method, path, body=None, token=None, headers=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def websocket_message(port, token, payload):
    """Opens /ws, sends one text message of `payload` bytes (masked), reads until the hub answers it."""
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws?token={token} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    mask = os.urandom(4)
    # Masked as one big-integer XOR (microseconds): a byte loop would hold the GIL for milliseconds
    # and delay the probe thread, which would be charged to the hub.
    stream = (mask * (len(payload) // 4 + 1))[:len(payload)]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(payload), "big")
    length = len(payload)
    header = bytes([0x81]) + (bytes([0x80 | 127]) + length.to_bytes(8, "big") if length > 65535 else
                              bytes([0x80 | 126]) + length.to_bytes(2, "big") if length > 125 else bytes([0x80 | length]))
    began = time.perf_counter()
    sock.sendall(header + mask + masked)
    sock.settimeout(10)
    seen = b""
    try:
        while b'"type":"error"' not in seen and b'"type":"ack"' not in seen and len(seen) < 1 << 20:
            chunk = sock.recv(65536)
            if not chunk:
                break
            seen += chunk
    except socket.timeout:
        pass
    ended = time.perf_counter()
    sock.close()
    return began, ended


def stream_once(port, channels):
    """Opens an SSE stream on 300 (identical) channels, reads its head, and closes it."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"GET /api/events/stream?channels={channels} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    sock.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    sock.close()
    return head


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    port = args.port

    status, body = http(port, "POST", "/api/auth/register", json.dumps({
        "email": "stall@example.com", "password": "password123", "firstName": "Stall", "lastName": "Probe"}).encode())
    member = json.loads(body)["token"]

    mib = 1 << 20
    many_keys = "{" + ",".join(f'"{i:04d}{"k" * 1000}":0' for i in range(1024)) + "}"       # 1,024 members, ~1 MiB
    escapes = '{"email":"' + "\\u00e9" * ((mib - 40) // 6) + '","password":"x"}'           # 1 MiB of \u escapes
    json_max = 64 * 1024                                                                   # server.jsonBytesMax
    keys_64k = "{" + ",".join(f'"{i:04d}{"k" * 54}":0' for i in range(1024)) + "}"          # 1,024 members, 64 KiB
    escapes_64k = '{"email":"' + "\\u00e9" * ((json_max - 40) // 6) + '","password":"x"}'  # 64 KiB of \u escapes
    values = '{"type":"event","spaceId":"event-hall","date":' + "[" + ",".join(["1"] * 16_382) + "]}"  # 16,384 values
    deep = '{"a":' * 63 + "1" + "}" * 63                                                   # 64 deep
    ws_keys = ("{" + ",".join(f'"{i:04d}{"k" * 54}":0' for i in range(1024)) + "}").encode()  # 64 KiB, 1,024 keys
    channels = ",".join(f"availability:event-hall" for _ in range(300))                   # a 7 KiB query

    attacks = [
        ("POST /api/auth/register, 1,024 keys of 1 KB (1 MiB)", lambda: http(port, "POST", "/api/auth/register", many_keys.encode())),
        ("POST /api/auth/login, 1 MiB of \\u escapes", lambda: http(port, "POST", "/api/auth/login", escapes.encode())),
        ("POST /api/auth/register, 1,024 keys (64 KiB)", lambda: http(port, "POST", "/api/auth/register", keys_64k.encode())),
        ("POST /api/auth/login, 64 KiB of \\u escapes", lambda: http(port, "POST", "/api/auth/login", escapes_64k.encode())),
        ("POST /api/bookings/check-conflicts, 16,384 values", lambda: http(port, "POST", "/api/bookings/check-conflicts", values.encode())),
        ("POST /api/auth/forgot-password, 64 deep", lambda: http(port, "POST", "/api/auth/forgot-password", deep.encode())),
        ("POST /api/bookings (member), 1,024 keys (1 MiB)", lambda: http(port, "POST", "/api/bookings", many_keys.encode(), token=member)),
        ("POST /api/bookings (member), 1,024 keys (64 KiB)", lambda: http(port, "POST", "/api/bookings", keys_64k.encode(), token=member)),
        ("POST /api/payments/webhook/paystack, 1 MiB, bad signature",
         lambda: http(port, "POST", "/api/payments/webhook/paystack", b"{" + b" " * (mib - 2) + b"}",
                      headers={"x-paystack-signature": "00"})),
        ("GET /api/spaces/availability/grid?days=14", lambda: http(port, "GET", "/api/spaces/availability/grid?days=14")),
        ("GET /api/events/snapshot?channel=availability&days=14", lambda: http(port, "GET", "/api/events/snapshot?channel=availability&days=14")),
        ("GET /api/events/stream?channels=<300 channels> (opened, closed)", lambda: stream_once(port, channels)),
        ("GET /api/users/bookings?limit=100 (member)", lambda: http(port, "GET", "/api/users/bookings?limit=100", token=member)),
        ("WebSocket: 64 KiB message of 1,024 keys", lambda: websocket_message(port, member, ws_keys)),
    ]

    probe = Probe(port)
    probe.start()
    time.sleep(0.5)
    quiet_start = time.perf_counter()
    time.sleep(2.0)
    floor = probe.worst_between(quiet_start, time.perf_counter())
    print(f"{'request':<62} {'worst probe answer':>20}")
    print(f"{'(none: 2 s of the probe alone, the floor)':<62} {floor * 1000:>17.2f} ms")
    for name, attack in attacks:
        worst = 0.0
        for _ in range(args.repeat):
            began = time.perf_counter()
            result = attack()
            ended = time.perf_counter()
            if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], float):
                began, ended = result
            time.sleep(0.05)
            worst = max(worst, probe.worst_between(began, ended))
        print(f"{name:<62} {worst * 1000:>17.2f} ms")
    probe.stop = True


if __name__ == "__main__":
    main()
