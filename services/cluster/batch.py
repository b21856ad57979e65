"""One cluster batch as a jobs-model operation: submit (or attach to) the Ray job, follow
its logs, report per-game progress, stop it on cancel.

The console job stays the unit operators see; its Ray job is ``voc-{kind}-{console job
id}`` and carries the batch's key in its metadata (``voc_batch``: profile, kind, games and
options hashed), so a console that crashed and runs the same request again **attaches**
to the job still running instead of starting a second one; at start the GUI re-attaches
to every unfinished job of its profile (``unfinished_batches``).

Before submitting anything the cluster's Ray version must equal the console's (the Jobs
API and the task code are Ray-version specific); the package is uploaded (once per
version) and the job submitted. A refusal at any step submits nothing.

The operation's per-game rows (``ClusterBatch.games``) are rebuilt from the job's whole log
on every attach: the store and the logs stay the source of truth.
"""

from __future__ import annotations

import asyncio
import hashlib
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from services.cluster.events import ClusterEvent, LogCursor, parse_events
from services.cluster.jobs_api import RayJob, RayJobsClient
from services.cluster.package import fingerprint, package_bytes, package_uri
from services.errors import ServiceError, UpstreamError
from services.job_reporting import JobOutcome, JobReporter
from services.jobs.eta import EtaEstimator

#: the Ray release the console's jobs are written for (pyproject's ``cluster`` extra)
RAY_VERSION = "2.60.0"
POLL_INTERVAL_S = 1.0
STOP_TIMEOUT_S = 60.0
TAIL_WAIT_S = 10.0
SUBMIT_ATTEMPTS = 30
SUBMIT_RETRY_S = 1.0
"""A head that has just started answers "No available agent to submit job, please try
again later" (HTTP 500) until its node's job agent has registered: retried that long."""
METADATA_APP = "video-ops-console"


class ClusterRefused(ServiceError):
    """The cluster cannot run the console's jobs (Ray or project version, ffmpeg); nothing
    was submitted."""


