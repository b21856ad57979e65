"""Times as the assets API stores and exchanges them: ISO-8601 UTC, millisecond precision."""

from __future__ import annotations

from datetime import UTC, datetime


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
