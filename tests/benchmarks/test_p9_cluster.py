"""P9 (issue 14, cluster): the same 4 demo games backfilled on a local Ray head (loopback,
this machine's cores, one task per game with the ladder's CPUs) vs one after the other in
this process (the local path), in one run. Goal: cluster wall / local wall <= 1.15 (Ray's
overhead hidden behind the encodes). Also reported: the CPU seconds (user + system,
ffmpeg included) of every game on both sides and of one game's spot-check on the cluster,
the figures ``docs/cluster_plan.md`` scales from.

Each game is the demo clip's 55 s 720p v1 rendition, in its own bucket per side so both
sides encode and upload everything. Run: ``make bench PYTEST_ADDOPTS="-s -k p9"``.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
import uuid
from pathlib import Path

import pytest

from console.ops.cluster import task_cpus_for
from services.backfill.game_backfill import GameBackfill
from services.cluster.batch import ClusterBatch
from services.cluster.jobs_api import RayJobsClient
from services.cluster.local_head import start_local_head, stop_local_head
from services.cluster.tasks import ACCESS_KEY_ENV, SECRET_KEY_ENV
from services.gateway import PlaybackGateway
from services.jobs.runner import JobRunner
from services.ladder import load_ladder
from services.storage import Storage, StorageConfig
from tests.backfill_support import LADDER_FILE, RecordingReporter
from tests.cluster_support import spec_for
from tests.conftest import s3_client, upload_game

pytestmark = pytest.mark.timeout(1800)
GAMES = 4
RATIO_GOAL = 1.15
MEDIA_SECONDS = 55.0  # the demo clip (tests.conftest.DEMO_CLIP)


def _bucket(endpoint: str, label: str) -> StorageConfig:
    config = StorageConfig(endpoint, f"p9-{label}-{uuid.uuid4().hex[:8]}", "test", "secret")
    s3_client(config).create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    return config


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    tools = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + tools.ru_utime + tools.ru_stime


def _local(config: StorageConfig, games: list[str], work: Path) -> tuple[float, list[float]]:
    """Backfill ``games`` one after the other here: (wall seconds, CPU seconds per game)."""
    ladder = load_ladder(LADDER_FILE)
    gateway = PlaybackGateway(config)
    gateway.start()
    cpu: list[float] = []

    async def go() -> None:
        storage = Storage(config)
        try:
            for game in games:
                before = _cpu_seconds()
                job = GameBackfill(storage, gateway.url_for, ladder, work, game)
                await job(RecordingReporter(job_id=uuid.uuid4().hex[:12]))
                cpu.append(_cpu_seconds() - before)
        finally:
            storage.close()

    started = time.perf_counter()
    try:
        asyncio.run(go())
    finally:
        gateway.stop()
    return time.perf_counter() - started, cpu


def _cluster(head, config: StorageConfig, games: list[str], db: Path) -> tuple[float, list[float]]:
    """The same games as one cluster batch: (wall seconds from submit to the last game's
    end, CPU seconds per game as its worker measured them)."""
    cpus = task_cpus_for(load_ladder(LADDER_FILE), "backfill")
    spec = spec_for(config, "backfill", games, cpus_per_task=cpus)

    async def go() -> tuple[float, ClusterBatch]:
        runner = JobRunner.at(db)
        batch = ClusterBatch(
            lambda: RayJobsClient(head.dashboard_url, head.token()), spec, poll_interval_s=0.5
        )
        started = time.perf_counter()
        record = runner.submit("cluster", spec.batch_key, "p9", batch)
        record = await runner.wait(record.id)
        wall = time.perf_counter() - started
        await runner.aclose()
        assert record.error == "", record.error
        return wall, batch

    wall, batch = asyncio.run(go())
    return wall, [batch.games[g].result["cpu_seconds"] for g in games]


def _spotcheck_cpu(head, config: StorageConfig, game: str, db: Path) -> float:
    """CPU seconds of one game's spot-check on the cluster (for docs/cluster_plan.md)."""
    spec = spec_for(config, "spotcheck", [game])

    async def go() -> float:
        runner = JobRunner.at(db)
        batch = ClusterBatch(lambda: RayJobsClient(head.dashboard_url, head.token()), spec)
        record = await runner.wait(runner.submit("cluster", spec.batch_key, "p9 spot", batch).id)
        await runner.aclose()
        assert record.error == "", record.error
        return batch.games[game].result["cpu_seconds"]

    return asyncio.run(go())


def test_p9_cluster_wall_vs_local_sequential(moto_endpoint, v1_hls_dir, tmp_path) -> None:
    games = [f"p9-g{i}" for i in range(GAMES)]
    local_bucket, cluster_bucket = _bucket(moto_endpoint, "local"), _bucket(moto_endpoint, "ray")
    for game in games:
        upload_game(local_bucket, game, v1_hls_dir)
        upload_game(cluster_bucket, game, v1_hls_dir)
    folder = tmp_path / "head"
    head = start_local_head(
        folder,
        num_cpus=os.cpu_count() or 1,
        worker_env={ACCESS_KEY_ENV: "test", SECRET_KEY_ENV: "secret"},
    )
    try:
        local_wall, local_cpu = _local(local_bucket, games, tmp_path / "work")
        cluster_wall, cluster_cpu = _cluster(head, cluster_bucket, games, tmp_path / "j.sqlite3")
        spot_cpu = _spotcheck_cpu(head, cluster_bucket, games[0], tmp_path / "s.sqlite3")
    finally:
        stop_local_head(folder)
    ratio = cluster_wall / local_wall
    print(
        f"\nP9: {GAMES} games of 55 s 720p, {os.cpu_count()} cores: local sequential "
        f"{local_wall:.1f} s, cluster (local head) {cluster_wall:.1f} s, ratio {ratio:.3f} "
        f"(goal <= {RATIO_GOAL})"
    )
    print("P9 CPU seconds per game, local:   " + ", ".join(f"{c:.1f}" for c in local_cpu))
    print("P9 CPU seconds per game, cluster: " + ", ".join(f"{c:.1f}" for c in cluster_cpu))
    mean = sum(cluster_cpu) / len(cluster_cpu)
    print(f"P9 cluster CPU seconds per media second: {mean / MEDIA_SECONDS:.2f}")
    print(
        f"P9 spot-check of one game on the cluster: {spot_cpu:.1f} CPU s "
        f"({spot_cpu / MEDIA_SECONDS:.2f} per media second)"
    )
    assert ratio <= RATIO_GOAL
