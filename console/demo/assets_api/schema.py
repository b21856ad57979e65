"""The SQLite schema of the assets API: ``video_assets``, the append-only
``video_processing_events``, ``idempotency_keys`` and ``meta``."""

ASSET_FIELDS = (
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

SCHEMA = """
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
