"""The job runner: queues operations, runs them on the asyncio loop within per-kind
concurrency limits, reports their progress/ETA/log to subscribers, persists them, and
cancels them.

Call every method from the event loop thread (the qasync loop in the GUI, ``asyncio.run``
in the CLI); ``submit`` needs a running loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.errors import ServiceError, describe
from services.job_reporting import JobOutcome, Operation
from services.jobs.eta import EtaEstimator
from services.jobs.model import JobRecord, JobState
from services.jobs.store import DEFAULT_LOG_CAP, JobStore

log = logging.getLogger("console.jobs")

#: concurrent jobs per kind unless configured (one encode at a time on a 2-core box)
DEFAULT_LIMITS: Mapping[str, int] = {"backfill": 1, "spotcheck": 1, "audit": 1}
#: concurrent jobs of a kind not in the limits
DEFAULT_LIMIT = 2
#: progress is written to the history at most this often per job (state changes always)
PERSIST_INTERVAL_S = 0.5

ChangeCallback = Callable[[JobRecord], None]
LogCallback = Callable[[str, str], None]


@dataclass
class _Job:
    record: JobRecord
    operation: Operation
    done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None
    eta: EtaEstimator = field(default_factory=EtaEstimator)
    log: deque[str] = field(default_factory=lambda: deque(maxlen=DEFAULT_LOG_CAP))
    persisted_at: float = 0.0
    persisted_stage: str = ""
    cancel_requested: bool = False
    cancel_reason: str = ""


class _Reporter:
    """The ``services.job_reporting.JobReporter`` of one job; never raises. A call from
    another thread than the loop's is handed over to the loop (the contract asks for the
    loop thread; this keeps a slip from corrupting the job's state)."""

    def __init__(self, runner: JobRunner, job: _Job) -> None:
        self._runner = runner
        self._job = job

    @property
    def job_id(self) -> str:
        return self._job.record.id

    def progress(self, fraction: float | None, stage: str, detail: str = "") -> None:
        self._on_loop(self._runner._progress, self._job, fraction, str(stage), str(detail))

    def log(self, line: str) -> None:
        for part in str(line).rstrip("\n").split("\n"):
            self._on_loop(self._runner._log, self._job, part.rstrip("\r"))

    def _on_loop(self, method, *args) -> None:
        try:
            loop = self._runner._loop
            if loop is not None and threading.get_ident() != self._runner._loop_thread:
                loop.call_soon_threadsafe(self._on_loop, method, *args)
                return
            method(*args)
        except Exception:
            log.exception("job %s: report dropped", self.job_id)


