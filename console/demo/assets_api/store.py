"""SQLite access for the assets API: pooled connections and write transactions, the shared
row and event helpers, and preparing a database (schema, seed, moved manifests)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from console.demo.assets_api.constants import SEED_VERSION, log
from console.demo.assets_api.schema import ASSET_FIELDS, SCHEMA
from console.demo.assets_api.seed import seed_rows
from console.demo.assets_api.times import iso_utc


class Database:
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


def insert_event(
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


def asset_json(row: sqlite3.Row) -> dict[str, Any]:
    doc = {name: row[name] for name in ASSET_FIELDS}
    if doc["duration_sec"] is not None:
        doc["duration_sec"] = float(doc["duration_sec"])
    return doc


def event_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": f"evt_{row['id']:07d}",
        "asset_id": row["asset_id"],
        "type": row["type"],
        "from_status": row["from_status"],
        "to_status": row["to_status"],
        "payload": json.loads(row["payload"] or "{}"),
        "created_at": row["created_at"],
    }


def prepare(db: Database, manifest_urls: list[str], *, seed: bool, now: float) -> None:
    """Create the schema; seed a new database (or one of an older seed version)."""
    with db.write_lock, db.read() as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript("BEGIN IMMEDIATE;" + SCHEMA + "COMMIT;")
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
                " DELETE FROM meta;" + SCHEMA
            )
        else:
            conn.execute("BEGIN IMMEDIATE")
        try:
            if reseed:
                _seed(conn, now, manifest_urls)
            else:
                _move_manifests(conn, manifest_urls, json.loads(meta.get("manifest_urls") or "[]"))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _seed(conn: sqlite3.Connection, now: float, manifest_urls: list[str]) -> None:
    t0 = time.monotonic()
    assets, events = seed_rows(now, manifest_urls)
    conn.executemany(
        f"INSERT INTO video_assets ({', '.join(ASSET_FIELDS)})"
        f" VALUES ({', '.join('?' for _ in ASSET_FIELDS)})",
        [tuple(row[name] for name in ASSET_FIELDS) for row in assets],
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
            ("manifest_urls", json.dumps(manifest_urls)),
        ],
    )
    log.info(
        "assets API: seeded %d assets, %d events in %.2f s",
        len(assets),
        len(events),
        time.monotonic() - t0,
    )


def _move_manifests(
    conn: sqlite3.Connection, manifest_urls: list[str], old_urls: list[str]
) -> None:
    """The demo bucket's port changes with every run: point assets at the current URL of
    the same manifest (matched by path)."""
    if not manifest_urls:
        return
    by_path = {urlsplit(url).path: url for url in manifest_urls}
    for old in old_urls:
        new = by_path.get(urlsplit(old).path)
        if new is not None and new != old:
            conn.execute(
                "UPDATE video_assets SET manifest_url = ? WHERE manifest_url = ?", (new, old)
            )
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('manifest_urls', ?)",
        (json.dumps(sorted(set(old_urls) | set(manifest_urls))),),
    )
