"""What one Ray task does on a worker: one game's backfill or spot-check, with the very
``GameBackfill`` / ``GameSpotcheck`` the local path runs, progress printed as events
(``services.cluster.events``).

The worker builds its own storage client and playback gateway from the request's
non-secret parts (endpoint, bucket, region) and **its own environment's** credentials
(``VIDEO_OPS_CLUSTER_S3_ACCESS_KEY_ID`` / ``VIDEO_OPS_CLUSTER_S3_SECRET_ACCESS_KEY``: the
cluster's secret store; for the local head the demo's fixed pair). Nothing secret is in a
request, so nothing secret is in the job's entrypoint, metadata or logs.

Encodes write under ``/tmp/voc-cluster-work/<pid>-<game>``; a folder left by a killed
worker (its pid gone) is removed by the next task on that node.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.cluster.events import event_line
from services.errors import BadConfig, describe
from services.gateway import PlaybackGateway
from services.job_reporting import JobOutcome
from services.ladder import load_ladder
from services.media_tools.binaries import ffmpeg_version
from services.storage import Storage, StorageConfig

ACCESS_KEY_ENV = "VIDEO_OPS_CLUSTER_S3_ACCESS_KEY_ID"
SECRET_KEY_ENV = "VIDEO_OPS_CLUSTER_S3_SECRET_ACCESS_KEY"
WORK_ROOT = Path(tempfile.gettempdir()) / "voc-cluster-work"
PROGRESS_INTERVAL_S = 1.0
LADDER_FILE = Path("resources") / "ladders" / "abr.toml"


@dataclass(frozen=True)
class GameRequest:
    """One game's task: ``kind`` (``backfill`` / ``spotcheck``), ``game_id``, ``job_id`` (the
    console job's id, recorded in the ledger), the store's ``endpoint_url``, ``bucket`` and
    ``region``, ``force`` (backfill), ``source_prefix`` (spot-check), ``ffmpeg_version`` the
    console expects (the ledger's ``ffmpeg_version`` must stay reproducible) and the
    project ``root`` the task imports its ladder file from."""

    kind: str
    game_id: str
    job_id: str
    endpoint_url: str
    bucket: str
    region: str
    ffmpeg_version: str
    root: str
    force: bool = False
    source_prefix: str = ""


def node_label() -> str:
    """``host`` of this worker (with the Ray node id's prefix when known)."""
    node = os.environ.get("VOC_RAY_NODE_ID", "")
    return f"{socket.gethostname()}/{node[:8]}" if node else socket.gethostname()


def version_problem(expected_ffmpeg: str) -> str:
    """Why this node must not run the console's jobs ("" when it may): a missing pinned
    ffmpeg or one whose ``-version`` line differs from ``expected_ffmpeg``."""
    try:
        found = ffmpeg_version()
    except BadConfig as exc:
        return f"{node_label()}: {exc}"
    if found != expected_ffmpeg:
        return (
            f"{node_label()} runs {found!r}, the console records {expected_ffmpeg!r} in ledgers: "
            "install the console's pinned ffmpeg (imageio-ffmpeg) on the cluster"
        )
    return ""


def storage_config(request: GameRequest) -> StorageConfig:
    """The store config from the request and the worker's credentials. Raises
    ``BadConfig`` naming the variables when they are unset."""
    key_id, secret = os.environ.get(ACCESS_KEY_ENV), os.environ.get(SECRET_KEY_ENV)
    if not key_id or not secret:
        raise BadConfig(
            f"{node_label()} has no store credentials: set {ACCESS_KEY_ENV} and "
            f"{SECRET_KEY_ENV} in the cluster's worker environment (its secret store)."
        )
    return StorageConfig(request.endpoint_url, request.bucket, key_id, secret, request.region)


class _PrintingReporter:
    """A ``JobReporter`` that prints events (progress at most once a second)."""

    def __init__(self, request: GameRequest) -> None:
        self._request = request
        self._last = (0.0, "")
        self.node = node_label()

    @property
    def job_id(self) -> str:
        return self._request.job_id

    def progress(self, fraction: float | None, stage: str, detail: str = "") -> None:
        now = time.monotonic()
        if stage == self._last[1] and now - self._last[0] < PROGRESS_INTERVAL_S:
            return
        self._last = (now, stage)
        self._print("progress", fraction=fraction, stage=stage, detail=detail, node=self.node)

    def log(self, line: str) -> None:
        self._print("log", line=str(line))

    def _print(self, event: str, **fields: Any) -> None:
        print(event_line(event, self._request.game_id, **fields), flush=True)


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its finished children (ffmpeg)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    tools = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + tools.ru_utime + tools.ru_stime


def _remove_stale_work() -> None:
    with contextlib.suppress(OSError):
        for folder in WORK_ROOT.iterdir():
            pid = folder.name.split("-", 1)[0]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                shutil.rmtree(folder, ignore_errors=True)


def run_game(request: GameRequest) -> dict[str, Any]:
    """Run one game's operation on this worker; returns ``{"state", "summary", "error",
    "result", "node"}`` (``state`` ``succeeded`` or ``failed``: a ``ServiceError`` is a
    result, not a Ray failure, so Ray retries only lost workers). A spot-check's result
    carries its ``report.json`` and ``frames.csv`` texts (``report_json``, ``frames_csv``)
    for the console to keep; every succeeded result gains ``cpu_seconds`` (this worker's
    and its tools' CPU time for the game). Prints a ``started`` event first (the console
    counts them: a second one means Ray retried the game after losing its worker)."""
    reporter = _PrintingReporter(request)
    print(event_line("started", request.game_id, node=reporter.node, pid=os.getpid()), flush=True)
    problem = version_problem(request.ffmpeg_version)
    if problem:
        return {
            "state": "failed",
            "summary": "",
            "error": problem,
            "result": {},
            "node": reporter.node,
        }
    _remove_stale_work()
    work = WORK_ROOT / f"{os.getpid()}-{request.game_id}"
    work.mkdir(parents=True, exist_ok=True)
    cpu_before = cpu_seconds()
    try:
        outcome = asyncio.run(_run(request, reporter, work))
    except Exception as exc:  # every failure of the game becomes its result
        return {
            "state": "failed",
            "summary": "",
            "error": describe(exc),
            "result": {},
            "node": reporter.node,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    outcome.result["cpu_seconds"] = round(cpu_seconds() - cpu_before, 2)
    return {
        "state": "succeeded",
        "summary": outcome.summary,
        "error": "",
        "result": outcome.result,
        "node": reporter.node,
    }


async def _run(request: GameRequest, reporter: _PrintingReporter, work: Path) -> JobOutcome:
    from services.backfill.game_backfill import GameBackfill
    from services.spotcheck.game_spotcheck import GameSpotcheck

    config = storage_config(request)
    ladder = load_ladder(Path(request.root) / LADDER_FILE)
    storage = Storage(config)
    gateway = PlaybackGateway(config)
    gateway.start()
    try:
        if request.kind == "backfill":
            operation = GameBackfill(
                storage, gateway.url_for, ladder, work, request.game_id, force=request.force
            )
            return await operation(reporter)
        if request.kind == "spotcheck":
            operation = GameSpotcheck(
                storage,
                gateway.url_for,
                ladder,
                work / "reports",
                request.game_id,
                source_prefix=request.source_prefix,
            )
            outcome = await operation(reporter)
            folder = Path(outcome.result.pop("report")).parent
            outcome.result["report_json"] = (folder / "report.json").read_text(encoding="utf-8")
            frames = folder / "frames.csv"
            if frames.exists():
                outcome.result["frames_csv"] = frames.read_text(encoding="utf-8")
            return outcome
        raise BadConfig(f"Unknown cluster job kind {request.kind!r}.")
    finally:
        gateway.stop()
        storage.close()
