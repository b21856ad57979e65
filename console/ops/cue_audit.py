"""The audit log of manual ad breaks: every start and stop an operator asked for, its
outcome and its verification, in SQLite under the user data dir; exportable as CSV.

Shared by the GUI and the CLI (``main.py cue …``). Each call opens its own short
connection (a few milliseconds; WAL, 5 s busy timeout), so threads and processes can write
at once.
"""

from __future__ import annotations

import csv
import getpass
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from console.paths import data_dir
from services.clock import utc_stamp

AUDIT_FILE = "cue_audit.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cue_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    operator TEXT NOT NULL,
    profile TEXT NOT NULL,
    channel TEXT NOT NULL,
    action TEXT NOT NULL,
    duration REAL,
    event_id INTEGER,
    idempotency_key TEXT NOT NULL,
    outcome TEXT NOT NULL,
    verified INTEGER,
    verification TEXT NOT NULL DEFAULT ''
)
"""


@dataclass(frozen=True)
class AuditEntry:
    """One audited cue: ``at`` (ISO-8601 UTC), ``operator`` (OS user), ``profile``,
    ``channel``, ``action`` (``start``/``stop``), ``duration`` in seconds (starts), the
    ``event_id`` the service gave (None when refused), the ``idempotency_key`` sent,
    ``outcome`` (``accepted``, ``replayed`` or the refusal), ``verified`` (None while
    pending or not verified at all) and the ``verification`` summary."""

    id: int
    at: str
    operator: str
    profile: str
    channel: str
    action: str
    duration: float | None
    event_id: int | None
    idempotency_key: str
    outcome: str
    verified: bool | None
    verification: str


COLUMNS = tuple(f.name for f in fields(AuditEntry))


def operator_name() -> str:
    """Who is cueing: the OS user name (``unknown`` when it cannot be read)."""
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


class CueAudit:
    """The audit log in ``path`` (default ``<data dir>/cue_audit.sqlite3``)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / AUDIT_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=5.0)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            with conn:
                yield conn
        finally:
            conn.close()

    def record(
        self,
        *,
        profile: str,
        channel: str,
        action: str,
        duration: float | None,
        event_id: int | None,
        idempotency_key: str,
        outcome: str,
    ) -> int:
        """Append one cue; returns its row id (to attach the verification later)."""
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT INTO cue_audit (at, operator, profile, channel, action, duration,"
                " event_id, idempotency_key, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    utc_stamp(),
                    operator_name(),
                    profile,
                    channel,
                    action,
                    duration,
                    event_id,
                    idempotency_key,
                    outcome,
                ),
            )
            return int(cursor.lastrowid)

    def set_verification(self, row_id: int, verified: bool, summary: str) -> None:
        """Attach the verification result to the cue of ``row_id``."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE cue_audit SET verified = ?, verification = ? WHERE id = ?",
                (int(verified), summary, row_id),
            )

    def entries(self, limit: int = 500) -> list[AuditEntry]:
        """The newest ``limit`` entries, newest first."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM cue_audit ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [
            AuditEntry(*row[:10], None if row[10] is None else bool(row[10]), row[11])
            for row in rows
        ]

    def export_csv(self, path: Path) -> int:
        """Write every entry (oldest first) as CSV with a header row; returns the count."""
        entries = list(reversed(self.entries(limit=1_000_000)))
        with Path(path).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            for entry in entries:
                writer.writerow(["" if v is None else v for v in astuple(entry)])
        return len(entries)
