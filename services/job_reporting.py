"""The contract between a long-running service operation and the jobs model that runs it.

A service operation (a backfill, a spot-check) is an ``async def op(reporter) -> JobOutcome``.
It reports through the ``JobReporter`` it is given and never imports the jobs model, Qt or
SQLite: the console's jobs model (``console/jobs``) implements the reporter, persists what
it hears, computes the ETA and shows it. Cancellation is ``asyncio.CancelledError`` raised
inside the operation, which must release what it holds (stop its ffmpeg, close streams)
before re-raising it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class JobReporter(Protocol):
    """What an operation can tell its job. All methods are cheap and never raise; call them
    from the event loop thread (not from executor threads)."""

    @property
    def job_id(self) -> str:
        """The job's id (a short hex string), recorded in ledgers the operation writes."""
        ...

    def progress(self, fraction: float | None, stage: str, detail: str = "") -> None:
        """Overall progress: ``fraction`` in [0, 1] (None: unknown), ``stage`` a short word
        ("encode", "upload", "verify", "publish"), ``detail`` a line for humans such as
        "37.2 of 120.0 s encoded, 12.4 MB uploaded"."""
        ...

    def log(self, line: str) -> None:
        """Append one line to the job's log (no secrets: never log tokens or signed URLs)."""
        ...


@dataclass(frozen=True)
class JobOutcome:
    """What a finished operation returns: ``summary`` is one line for the jobs table
    ("4 rungs, 38.1 MB uploaded, master.m3u8 published"); ``result`` is JSON-serialisable
    detail kept with the job (e.g. the per-rung report)."""

    summary: str
    result: dict[str, Any] = field(default_factory=dict)


Operation = Callable[[JobReporter], Awaitable[JobOutcome]]
"""An operation run by the jobs model. Raising ``services.errors.ServiceError`` fails the job
with that message; ``asyncio.CancelledError`` marks it cancelled; anything else fails it
with the exception's description."""
