"""Times as the assets API stores and exchanges them: ISO-8601 UTC, millisecond precision."""

from __future__ import annotations

from datetime import UTC, datetime

from services.clock import iso_z


def iso_utc(ts: float) -> str:
    """A Unix time (seconds) as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC, fixed width)."""
    return iso_z(ts, timespec="milliseconds")


def parse_iso(value: str) -> float:
    """An ISO-8601 time (``Z`` or an offset; naive means UTC) → Unix time in seconds.
    Raises ValueError."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
