"""A fault-injecting loopback HTTP proxy for tests: put it between a client and the moto
server and make chosen requests fail the way a real object store or network does.

``FaultProxy(upstream)`` listens on 127.0.0.1 (random port) and forwards every request to
``upstream`` (the moto endpoint) unchanged, except the requests a ``Rule`` picks, which get
its ``Fault``:

- ``status``: an S3 XML error answer (``500 InternalError``, ``503 ServiceUnavailable``,
  ``503 SlowDown``); the request is not forwarded, the store never sees it;
- ``reset``: the request is forwarded, then the answer's headers and part of its body are
  sent and the connection is reset (TCP RST, ``SO_LINGER`` 0);
- ``stall``: the request is forwarded, then the proxy sends nothing (or part of the body)
  for ``seconds``, longer than the client's read timeout, before it closes the connection;
- ``cut``: the answer's headers (with the full ``Content-Length``) and part of its body are
  sent, then the connection is closed cleanly (FIN): a body cut short;
- ``short_upload``: the request's body is forwarded cut short (with a ``Content-Length``
  that matches what is sent, as a broken middlebox would), the answer is passed back.

A rule picks requests by method and path regex, then by number (``nth``: the n-th
matching request, 1-based, and the ``times - 1`` after it) or by a seeded ``rate``
(the draw depends on the seed, the method, the path and how often that path was seen, so
it does not depend on the order in which concurrent requests arrive); ``per_path`` caps
how often one path is hit, so a retried request can get through. The proxy counts every
request (``requests``) and every fault it injected (``faults``); ``wait_for_faults``
blocks until a count is reached. Use it as a context manager. Not for production.
"""

from __future__ import annotations

import hashlib
import http.client
import re
import socket
import struct
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection"}
_S3_CODES = {500: "InternalError", 503: "ServiceUnavailable"}


@dataclass(frozen=True)
class Fault:
    """What happens to a picked request. ``kind``: ``status``, ``reset``, ``stall``, ``cut``
    or ``short_upload``. ``status`` and ``code``: the HTTP status and S3 error code of a
    ``status`` fault. ``seconds``: how long a ``stall`` lasts. ``body_fraction``: the part
    of the answer body (0-1) sent before a reset, stall or cut (None: the fault comes
    before the status line), or the part of the request body a ``short_upload`` sends."""

    kind: str
    status: int = 503
    code: str = ""
    seconds: float = 0.0
    body_fraction: float | None = 0.5

    def __post_init__(self) -> None:
        if self.kind not in ("status", "reset", "stall", "cut", "short_upload"):
            raise ValueError(f"unknown fault kind {self.kind!r}")

    @property
    def label(self) -> str:
        """A short name for logs and assertions, e.g. ``503 SlowDown`` or ``reset``."""
        if self.kind == "status":
            return f"{self.status} {self.error_code}"
        return self.kind

    @property
    def error_code(self) -> str:
        return self.code or _S3_CODES.get(self.status, "InternalError")


def server_error(status: int = 500, code: str = "") -> Fault:
    """A ``500 InternalError`` (or ``status``/``code``) S3 error answer."""
    return Fault("status", status=status, code=code)


def slow_down() -> Fault:
    """S3's throttling answer: ``503 SlowDown``."""
    return Fault("status", status=503, code="SlowDown")


def reset(body_fraction: float | None = 0.5) -> Fault:
    """Reset the connection after ``body_fraction`` of the answer body (None: at once,
    before the status line; the request was still forwarded)."""
    return Fault("reset", body_fraction=body_fraction)


def stall(seconds: float, body_fraction: float | None = None) -> Fault:
    """Send nothing for ``seconds`` (None fraction: before the status line; else after that
    part of the body), then close."""
    return Fault("stall", seconds=seconds, body_fraction=body_fraction)


def cut(body_fraction: float = 0.5) -> Fault:
    """Send the headers (full ``Content-Length``) and ``body_fraction`` of the body, then
    close the connection cleanly."""
    return Fault("cut", body_fraction=body_fraction)


def short_upload(body_fraction: float = 0.5) -> Fault:
    """Forward only ``body_fraction`` of the request body (a consistent, shorter
    ``Content-Length``) and pass the store's answer back."""
    return Fault("short_upload", body_fraction=body_fraction)


@dataclass
class Rule:
    """Which requests get ``fault``: ``method`` (e.g. ``"GET"``, None: any) and ``path``
    (a regex searched in the path and query, None: any) filter; then ``nth`` (1-based
    count among the matching requests) with ``times`` consecutive hits, or ``rate`` (0-1,
    drawn from ``seed``); ``per_path`` caps the hits per path (None: no cap); ``limit``
    caps the rule's hits in all (None: no cap). With neither ``nth`` nor ``rate`` every
    matching request is hit (up to the caps)."""

    fault: Fault
    method: str | None = None
    path: str | None = None
    nth: int | None = None
    times: int = 1
    rate: float | None = None
    seed: int = 0
    per_path: int | None = None
    limit: int | None = None
    matched: int = 0
    hits: int = 0
    _seen: Counter = field(default_factory=Counter, repr=False)
    _hit_paths: Counter = field(default_factory=Counter, repr=False)

    def picks(self, method: str, path: str) -> bool:
        """Count the request against this rule; True when it gets the fault (thread-unsafe:
        the proxy calls it under its lock)."""
        if self.method and method != self.method:
            return False
        if self.path and not re.search(self.path, path):
            return False
        self.matched += 1
        self._seen[path] += 1
        if self.limit is not None and self.hits >= self.limit:
            return False
        if self.per_path is not None and self._hit_paths[path] >= self.per_path:
            return False
        if self.nth is not None:
            chosen = self.nth <= self.matched < self.nth + self.times
        elif self.rate is not None:
            draw = hashlib.sha256(f"{self.seed}|{method}|{path}|{self._seen[path]}".encode())
            chosen = int.from_bytes(draw.digest()[:8], "big") / 2**64 < self.rate
        else:
            chosen = True
        if chosen:
            self.hits += 1
            self._hit_paths[path] += 1
        return chosen


