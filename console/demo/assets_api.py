"""The demo video-assets API (DESIGN.md §1.3): a real HTTP server on loopback over SQLite.

This is "the server" of the contract, hosted by the demo stack next to S3; the console is its
client and talks to it over HTTP only (this module imports nothing from ``services`` or
``views``). ``start_assets_api()`` serves a Flask app with werkzeug's threaded WSGI server in
a daemon thread and runs a lifecycle worker thread; ``create_service()`` is the demo server's
factory (``SERVICE_FACTORIES``), publishing ``assets_api_url`` and ``assets_api_token``.

**Data** (SQLite, WAL): ``video_assets`` (one row per source video, the fields of §1.3),
``video_processing_events`` (append-only: triggers refuse UPDATE and DELETE) and
``idempotency_keys`` (the first answer to each ``Idempotency-Key``). Times are ISO-8601 UTC
with millisecond precision and a ``Z`` (fixed width, so text order is time order). A new
database is seeded with ``SEED_ASSETS`` deterministic assets over the last ``SEED_DAYS`` days;
an existing one keeps its state across restarts (it is reseeded only when ``SEED_VERSION``
changes).

**Endpoints** (every one needs ``Authorization: Bearer <token>``, else 401; the read-only
token ``READONLY_TOKEN`` may read but gets 403 on retry; every error body is
``{"error": "..."}``):

- ``GET /api/video-assets?status=&error_code=&since=&until=&q=&limit=&cursor=`` →
  ``{"items": [asset...], "next_cursor": str | null}``, ordered by ``updated_at`` desc then
  ``id`` desc. ``status`` is one status or several comma-separated; ``since`` (inclusive) and
  ``until`` (exclusive) are ISO-8601 times compared with ``updated_at``; ``q`` is a
  case-insensitive substring of post id, asset id, owner id, source URL, provider job id,
  error code or message; ``limit`` 1..200 (default 50); ``cursor`` is the opaque value of the
  previous page. 400 on a bad status, time, limit or cursor.
- ``GET /api/video-assets/{postId}`` → the asset, or 404.
- ``GET /api/video-assets/{postId}/events`` → ``{"events": [...]}`` by ``created_at``, ``id``.
- ``POST /api/video-assets/retry`` ``{"postId": ...}`` with an ``Idempotency-Key`` header →
  200 with the asset, now ``retrying`` (attempts + 1, error fields cleared, a
  ``retry_requested`` event appended); 404 unknown post; 409 ``{"error", "status"}`` when the
  asset is not ``failed``; 400 on malformed JSON, no ``postId`` or no key; 403 for the
  read-only token. A key seen before returns its first answer unchanged (same status code and
  body, header ``Idempotent-Replayed: true``) and changes nothing; the same key with another
  ``postId`` is 422. The check and the update are one SQLite transaction under a lock, so two
  concurrent retries of one asset give exactly one 200.

**Worker**: every ``worker_tick_s`` seconds, retried assets move ``retrying → processing``
after ``processing_after_s`` and ``processing → completed | failed`` ``settle_after_s``
later (deterministic by post id and attempt: two out of three complete), one event per
transition. "Retried" means the asset has a ``retry_requested`` event: the seed's
``retrying`` assets therefore settle within seconds of the first start, while its
``queued``/``processing`` first attempts stay as they are.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import logging
import random
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from console.demo.server import ServiceContext

log = logging.getLogger("console.demo.assets_api")

DEMO_TOKEN = "demo-ops-token"
"""The demo API's bearer token. Not a secret: the demo runs on loopback only and publishes
it in ``stack.json`` (``assets_api_token``) so the console can log in without setup."""

READONLY_TOKEN = "demo-readonly"
"""A second, fixed demo token accepted for GETs only (retry answers 403)."""

DB_FILE = "assets.sqlite3"
"""The service's database under the demo dir; persisted across runs."""

STATUSES = ("queued", "processing", "completed", "failed", "retrying")
RETRYABLE_STATUSES = frozenset({"failed"})
"""Statuses from which a retry is accepted (else 409)."""

SEED_VERSION = 1
SEED_RANDOM = 20261122
SEED_ASSETS = 400
SEED_DAYS = 14

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
PROVIDER = "mux"

