"""Local playback gateway: serves bucket objects to libmpv and ffmpeg on loopback.

mpv cannot sign S3 requests, and the children of an HLS playlist are fetched by the player,
so a presigned master does not play (docs/platform.md). The gateway listens on 127.0.0.1 only,
on a random port, and answers ``GET/HEAD /{token}/o/{key}`` by fetching ``key`` from the
store with the profile's credentials. ``token`` is 32 random bytes per session
(``secrets.token_urlsafe``): a request without it gets 403, so another local user cannot
read the bucket through it. Relative URIs inside playlists resolve under the same
``/{token}/o/`` path, so playlists are served byte-for-byte, never rewritten.

``Range`` headers pass through to the store (206 + ``Content-Range``) so players and ffmpeg
can seek inside objects. Store errors map to HTTP: not found → 404, denied → 403 (with a
body saying it came from the store), unreachable → 502, another store status (416, a 5xx
after botocore's retries) → that status. The status line waits for the body's first
``_FIRST_BYTES``: a body that breaks (reset, cut short, stalled past the read timeout)
before them is a 502. A fault later closes the connection at once, short of the
``Content-Length`` announced, so the player sees a failed read and resumes with a
``Range`` request (mpv does), rather than waiting. The gateway never retries on its own
(docs/platform.md "Store faults").
"""

from __future__ import annotations

import hmac
import logging
import mimetypes
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote

from services.errors import AccessDenied, NotFound, ServiceError, Unreachable
from services.storage import StorageConfig, make_s3_client, translate_error

log = logging.getLogger(__name__)

_CHUNK = 256 * 1024
_FIRST_BYTES = 64 * 1024
"""Bytes read from the store before the status line goes out: a store body that breaks
before them is answered 502 (players give up on an error status, while they reconnect
again and again to a 200 or 206 that ends early)."""
_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".ts": "video/mp2t",
    ".json": "application/json",
}


def content_type_for(key: str) -> str:
    """The Content-Type the gateway sends for ``key`` (by extension; RFC 8216 §4 for m3u8)."""
    for ext, ctype in _TYPES.items():
        if key.endswith(ext):
            return ctype
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class PlaybackGateway:
    """A loopback HTTP server that serves one bucket's objects under a session token.

    ``start()`` binds 127.0.0.1 on a free port and serves from a daemon thread;
    ``url_for(key)`` gives the URL of an object; ``stop()`` shuts it down. Thread-safe.
    """

    def __init__(self, config: StorageConfig, *, host: str = "127.0.0.1") -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("The playback gateway listens on loopback only.")
        self.config = config
        self.token = secrets.token_urlsafe(32)
        self._client = make_s3_client(config, max_pool_connections=32)
        self._host = host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests_served = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/TOKEN/o/``; raises RuntimeError before ``start()``."""
        if not self._server:
            raise RuntimeError("The playback gateway is not started.")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{self.token}/o/"

    def url_for(self, key: str) -> str:
        """The gateway URL that serves object ``key`` (percent-encoded, '/' kept)."""
        return self.base_url + quote(key, safe="/")

    def key_for(self, url: str) -> str | None:
        """The object key a gateway URL serves, or None when it is not one of ours."""
        base = self.base_url
        return unquote(url[len(base) :]) if url.startswith(base) else None

    def start(self) -> str:
        """Bind and serve; returns ``base_url``. Idempotent."""
        if self._server:
            return self.base_url
        handler = type("GatewayHandler", (_Handler,), {"gateway": self})
        self._server = _QuietServer((self._host, 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="playback-gateway", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and close the socket (in-flight responses are cut)."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def authorized_key(self, path: str) -> str | None:
        """The key of a request path when its token is right, else None (constant-time)."""
        parts = path.split("?", 1)[0].split("/", 3)
        if len(parts) < 4 or parts[2] != "o" or not parts[3]:
            return None
        if not hmac.compare_digest(parts[1].encode(), self.token.encode()):
            return None
        return unquote(parts[3])

    def fetch(self, key: str, range_header: str | None) -> dict[str, Any]:
        """GetObject with the Range passed through. Raises ``services.errors`` types."""
        params: dict[str, Any] = {"Bucket": self.config.bucket, "Key": key}
        if range_header:
            params["Range"] = range_header
        try:
            return self._client.get_object(**params)
        except Exception as exc:
            raise translate_error(exc, key) from exc


def _status_of(exc: BaseException) -> int | None:
    """The HTTP status the store answered (416 for an unsatisfiable Range, 503 when it
    kept failing), if any."""
    cause = exc.__cause__
    response = getattr(cause, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status and 400 <= int(status) < 600 else None


class _QuietServer(ThreadingHTTPServer):
    """A player closing its connection mid-response is normal, not an error to print."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        log.exception("playback gateway request failed")


class _Handler(BaseHTTPRequestHandler):
    gateway: PlaybackGateway
    protocol_version = "HTTP/1.1"
    server_version = "VideoOpsGateway/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Request lines carry the token: never logged."""

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
        self._serve(send_body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(send_body=True)

    def _plain(self, status: int, message: str) -> None:
        body = (message + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self, *, send_body: bool) -> None:
        key = self.gateway.authorized_key(self.path)
        if key is None:
            self._plain(403, "forbidden: missing or wrong gateway token")
            return
        try:
            answer = self.gateway.fetch(key, self.headers.get("Range"))
        except NotFound:
            self._plain(404, f"not found in the store: {key}")
            return
        except AccessDenied as exc:
            self._plain(403, f"the store denied access: {exc}")
            return
        except Unreachable as exc:
            self._plain(502, f"store unreachable: {exc}")
            return
        except ServiceError as exc:
            self._plain(_status_of(exc) or 502, str(exc))
            return
        meta = answer.get("ResponseMetadata", {})
        status = int(meta.get("HTTPStatusCode", 200))
        body = answer["Body"]
        try:
            first = b""
            if send_body:
                try:  # a body that fails at once is an error status, not an empty answer
                    first = body.read(_FIRST_BYTES)
                except Exception as exc:
                    self._plain(502, f"store read failed: {translate_error(exc, key)}")
                    return
            self.send_response(206 if status == 206 else 200)
            self.send_header("Content-Type", content_type_for(key))
            self.send_header("Content-Length", str(answer.get("ContentLength", 0)))
            self.send_header("Accept-Ranges", "bytes")
            if answer.get("ContentRange"):
                self.send_header("Content-Range", answer["ContentRange"])
            if answer.get("ETag"):
                self.send_header("ETag", answer["ETag"])
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if send_body:
                self.wfile.write(first)
                if not self._stream(key, body):
                    return
            self.gateway.requests_served += 1
        except (BrokenPipeError, ConnectionResetError):
            log.debug("player closed the connection early for %s", key)
        finally:
            body.close()

    def _stream(self, key: str, body: Any) -> bool:
        """Copy the store's body to the player; False when a store fault broke it off
        mid-body: then the player's connection is closed (it gets fewer bytes than
        announced: a failed read, not a hang)."""
        chunks = body.iter_chunks(_CHUNK)
        while True:
            try:
                chunk = next(chunks, None)
            except Exception as exc:  # the store's side broke: not the player's
                self.close_connection = True
                log.warning("store read of %s broke mid-body: %s", key, translate_error(exc, key))
                return False
            if chunk is None:
                return True
            self.wfile.write(chunk)
