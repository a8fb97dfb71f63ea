"""Raw HTTP over a socket with deadlines: send, send one byte at a time, read to EOF, parse.

The tests talk to the server with these instead of an HTTP client library whenever the
exact bytes matter (malformed requests, framing of the response, connection closing).
"""

import socket
import time
from dataclasses import dataclass, field

DEFAULT_DEADLINE = 10.0


def connect(address, timeout=DEFAULT_DEADLINE):
    """Open a TCP (address is (host, port)) or AF_UNIX (address is a str path) connection."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    if family == socket.AF_INET and ":" in address[0]:
        family = socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
        if family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    return sock


def send_all(sock, data):
    sock.sendall(data)


def send_split(sock, data, pause=0.0):
    """Send one byte per send() call (TCP_NODELAY is set by connect), optionally pausing between bytes.

    A peer may reject the request and close before everything is sent; the bytes it never
    read are then lost, which is what a real client would see too, so that is not an error here.
    """
    for i in range(len(data)):
        try:
            sock.send(data[i : i + 1])
        except (BrokenPipeError, ConnectionResetError):
            return False
        if pause:
            time.sleep(pause)
    return True


def read_until_close(sock, deadline=DEFAULT_DEADLINE):
    """Read until the peer closes the connection; raise TimeoutError if it has not by the deadline.

    Returns (data, closed): closed is False only when the peer reset the connection (which still
    ends it) — callers that need "closed cleanly" can check it.
    """
    end = time.monotonic() + deadline
    chunks = []
    while True:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"connection still open after {deadline}s; got {b''.join(chunks)[:300]!r}")
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            raise TimeoutError(f"connection still open after {deadline}s; got {b''.join(chunks)[:300]!r}") from None
        except ConnectionResetError:
            return b"".join(chunks), False
        if not data:
            return b"".join(chunks), True
        chunks.append(data)


def read_until(sock, marker, deadline=DEFAULT_DEADLINE):
    """Read until `marker` has been received (returns everything read so far)."""
    end = time.monotonic() + deadline
    buf = b""
    while marker not in buf:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{marker!r} not received within {deadline}s; got {buf[:300]!r}")
        sock.settimeout(remaining)
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"closed before {marker!r}; got {buf[:300]!r}")
        buf += data
    return buf


def exchange(address, data, split=False, deadline=DEFAULT_DEADLINE):
    """Connect, send `data` (whole or one byte per send), read until the server closes."""
    sock = connect(address, timeout=deadline)
    try:
        if split:
            send_split(sock, data)
        else:
            try:
                send_all(sock, data)
            except (BrokenPipeError, ConnectionResetError):
                pass
        raw, _ = read_until_close(sock, deadline)
        return raw
    finally:
        sock.close()


@dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: list = field(default_factory=list)  # [(name, value)] as received, latin-1 strs
    body: bytes = b""
    complete: bool = False  # the framing said the body ended (not cut by a close)
    chunked: bool = False
    interim: list = field(default_factory=list)  # 1xx responses received before this one
    trailing: bytes = b""  # bytes after the end of this response

    def header(self, name, default=None):
        values = self.header_all(name)
        return values[0] if values else default

    def header_all(self, name):
        lname = name.lower()
        return [v for (k, v) in self.headers if k.lower() == lname]


class ParseError(ValueError):
    pass


def _parse_head(data):
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise ParseError(f"no end of response head in {data[:300]!r}")
    lines = data[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ParseError(f"bad status line {lines[0]!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ParseError(f"bad header line {line!r}")
        headers.append((name, value.strip(" \t")))
    reason = parts[2] if len(parts) > 2 else ""
    return parts[0], int(parts[1]), reason, headers, data[end + 4 :]


def _dechunk(data):
    """Return (body, complete, rest)."""
    body = b""
    while True:
        eol = data.find(b"\r\n")
        if eol < 0:
            return body, False, b""
        size_text = data[:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ParseError(f"bad chunk size line {data[:eol][:100]!r}") from None
        data = data[eol + 2 :]
        if size == 0:
            end = data.find(b"\r\n")  # trailers are not expected from our server: just the final CRLF
            while end > 0:
                data = data[end + 2 :]
                end = data.find(b"\r\n")
            if end < 0:
                return body, False, b""
            return body, True, data[2:]
        if len(data) < size + 2:
            return body + data[:size], False, b""
        if data[size : size + 2] != b"\r\n":
            raise ParseError("chunk data not followed by CRLF")
        body += data[:size]
        data = data[size + 2 :]


def parse_response(data, head_request=False):
    """Parse one response (after any 1xx interim responses) from raw bytes read until close."""
    interim = []
    while True:
        version, status, reason, headers, rest = _parse_head(data)
        if 100 <= status < 200:
            interim.append((status, reason, headers))
            data = rest
            continue
        break
    resp = Response(version, status, reason, headers, interim=interim)
    te = ",".join(resp.header_all("Transfer-Encoding")).lower()
    cls = resp.header_all("Content-Length")
    if head_request or status in (204, 304):
        resp.complete = True
        resp.trailing = rest
    elif "chunked" in te:
        resp.chunked = True
        resp.body, resp.complete, resp.trailing = _dechunk(rest)
    elif cls:
        length = int(cls[0])
        resp.body = rest[:length]
        resp.complete = len(rest) >= length
        resp.trailing = rest[length:]
    else:
        resp.body = rest  # delimited by the close
        resp.complete = True
    return resp


def status_of(data):
    """The status code of the first response in `data`, or None when there is no status line."""
    if not data.startswith(b"HTTP/"):
        return None
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None
