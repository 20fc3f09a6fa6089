"""HTTP/1.1 over a bare socket, for tests that must control every byte (limits, smuggling,
pipelining, slow peers). Every read is bounded by a socket timeout: a test fails, never hangs.
"""
import json
import socket
import time


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> list of values
        self.body = body

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def json(self):
        return json.loads(self.body)

    @property
    def error_code(self):
        return self.json()["error"]["code"]

    def __repr__(self):
        return f"<Response {self.status} {self.headers} {self.body[:200]!r}>"


class RawConnection:
    """One client connection; responses are parsed from a buffer kept across reads."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by the server; buffered: %r" % self.buffer[:200])
        self.buffer += chunk

    def read_response(self, head_only=False):
        """The next response (a 1xx interim response is returned on its own)."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        version, status, _ = (lines[0] + " ").split(" ", 2)
        assert version == "HTTP/1.1", lines[0]
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        status = int(status)
        length = 0
        if not head_only and status >= 200 and status != 204 and status != 304:
            length = int(headers.get("content-length", ["0"])[0])
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Response(status, headers, body)

    def closed_by_peer(self, within):
        """True when the server closes the connection (EOF or reset) within `within` seconds.
        Bytes that arrive first are kept in the buffer."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.buffer += chunk
        return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def request(port, data, timeout=5.0):
    """Sends `data` on a new connection and returns the first response."""
    with RawConnection(port, timeout) as conn:
        conn.send(data)
        return conn.read_response()


def get(path, headers=(), host="localhost"):
    """The bytes of a GET request."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
