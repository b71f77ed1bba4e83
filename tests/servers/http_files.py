"""A loopback HTTP file server with Range support and fault injection, for download tests.

``FileServer(root)`` serves the files under ``root`` on ``http://127.0.0.1:<port>`` from a
thread (``GET`` / ``HEAD``, single byte ranges ``bytes=A-`` / ``bytes=A-B``). Faults, set on
``server.faults`` (a :class:`Faults`), are applied per request:

- ``drop_after``: close the connection after this many body bytes (``drops`` times);
- ``fail_503``: answer 503 this many times before serving;
- ``corrupt``: flip the bytes of the body (wrong bytes, right length);
- ``status``: answer this status (401, 403, 404) for every request;
- ``ignore_range``: answer 200 with the whole file to a Range request;
- ``fail_after``: answer 500 to every request after this many (a server that goes down);
- ``latency_s``: wait before answering (a remote store's first-byte latency);
- ``rate``: send at most this many bytes per second (to interrupt a download mid-way);
- ``pace_s``: answer the requests under ``pace_prefix`` one at a time, this many seconds
  apart (a slow store: parallel requests wait in turn, so a test can kill its client
  between two answers); setting it to 0 lets the waiting ones go at once;
- ``bearer``: this token required (``Authorization: Bearer ...``);
- ``basic_auth``: ``(user, password)`` required; with ``auth_redirect`` the file URL first
  redirects to ``/login?next=...`` (Earthdata Login style), which checks the credentials
  and redirects back with a cookie.

``routes`` maps a path prefix to a function ``(handler) -> None`` that answers the request
itself (a CDS, CMR or ESGF endpoint). ``log`` records every request (path, range, status,
body bytes sent), so tests can count what was fetched; ``arrived`` lists every request's
path as it arrives (before any fault or delay) and :meth:`FileServer.in_flight` counts
those not finished, so tests can see what a client was still waiting for.
"""

from __future__ import annotations

import base64
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse


@dataclass
class Faults:
    drop_after: int | None = None
    drops: int = 1
    fail_503: int = 0
    fail_after: int | None = None
    corrupt: bool = False
    status: int | None = None
    ignore_range: bool = False
    latency_s: float = 0.0
    rate: float | None = None
    pace_s: float = 0.0
    pace_prefix: str = "/"
    basic_auth: tuple[str, str] | None = None
    auth_redirect: bool = False
    bearer: str | None = None


@dataclass
class Request:
    method: str
    path: str
    range: str | None
    status: int
    sent: int = 0