@dataclass(frozen=True)
class Seen:
    """One request the proxy received: its number (1-based), method, path, the label of
    the fault it got ("" when it was forwarded untouched) and its ``Range`` header ("")."""

    number: int
    method: str
    path: str
    fault: str = ""
    range: str = ""


class FaultProxy:
    """The proxy (see the module docstring). ``upstream``: ``http://host:port`` of the
    store. ``url`` is the proxy's endpoint once started; ``add(rule)``/``clear()`` change
    the rules at any time; thread-safe."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rules: list[Rule] = []
        self.requests: list[Seen] = []
        self._lock = threading.Condition()
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> str:
        """Listen on 127.0.0.1 (random port); returns ``url``."""
        handler = type("FaultHandler", (_Handler,), {"proxy": self})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fault-proxy", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop listening; a stall in progress ends at once."""
        self._closing.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``; raises RuntimeError before ``start()``."""
        if not self._server:
            raise RuntimeError("the fault proxy is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- rules and counts ------------------------------------------------------------------

    def add(self, fault: Fault, **where: Any) -> Rule:
        """Add a rule for ``fault`` (``where``: the ``Rule`` fields); returns it."""
        rule = Rule(fault, **where)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule: from now on every request is forwarded untouched."""
        with self._lock:
            self.rules.clear()

    def reset(self) -> None:
        """Remove every rule and forget the requests seen (a proxy shared by tests)."""
        with self._lock:
            self.rules.clear()
            self.requests.clear()

    @property
    def faults(self) -> list[Seen]:
        """The requests that got a fault, in arrival order."""
        with self._lock:
            return [s for s in self.requests if s.fault]

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests arrived (of ``method``, with ``path`` regex searched)."""
        with self._lock:
            return sum(
                1
                for s in self.requests
                if (method is None or s.method == method)
                and (path is None or re.search(path, s.path))
            )

    def wait_for_faults(self, count: int, timeout: float = 30.0) -> list[Seen]:
        """Block until ``count`` faults were injected; raises TimeoutError after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while sum(1 for s in self.requests if s.fault) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"only {len(self.faults)} of {count} faults injected")
                self._lock.wait(left)
            return [s for s in self.requests if s.fault]

    def _pick(self, method: str, path: str, range_header: str = "") -> Fault | None:
        with self._lock:
            chosen = None
            for rule in self.rules:
                if rule.picks(method, path) and chosen is None:
                    chosen = rule.fault
            number = len(self.requests) + 1
            label = chosen.label if chosen else ""
            self.requests.append(Seen(number, method, path, label, range_header))
            self._lock.notify_all()
            return chosen


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up on the proxy (after a fault, or a timeout) is expected."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | ValueError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._relay()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_GET  # noqa: N815

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _relay(self) -> None:
        body = self._read_body()
        fault = self.proxy._pick(self.command, self.path, self.headers.get("Range", ""))
        if fault is not None and fault.kind == "status":
            self._s3_error(fault)
            return
        if fault is not None and fault.kind == "short_upload":
            body = body[: int(len(body) * (fault.body_fraction or 0))]
        status, reason, headers, answer = self._forward(body)
        if fault is None or fault.kind == "short_upload":
            self._answer(status, reason, headers, answer)
            return
        if fault.body_fraction is None:
            self._damage(fault)
            return
        self._answer(status, reason, headers, answer, send=int(len(answer) * fault.body_fraction))
        self._damage(fault)

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self.proxy.upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
            if body or "content-length" in {k.lower() for k in self.headers}:
                headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
                headers["Content-Length"] = str(len(body))
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                headers["Content-Length"] = str(len(body))
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_HEADERS]
            return response.status, response.reason, kept, answer
        finally:
            connection.close()

    def _answer(
        self,
        status: int,
        reason: str,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        send: int | None = None,
    ) -> None:
        self.send_response_only(status, reason)
        has_length = False
        for name, value in headers:
            if name.lower() == "content-length":
                has_length = True
                if self.command != "HEAD":
                    value = str(len(body))
            self.send_header(name, value)
        if not has_length and self.command != "HEAD":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body if send is None else body[:send])
        self.wfile.flush()

    def _s3_error(self, fault: Fault) -> None:
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{fault.error_code}</Code>"
            f"<Message>Injected fault: {fault.label}</Message>"
            "<RequestId>fault-proxy</RequestId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(xml)))]
        self._answer(fault.status, "Injected", headers, xml)

    def _damage(self, fault: Fault) -> None:
        """End the exchange the way ``fault`` says, after what was already sent."""
        self.close_connection = True
        if fault.kind == "stall":
            self.proxy._closing.wait(fault.seconds)
            return
        self._reset = fault.kind == "reset"
        # "cut": returning with close_connection set closes cleanly after the partial body

    def finish(self) -> None:
        super().finish()
        if getattr(self, "_reset", False):
            # closing with SO_LINGER 0 sends a RST (socketserver's later shutdown(SHUT_WR)
            # finds the socket closed, and no FIN goes out first)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
