"""GUI side of cluster batches: the profile's Ray cluster for the status bar, one console
job (kind ``cluster``) per backfill or spot-check batch sent there, its per-game rows for
the Jobs panel, re-attaching to the batches still running after a restart, and detaching
from them when the console closes (the Ray jobs keep running).

Everything here runs on the GUI thread's qasync loop; the cluster is only spoken to through
``console.ops.cluster`` (its ``RayJobsClient``), never from a view. Blocking reads (the
demo's local head record under ``/proc``, the ffmpeg version, the package fingerprint) run
in worker threads.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, Signal

from console.context import AppContext
from console.gui.jobs_controller import JobsController
from console.gui.operation import Operations
from console.ops.cluster import (
    KIND,
    ClusterJobs,
    ClusterTarget,
    cluster_target,
    no_cluster_reason,
)
from services.cluster.batch import BatchSpec, ClusterBatch, GameRow, spec_of, unfinished
from services.cluster.package import fingerprint
from services.errors import ServiceError, describe
from services.jobs.model import JobRecord, JobState
from services.ladder import Ladder
from services.media_tools.binaries import ffmpeg_version

#: how often the status bar's figures are read from the cluster, seconds
POLL_INTERVAL_S = 5.0


@dataclass(frozen=True)
class ClusterStatus:
    """What the status bar shows: the cluster's Jobs API ``address`` ("" when the profile
    has none), its ``dashboard_url``, alive ``nodes`` and logical CPUs (``cpus_total``,
    ``cpus_free``; None until read), and ``problem``: why there is no cluster, or why it
    did not answer the last poll ("" when it did)."""

    address: str = ""
    dashboard_url: str = ""
    nodes: int | None = None
    cpus_total: float | None = None
    cpus_free: float | None = None
    problem: str = ""


class ClusterController(QObject):
    """The profile's cluster and the batches this console runs on it.

    ``ladder`` is the ladder the batches use (the backfill controller's), ``source_prefix``
    where a spot-check finds sources (the spot-check controller's).

    Signals (GUI thread):
    - ``status_changed(ClusterStatus)``: after every poll (every ``poll_interval_s``);
    - ``game_row(str, GameRow)``: a job id and one of its games' new row;
    - ``game_changed(str)``: a game whose batch task finished (its catalog state may
      have changed: re-read it);
    - ``status(str)``, ``error(str)``: sentences for the status bar and the error banner.
    """

    status_changed = Signal(object)
    game_row = Signal(str, object)
    game_changed = Signal(str)
    status = Signal(str)
    error = Signal(str)

    def __init__(
        self,
        context: AppContext,
        jobs: JobsController,
        ladder: Ladder,
        *,
        source_prefix: str = "",
        poll_interval_s: float = POLL_INTERVAL_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.jobs = jobs
        self.ladder = ladder
        self.source_prefix = source_prefix
        self.poll_interval_s = poll_interval_s
        self.target: ClusterTarget | None = None
        self.reason = no_cluster_reason(context)
        self.last_status = ClusterStatus(problem=self.reason)
        self._batches: dict[str, ClusterBatch] = {}
        self._rows: dict[str, dict[str, GameRow]] = {}
        self._detached: set[str] = set()
        self._ops = Operations(self.error.emit)
        self._watching: asyncio.Task | None = None
        jobs.job_changed.connect(self._on_job)

    # --- the cluster ---------------------------------------------------------------------

    def start(self) -> None:
        """Start watching the profile's cluster (and re-attach to its running batches)."""
        if self._watching is None or self._watching.done():
            self._watching = self._ops.run(self._watch(), what="Watching the Ray cluster")

    async def _watch(self) -> None:
        await asyncio.to_thread(_warm_caches)
        while True:
            problem = ""
            try:
                target = await asyncio.to_thread(cluster_target, self.context)
            except ServiceError as exc:  # a local head whose token file is gone
                target, problem = None, describe(exc)
            self.reason = problem or no_cluster_reason(self.context)
            if target != self.target:
                self.target = target
                if target is not None:
                    self._ops.run(self.reattach(target), what="Re-attaching to the cluster's jobs")
            self._set_status(await self._read_status(target))
            await asyncio.sleep(self.poll_interval_s)

    async def _read_status(self, target: ClusterTarget | None) -> ClusterStatus:
        if target is None:
            return ClusterStatus(problem=self.reason)
        client = target.connect()  # one short connection per poll: nothing left to close
        try:
            resources = await client.resources()
        except ServiceError as exc:
            return ClusterStatus(target.address, target.dashboard_url, problem=describe(exc))
        finally:
            await client.aclose()
        return ClusterStatus(
            target.address,
            target.dashboard_url,
            resources.nodes,
            resources.cpus_total,
            resources.cpus_free,
        )

    def _set_status(self, status: ClusterStatus) -> None:
        self.last_status = status
        self.status_changed.emit(status)

    # --- batches -------------------------------------------------------------------------

    def submit(self, kind: str, games: list[str], *, force: bool = False) -> JobRecord | None:
        """Send ``games`` to the cluster as one batch of ``kind`` (``backfill`` or
        ``spotcheck``): one console job whose operation is the ``ClusterBatch``. None (and
        ``error``) when the profile has no cluster or the batch cannot be built."""
        target = self.target
        if target is None:
            self.error.emit(f"No Ray cluster: {self.reason}.")
            return None
        if not games:
            return None
        jobs = ClusterJobs(self.context, target)
        try:
            spec = jobs.spec(
                kind, games, self.ladder, force=force, source_prefix=self._prefix(kind)
            )
        except ServiceError as exc:
            self.error.emit(f"The batch was not sent to the cluster: {describe(exc)}")
            return None
        record = self._run(jobs, spec)
        what = "backfill" if kind == "backfill" else "spot-check"
        self.status.emit(
            f"{what.capitalize()} of {len(games)} game(s) sent to the Ray cluster at "
            f"{target.address} (Jobs tab, Ctrl+3)."
        )
        return record

    def _prefix(self, kind: str) -> str:
        return self.source_prefix if kind == "spotcheck" else ""

    def _run(
        self, jobs: ClusterJobs, spec: BatchSpec, *, attach_to: str | None = None
    ) -> JobRecord:
        job_id: list[str] = []
        batch = jobs.operation(
            spec, attach_to=attach_to, on_game=lambda row: self._on_game(job_id[0], row)
        )
        record = self.jobs.submit(
            KIND,
            jobs.target_key(spec),
            jobs.title(spec),
            batch,
            profile=self.context.profile.name,
        )
        if record.id in self._batches:  # the same request already runs: that job it is
            return record
        job_id.append(record.id)  # the operation starts on a later loop turn
        self._batches[record.id] = batch
        self._rows[record.id] = dict(batch.games)
        for row in batch.games.values():
            self.game_row.emit(record.id, row)
        return record

    def games_of(self, job_id: str) -> list[GameRow]:
        """The game rows of a batch job of this session (empty for other jobs)."""
        return list(self._rows.get(job_id, {}).values())

    def batch_of(self, job_id: str) -> ClusterBatch | None:
        return self._batches.get(job_id)

    def _on_game(self, job_id: str, row: GameRow) -> None:
        rows = self._rows.setdefault(job_id, {})
        before = rows.get(row.game)
        rows[row.game] = row
        self.game_row.emit(job_id, row)
        if row.finished and (before is None or not before.finished):
            self.game_changed.emit(row.game)

    def _on_job(self, record: JobRecord) -> None:
        """A batch job ended: its games' last rows (the batch marks the games a failed Ray
        job never finished as failed without a callback), and games it never ran."""
        batch = self._batches.get(record.id)
        if batch is None or not record.finished:
            return
        detached = record.id in self._detached
        for game, row in batch.games.items():
            if not row.finished and not detached:
                state = "failed" if record.state is JobState.FAILED else "cancelled"
                row = replace(row, state=state, error=row.error or record.error, eta_s=None)
            if row != self._rows.get(record.id, {}).get(game):
                self._on_game(record.id, row)
        del self._batches[record.id]

    async def reattach(self, target: ClusterTarget) -> list[JobRecord]:
        """Follow every unfinished batch of this profile on ``target`` that this console
        does not follow yet (a console that closed or crashed left it running): one attach
        job each, whose rows are rebuilt from the Ray job's whole log."""
        client = target.connect()
        try:
            ray_jobs = await client.jobs()
        finally:
            await client.aclose()
        jobs = ClusterJobs(self.context, target)
        followed = {b.submission_id for b in self._batches.values()}
        records = []
        for job in unfinished(ray_jobs, self.context.profile.name):
            if job.submission_id in followed or job.metadata.get("voc_job") in self._batches:
                continue
            kind = job.metadata.get("voc_kind", "backfill")
            template = jobs.spec(kind, (), self.ladder, source_prefix=self._prefix(kind))
            spec = spec_of(job, template)
            if spec.games:
                records.append(self._run(jobs, spec, attach_to=job.submission_id))
        if records:
            self.status.emit(
                f"Re-attached to {len(records)} batch(es) still running on the Ray cluster "
                f"at {target.address} (Jobs tab)."
            )
        return records

    def detach_all(self) -> int:
        """Make every running batch's cancel leave its Ray job running (the console is
        closing: it re-attaches at the next start). Returns how many were detached."""
        count = 0
        for job_id, batch in self._batches.items():
            record = self.jobs.get(job_id)
            if record is not None and record.active:
                batch.detach()
                self._detached.add(job_id)
                self.jobs.cancel(job_id, DETACHED)
                count += 1
        return count

    def shutdown(self) -> None:
        """Detach from the running batches (before the runner cancels its jobs) and stop
        polling."""
        self.detach_all()
        self._ops.cancel_all()


DETACHED = (
    "Detached when the console closed: the Ray job keeps running on the cluster, and the "
    "console re-attaches to it at its next start."
)


def _warm_caches() -> None:
    """Read what a batch's spec needs once, in a worker thread (both are cached): the
    pinned ffmpeg's version line and the package fingerprint. A failure is left to the
    submission, which says it."""
    try:
        ffmpeg_version()
        fingerprint()
    except (ServiceError, OSError):
        pass


def wire_cluster(window, jobs_panel, spotcheck, cluster: ClusterController):
    """The status bar's cluster part (address, nodes, CPUs, "Cluster" → the dashboard),
    the controller's sentences, a batch game's "Open report" → the spot-check report view;
    then start watching the cluster (re-attaching to its running batches). Returns the
    status bar widget."""
    from views.cluster_status import ClusterStatusBar

    widget = ClusterStatusBar(cluster)
    window.statusBar().insertPermanentWidget(0, widget)
    cluster.status.connect(window.show_status)
    cluster.error.connect(window.show_error)
    jobs_panel.open_game_report.connect(
        lambda job_id, _game, path: spotcheck.open_report_file(job_id, path)
    )
    cluster.start()
    return widget