class JobRunner:
    """Runs jobs; see the module docstring for threading.

    ``store``: where history goes (the caller closes it; ``JobRunner.at(path)`` opens one
    the runner owns and closes in ``aclose``). ``limits``: max concurrent running jobs per
    kind, merged over ``DEFAULT_LIMITS``; kinds not listed get ``default_limit``.

    Submitting a (kind, target) that already has a queued or running job returns that job
    instead of starting a second one (double clicks and overlapping batches are harmless).
    """

    def __init__(
        self,
        store: JobStore,
        *,
        limits: Mapping[str, int] | None = None,
        default_limit: int = DEFAULT_LIMIT,
    ) -> None:
        self._owns_store = False
        self.store = store
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.default_limit = default_limit
        self._jobs: dict[str, _Job] = {}
        self._queue: deque[str] = deque()
        self._change_callbacks: list[ChangeCallback] = []
        self._log_callbacks: list[LogCallback] = []
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    # --- public API --------------------------------------------------------------------

    @classmethod
    def at(cls, path: Path, **options: Any) -> JobRunner:
        """A runner over the history file ``path`` (created if absent), which it closes in
        ``aclose``. Raises ``JobStoreError`` for an unusable file."""
        runner = cls(JobStore(path), **options)
        runner._owns_store = True
        return runner

    def limit(self, kind: str) -> int:
        """How many ``kind`` jobs may run at once (at least 1)."""
        return max(1, self.limits.get(kind, self.default_limit))

    def submit(
        self, kind: str, target: str, title: str, operation: Operation, *, profile: str = ""
    ) -> JobRecord:
        """Queue ``operation`` (``async def op(reporter) -> JobOutcome``) as a new job and
        return its record (``queued``; it starts as soon as a ``kind`` slot is free). If a
        job of the same ``kind`` and ``target`` is queued or running, return that one
        unchanged. Raises ``RuntimeError`` after ``aclose``."""
        if self._closed:
            raise RuntimeError("the job runner is closed")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        existing = self.active_job(kind, target)
        if existing is not None:
            return existing
        now = time.time()
        record = JobRecord(
            id=secrets.token_hex(6),
            kind=kind,
            target=target,
            title=title,
            profile=profile,
            state=JobState.QUEUED,
            created_at=now,
            updated_at=now,
        )
        job = _Job(record, operation, log=deque(maxlen=self.store.log_cap))
        self._jobs[record.id] = job
        self._queue.append(record.id)
        self._changed(job, persist=True)
        self._pump()
        return job.record

    def active_job(self, kind: str, target: str) -> JobRecord | None:
        """The queued or running job of ``kind`` on ``target``, if any."""
        for job in self._jobs.values():
            record = job.record
            if record.active and record.kind == kind and record.target == target:
                return record
        return None

    def cancel(self, job_id: str, reason: str = "") -> bool:
        """Cancel a job: a queued one is ``cancelled`` at once; a running one gets
        ``CancelledError`` in its operation and is recorded ``cancelled`` once the operation
        has cleaned up (watch the subscription or ``wait``), with ``reason`` as its error
        (default "Cancelled by the operator."; a detached cluster batch says it runs on).
        False when the job is unknown or already finished."""
        job = self._jobs.get(job_id)
        if job is None or not job.record.active:
            return False
        if reason and not job.cancel_reason:
            job.cancel_reason = reason
        if job.record.state is JobState.QUEUED:
            self._queue.remove(job_id)
            self._finish(job, JobState.CANCELLED, error="Cancelled before it started.")
            return True
        if not job.cancel_requested:
            job.cancel_requested = True
            job.record = job.record.evolve(stage="cancelling", eta_seconds=None)
            self._changed(job, persist=True)
            self._log(job, "cancel requested")
            if job.task is not None:
                job.task.cancel()
        return True

    def subscribe(
        self, on_change: ChangeCallback | None = None, on_log: LogCallback | None = None
    ) -> Callable[[], None]:
        """Call ``on_change(record)`` on every change of any job (submitted, started,
        progress, finished) and ``on_log(job_id, line)`` for every log line, on the loop
        thread. Callbacks must be quick; their exceptions are logged and ignored. Returns
        a function that unsubscribes."""
        if on_change is not None:
            self._change_callbacks.append(on_change)
        if on_log is not None:
            self._log_callbacks.append(on_log)

        def unsubscribe() -> None:
            if on_change in self._change_callbacks:
                self._change_callbacks.remove(on_change)
            if on_log in self._log_callbacks:
                self._log_callbacks.remove(on_log)

        return unsubscribe

    async def wait(self, job_id: str) -> JobRecord:
        """The job's record once it has finished. Raises ``KeyError`` for an unknown id."""
        job = self._jobs.get(job_id)
        if job is None:
            record = self.store.get(job_id)
            if record is None:
                raise KeyError(job_id)
            return record
        await job.done.wait()
        return job.record

    def get(self, job_id: str) -> JobRecord | None:
        """The latest record of a job of this session or of the history, or None."""
        job = self._jobs.get(job_id)
        return job.record if job is not None else self.store.get(job_id)

    def jobs(self) -> list[JobRecord]:
        """The jobs submitted to this runner, newest first."""
        return sorted(
            (j.record for j in self._jobs.values()), key=lambda r: r.created_at, reverse=True
        )

    def history(self, limit: int = 200) -> list[JobRecord]:
        """The ``limit`` newest jobs of the history (this session's with their live
        progress), newest first. Reads the store: blocks until its queued writes are done."""
        return self.with_live_progress(self.store.history(limit))

    def with_live_progress(self, records: list[JobRecord]) -> list[JobRecord]:
        """``records`` (read from the store) with this session's jobs replaced by their
        live records; no I/O."""
        return [self._jobs[r.id].record if r.id in self._jobs else r for r in records]

    def log(self, job_id: str) -> list[str]:
        """The job's kept log lines, oldest first (the newest ``store.log_cap``)."""
        live = self.live_log(job_id)
        return live if live is not None else self.store.log_lines(job_id)

    def live_log(self, job_id: str) -> list[str] | None:
        """An active job's log lines from memory, oldest first; None when the job is not
        active in this session (its log is in the store). No I/O."""
        job = self._jobs.get(job_id)
        if job is not None and job.record.active:
            return list(job.log)
        return None

    async def aclose(self) -> None:
        """Cancel every queued and running job, wait for them to finish cleaning up, write
        the history and close it (if this runner opened it). Idempotent."""
        if self._closed:
            return
        self._closed = True
        for job_id in list(self._queue):
            self.cancel(job_id)
        running = [j.task for j in self._jobs.values() if j.task is not None and not j.task.done()]
        for job in list(self._jobs.values()):
            if job.record.active:
                self.cancel(job.record.id)
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        self.store.flush()
        if self._owns_store:
            self.store.close()

    # --- internals -----------------------------------------------------------------------

    def _pump(self) -> None:
        """Start queued jobs, oldest first, while their kind has a free slot."""
        running: dict[str, int] = {}
        for job in self._jobs.values():
            if job.record.state is JobState.RUNNING:
                running[job.record.kind] = running.get(job.record.kind, 0) + 1
        for job_id in list(self._queue):
            job = self._jobs[job_id]
            kind = job.record.kind
            if running.get(kind, 0) >= self.limit(kind):
                continue
            running[kind] = running.get(kind, 0) + 1
            self._queue.remove(job_id)
            now = time.time()
            job.record = job.record.evolve(state=JobState.RUNNING, started_at=now, updated_at=now)
            self._changed(job, persist=True)
            job.task = asyncio.get_running_loop().create_task(self._run(job), name=f"job-{job_id}")
            job.task.add_done_callback(lambda _task, job=job: self._task_done(job))

    async def _run(self, job: _Job) -> None:
        reporter = _Reporter(self, job)
        try:
            outcome = await job.operation(reporter)
        except asyncio.CancelledError:
            self._finish(
                job, JobState.CANCELLED, error=job.cancel_reason or "Cancelled by the operator."
            )
        except ServiceError as exc:
            message = describe(exc)
            self._log(job, f"failed: {message}")
            self._finish(job, JobState.FAILED, error=message)
        except Exception as exc:
            log.error(
                "job %s (%s %s) failed",
                job.record.id,
                job.record.kind,
                job.record.target,
                exc_info=exc,
            )
            for line in traceback.format_exception(exc):
                self._log(job, line)
            self._finish(job, JobState.FAILED, error=describe(exc))
        else:
            if not isinstance(outcome, JobOutcome):
                outcome = JobOutcome(summary=str(outcome) if outcome is not None else "")
            if job.cancel_requested:
                self._log(job, "the operation finished before the cancel took effect")
            self._finish(
                job,
                JobState.SUCCEEDED,
                summary=outcome.summary,
                result=dict(outcome.result),
                fraction=1.0,
            )
        finally:
            if job.record.active:
                self._finish(job, JobState.FAILED, error="The job stopped unexpectedly.")

    def _task_done(self, job: _Job) -> None:
        """A task cancelled before its first step never runs ``_run``: record it."""
        if job.record.active:
            self._finish(
                job, JobState.CANCELLED, error=job.cancel_reason or "Cancelled by the operator."
            )

    def _finish(self, job: _Job, state: JobState, **changes) -> None:
        now = time.time()
        job.record = job.record.evolve(
            state=state, finished_at=now, updated_at=now, eta_seconds=None, **changes
        )
        log.info(
            "job %s %s %s: %s %s",
            job.record.id,
            job.record.kind,
            job.record.target,
            state.value,
            job.record.summary or job.record.error,
        )
        self._changed(job, persist=True)
        job.log.clear()
        job.done.set()
        if not self._closed:
            self._pump()

    def _progress(self, job: _Job, fraction: float | None, stage: str, detail: str) -> None:
        if job.record.state is not JobState.RUNNING or job.cancel_requested:
            return
        if fraction is not None:
            fraction = float(fraction)
            fraction = None if math.isnan(fraction) else min(1.0, max(0.0, fraction))
        eta = job.eta.update(time.monotonic(), fraction)
        job.record = job.record.evolve(
            fraction=fraction, stage=stage, detail=detail, eta_seconds=eta
        )
        now = time.monotonic()
        due = stage != job.persisted_stage or now - job.persisted_at >= PERSIST_INTERVAL_S
        self._changed(job, persist=due)

    def _log(self, job: _Job, line: str) -> None:
        if job.record.finished:
            return
        job.log.append(line)
        self.store.append_log(job.record.id, line)
        for callback in list(self._log_callbacks):
            try:
                callback(job.record.id, line)
            except Exception:
                log.exception("job log subscriber failed")

    def _changed(self, job: _Job, *, persist: bool) -> None:
        if persist:
            self.store.save(job.record)
            job.persisted_at = time.monotonic()
            job.persisted_stage = job.record.stage
        for callback in list(self._change_callbacks):
            try:
                callback(job.record)
            except Exception:
                log.exception("job change subscriber failed")
