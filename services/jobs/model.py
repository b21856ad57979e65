"""What a job is: its state and the frozen record every view, the CLI and the store share.

Times are epoch seconds (``time.time()``, UTC, float); durations and ETAs are seconds;
``fraction`` is overall progress in [0, 1] or None when the operation cannot tell.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    """Lifecycle: ``queued`` → ``running`` → one of the finished states.

    ``interrupted``: the process that ran the job died (crash, kill, power loss) before it
    finished; the job is not running any more and can be submitted again to resume.
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def active(self) -> bool:
        """Queued or running: the job still holds (or waits for) a slot."""
        return self in ACTIVE_STATES

    @property
    def finished(self) -> bool:
        return not self.active


ACTIVE_STATES = frozenset({JobState.QUEUED, JobState.RUNNING})

#: the message a job left queued/running by a process that died is marked with
INTERRUPTED_MESSAGE = "The console exited while this job ran; run it again to resume."


@dataclass(frozen=True)
class JobRecord:
    """One job as last known (immutable: each change is a new record).

    - ``id``: 12 hex digits, unique; ``kind``: "backfill", "spotcheck", ...;
      ``target``: what it works on (a game id); ``title``: one line for humans;
      ``profile``: the profile name it ran against.
    - ``fraction`` in [0, 1] or None (unknown); ``stage`` a short word ("encode");
      ``detail`` a line for humans ("37.2 of 120.0 s encoded").
    - ``eta_seconds``: estimated seconds left, None until there is enough signal (and for
      finished jobs).
    - ``created_at``/``started_at``/``finished_at``/``updated_at``: epoch seconds (None when
      the job has not reached that point).
    - ``summary``: the operation's one-line outcome; ``error``: the operator message of a
      failed, cancelled or interrupted job; ``result``: the JSON-serialisable detail the
      operation returned (treat as read-only).
    """

    id: str
    kind: str
    target: str
    title: str
    profile: str
    state: JobState
    created_at: float
    fraction: float | None = None
    stage: str = ""
    detail: str = ""
    eta_seconds: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float | None = None
    summary: str = ""
    error: str = ""
    result: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.state.active

    @property
    def finished(self) -> bool:
        """Succeeded, failed, cancelled or interrupted."""
        return self.state.finished

    def duration(self, now: float | None = None) -> float | None:
        """Seconds spent running: until ``finished_at``, or until ``now`` (default: the
        current time) while running; None if it never started."""
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else (now or time.time())
        return max(0.0, end - self.started_at)

    def evolve(self, **changes: Any) -> JobRecord:
        """A copy with ``changes`` applied and ``updated_at`` set to now."""
        changes.setdefault("updated_at", time.time())
        return replace(self, **changes)


def format_seconds(seconds: float | None) -> str:
    """A rough duration for humans: ``72`` → ``"1 m 12 s"``, ``3725`` → ``"1 h 2 m"``,
    ``4`` → ``"4 s"``; ``""`` when None or negative."""
    if seconds is None or seconds < 0:
        return ""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} m"
    if minutes:
        return f"{minutes} m {secs} s"
    return f"{secs} s"