_ASSET_FIELDS = (
    "id",
    "post_id",
    "owner_id",
    "source_url",
    "status",
    "provider_job_id",
    "manifest_url",
    "fallback_url",
    "poster_url",
    "duration_sec",
    "width",
    "height",
    "error_code",
    "error_message",
    "attempts",
    "created_at",
    "updated_at",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS video_assets (
    id TEXT PRIMARY KEY,
    post_id TEXT NOT NULL UNIQUE,
    owner_id TEXT NOT NULL,
    source_url TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'retrying')),
    provider_job_id TEXT,
    manifest_url TEXT,
    fallback_url TEXT,
    poster_url TEXT,
    duration_sec REAL,
    width INTEGER,
    height INTEGER,
    error_code TEXT,
    error_message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS video_assets_recent ON video_assets (updated_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS video_assets_by_status
    ON video_assets (status, updated_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS video_processing_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id TEXT NOT NULL REFERENCES video_assets (id),
    type TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    payload TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS video_processing_events_by_asset
    ON video_processing_events (asset_id, created_at, id);
CREATE TRIGGER IF NOT EXISTS video_processing_events_no_update
    BEFORE UPDATE ON video_processing_events
    BEGIN SELECT RAISE(ABORT, 'video_processing_events is append-only'); END;
CREATE TRIGGER IF NOT EXISTS video_processing_events_no_delete
    BEFORE DELETE ON video_processing_events
    BEGIN SELECT RAISE(ABORT, 'video_processing_events is append-only'); END;
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    post_id TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


# -- time ----------------------------------------------------------------------------------


def iso_utc(ts: float) -> str:
    """A Unix time (seconds) as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC, fixed width)."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> float:
    """An ISO-8601 time (``Z`` or an offset; naive means UTC) → Unix time in seconds.
    Raises ValueError."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


# -- database ------------------------------------------------------------------------------


class _Database:
    """SQLite connections shared by the HTTP threads and the worker.

    Connections (autocommit mode, explicit transactions) are pooled: a request borrows one for
    its duration. ``write()`` serialises writers with a lock *and* ``BEGIN IMMEDIATE``; readers
    run concurrently thanks to WAL.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.write_lock = threading.Lock()
        self._pool: list[sqlite3.Connection] = []
        self._all: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Borrow a connection (autocommit: each statement sees the latest commit)."""
        with self._pool_lock:
            if self._closed:
                raise RuntimeError("the assets database is closed")
            conn = self._pool.pop() if self._pool else None
        if conn is None:
            conn = self._connect()
            with self._pool_lock:
                self._all.append(conn)
        try:
            yield conn
        finally:
            with self._pool_lock:
                if self._closed:
                    conn.close()
                else:
                    self._pool.append(conn)

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        with self.write_lock, self.read() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection (borrowed ones are closed when returned)."""
        with self._pool_lock:
            self._closed = True
            idle, self._pool = self._pool, []
        for conn in idle:
            conn.close()


def _digest(post_id: str, attempt: int) -> int:
    """A stable 32-bit number for one attempt of one post (the worker's "randomness")."""
    return zlib.crc32(f"{post_id}:{attempt}".encode())


def _insert_event(
    conn: sqlite3.Connection,
    asset_id: str,
    kind: str,
    from_status: str | None,
    to_status: str | None,
    payload: dict[str, Any],
    at: str,
) -> None:
    conn.execute(
        "INSERT INTO video_processing_events"
        " (asset_id, type, from_status, to_status, payload, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (asset_id, kind, from_status, to_status, json.dumps(payload), at),
    )


def _asset_json(row: sqlite3.Row) -> dict[str, Any]:
    doc = {name: row[name] for name in _ASSET_FIELDS}
    if doc["duration_sec"] is not None:
        doc["duration_sec"] = float(doc["duration_sec"])
    return doc


def _event_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": f"evt_{row['id']:07d}",
        "asset_id": row["asset_id"],
        "type": row["type"],
        "from_status": row["from_status"],
        "to_status": row["to_status"],
        "payload": json.loads(row["payload"] or "{}"),
        "created_at": row["created_at"],
    }


# -- seed ----------------------------------------------------------------------------------

_STATUS_COUNTS = (
    ("completed", 222),
    ("failed", 100),
    ("processing", 34),
    ("queued", 30),
    ("retrying", 14),
)
_FAILURE_WEIGHTS = (
    ("provider_timeout", 30),
    ("unsupported_codec", 18),
    ("non_video_input", 14),
    ("webhook_signature_invalid", 10),
    ("source_unreachable", 16),
    ("duration_too_long", 12),
)
_SIZES = ((1920, 1080, 4), (1280, 720, 3), (1080, 1920, 3), (720, 1280, 1), (3840, 2160, 1))
_STEMS = ("clip", "IMG_{n4}", "GX01{n4}", "highlight_final", "game_day", "warmup", "VID_{n8}")
_VIDEO_EXTS = (("mp4", 6), ("mov", 3), ("mkv", 1), ("webm", 1))
_NON_VIDEO = (
    ("image/png", "png"),
    ("image/jpeg", "jpg"),
    ("image/heic", "heic"),
    ("application/pdf", "pdf"),
    ("audio/mpeg", "mp3"),
)
_CODECS = ("prores", "dnxhd", "cinepak", "vp6f", "wmv3", "mjpeg")


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, ...]]) -> Any:
    """The first element of one row of ``weighted`` (its last element is the weight)."""
    return rng.choices(weighted, weights=[row[-1] for row in weighted])[0][0]


def _renditions(height: int, width: int) -> list[str]:
    short = min(height, width)
    return [f"{h}p" for h in (2160, 1080, 720, 480, 360) if h <= short]


