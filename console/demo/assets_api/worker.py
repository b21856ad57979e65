"""The lifecycle worker's step: retried assets move ``retrying → processing → completed |
failed`` (deterministic by post id and attempt), one event per transition."""

from __future__ import annotations

import random
import sqlite3
import zlib
from collections.abc import Sequence
from typing import Any

from console.demo.assets_api.constants import PROVIDER
from console.demo.assets_api.seed import renditions
from console.demo.assets_api.store import Database, insert_event
from console.demo.assets_api.times import iso_utc


def _digest(post_id: str, attempt: int) -> int:
    """A stable 32-bit number for one attempt of one post (the worker's "randomness")."""
    return zlib.crc32(f"{post_id}:{attempt}".encode())


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


def tick(
    db: Database,
    now: float,
    *,
    processing_after_s: float,
    settle_after_s: float,
    manifest_urls: Sequence[str],
) -> int:
    """Advance due retried assets of ``db`` one lifecycle step each; returns how many moved.
    ``now`` is a Unix time in seconds; a retried asset becomes ``processing``
    ``processing_after_s`` after its retry and settles ``settle_after_s`` after that."""
    at = iso_utc(now)
    moved = 0
    with db.write() as conn:
        due = conn.execute(
            "SELECT * FROM video_assets WHERE status = 'retrying' AND updated_at <= ?",
            (iso_utc(now - processing_after_s),),
        ).fetchall()
        for row in due:
            job = f"job_{_digest(row['post_id'], row['attempts']):08x}"
            conn.execute(
                "UPDATE video_assets SET status = 'processing', provider_job_id = ?,"
                " updated_at = ? WHERE id = ?",
                (job, at, row["id"]),
            )
            payload = {"provider": PROVIDER, "job_id": job, "attempt": row["attempts"]}
            insert_event(
                conn, row["id"], "processing_started", "retrying", "processing", payload, at
            )
            moved += 1
        due = conn.execute(
            "SELECT * FROM video_assets AS a WHERE status = 'processing'"
            " AND updated_at <= ? AND EXISTS (SELECT 1 FROM video_processing_events"
            " WHERE asset_id = a.id AND type = 'retry_requested')",
            (iso_utc(now - settle_after_s),),
        ).fetchall()
        for row in due:
            _settle(conn, row, at, manifest_urls)
            moved += 1
    return moved


def _settle(
    conn: sqlite3.Connection, row: sqlite3.Row, at: str, manifest_urls: Sequence[str]
) -> None:
    digest = _digest(row["post_id"], row["attempts"])
    base = {"provider": PROVIDER, "job_id": row["provider_job_id"], "attempt": row["attempts"]}
    if digest % 3:
        rng = random.Random(digest)
        width, height = rng.choice(((1920, 1080), (1280, 720), (1080, 1920)))
        duration = float(row["duration_sec"] or round(rng.uniform(5, 300), 3))
        manifest = (
            rng.choice(manifest_urls)
            if manifest_urls
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
            "renditions": renditions(height, width),
            "manifest_url": manifest,
        }
        insert_event(conn, row["id"], "completed", "processing", "completed", payload, at)
        return
    code, message, extra = _WORKER_FAILURES[(digest // 3) % len(_WORKER_FAILURES)]
    conn.execute(
        "UPDATE video_assets SET status = 'failed', error_code = ?, error_message = ?,"
        " updated_at = ? WHERE id = ?",
        (code, message, at, row["id"]),
    )
    payload = {**base, "error_code": code, "error_message": message, **extra}
    insert_event(conn, row["id"], "failed", "processing", "failed", payload, at)
