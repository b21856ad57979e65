"""The monitor's persisted event log: every alarm raised/cleared, break and late join, in
SQLite (WAL, one short connection per call, so the GUI and a CLI monitor can both write),
exportable as CSV. Columns ``at`` (ISO-8601 UTC) and ``channel`` match the cue audit log's,
so the two join on channel and time (no Qt)."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.monitor.model import MonitorEvent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS monitor_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    state TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    variant TEXT NOT NULL,
    detail TEXT NOT NULL
)
"""
COLUMNS = ("at", "state", "kind", "channel", "variant", "detail")


class MonitorEventLog:
    """The log in the SQLite file at ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=5.0)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(_SCHEMA)
            yield connection
            connection.commit()
        finally:
            connection.close()

    def append(self, events: list[MonitorEvent]) -> None:
        """Store ``events``. Raises ``sqlite3.Error`` when the file cannot be written."""
        if not events:
            return
        rows = [
            (
                e.at.isoformat(timespec="milliseconds"),
                e.state,
                e.kind,
                e.channel,
                e.variant,
                e.detail,
            )
            for e in events
        ]
        with self._connect() as connection:
            connection.executemany(
                "INSERT INTO monitor_events (at, state, kind, channel, variant, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def recent(self, limit: int = 500) -> list[tuple[str, ...]]:
        """The newest ``limit`` rows, newest first, as ``COLUMNS`` tuples."""
        with self._connect() as connection:
            cursor = connection.execute(
                f"SELECT {', '.join(COLUMNS)} FROM monitor_events ORDER BY id DESC LIMIT ?",
                (limit,),
            )
            return [tuple(row) for row in cursor.fetchall()]

    def export_csv(self, path: Path) -> int:
        """Write every row, oldest first, with a header; returns the number of rows."""
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT {', '.join(COLUMNS)} FROM monitor_events ORDER BY id"
            ).fetchall()
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
        return len(rows)
