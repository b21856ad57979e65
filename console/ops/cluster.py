"""Cluster batches for the GUI and the CLI alike: which cluster a profile names, the local
head of the demo profile, and the ``services.cluster.batch.ClusterBatch`` operation of a
backfill or spot-check request.

A production profile names its cluster with ``ray_address`` (its token, if the cluster
uses token authentication, in the keyring: ``main.py profile set-token NAME ray``). The
demo profile uses the local head ``main.py cluster start`` runs (``<data dir>/cluster``),
whose workers get the demo's fixed store credentials from the head's environment, and
which holds a lease on the demo stack so the stack outlives the console that started it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.context import RAY_TOKEN, AppContext
from console.ops.spotcheck import report_root
from console.paths import data_dir
from services.cluster.batch import BatchSpec, ClusterBatch, GameCallback, GameRow
from services.cluster.jobs_api import RayJobsClient
from services.cluster.local_head import (
    LocalHead,
    cluster_processes,
    read_head,
    start_local_head,
    stop_local_head,
)
from services.cluster.tasks import ACCESS_KEY_ENV, SECRET_KEY_ENV
from services.errors import BadConfig
from services.job_reporting import JobReporter
from services.ladder import Ladder
from services.media_tools.binaries import ffmpeg_version

KIND = "cluster"
RUNGS_PER_CPU = 3
"""Ray ``num_cpus`` of one game's backfill task: one CPU per three ladder rungs (rounded
down, at least one). Measured (P9, ``make bench PYTEST_ADDOPTS="-s -k p9"``, quiet 2-core
machine): the 3-rung ladder of a 55 s 720p game costs 49-56 CPU seconds over ~31 s, about
1.6 cores while it encodes and less while it probes, verifies and publishes. ``num_cpus``
is a scheduling share, not a limit: two such games on two CPUs finish 4 games in 1.02x
the wall of one at a time, so the share keeps the cores busy without starving them."""


def cluster_folder() -> Path:
    """The local head's record and token: ``<data dir>/cluster``."""
    return data_dir() / "cluster"