@dataclass
class FileServer:
    root: Path
    faults: Faults = field(default_factory=Faults)
    routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)
    arrived: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self._lock = threading.Lock()
        self._pace_lock = threading.Lock()
        self._next_paced = 0.0
        self._finished = 0
        server = self

        class Handler(_Handler):
            owner = server

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_of(self, relative: str) -> str:
        return f"{self.url}/{quote(relative)}"

    def record(self, entry: Request) -> None:
        with self._lock:
            self.log.append(entry)

    def arrive(self, path: str) -> None:
        with self._lock:
            self.arrived.append(path)

    def finish(self) -> None:
        with self._lock:
            self._finished += 1

    def in_flight(self) -> int:
        """Requests that arrived and are not finished (waiting, or being answered)."""
        with self._lock:
            return len(self.arrived) - self._finished

    def pace(self, path: str) -> None:
        """Hold a request under ``faults.pace_prefix`` until ``faults.pace_s`` after the
        previous one was let go."""
        if not self.faults.pace_s or not path.startswith(self.faults.pace_prefix):
            return
        with self._pace_lock:
            if self.faults.pace_s:  # read again: a test may have lifted it meanwhile
                time.sleep(max(0.0, self._next_paced - time.monotonic()))
                self._next_paced = time.monotonic() + self.faults.pace_s

    def bytes_sent(self, prefix: str = "/") -> int:
        """Body bytes sent for files under ``prefix``."""
        return sum(r.sent for r in self.log if r.path.startswith(prefix))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        """Clients that go away (killed, or cut by a fault) are expected here."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: FileServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms stall between headers and body

    def log_message(self, format: str, *args) -> None:  # keep test output quiet
        return

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_POST(self) -> None:
        self._serve(head=False)

    def do_DELETE(self) -> None:
        self._serve(head=False)

    def _answer(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        path = urlparse(self.path).path  # logged before answering: the client may be quicker
        self.owner.record(Request(self.command, path, self.headers.get("Range"), status, 0))
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self, head: bool) -> None:
        self.owner.arrive(unquote(urlparse(self.path).path))
        try:
            self._respond(head)
        finally:
            self.owner.finish()

    def _respond(self, head: bool) -> None:
        faults = self.owner.faults
        parsed = urlparse(self.path)
        path = unquote(parsed.path)
        for prefix, route in self.owner.routes.items():
            if path.startswith(prefix):
                route(self)
                return
        if faults.latency_s:
            time.sleep(faults.latency_s)
        self.owner.pace(path)
        if faults.basic_auth and not self._authorised(path, parsed.query):
            return
        if faults.bearer and self.headers.get("Authorization") != f"Bearer {faults.bearer}":
            self._answer(401, b"token required", {"WWW-Authenticate": "Bearer"})
            return
        if faults.status:
            self._answer(faults.status, b"refused by the test server")
            return
        if faults.fail_after is not None:
            if faults.fail_after <= 0:
                self._answer(500, b"down")
                return
            faults.fail_after -= 1
        if faults.fail_503 > 0:
            faults.fail_503 -= 1
            self._answer(503, b"try again")
            return
        file = (self.owner.root / path.lstrip("/")).resolve()
        if not file.is_file() or self.owner.root.resolve() not in file.parents:
            self._answer(404, b"not found")
            return
        data = file.read_bytes()
        size = len(data)
        start, end = 0, size - 1
        status = 200
        asked = self.headers.get("Range")
        if asked and not faults.ignore_range:
            first, _, last = asked.removeprefix("bytes=").partition("-")
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
            if start >= size:
                self._answer(416, headers={"Content-Range": f"bytes */{size}"})
                return
            status = 206
        body = data[start : end + 1]
        if faults.corrupt:
            body = bytes(b ^ 0xFF for b in body)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{size}-{int(file.stat().st_mtime)}"')
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        entry = Request(self.command, path, asked, status, 0)
        self.owner.record(entry)
        if head:
            return
        limit = len(body)
        if faults.drop_after is not None and faults.drops > 0:
            faults.drops -= 1
            limit = min(limit, faults.drop_after)
        step = 64 * 1024
        for offset in range(0, limit, step):
            piece = body[offset : min(offset + step, limit)]
            entry.sent += len(piece)  # counted first: the client may read it at once
            try:
                self.wfile.write(piece)
                self.wfile.flush()
            except OSError:
                return
            if faults.rate:
                time.sleep(len(piece) / faults.rate)
        if limit < len(body):
            self.close_connection = True
            self.connection.close()

    def _authorised(self, path: str, query: str) -> bool:
        """Basic auth, optionally behind an Earthdata-style redirect to ``/login``."""
        faults = self.owner.faults
        user, password = faults.basic_auth
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        if faults.auth_redirect:
            if self.headers.get("Cookie") == "session=ok":
                return True
            if path == "/login":
                if self.headers.get("Authorization") == f"Basic {token}":
                    back = parse_qs(query)["next"][0]
                    self._answer(302, headers={"Location": back, "Set-Cookie": "session=ok"})
                else:
                    self._answer(401, b"login", {"WWW-Authenticate": 'Basic realm="test"'})
                return False
            host = self.headers.get("Host")
            self._answer(302, headers={"Location": f"http://{host}/login?next=http://{host}{path}"})
            return False
        if self.headers.get("Authorization") == f"Basic {token}":
            return True
        self._answer(401, b"login", {"WWW-Authenticate": 'Basic realm="test"'})
        return False
