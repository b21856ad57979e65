"""The demo video-assets API (docs/contracts.md §1.3): a real HTTP server on loopback over SQLite.

This is "the server" of the contract, hosted by the demo stack next to S3; the console is its
client and talks to it over HTTP only (this package imports nothing from ``services`` or
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

The package's modules: ``constants`` (tokens, statuses, seed parameters, limits), ``times``
(ISO-8601 UTC), ``schema`` (the SQLite schema), ``store`` (connections, transactions,
preparing a database), ``seed`` (the deterministic data), ``routes`` (the Flask app),
``worker`` (the lifecycle step) and ``server`` (``AssetsApiServer``, ``start_assets_api()``,
the demo stack's service).
"""

from console.demo.assets_api.constants import (
    DB_FILE,
    DEFAULT_LIMIT,
    DEMO_TOKEN,
    MAX_LIMIT,
    PROVIDER,
    READONLY_TOKEN,
    RETRYABLE_STATUSES,
    SEED_ASSETS,
    SEED_DAYS,
    SEED_RANDOM,
    SEED_VERSION,
    STATUSES,
)
from console.demo.assets_api.server import (
    AssetsApiServer,
    AssetsApiService,
    create_service,
    demo_manifest_urls,
    start_assets_api,
)
from console.demo.assets_api.times import iso_utc, parse_iso

__all__ = [
    "DB_FILE",
    "DEFAULT_LIMIT",
    "DEMO_TOKEN",
    "MAX_LIMIT",
    "PROVIDER",
    "READONLY_TOKEN",
    "RETRYABLE_STATUSES",
    "SEED_ASSETS",
    "SEED_DAYS",
    "SEED_RANDOM",
    "SEED_VERSION",
    "STATUSES",
    "AssetsApiServer",
    "AssetsApiService",
    "create_service",
    "demo_manifest_urls",
    "iso_utc",
    "parse_iso",
    "start_assets_api",
]