def task_cpus_for(ladder: Ladder, kind: str) -> float:
    """Ray CPUs one game's task asks for: ``rungs // RUNGS_PER_CPU`` (at least 1) for a
    backfill, 1 for a spot-check."""
    if kind != "backfill":
        return 1.0
    return float(max(1, len(ladder.rungs) // RUNGS_PER_CPU))


@dataclass(frozen=True)
class ClusterTarget:
    """Where a profile's cluster jobs go: the Jobs API ``address``, the auth ``token``
    (None: none), and whether it is this machine's ``local`` head."""

    address: str
    token: str | None
    local: bool = False

    def connect(self) -> RayJobsClient:
        return RayJobsClient(self.address, self.token)

    @property
    def dashboard_url(self) -> str:
        """The Ray dashboard's page (the same origin as the Jobs API)."""
        return self.address.rstrip("/") + "/"


def cluster_target(context: AppContext) -> ClusterTarget | None:
    """The profile's cluster, or None when it has none (demo: no local head running)."""
    profile = context.profile
    if profile.is_demo:
        head = read_head(cluster_folder())
        return ClusterTarget(head.dashboard_url, head.token(), local=True) if head else None
    if not profile.ray_address:
        return None
    return ClusterTarget(profile.ray_address, context.credentials.get(profile.name, RAY_TOKEN))


def no_cluster_reason(context: AppContext) -> str:
    """Why ``cluster_target`` is None, with the command that fixes it."""
    if context.profile.is_demo:
        return "no local Ray head runs: start one with `main.py cluster start`"
    return (
        f"profile {context.profile.name!r} names no Ray cluster: "
        f"main.py profile add {context.profile.name} --endpoint … --ray-address http://HEAD:8265"
    )


def start_demo_cluster(context: AppContext, num_cpus: int | None = None) -> LocalHead:
    """Start (or join) the demo profile's local head and lease the demo stack to it.
    Raises ``BadConfig`` (not the demo profile, Ray missing) or ``LocalHeadError``."""
    if not context.profile.is_demo:
        raise BadConfig(
            "`cluster start` runs a local head for the demo profile only; a production profile "
            "names its cluster with --ray-address."
        )
    config = context.storage.config
    head = start_local_head(
        cluster_folder(),
        num_cpus=num_cpus,
        worker_env={
            ACCESS_KEY_ENV: config.access_key_id,
            SECRET_KEY_ENV: config.secret_access_key,
        },
    )
    pids = sorted(cluster_processes(head.cluster_id))
    if pids:  # the head's oldest process: the stack lives as long as the head
        context.hold_demo_stack_for(pids[0])
    return head


def stop_demo_cluster() -> bool:
    """Stop the local head and every process of it; False when none ran."""
    return stop_local_head(cluster_folder())


class ClusterJobs:
    """Builds cluster batch operations for one session (``context``) on ``target``."""

    def __init__(self, context: AppContext, target: ClusterTarget) -> None:
        self.context = context
        self.target = target

    def spec(
        self,
        kind: str,
        games: list[str] | tuple[str, ...],
        ladder: Ladder,
        *,
        force: bool = False,
        source_prefix: str = "",
    ) -> BatchSpec:
        """The batch of ``kind`` over ``games`` on this profile's store."""
        config = self.context.storage.config
        return BatchSpec(
            kind=kind,
            games=tuple(games),
            profile=self.context.profile.name,
            endpoint_url=config.endpoint_url,
            bucket=config.bucket,
            region=config.region,
            ffmpeg_version=ffmpeg_version(),
            force=force,
            source_prefix=source_prefix,
            cpus_per_task=task_cpus_for(ladder, kind),
        )

    def title(self, spec: BatchSpec) -> str:
        what = "Backfill" if spec.kind == "backfill" else "Spot-check"
        games = spec.games[0] if len(spec.games) == 1 else f"{len(spec.games)} games"
        return f"{what} {games} on the cluster"

    def target_key(self, spec: BatchSpec) -> str:
        """The jobs model's target of the batch (one active job per batch key)."""
        return f"{spec.kind}:{spec.batch_key}"

    def operation(
        self,
        spec: BatchSpec,
        *,
        attach_to: str | None = None,
        on_game: GameCallback | None = None,
    ) -> ClusterBatch:
        """The batch operation; spot-check reports are written to
        ``<data dir>/reports/{console job id}/{game}/``; with a viewer side, a backfill
        records each game's audit baseline before the submit."""
        options: dict[str, Any] = {}
        if spec.kind == "spotcheck":
            options["keep_result"] = _keep_report
        elif self.context.viewer is not None:
            options["prepare"] = self._record_baselines(spec)
        return ClusterBatch(
            self.target.connect, spec, attach_to=attach_to, on_game=on_game, **options
        )

    def _record_baselines(self, spec: BatchSpec):
        """Before a backfill batch: each game's pre-migration playback URL for the migration
        audit (``console.ops.audit.record_baseline``, kept once), as the local path does."""
        context = self.context

        async def prepare(reporter: JobReporter) -> None:
            from console.ops.audit import record_baseline

            for game in spec.games:
                reporter.log(await record_baseline(context, game))

        return prepare


async def _keep_report(row: GameRow, job_id: str) -> dict[str, Any]:
    """Write a spot-checked game's report files locally; its result gains ``report``."""
    result = dict(row.result)
    folder = report_root() / job_id / row.game
    folder.mkdir(parents=True, exist_ok=True)
    text = result.pop("report_json", None)
    frames = result.pop("frames_csv", None)
    if text is not None:
        (folder / "report.json").write_text(text, encoding="utf-8")
        result["report"] = str(folder / "report.json")
    if frames is not None:
        (folder / "frames.csv").write_text(frames, encoding="utf-8")
    return result
