"""The current time in UTC and its ISO-8601 ``…Z`` text, in one place (no Qt, no I/O).

Every timestamp the console writes (job reports, the packaging ledger, the cue audit, the
demo stack's files) and every "now" it compares with a service's times (the cue service's
``startTime``/``endTime``, docs/contracts.md §1.2; the assets API's ``updated_at``, §1.3) comes from
here, so they are all timezone-aware UTC and all spelled the same way: ISO 8601 / RFC 3339
§5.6 with the ``Z`` designator, e.g. ``2026-11-21T13:00:00Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

__all__ = ["iso_z", "utc_now", "utc_stamp"]

Timespec = Literal["auto", "seconds", "milliseconds", "microseconds"]


def utc_now() -> datetime:
    """The current time as a timezone-aware UTC ``datetime``."""
    return datetime.now(UTC)


def iso_z(value: datetime | float | None = None, *, timespec: Timespec = "seconds") -> str:
    """``value`` as ISO-8601 UTC with a ``Z`` suffix (RFC 3339 §5.6).

    ``value`` is an aware ``datetime`` (converted to UTC), a naive one (taken as UTC), a Unix
    time in seconds (``time.time()``), or None for now. ``timespec`` is that of
    ``datetime.isoformat``: ``"seconds"`` gives ``2026-11-21T13:00:00Z``, ``"milliseconds"``
    ``2026-11-21T13:00:00.250Z`` (fixed width, truncated), ``"auto"`` drops a zero fraction.
    Raises ``ValueError`` for an unknown ``timespec``, ``OverflowError``/``OSError`` for a Unix
    time out of range.
    """
    if value is None:
        moment = utc_now()
    elif isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    else:
        moment = datetime.fromtimestamp(value, UTC)
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def utc_stamp() -> str:
    """Now as ISO-8601 UTC to the second, ``2026-11-21T13:00:00Z`` (the stamp of reports,
    ledgers, audit rows and the demo stack's files)."""
    return iso_z(None, timespec="seconds")
