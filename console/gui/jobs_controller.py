"""Qt adapter of the jobs model: a ``JobRunner``'s changes and log lines as throttled
signals for the Jobs panel; the history and finished jobs' logs are read from the store
in worker threads (a read waits for the store's queued writes), never on the GUI thread."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QObject, QTimer, Signal

from console.gui.operation import Operations
from services.job_reporting import Operation
from services.jobs.model import JobRecord, JobState
from services.jobs.runner import JobRunner

#: how often coalesced progress and log lines are emitted, milliseconds
EMIT_INTERVAL_MS = 100
#: at most this many log lines of one job per emission (the rest is in the job's log)
MAX_LINES_PER_EMIT = 2000


class JobsController(QObject):
    """Wraps ``runner`` for the GUI (create it on the GUI thread, with the qasync loop).

    Signals (GUI thread):
    - ``job_changed(JobRecord)``: a job was submitted, started, progressed or finished.
      Progress is coalesced: per job at most one emission per ``interval_ms`` (the latest
      record); state changes are emitted at once, after that job's pending log lines.
    - ``log_line(str, str)``: job id and one or more new log lines (newline-separated, no
      trailing newline), coalesced like progress.
    - ``history_loaded(list)``: the ``JobRecord`` list ``load_history`` asked for, newest
      first, this session's jobs with their live progress.
    - ``log_loaded(str, list)``: a job id and its kept log lines (oldest first), as
      ``load_log`` asked for.
    - ``error(str)``: the history could not be read (a sentence).
    """

    job_changed = Signal(object)
    log_line = Signal(str, str)
    history_loaded = Signal(list)
    log_loaded = Signal(str, list)
    error = Signal(str)

    def __init__(
        self,
        runner: JobRunner,
        parent: QObject | None = None,
        *,
        interval_ms: int = EMIT_INTERVAL_MS,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self._emitted_state: dict[str, JobState] = {}
        self._pending: dict[str, JobRecord] = {}
        self._pending_logs: dict[str, list[str]] = {}
        self._timer = QTimer(self, interval=interval_ms)
        self._timer.timeout.connect(self.flush)
        self._unsubscribe = runner.subscribe(self._on_change, self._on_log)
        self._ops = Operations(self.error.emit)

    def submit(
        self, kind: str, target: str, title: str, operation: Operation, *, profile: str = ""
    ) -> JobRecord:
        """``JobRunner.submit``: queue a job (or get the active one on the same target)."""
        return self.runner.submit(kind, target, title, operation, profile=profile)

    def cancel(self, job_id: str, reason: str = "") -> bool:
        """``JobRunner.cancel`` (``reason``: the record's error instead of "Cancelled by the
        operator."): False when the job is unknown or already finished."""
        return self.runner.cancel(job_id, reason)

    def history(self, limit: int = 200) -> list[JobRecord]:
        """The newest ``limit`` jobs (history plus this session's live ones), newest first."""
        return self.runner.history(limit)

    def load_history(self, limit: int = 200) -> None:
        """Read the newest ``limit`` jobs in a worker thread; emits ``history_loaded``."""
        self._ops.run(
            asyncio.to_thread(self.runner.store.history, limit),
            success=lambda stored: self.history_loaded.emit(self.runner.with_live_progress(stored)),
            what="Reading the job history",
        )

    def load_log(self, job_id: str) -> None:
        """Emit ``log_loaded`` with the job's log: at once for an active job (from memory),
        else once a worker thread has read it from the store."""
        live = self.runner.live_log(job_id)
        if live is not None:
            self.log_loaded.emit(job_id, live)
        else:
            self._ops.run(
                asyncio.to_thread(self.runner.store.log_lines, job_id),
                success=lambda lines: self.log_loaded.emit(job_id, lines),
                what=f"Reading the log of job {job_id}",
            )

    def get(self, job_id: str) -> JobRecord | None:
        return self.runner.get(job_id)

    def log(self, job_id: str) -> list[str]:
        """The job's kept log lines, oldest first, including lines not yet emitted."""
        return self.runner.log(job_id)

    def flush(self) -> None:
        """Emit everything pending now (the timer calls this)."""
        logs, self._pending_logs = self._pending_logs, {}
        records, self._pending = self._pending, {}
        for job_id, lines in logs.items():
            self._emit_lines(job_id, lines)
        for record in records.values():
            self.job_changed.emit(record)
        if not self._pending and not self._pending_logs:
            self._timer.stop()

    def shutdown(self) -> None:
        """Stop listening to the runner (it keeps running; close it separately)."""
        self._unsubscribe()
        self._ops.cancel_all()
        self._timer.stop()
        self._pending.clear()
        self._pending_logs.clear()

    def _on_change(self, record: JobRecord) -> None:
        if self._emitted_state.get(record.id) is record.state:
            self._pending[record.id] = record
            self._start()
            return
        self._emitted_state[record.id] = record.state
        self._pending.pop(record.id, None)
        lines = self._pending_logs.pop(record.id, None)
        if lines:
            self._emit_lines(record.id, lines)
        self.job_changed.emit(record)

    def _on_log(self, job_id: str, line: str) -> None:
        self._pending_logs.setdefault(job_id, []).append(line)
        self._start()

    def _emit_lines(self, job_id: str, lines: list[str]) -> None:
        if len(lines) > MAX_LINES_PER_EMIT:
            skipped = len(lines) - MAX_LINES_PER_EMIT
            lines = [
                f"… {skipped} lines not shown here (Show log again to reload)",
                *lines[-MAX_LINES_PER_EMIT:],
            ]
        self.log_line.emit(job_id, "\n".join(lines))

    def _start(self) -> None:
        if not self._timer.isActive():
            self._timer.start()