@dataclass(frozen=True)
class BatchSpec:
    """What a batch runs: ``kind`` (``backfill`` / ``spotcheck``), ``games`` (ids, in
    order), the ``profile`` name and its store (``endpoint_url``, ``bucket``, ``region``;
    no credentials), ``force`` (backfill), ``source_prefix`` (spot-check), ``cpus_per_task``
    (Ray's ``num_cpus`` of one game's task), ``max_retries`` (re-runs after a lost worker)
    and the ``ffmpeg_version`` line every worker must have."""

    kind: str
    games: tuple[str, ...]
    profile: str
    endpoint_url: str
    bucket: str
    region: str
    ffmpeg_version: str
    force: bool = False
    source_prefix: str = ""
    cpus_per_task: float = 1.0
    max_retries: int = 3

    @property
    def batch_key(self) -> str:
        """16 hex digits naming the request (same games and options → same key)."""
        text = "|".join(
            (self.profile, self.kind, ",".join(self.games), str(self.force), self.source_prefix)
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def entrypoint(self, job_id: str) -> str:
        """The driver's command line (``services.cluster.driver``); no secret in it."""
        argv = ["python", "-m", "services.cluster.driver", self.kind, "--job-id", job_id]
        for game in self.games:
            argv += ["--game", game]
        argv += ["--endpoint", self.endpoint_url, "--bucket", self.bucket]
        argv += ["--region", self.region, "--fingerprint", fingerprint()]
        argv += ["--ffmpeg-version", self.ffmpeg_version]
        argv += [
            "--cpus-per-task",
            f"{self.cpus_per_task:g}",
            "--max-retries",
            str(self.max_retries),
        ]
        if self.force:
            argv.append("--force")
        if self.source_prefix:
            argv += ["--source-prefix", self.source_prefix]
        return shlex.join(argv)

    def metadata(self, job_id: str) -> dict[str, str]:
        return {
            "app": METADATA_APP,
            "voc_batch": self.batch_key,
            "voc_job": job_id,
            "voc_kind": self.kind,
            "voc_profile": self.profile,
            "voc_games": ",".join(self.games),
            "voc_force": "1" if self.force else "",
        }


@dataclass(frozen=True)
class GameRow:
    """One game of a batch as the Jobs panel shows it: ``state`` (queued, running,
    succeeded, failed, cancelled), ``fraction`` in [0, 1], ``stage``/``detail``, ``node``
    (worker host), ``attempts`` (runs started; 2 after one lost worker), ``eta_s`` (seconds
    left, None when unknown), ``summary``/``error`` and the operation's ``result``."""

    game: str
    state: str = "queued"
    fraction: float = 0.0
    stage: str = ""
    detail: str = ""
    node: str = ""
    attempts: int = 0
    eta_s: float | None = None
    summary: str = ""
    error: str = ""
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed", "cancelled")


def rows_from_result(result: dict[str, Any]) -> list[GameRow]:
    """The game rows kept in a finished batch job's result (``{"games": {id: {"state",
    "summary", "error", "node", "attempts", "result"}}}``, as ``ClusterBatch`` returns it);
    empty for any other job's result (an audit keeps per-game verdicts there)."""
    games = result.get("games") if isinstance(result, dict) else None
    if not isinstance(games, dict):
        return []
    rows = []
    for game, doc in games.items():
        if not isinstance(doc, dict) or "state" not in doc:
            return []
        state = str(doc.get("state") or "")
        try:
            attempts = int(doc.get("attempts") or 0)
        except (TypeError, ValueError):
            attempts = 0
        rows.append(
            GameRow(
                game=str(game),
                state=state,
                fraction=1.0 if state == "succeeded" else 0.0,
                node=str(doc.get("node") or ""),
                attempts=attempts,
                summary=str(doc.get("summary") or ""),
                error=str(doc.get("error") or ""),
                result=dict(doc.get("result") or {}),
            )
        )
    return rows


GameCallback = Callable[[GameRow], None]
ResultKeeper = Callable[[GameRow, str], Awaitable[dict[str, Any]]]
"""``keep(row, console_job_id)`` → the result the console keeps for a finished game."""


async def _keep_as_is(row: GameRow, job_id: str) -> dict[str, Any]:
    return row.result


def unfinished(jobs: list[RayJob], profile: str) -> list[RayJob]:
    """The console's jobs of ``profile`` among ``jobs`` that are still pending or running."""
    return [
        job
        for job in jobs
        if not job.finished
        and job.metadata.get("app") == METADATA_APP
        and job.metadata.get("voc_profile") == profile
    ]


def spec_of(job: RayJob, template: BatchSpec) -> BatchSpec:
    """The spec of a running job (games and kind from its metadata) over ``template``'s
    store and options, to attach to it."""
    games = tuple(g for g in job.metadata.get("voc_games", "").split(",") if g)
    return replace(
        template,
        kind=job.metadata.get("voc_kind", template.kind),
        games=games,
        force=bool(job.metadata.get("voc_force")),
    )


class ClusterBatch:
    """The operation of one batch (``await batch(reporter)``).

    ``connect()`` opens a ``RayJobsClient`` (closed by the batch); ``spec`` says what to
    run; ``attach_to`` names a Ray job to follow instead of submitting (re-attach after a
    restart). ``on_game(row)`` is called on the loop thread whenever a game's row changes;
    ``keep_result(row)`` turns a finished game's result into the one the console keeps
    (the spot-check writes the report files here); ``prepare(reporter)`` runs once the
    cluster has accepted the version, before the submit (the backfill records the audit's
    pre-migration baselines there). Cancel stops the Ray job and waits
    until Ray says STOPPED; after ``detach()`` a cancel leaves it running (console exit).

    Raises ``ClusterRefused`` (versions), the jobs client's errors (unreachable, refused
    token, 5xx), or ``ServiceError`` when games failed (the message names them).
    """

    def __init__(
        self,
        connect: Callable[[], RayJobsClient],
        spec: BatchSpec,
        *,
        attach_to: str | None = None,
        on_game: GameCallback | None = None,
        keep_result: ResultKeeper = _keep_as_is,
        prepare: Callable[[JobReporter], Awaitable[None]] | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self.connect = connect
        self.spec = spec
        self.submission_id = attach_to
        self.address = ""
        self.games: dict[str, GameRow] = {g: GameRow(g) for g in spec.games}
        self._on_game = on_game
        self._keep_result = keep_result
        self._prepare = prepare
        self._poll_s = poll_interval_s
        self._detached = False
        self._eta = {g: EtaEstimator() for g in spec.games}
        self._refused = ""

    def detach(self) -> None:
        """Make the next cancel leave the Ray job running (the console is closing)."""
        self._detached = True

    async def __call__(self, reporter: JobReporter) -> JobOutcome:
        client = self.connect()
        self.address = client.address
        try:
            reporter.progress(None, "connect", f"Ray cluster at {client.address}")
            try:
                if self.submission_id is None:
                    self.submission_id = await self._submit(client, reporter)
                else:
                    reporter.log(f"attached to Ray job {self.submission_id} on {client.address}")
                job = await self._follow(client, reporter)
            except asyncio.CancelledError:
                if self._detached:
                    reporter.log(f"detached: Ray job {self.submission_id} keeps running")
                    raise
                try:
                    await asyncio.shield(self._stop(client, reporter))
                except ServiceError as exc:
                    reporter.log(
                        f"could not stop Ray job {self.submission_id}: {exc} Stop it from the "
                        f"Ray dashboard at {client.address}."
                    )
                raise
            return await self._outcome(job)
        finally:
            await client.aclose()

    async def _submit(self, client: RayJobsClient, reporter: JobReporter) -> str:
        spec = self.spec
        version = await client.version()
        if version.ray_version != RAY_VERSION:
            raise ClusterRefused(
                f"The Ray cluster at {client.address} runs Ray {version.ray_version}; the "
                f"console's jobs need Ray {RAY_VERSION}. Nothing was submitted: use a cluster "
                "on that version, or run the jobs locally."
            )
        for job in unfinished(await client.jobs(), spec.profile):
            if job.metadata.get("voc_batch") == spec.batch_key:
                reporter.log(
                    f"the same request already runs as Ray job {job.submission_id}: attached"
                )
                return job.submission_id
        uri = await asyncio.to_thread(package_uri)
        if await client.has_package(uri):
            reporter.log(f"package {uri} already on the cluster")
        else:
            await client.upload_package(uri, await asyncio.to_thread(package_bytes))
            reporter.log(f"package {uri} uploaded")
        if self._prepare is not None:
            await self._prepare(reporter)
        submission_id = f"voc-{spec.kind}-{reporter.job_id}"
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            try:
                await client.submit(
                    submission_id=submission_id,
                    entrypoint=spec.entrypoint(reporter.job_id),
                    runtime_env={
                        "working_dir": uri,
                        "env_vars": {"RAY_DEDUP_LOGS": "0", "PYTHONUNBUFFERED": "1"},
                    },
                    metadata=spec.metadata(reporter.job_id),
                )
                break
            except UpstreamError as exc:
                if await client.find(submission_id) is not None:
                    break  # the first try got through (its answer was lost)
                if "try again later" not in str(exc) or attempt == SUBMIT_ATTEMPTS:
                    raise
                reporter.progress(None, "connect", f"the cluster is not ready yet: {exc}")
                await asyncio.sleep(SUBMIT_RETRY_S)
        reporter.log(
            f"submitted Ray job {submission_id} to {client.address}: {len(spec.games)} game(s), "
            f"{spec.cpus_per_task:g} CPU each"
        )
        return submission_id

    async def _follow(self, client: RayJobsClient, reporter: JobReporter) -> RayJob:
        assert self.submission_id is not None
        cursor = LogCursor()
        while True:
            job = await client.get(self.submission_id)
            for event in parse_events(cursor.feed(await client.logs(self.submission_id))):
                await self._apply(event, reporter)
            self._report(reporter, job)
            if job.finished:
                await self._read_tail(client, cursor, reporter)
                return job
            await asyncio.sleep(self._poll_s)

    async def _read_tail(
        self, client: RayJobsClient, cursor: LogCursor, reporter: JobReporter
    ) -> None:
        """Read the log's last lines: Ray may report the job ended before its log file has
        the driver's final prints, so wait (up to ``TAIL_WAIT_S``) for every game's end."""
        deadline = time.monotonic() + TAIL_WAIT_S
        while True:
            whole = await client.logs(self.submission_id or "")
            done = time.monotonic() > deadline
            for event in parse_events(cursor.feed(whole + "\n" if done else whole)):
                await self._apply(event, reporter)
            if done or all(r.finished for r in self.games.values()):
                return
            await asyncio.sleep(0.25)

    async def _apply(self, event: ClusterEvent, reporter: JobReporter) -> None:
        data = event.data
        if event.event == "refused":
            self._refused = str(data.get("reason", ""))
            reporter.log(f"refused by the cluster: {self._refused}")
            return
        row = self.games.get(event.game)
        if row is None:
            return
        if event.event == "log":
            reporter.log(f"[{event.game}] {data.get('line', '')}")
            return
        if row.finished:
            return  # workers' prints reach the log after the driver's own "finished"
        if event.event == "started":
            row = replace(
                row, state="running", attempts=row.attempts + 1, node=str(data.get("node", ""))
            )
            if row.attempts > 1:
                reporter.log(f"[{event.game}] started again on {row.node} (attempt {row.attempts})")
            self._eta[event.game].reset()
        elif event.event == "progress":
            fraction = data.get("fraction")
            eta = self._eta[event.game].update(time.monotonic(), fraction)
            row = replace(
                row,
                state="running",
                fraction=float(fraction) if fraction is not None else row.fraction,
                stage=str(data.get("stage", "")),
                detail=str(data.get("detail", "")),
                node=str(data.get("node", row.node)),
                eta_s=eta,
            )
        elif event.event == "finished":
            row = replace(
                row,
                state=str(data.get("state", "failed")),
                fraction=1.0 if data.get("state") == "succeeded" else row.fraction,
                summary=str(data.get("summary", "")),
                error=str(data.get("error", "")),
                node=str(data.get("node", row.node)),
                result=dict(data.get("result") or {}),
                eta_s=None,
            )
            if row.state == "succeeded":
                row = replace(row, result=await self._keep_result(row, reporter.job_id))
            reporter.log(f"[{event.game}] {row.state}: {row.summary or row.error}")
        else:
            return
        self._set(row)

    def _set(self, row: GameRow) -> None:
        self.games[row.game] = row
        if self._on_game is not None:
            self._on_game(row)

    def _report(self, reporter: JobReporter, job: RayJob) -> None:
        rows = list(self.games.values())
        done = sum(r.finished for r in rows)
        running = [r for r in rows if r.state == "running"]
        fraction = sum(r.fraction if not r.finished else 1.0 for r in rows) / max(1, len(rows))
        nodes = sorted({r.node for r in running if r.node})
        detail = f"{done} of {len(rows)} game(s) done, {len(running)} running"
        if nodes:
            detail += f" on {', '.join(nodes)}"
        reporter.progress(fraction, job.status.lower(), detail)

    async def _stop(self, client: RayJobsClient, reporter: JobReporter) -> None:
        if self.submission_id is None:  # cancelled while submitting: did the POST get in?
            planned = f"voc-{self.spec.kind}-{reporter.job_id}"
            if await client.find(planned) is None:
                return
            self.submission_id = planned
        reporter.log(f"stopping Ray job {self.submission_id}")
        await client.stop(self.submission_id)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            job = await client.get(self.submission_id)
            if job.finished:
                reporter.log(f"Ray job {self.submission_id} is {job.status}")
                break
            await asyncio.sleep(0.25)
        for row in list(self.games.values()):
            if not row.finished:
                self._set(replace(row, state="cancelled", eta_s=None))

    async def _outcome(self, job: RayJob) -> JobOutcome:
        if self._refused:
            for row in list(self.games.values()):
                if not row.finished:
                    self._set(replace(row, state="failed", error=f"refused: {self._refused}"))
            raise ClusterRefused(f"The cluster refused the batch: {self._refused}. Nothing ran.")
        if job.status != "SUCCEEDED":
            ended = f"the Ray job ended {job.status}: {_last_line(job.message)}"
            for row in list(self.games.values()):
                if not row.finished:
                    self._set(replace(row, state="failed", error=ended, eta_s=None))
        rows = list(self.games.values())
        failed = [r for r in rows if r.state != "succeeded"]
        result = {
            "cluster": self.address,
            "ray_job": self.submission_id,
            "games": {
                r.game: {
                    "state": r.state,
                    "summary": r.summary,
                    "error": r.error,
                    "node": r.node,
                    "attempts": r.attempts,
                    "result": r.result,
                }
                for r in rows
            },
        }
        if job.status != "SUCCEEDED" and not failed:
            raise UpstreamError(
                f"Ray job {self.submission_id} ended {job.status}: {_last_line(job.message)}"
            )
        if failed:
            names = "; ".join(f"{r.game}: {r.error or r.state}" for r in failed)
            raise GamesFailed(
                f"{len(failed)} of {len(rows)} game(s) did not succeed: {names}", result
            )
        retried = sum(max(0, r.attempts - 1) for r in rows)
        summary = f"{len(rows)} game(s) succeeded on the Ray cluster at {self.address}" + (
            f" ({retried} re-run after a lost worker)" if retried else ""
        )
        return JobOutcome(summary, result)


class GamesFailed(ServiceError):
    """Some games of a batch failed; ``result`` holds every game's row (as a successful
    batch's result)."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"
