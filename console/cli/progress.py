"""Job progress on a terminal for the CLI: subscribe to a ``JobRunner`` and render it.

On a TTY: one line per active job, redrawn in place (``\\r`` and ANSI cursor-up/clear; at
most ~10 redraws/s), with a bar, percentage, stage, detail and ETA; log lines and finished
jobs are printed above that block. Elsewhere (a pipe, a CI log): plain lines only, at most
one progress line per job every ``interval_s`` seconds or per stage change, plus one line
per state change and the log lines.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from services.jobs.model import JobRecord, JobState, format_seconds
from services.jobs.runner import JobRunner

BAR_WIDTH = 24
#: minimum seconds between two TTY redraws
REDRAW_INTERVAL_S = 0.1
_FINISHED_WORD = {
    JobState.SUCCEEDED: "done",
    JobState.FAILED: "FAILED",
    JobState.CANCELLED: "cancelled",
    JobState.INTERRUPTED: "interrupted",
}


def progress_bar(fraction: float | None, width: int = BAR_WIDTH) -> str:
    """``[#########-----------]`` for ``fraction`` in [0, 1]; ``[?????...]`` when unknown."""
    if fraction is None:
        return "[" + "?" * width + "]"
    filled = round(width * min(1.0, max(0.0, fraction)))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def progress_text(record: JobRecord) -> str:
    """One line for an active job: kind, target, bar, percent, stage, detail, ETA."""
    head = f"{record.kind} {record.target}"
    if record.state is JobState.QUEUED:
        return f"{head} queued"
    percent = "  ?%" if record.fraction is None else f"{record.fraction * 100:3.0f}%"
    parts = [head, progress_bar(record.fraction), percent]
    if record.stage:
        parts.append(f"{record.stage}:" if record.detail else record.stage)
    if record.detail:
        parts.append(record.detail)
    if record.eta_seconds is not None:
        parts.append(f"ETA {format_seconds(record.eta_seconds)}")
    return " ".join(parts)


def finished_text(record: JobRecord) -> str:
    """One line for a finished job: what happened and the summary or the error."""
    word = _FINISHED_WORD.get(record.state, record.state.value)
    took = format_seconds(record.duration())
    text = f"{record.kind} {record.target} {word}"
    if took:
        text += f" in {took}"
    message = record.summary if record.state is JobState.SUCCEEDED else record.error
    return f"{text}: {message}" if message else text


class CliProgress:
    """Renders every job of ``runner`` on ``stream`` (default stdout) until ``close()``;
    usable as a context manager. ``tty`` forces the mode (default: ``stream.isatty()``);
    ``show_log`` prints job log lines too."""

    def __init__(
        self,
        runner: JobRunner,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        interval_s: float = 2.0,
        show_log: bool = True,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval_s = interval_s
        self.show_log = show_log
        self._active: dict[str, JobRecord] = {}
        self._last_state: dict[str, JobState] = {}
        self._printed: dict[str, tuple[float, str]] = {}
        self._drawn = 0
        self._drawn_at = 0.0
        self._unsubscribe = runner.subscribe(self._on_change, self._on_log)

    def __enter__(self) -> CliProgress:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening; on a TTY, leave the last drawn block and end its line."""
        self._unsubscribe()
        if self.tty and self._drawn:
            self._write("\n")
            self._drawn = 0

    # --- events --------------------------------------------------------------------------

    def _on_change(self, record: JobRecord) -> None:
        state_changed = self._last_state.get(record.id) is not record.state
        self._last_state[record.id] = record.state
        if record.active:
            self._active[record.id] = record
        else:
            self._active.pop(record.id, None)
            self._printed.pop(record.id, None)
        if self.tty:
            if not record.active:
                self._print_above(finished_text(record))
            elif state_changed or time.monotonic() - self._drawn_at >= REDRAW_INTERVAL_S:
                self._redraw()
            return
        if not record.active:
            self._line(finished_text(record))
        elif state_changed:
            self._line(f"{record.kind} {record.target} {record.state.value}: {record.title}")
            self._printed[record.id] = (time.monotonic(), record.stage)
        else:
            self._maybe_progress_line(record)

    def _maybe_progress_line(self, record: JobRecord) -> None:
        now = time.monotonic()
        last_at, last_stage = self._printed.get(record.id, (0.0, ""))
        if record.stage != last_stage or now - last_at >= self.interval_s:
            self._printed[record.id] = (now, record.stage)
            self._line(progress_text(record))

    def _on_log(self, job_id: str, line: str) -> None:
        if not self.show_log:
            return
        record = self._active.get(job_id)
        text = f"  {record.target if record else job_id} | {line}"
        if self.tty:
            self._print_above(text)
        else:
            self._line(text)

    # --- output ------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _line(self, text: str) -> None:
        self._write(text + "\n")

    def _rewind(self) -> str:
        """Escape codes that move to the start of the drawn block and clear it."""
        if not self._drawn:
            return ""
        up = f"\x1b[{self._drawn - 1}A" if self._drawn > 1 else ""
        return f"\r{up}\x1b[J"

    def _block(self) -> str:
        width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
        lines = [progress_text(r)[:width] for r in self._active.values()]
        self._drawn = len(lines)
        self._drawn_at = time.monotonic()
        return "\n".join(lines)

    def _redraw(self) -> None:
        self._write(self._rewind() + self._block())

    def _print_above(self, text: str) -> None:
        self._write(self._rewind() + text + "\n" + self._block())