def _failure(
    rng: random.Random, code: str, source_url: str
) -> tuple[str, dict[str, Any], float, dict[str, Any]]:
    """A failure of kind ``code``: (message, extra event payload, seconds from the start of
    processing to the failure, asset fields it reveals)."""
    if code == "provider_timeout":
        return (
            "Transcoding provider did not answer within 900 s",
            {"http_status": 504, "timeout_s": 900},
            900.0,
            {},
        )
    if code == "unsupported_codec":
        codec = rng.choice(_CODECS)
        width, height = rng.choice(((1920, 1080), (1280, 720), (3840, 2160)))
        return (
            f"Source video codec '{codec}' is not supported",
            {"http_status": 422, "codec": codec},
            rng.uniform(8, 40),
            {"width": width, "height": height},
        )
    if code == "non_video_input":
        mime = next(m for m, ext in _NON_VIDEO if source_url.endswith("." + ext))
        return (
            f"Uploaded file is {mime}, not a video",
            {"http_status": 415, "detected_mime": mime},
            rng.uniform(1, 5),
            {},
        )
    if code == "webhook_signature_invalid":
        return (
            "Provider webhook signature did not verify",
            {"http_status": 401, "webhook": "video.asset.ready", "header": "mux-signature"},
            rng.uniform(60, 400),
            {},
        )
    if code == "source_unreachable":
        status = rng.choice((404, 404, 404, 403, 410))
        return (
            f"Source URL returned HTTP {status}",
            {"http_status": status, "source_url": source_url},
            rng.uniform(2, 30),
            {},
        )
    if code == "duration_too_long":
        seconds = round(rng.uniform(3.1 * 3600, 6 * 3600), 3)
        hours, rest = divmod(int(seconds), 3600)
        return (
            f"Video is {hours} h {rest // 60:02d} min long; the limit is 3 h",
            {"duration_sec": seconds, "limit_sec": 10800},
            rng.uniform(5, 20),
            {"duration_sec": seconds, "width": 1920, "height": 1080},
        )
    raise ValueError(f"unknown failure code {code!r}")


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


@dataclass
class _Timeline:
    """One seeded asset's history while it is generated: times are seconds after its
    creation; ``attempts`` counts processing attempts (a retry request starts the next)."""

    rng: random.Random
    source_url: str
    t: float = 0.0
    attempts: int = 0
    status: str | None = None  # before the "created" event
    job_id: str | None = None
    events: list[tuple[float, str, str | None, str | None, dict[str, Any]]] = field(
        default_factory=list
    )

    def add(self, dt: float, kind: str, to_status: str | None, payload: dict[str, Any]) -> None:
        """Append an event ``dt`` seconds after the previous one (a note if no
        ``to_status``)."""
        self.t += dt
        from_status = self.status if to_status is not None else None
        self.events.append((self.t, kind, from_status, to_status, payload))
        if to_status is not None:
            self.status = to_status

    def start_processing(self) -> None:
        if self.status == "queued":
            self.attempts += 1
        self.job_id = f"job_{self.rng.getrandbits(40):010x}"
        payload = {"provider": PROVIDER, "job_id": self.job_id, "attempt": self.attempts}
        self.add(self.rng.uniform(1, 90), "processing_started", "processing", payload)

    def fail(self, code: str) -> tuple[str, dict[str, Any]]:
        """Fail the running attempt with ``code``; returns (message, asset fields)."""
        message, extra, delay, fields = _failure(self.rng, code, self.source_url)
        payload = {"provider": PROVIDER, "job_id": self.job_id, "attempt": self.attempts}
        payload.update(error_code=code, error_message=message, **extra)
        self.add(delay, "failed", "failed", payload)
        return message, fields

    def request_retry(self, delay: float) -> None:
        self.attempts += 1
        payload = {
            "idempotency_key": _uuid(self.rng),
            "requested_by": self.rng.choice(("ops-console", "ops-console", "auto-retry")),
            "attempt": self.attempts,
        }
        self.add(delay, "retry_requested", "retrying", payload)

    def complete(self, asset_id: str, manifest: str) -> dict[str, Any]:
        """Complete the running attempt; returns the asset's output fields."""
        rng = self.rng
        width, height = _pick(rng, [(s[:2], s[2]) for s in _SIZES])
        r = rng.random()
        if r < 0.6:
            duration = rng.uniform(5, 60)
        elif r < 0.95:
            duration = rng.uniform(60, 600)
        else:
            duration = rng.uniform(600, 2700)
        duration = round(duration, 3)
        hook = {"provider": PROVIDER, "event": "video.asset.ready", "job_id": self.job_id}
        self.add(rng.uniform(20, 240) + duration / 4, "webhook_received", None, hook)
        payload = {
            "provider": PROVIDER,
            "job_id": self.job_id,
            "attempt": self.attempts,
            "duration_sec": duration,
            "width": width,
            "height": height,
            "renditions": _renditions(height, width),
            "manifest_url": manifest,
        }
        self.add(rng.uniform(0.05, 0.8), "completed", "completed", payload)
        return {
            "manifest_url": manifest,
            "fallback_url": f"https://cdn.example.com/v/{asset_id}/fallback.mp4",
            "poster_url": f"https://cdn.example.com/v/{asset_id}/poster.jpg",
            "duration_sec": duration,
            "width": width,
            "height": height,
        }


