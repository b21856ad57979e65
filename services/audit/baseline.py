"""The audit's baseline: each game's pre-migration playback URL, recorded before it changes.

Criterion 1 asks that the URL the playback API returns after the backfill equals the one
viewers had before. The ledger does not hold it (it is written by the backfill, which does
not talk to the playback API), so the audit keeps its own record: one JSON file per
profile, ``<data dir>/audit/baseline-{profile}.json``::

    {"schema_version": 1, "games": {"<game id>": {"url": str, "recorded_at": ISO-8601 UTC,
                                                   "source": "backfill" | "audit"}}}

An entry is written once, never replaced: when a backfill job starts (``source:
"backfill"``, console/ops/backfill.py) or when an audit meets a game that is not migrated
yet (``"audit"``). URLs are stored without any ``token`` parameter.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from services.audit.gate_client import redact
from services.clock import utc_stamp

SCHEMA_VERSION = 1
_lock = threading.Lock()


@dataclass(frozen=True)
class BaselineEntry:
    """One game's recorded playback URL (no token), when (ISO-8601 UTC) and by whom."""

    url: str
    recorded_at: str
    source: str


class Baseline:
    """The baseline file at ``path`` (created on the first record). Thread-safe within a
    process; writes are atomic (temporary file + ``os.replace``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        games = doc.get("games") if isinstance(doc, dict) else None
        return games if isinstance(games, dict) else {}

    def get(self, game_id: str) -> BaselineEntry | None:
        """The entry of ``game_id``, None when none was recorded (or the file is unreadable)."""
        row = self._load().get(game_id)
        if not isinstance(row, dict) or not isinstance(row.get("url"), str):
            return None
        return BaselineEntry(
            row["url"], str(row.get("recorded_at", "")), str(row.get("source", ""))
        )

    def record(self, game_id: str, url: str, source: str) -> BaselineEntry:
        """Record ``url`` (its token removed) for ``game_id`` unless an entry exists; returns
        the entry in force. Raises ``OSError`` when the file cannot be written."""
        with _lock:
            games = self._load()
            existing = games.get(game_id)
            if isinstance(existing, dict) and isinstance(existing.get("url"), str):
                return BaselineEntry(
                    existing["url"],
                    str(existing.get("recorded_at", "")),
                    str(existing.get("source", "")),
                )
            entry = BaselineEntry(redact(url), utc_stamp(), source)
            games[game_id] = {"url": entry.url, "recorded_at": entry.recorded_at, "source": source}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(
                json.dumps({"schema_version": SCHEMA_VERSION, "games": games}, indent=1) + "\n",
                encoding="utf-8",
            )
            os.replace(tmp, self.path)
            return entry