_EventRow = tuple[str, str, str | None, str | None, str, str]


def _seed_rows(
    now: float, manifest_urls: Sequence[str]
) -> tuple[list[dict[str, Any]], list[_EventRow]]:
    """The deterministic seed (``random.Random(SEED_RANDOM)``) placed before ``now`` (Unix s):
    asset rows and event rows ``(asset_id, type, from, to, payload_json, created_at)``."""
    rng = random.Random(SEED_RANDOM)
    statuses = [status for status, count in _STATUS_COUNTS for _ in range(count)]
    rng.shuffle(statuses)
    owners = [f"usr_{n}" for n in rng.sample(range(1000, 99999), 48)]
    post_ids: set[str] = set()
    assets: list[dict[str, Any]] = []
    events: list[_EventRow] = []
    for final in statuses:
        post_id = f"post_{rng.getrandbits(28):07x}"
        while post_id in post_ids:
            post_id = f"post_{rng.getrandbits(28):07x}"
        post_ids.add(post_id)
        asset_id = f"va_{rng.getrandbits(48):012x}"
        owner = rng.choice(owners)
        code = _pick(rng, _FAILURE_WEIGHTS) if final in ("failed", "retrying") else None
        stem = rng.choice(_STEMS).format(
            n4=rng.randrange(1000, 9999), n8=rng.randrange(10**7, 10**8)
        )
        ext = rng.choice(_NON_VIDEO)[1] if code == "non_video_input" else _pick(rng, _VIDEO_EXTS)
        source_url = f"https://uploads.example.com/u/{owner[4:]}/{stem}.{ext}"
        row: dict[str, Any] = dict.fromkeys(_ASSET_FIELDS)
        row.update(id=asset_id, post_id=post_id, owner_id=owner, source_url=source_url)
        tl = _Timeline(rng, source_url)
        size = rng.randrange(200_000, 2_500_000_000)
        tl.add(0.0, "created", "queued", {"source_url": source_url, "size_bytes": size})
        if final != "queued":
            tl.start_processing()
        earlier = 0  # failed attempts before the last one, each followed by a retry
        if final == "failed" and rng.random() < 0.3:
            earlier = rng.choice((1, 1, 2))
        elif final == "completed" and rng.random() < 0.12:
            earlier = 1
        elif final == "retrying":
            earlier = rng.choice((0, 0, 1))
        for _ in range(earlier):
            tl.fail(rng.choice(("provider_timeout", "source_unreachable", "unsupported_codec")))
            tl.request_retry(rng.uniform(120, 6 * 3600))
            tl.start_processing()
        if final == "completed":
            manifest = (
                rng.choice(manifest_urls)
                if manifest_urls
                else f"https://cdn.example.com/v/{asset_id}/master.m3u8"
            )
            row.update(tl.complete(asset_id, manifest))
        elif code is not None:
            message, fields = tl.fail(code)
            row.update(fields)
            if final == "failed":
                row.update(error_code=code, error_message=message)
            else:
                tl.request_retry(rng.uniform(300, 3 * 86400))
        # Place the history: finished assets anywhere in the last SEED_DAYS days, the others
        # so that their last event is recent.
        if final in ("completed", "failed"):
            created = rng.uniform(now - SEED_DAYS * 86400, now - 60 - tl.t)
        elif final == "queued":
            created = now - rng.uniform(5, 900)
        else:
            created = now - tl.t - rng.uniform(20, 900 if final == "retrying" else 1800)
        row.update(
            status=tl.status,
            provider_job_id=tl.job_id,
            attempts=tl.attempts,
            created_at=iso_utc(created),
            updated_at=iso_utc(created + tl.t),
        )
        assets.append(row)
        for at, kind, from_status, to_status, payload in tl.events:
            events.append(
                (asset_id, kind, from_status, to_status, json.dumps(payload), iso_utc(created + at))
            )
    return assets, events


_WORKER_FAILURES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "provider_timeout",
        "Transcoding provider did not answer within 900 s",
        {"http_status": 504, "timeout_s": 900},
    ),
    ("source_unreachable", "Source URL returned HTTP 403", {"http_status": 403}),
    (
        "provider_error",
        "Transcoding provider returned HTTP 502 Bad Gateway",
        {"http_status": 502},
    ),
)
"""How a retried asset fails again in the worker (code, message, event payload extras)."""


# -- the server ----------------------------------------------------------------------------


class _ApiError(Exception):
    """An error answer: HTTP ``status`` with body ``{"error": message, **extra}``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's request handler without the per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _json_response(status: int, doc: Any, **headers: str) -> Response:
    return _raw_response(status, json.dumps(doc), **headers)


def _raw_response(status: int, body: str, **headers: str) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def _encode_cursor(updated_at: str, asset_id: str) -> str:
    raw = json.dumps([updated_at, asset_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _ApiError(400, "invalid cursor") from None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(part, str) for part in value)
    ):
        raise _ApiError(400, "invalid cursor")
    return value[0], value[1]


def _time_param(name: str) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        return iso_utc(parse_iso(value))
    except (ValueError, OverflowError, OSError):
        raise _ApiError(400, f"{name!r} is not an ISO-8601 time: {value!r}") from None


class AssetsApiServer:
    """A running demo assets API (see the module docstring).

    ``url`` is ``http://HOST:PORT``; ``token`` the bearer token with write access;
    ``db_path`` the SQLite file. ``stop()`` stops the HTTP server and the worker and closes
    the database (idempotent). Use ``start_assets_api()`` to build one.
    """

    def __init__(
        self,
        db_path: Path,
        token: str,
        *,
        host: str,
        port: int,
        worker_tick_s: float,
        processing_after_s: float,
        settle_after_s: float,
        manifest_urls: Sequence[str],
    ) -> None:
        if not token:
            raise ValueError("the assets API needs a non-empty token")
        self.db_path = Path(db_path)
        self.token = token
        self.read_only_token = READONLY_TOKEN
        self.worker_tick_s = worker_tick_s
        self.processing_after_s = processing_after_s
        self.settle_after_s = settle_after_s
        self.manifest_urls = list(manifest_urls)
        self.db = _Database(self.db_path)
        self.app = self._make_app()
        self.url = ""
        self._host = host
        self._port = port
        self._httpd: BaseWSGIServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._stopped = False

    # -- life cycle ----------------------------------------------------------------------

    def start(self, *, seed: bool = True, now: float | None = None) -> None:
        """Prepare the database (schema, seed when new), bind and start serving.

        ``now`` (Unix s) anchors the seed's times (default: the current time). Raises
        OSError (port in use, unwritable path) or sqlite3.Error.
        """
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._prepare(seed=seed, now=time.time() if now is None else now)
        self._httpd = make_server(
            self._host, self._port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://{self._host}:{self._httpd.server_port}"
        serve = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="assets-api-http",
            daemon=True,
        )
        worker = threading.Thread(target=self._work, name="assets-api-worker", daemon=True)
        self._threads = [serve, worker]
        serve.start()
        worker.start()

    def stop(self) -> None:
        """Stop serving and the worker, then close the database; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self._httpd is not None and self._threads:
            self._httpd.shutdown()
        if self._httpd is not None:
            self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=10.0)
        self.db.close()

    def __enter__(self) -> AssetsApiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _prepare(self, *, seed: bool, now: float) -> None:
        """Create the schema; seed a new database (or one of an older seed version)."""
        with self.db.write_lock, self.db.read() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
            meta = {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM meta")}
            count = conn.execute("SELECT COUNT(*) FROM video_assets").fetchone()[0]
            version = meta.get("seed_version")
            reseed = seed and (
                (version is None and count == 0)
                or (version is not None and version != str(SEED_VERSION))
            )
            if reseed:  # DDL and inserts in one transaction: all or nothing
                conn.executescript(
                    "BEGIN IMMEDIATE; DROP TABLE IF EXISTS video_processing_events;"
                    " DROP TABLE IF EXISTS idempotency_keys; DROP TABLE IF EXISTS video_assets;"
                    " DELETE FROM meta;" + _SCHEMA
                )
            else:
                conn.execute("BEGIN IMMEDIATE")
            try:
                if reseed:
                    self._seed(conn, now)
                else:
                    self._move_manifests(conn, json.loads(meta.get("manifest_urls") or "[]"))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _seed(self, conn: sqlite3.Connection, now: float) -> None:
        t0 = time.monotonic()
        assets, events = _seed_rows(now, self.manifest_urls)
        conn.executemany(
            f"INSERT INTO video_assets ({', '.join(_ASSET_FIELDS)})"
            f" VALUES ({', '.join('?' for _ in _ASSET_FIELDS)})",
            [tuple(row[name] for name in _ASSET_FIELDS) for row in assets],
        )
        events.sort(key=lambda e: (e[5], e[0]))  # ids grow with time, like a real log
        conn.executemany(
            "INSERT INTO video_processing_events"
            " (asset_id, type, from_status, to_status, payload, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            events,
        )
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [
                ("seed_version", str(SEED_VERSION)),
                ("seeded_at", iso_utc(now)),
                ("manifest_urls", json.dumps(self.manifest_urls)),
            ],
        )
        log.info(
            "assets API: seeded %d assets, %d events in %.2f s",
            len(assets),
            len(events),
            time.monotonic() - t0,
        )

    def _move_manifests(self, conn: sqlite3.Connection, old_urls: list[str]) -> None:
        """The demo bucket's port changes with every run: point assets at the current URL of
        the same manifest (matched by path)."""
        if not self.manifest_urls:
            return
        by_path = {urlsplit(url).path: url for url in self.manifest_urls}
        for old in old_urls:
            new = by_path.get(urlsplit(old).path)
            if new is not None and new != old:
                conn.execute(
                    "UPDATE video_assets SET manifest_url = ? WHERE manifest_url = ?", (new, old)
                )
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('manifest_urls', ?)",
            (json.dumps(sorted(set(old_urls) | set(self.manifest_urls))),),
        )

    # -- HTTP ----------------------------------------------------------------------------

    def _make_app(self) -> Flask:
        app = Flask("console.demo.assets_api")

        @app.before_request
        def authenticate() -> Response | None:
            header = request.headers.get("Authorization", "")
            scheme, _, value = header.partition(" ")
            value = value.strip()
            if scheme.lower() != "bearer" or not value:
                return _json_response(
                    401, {"error": "missing bearer token"}, WWW_Authenticate="Bearer"
                )
            if hmac.compare_digest(value.encode(), self.token.encode()):
                g.read_only = False
            elif hmac.compare_digest(value.encode(), READONLY_TOKEN.encode()):
                g.read_only = True
            else:
                return _json_response(
                    401,
                    {"error": "invalid bearer token"},
                    WWW_Authenticate='Bearer error="invalid_token"',
                )
            return None

        @app.errorhandler(_ApiError)
        def api_error(err: _ApiError) -> Response:
            return _json_response(err.status, err.body)

        @app.errorhandler(HTTPException)
        def http_error(err: HTTPException) -> Response:
            return _json_response(err.code or 500, {"error": err.description or err.name})

        @app.errorhandler(Exception)
        def unexpected(err: Exception) -> Response:
            log.exception("assets API: %s %s failed", request.method, request.path)
            return _json_response(500, {"error": f"internal error: {type(err).__name__}"})

        app.add_url_rule("/api/video-assets", view_func=self._list, methods=["GET"])
        app.add_url_rule("/api/video-assets/retry", view_func=self._retry, methods=["POST"])
        app.add_url_rule("/api/video-assets/<post_id>", view_func=self._get, methods=["GET"])
        app.add_url_rule(
            "/api/video-assets/<post_id>/events", view_func=self._events, methods=["GET"]
        )
        return app

    def _list(self) -> Response:
        clauses: list[str] = []
        params: list[Any] = []
        status = request.args.get("status", "")
        if status:
            wanted = [s.strip() for s in status.split(",") if s.strip()]
            unknown = [s for s in wanted if s not in STATUSES]
            if unknown or not wanted:
                raise _ApiError(
                    400, f"unknown status {status!r}: expected one of {', '.join(STATUSES)}"
                )
            clauses.append(f"status IN ({', '.join('?' for _ in wanted)})")
            params += wanted
        error_code = request.args.get("error_code", "")
        if error_code:
            clauses.append("error_code = ?")
            params.append(error_code)
        since, until = _time_param("since"), _time_param("until")
        if since is not None:
            clauses.append("updated_at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("updated_at < ?")
            params.append(until)
        text = request.args.get("q", "").strip()
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern += "%"
            columns = ("post_id", "id", "owner_id", "source_url", "provider_job_id")
            columns += ("error_code", "error_message")
            clauses.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")")
            params += [pattern] * len(columns)
        raw_limit = request.args.get("limit", str(DEFAULT_LIMIT))
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise _ApiError(400, f"limit must be an integer from 1 to {MAX_LIMIT}: {raw_limit!r}")
        cursor = request.args.get("cursor", "")
        if cursor:
            after_time, after_id = _decode_cursor(cursor)
            clauses.append("(updated_at < ? OR (updated_at = ? AND id < ?))")
            params += [after_time, after_time, after_id]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT * FROM video_assets {where} ORDER BY updated_at DESC, id DESC LIMIT ?",
                (*params, limit + 1),
            ).fetchall()
        page = rows[:limit]
        next_cursor = (
            _encode_cursor(page[-1]["updated_at"], page[-1]["id"]) if len(rows) > limit else None
        )
        return _json_response(
            200, {"items": [_asset_json(r) for r in page], "next_cursor": next_cursor}
        )

    def _get(self, post_id: str) -> Response:
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM video_assets WHERE post_id = ?", (post_id,))
            row = row.fetchone()
        if row is None:
            raise _ApiError(404, f"no video asset for post {post_id!r}")
        return _json_response(200, _asset_json(row))

    def _events(self, post_id: str) -> Response:
        with self.db.read() as conn:
            asset = conn.execute("SELECT id FROM video_assets WHERE post_id = ?", (post_id,))
            asset = asset.fetchone()
            if asset is None:
                raise _ApiError(404, f"no video asset for post {post_id!r}")
            rows = conn.execute(
                "SELECT * FROM video_processing_events WHERE asset_id = ? ORDER BY created_at, id",
                (asset["id"],),
            ).fetchall()
        return _json_response(200, {"events": [_event_json(r) for r in rows]})

    def _retry(self) -> Response:
        if g.get("read_only", True):
            raise _ApiError(403, "this token may only read: retry needs the ops token")
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            raise _ApiError(400, 'the body must be a JSON object {"postId": "..."}')
        post_id = body.get("postId")
        if not isinstance(post_id, str) or not post_id.strip():
            raise _ApiError(400, "postId is missing or not a non-empty string")
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            raise _ApiError(400, "the Idempotency-Key header is required")
        if len(key) > 255:
            raise _ApiError(400, "the Idempotency-Key header is longer than 255 characters")
        with self.db.write() as conn:
            seen = conn.execute(
                "SELECT post_id, status_code, body FROM idempotency_keys WHERE key = ?", (key,)
            ).fetchone()
            if seen is not None:
                if seen["post_id"] != post_id:
                    raise _ApiError(
                        422,
                        f"Idempotency-Key {key!r} was already used for post {seen['post_id']!r}",
                    )
                return _raw_response(seen["status_code"], seen["body"], Idempotent_Replayed="true")
            status, doc = self._retry_locked(conn, post_id, key)
            text = json.dumps(doc)
            conn.execute(
                "INSERT INTO idempotency_keys (key, post_id, status_code, body, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, post_id, status, text, iso_utc(time.time())),
            )
        return _raw_response(status, text)

    def _retry_locked(
        self, conn: sqlite3.Connection, post_id: str, key: str
    ) -> tuple[int, dict[str, Any]]:
        row = conn.execute("SELECT * FROM video_assets WHERE post_id = ?", (post_id,)).fetchone()
        if row is None:
            return 404, {"error": f"no video asset for post {post_id!r}"}
        if row["status"] not in RETRYABLE_STATUSES:
            return 409, {
                "error": f"asset of post {post_id!r} is {row['status']}, not failed: not retried",
                "status": row["status"],
            }
        now = iso_utc(time.time())
        attempts = int(row["attempts"]) + 1
        conn.execute(
            "UPDATE video_assets SET status = 'retrying', attempts = ?, error_code = NULL,"
            " error_message = NULL, updated_at = ? WHERE id = ?",
            (attempts, now, row["id"]),
        )
        payload = {
            "idempotency_key": key,
            "requested_by": "ops-console",
            "attempt": attempts,
            "previous_error_code": row["error_code"],
        }
        _insert_event(conn, row["id"], "retry_requested", "failed", "retrying", payload, now)
        updated = conn.execute("SELECT * FROM video_assets WHERE id = ?", (row["id"],))
        return 200, _asset_json(updated.fetchone())

    # -- worker --------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.wait(self.worker_tick_s):
            try:
                self.tick()
            except Exception:
                log.exception("assets API worker tick failed (will retry)")

    def tick(self, now: float | None = None) -> int:
        """Advance due retried assets one lifecycle step each; returns how many moved.
        ``now`` is a Unix time in seconds (default: the current time)."""
        now = time.time() if now is None else now
        at = iso_utc(now)
        moved = 0
        with self.db.write() as conn:
            due = conn.execute(
                "SELECT * FROM video_assets WHERE status = 'retrying' AND updated_at <= ?",
                (iso_utc(now - self.processing_after_s),),
            ).fetchall()
            for row in due:
                job = f"job_{_digest(row['post_id'], row['attempts']):08x}"
                conn.execute(
                    "UPDATE video_assets SET status = 'processing', provider_job_id = ?,"
                    " updated_at = ? WHERE id = ?",
                    (job, at, row["id"]),
                )
                payload = {"provider": PROVIDER, "job_id": job, "attempt": row["attempts"]}
                _insert_event(
                    conn, row["id"], "processing_started", "retrying", "processing", payload, at
                )
                moved += 1
            due = conn.execute(
                "SELECT * FROM video_assets AS a WHERE status = 'processing'"
                " AND updated_at <= ? AND EXISTS (SELECT 1 FROM video_processing_events"
                " WHERE asset_id = a.id AND type = 'retry_requested')",
                (iso_utc(now - self.settle_after_s),),
            ).fetchall()
            for row in due:
                self._settle(conn, row, at)
                moved += 1
        return moved

    def _settle(self, conn: sqlite3.Connection, row: sqlite3.Row, at: str) -> None:
        digest = _digest(row["post_id"], row["attempts"])
        base = {"provider": PROVIDER, "job_id": row["provider_job_id"], "attempt": row["attempts"]}
        if digest % 3:
            rng = random.Random(digest)
            width, height = rng.choice(((1920, 1080), (1280, 720), (1080, 1920)))
            duration = float(row["duration_sec"] or round(rng.uniform(5, 300), 3))
            manifest = (
                rng.choice(self.manifest_urls)
                if self.manifest_urls
                else f"https://cdn.example.com/v/{row['id']}/master.m3u8"
            )
            conn.execute(
                "UPDATE video_assets SET status = 'completed', manifest_url = ?,"
                " fallback_url = ?, poster_url = ?, duration_sec = ?, width = ?, height = ?,"
                " error_code = NULL, error_message = NULL, updated_at = ? WHERE id = ?",
                (
                    manifest,
                    f"https://cdn.example.com/v/{row['id']}/fallback.mp4",
                    f"https://cdn.example.com/v/{row['id']}/poster.jpg",
                    duration,
                    width,
                    height,
                    at,
                    row["id"],
                ),
            )
            payload = {
                **base,
                "duration_sec": duration,
                "width": width,
                "height": height,
                "renditions": _renditions(height, width),
                "manifest_url": manifest,
            }
            _insert_event(conn, row["id"], "completed", "processing", "completed", payload, at)
            return
        code, message, extra = _WORKER_FAILURES[(digest // 3) % len(_WORKER_FAILURES)]
        conn.execute(
            "UPDATE video_assets SET status = 'failed', error_code = ?, error_message = ?,"
            " updated_at = ? WHERE id = ?",
            (code, message, at, row["id"]),
        )
        payload = {**base, "error_code": code, "error_message": message, **extra}
        _insert_event(conn, row["id"], "failed", "processing", "failed", payload, at)


def start_assets_api(
    db_path: Path,
    token: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    worker_tick_s: float = 0.25,
    seed: bool = True,
    manifest_urls: Sequence[str] = (),
    processing_after_s: float = 1.0,
    settle_after_s: float = 2.0,
    now: float | None = None,
) -> AssetsApiServer:
    """Start the demo assets API on ``host:port`` (0 = a free port) over ``db_path``.

    ``token`` is the bearer token with write access (``READONLY_TOKEN`` is accepted for
    reads). A new database is seeded when ``seed`` is true, with times placed before ``now``
    (Unix s, default the current time); completed assets point at ``manifest_urls`` (e.g. the
    demo bucket's game masters) when given, else at ``https://cdn.example.com/...``.
    ``worker_tick_s`` is the worker's period; a retried asset becomes ``processing``
    ``processing_after_s`` after its retry and settles ``settle_after_s`` after that (all in
    seconds). Returns the running server; call ``stop()``. Raises OSError or sqlite3.Error.
    """
    server = AssetsApiServer(
        db_path,
        token,
        host=host,
        port=port,
        worker_tick_s=worker_tick_s,
        processing_after_s=processing_after_s,
        settle_after_s=settle_after_s,
        manifest_urls=manifest_urls,
    )
    try:
        server.start(seed=seed, now=now)
    except BaseException:
        server.stop()
        raise
    log.info("assets API on %s (db %s)", server.url, server.db_path)
    return server


# -- the demo stack's service ----------------------------------------------------------------


def demo_manifest_urls(ctx: ServiceContext) -> list[str]:
    """Path-style URLs of the demo bucket's playable game masters
    (``{endpoint}/{bucket}/games/{id}/master.m3u8``), the broken seed game left out; [] when
    the bucket cannot be listed (logged)."""
    from console.demo import seed as seedmod

    broken = {game.id for game in seedmod.DEMO_GAMES if game.kind == "broken"}
    try:
        s3 = ctx.s3_client()
        keys: list[str] = []
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=ctx.bucket, Prefix="games/")
        for page in pages:
            keys += [obj["Key"] for obj in page.get("Contents", [])]
    except Exception:
        log.exception("assets API: cannot list the demo bucket; CDN placeholders used")
        return []
    games = sorted(
        key.split("/")[1] for key in keys if key.count("/") == 2 and key.endswith("/master.m3u8")
    )
    return [
        f"{ctx.endpoint_url}/{ctx.bucket}/games/{game}/master.m3u8"
        for game in games
        if game not in broken
    ]


class AssetsApiService:
    """The assets API as a demo-stack service: ``state_key = "assets_api_url"``; its database
    is ``<demo_dir>/assets.sqlite3``; ``extra_state()`` publishes the demo token."""

    state_key = "assets_api_url"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.server: AssetsApiServer | None = None

    def start(self) -> str:
        """Start serving; returns the base URL. Raises OSError or sqlite3.Error."""
        self.server = start_assets_api(
            self.ctx.demo_dir / DB_FILE,
            DEMO_TOKEN,
            manifest_urls=demo_manifest_urls(self.ctx),
        )
        return self.server.url

    def extra_state(self) -> dict[str, str]:
        """Extra ``stack.json`` entries: the (non-secret) demo token."""
        return {"assets_api_token": DEMO_TOKEN}

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self.server is not None:
            self.server.stop()


def create_service(ctx: ServiceContext) -> AssetsApiService:
    """``SERVICE_FACTORIES`` entry: ``"console.demo.assets_api:create_service"``."""
    return AssetsApiService(ctx)
