"""Backfill and spot-check on a real Ray head (loopback, token auth, started here), the
real moto server and the pinned ffmpeg: results equal to the local path's, a killed
worker retried without re-uploading, cancel, unusable clusters, and no secret in a job."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import pytest

from services.cluster.jobs_api import RayJobsClient
from services.cluster.local_head import start_local_head, stop_local_head
from services.cluster.tasks import ACCESS_KEY_ENV, SECRET_KEY_ENV
from services.jobs.model import JobState
from services.storage import StorageConfig
from tests.backfill_support import (
    RecordingReporter,
    backfill_rig,
    make_short_v1,
    read_object,
    s3_client,
)
from tests.cluster_support import (
    WORKER_KEY_ID,
    WORKER_SECRET,
    fake_dashboard,
    parent_of,
    run_batch,
    spec_for,
    tool_pids,
)
from tests.conftest import closed_port, upload_game

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """A 2-CPU Ray head on loopback whose workers hold their own store credentials."""
    folder = tmp_path_factory.mktemp("cluster")
    head = start_local_head(
        folder,
        num_cpus=2,
        worker_env={ACCESS_KEY_ENV: WORKER_KEY_ID, SECRET_KEY_ENV: WORKER_SECRET},
    )
    yield head
    stop_local_head(folder)


@pytest.fixture(scope="module")
def short_v1(tmp_path_factory):
    return make_short_v1(tmp_path_factory.mktemp("cluster-v1"))


def _bucket(moto_endpoint: str, name: str) -> StorageConfig:
    config = StorageConfig(moto_endpoint, name, "console-key", "console-secret-5d1e")
    s3_client(config).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    return config


def _ledger_hashes(config: StorageConfig, game: str) -> dict[str, str]:
    doc = json.loads(read_object(config, f"games/{game}/abr/renditions.json"))
    return {o["key"]: o["sha256"] for r in doc["renditions"] for o in r["objects"]}


def _objects(config: StorageConfig, prefix: str) -> dict[str, tuple[int, float]]:
    pages = (
        s3_client(config)
        .get_paginator("list_objects_v2")
        .paginate(Bucket=config.bucket, Prefix=prefix)
    )
    return {
        o["Key"]: (o["Size"], o["LastModified"].timestamp())
        for page in pages
        for o in page.get("Contents", ())
    }


def test_three_games_through_the_cluster_equal_a_local_run(
    head, moto_endpoint, short_v1, tmp_path
) -> None:
    games = ["clu-a", "clu-b", "clu-c"]
    remote = _bucket(moto_endpoint, "cluster-three")
    local = _bucket(moto_endpoint, "local-three")
    for game in games:
        upload_game(remote, game, short_v1)
        upload_game(local, game, short_v1)

    run = run_batch(head, spec_for(remote, "backfill", games), tmp_path / "jobs.sqlite3")

    assert run.record.state is JobState.SUCCEEDED, run.record.error
    rows = run.batch.games
    assert [rows[g].state for g in games] == ["succeeded"] * 3
    assert all(rows[g].node and rows[g].attempts == 1 for g in games)
    with backfill_rig(local, tmp_path / "work") as rig:
        for game in games:
            rig.backfill(game)
    for game in games:
        assert "#EXT-X-STREAM-INF" in read_object(remote, f"games/{game}/master.m3u8").decode()
        cluster_ledger = _ledger_hashes(remote, game)
        assert len(cluster_ledger) > 6
        assert cluster_ledger == _ledger_hashes(local, game)
    assert run.record.result["games"]["clu-a"]["result"]["objects_uploaded"] > 0


def test_no_secret_travels_in_the_job(head, moto_endpoint, short_v1, tmp_path) -> None:
    config = _bucket(moto_endpoint, "cluster-secrets")
    upload_game(config, "clu-s", short_v1)

    run = run_batch(head, spec_for(config, "backfill", ["clu-s"]), tmp_path / "jobs.sqlite3")
    assert run.record.state is JobState.SUCCEEDED, run.record.error

    async def read_back() -> tuple[dict, str]:
        client = RayJobsClient(head.dashboard_url, head.token())
        try:
            submission = run.batch.submission_id
            job = await client._json("GET", f"/api/jobs/{submission}")
            return job, await client.logs(submission)
        finally:
            await client.aclose()

    job, logs = asyncio.run(read_back())
    submitted = json.dumps({k: job[k] for k in ("runtime_env", "metadata", "entrypoint")})
    assert "--endpoint" in submitted and "clu-s" in submitted  # it is the job we ran
    assert "VOC-EVENT" in logs and "master.m3u8 published" in logs
    for secret in (WORKER_SECRET, WORKER_KEY_ID, config.secret_access_key, head.token()):
        assert secret not in submitted
        assert secret not in logs


def test_a_killed_worker_is_retried_and_reuploads_almost_nothing(
    head, moto_endpoint, v1_hls_dir, tmp_path
) -> None:
    config = _bucket(moto_endpoint, "cluster-kill")
    upload_game(config, "clu-k", v1_hls_dir)
    stored_at_kill: dict[str, tuple[int, float]] = {}

    async def kill_the_encoding_worker(runner, record, run) -> None:
        while True:
            stored = await asyncio.to_thread(_objects, config, "games/clu-k/abr/")
            encoders = tool_pids(head)
            if len(stored) >= 8 and encoders:
                break
            assert runner.get(record.id).active, runner.get(record.id).error
            await asyncio.sleep(0.1)
        worker = parent_of(encoders[0])
        os.kill(worker, signal.SIGKILL)
        stored_at_kill.update(await asyncio.to_thread(_objects, config, "games/clu-k/abr/"))

    run = run_batch(
        head,
        spec_for(config, "backfill", ["clu-k"], max_retries=2),
        tmp_path / "jobs.sqlite3",
        during=kill_the_encoding_worker,
    )

    assert run.record.state is JobState.SUCCEEDED, run.record.error
    row = run.batch.games["clu-k"]
    assert row.state == "succeeded" and row.attempts == 2
    assert "#EXT-X-STREAM-INF" in read_object(config, "games/clu-k/master.m3u8").decode()
    after = _objects(config, "games/clu-k/abr/")
    rewritten = [k for k, (_, at) in stored_at_kill.items() if after[k][1] != at]
    stored_bytes = sum(size for size, _ in stored_at_kill.values())
    reuploaded = sum(stored_at_kill[k][0] for k in rewritten)
    assert reuploaded <= 0.02 * stored_bytes, (rewritten, reuploaded, stored_bytes)
    reused = row.result["objects"] - row.result["objects_uploaded"]
    assert reused >= len(stored_at_kill) - len(rewritten) - 1, (row.result, len(stored_at_kill))


def test_cancel_stops_the_job_leaves_no_ffmpeg_and_a_rerun_resumes(
    head, moto_endpoint, v1_hls_dir, tmp_path
) -> None:
    config = _bucket(moto_endpoint, "cluster-cancel")
    games = ["clu-x", "clu-y"]
    for game in games:
        upload_game(config, game, v1_hls_dir)
    v1_master = read_object(config, "games/clu-x/master.m3u8")
    spec = spec_for(config, "backfill", games)

    async def cancel_mid_encode(runner, record, run) -> None:
        while not (tool_pids(head) and _objects(config, "games/clu-x/abr/")):
            assert runner.get(record.id).active, runner.get(record.id).error
            await asyncio.sleep(0.1)
        runner.cancel(record.id)

    run = run_batch(head, spec, tmp_path / "jobs.sqlite3", during=cancel_mid_encode)

    assert run.record.state is JobState.CANCELLED
    assert {r.state for r in run.batch.games.values()} == {"cancelled"}

    async def status() -> str:
        client = RayJobsClient(head.dashboard_url, head.token())
        try:
            return (await client.get(run.batch.submission_id)).status
        finally:
            await client.aclose()

    assert asyncio.run(status()) == "STOPPED"
    deadline = time.monotonic() + 30
    while tool_pids(head) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert tool_pids(head) == []
    for game in games:  # still the v1 media playlist: viewers play v1
        assert read_object(config, f"games/{game}/master.m3u8") == v1_master

    rerun = run_batch(head, spec, tmp_path / "jobs2.sqlite3")
    assert rerun.record.state is JobState.SUCCEEDED, rerun.record.error
    assert rerun.batch.games["clu-x"].result["bytes_reused"] > 0


def test_an_unusable_cluster_submits_nothing_and_says_so(
    head, moto_endpoint, short_v1, tmp_path
) -> None:
    config = _bucket(moto_endpoint, "cluster-refused")
    upload_game(config, "clu-r", short_v1)
    spec = spec_for(config, "backfill", ["clu-r"])

    down = run_batch(
        head, spec, tmp_path / "a.sqlite3", address=f"http://127.0.0.1:{closed_port()}"
    )
    assert down.record.state is JobState.FAILED
    assert "is not reachable" in down.record.error and "main.py cluster start" in down.record.error

    for mode, says in (("5xx", "HTTP 503"), ("old", "runs Ray 2.9.3")):
        with fake_dashboard(mode) as fake:
            run = run_batch(head, spec, tmp_path / f"{mode}.sqlite3", address=fake.url)
        assert run.record.state is JobState.FAILED
        assert says in run.record.error, run.record.error
        assert [m for m, p in fake.requests if m in ("POST", "PUT")] == [], fake.requests

    wrong_ffmpeg = spec_for(config, "backfill", ["clu-r"], ffmpeg_version="ffmpeg version 4.4")
    refused = run_batch(head, wrong_ffmpeg, tmp_path / "ff.sqlite3")
    assert refused.record.state is JobState.FAILED
    assert "the console records 'ffmpeg version 4.4'" in refused.record.error
    assert _objects(config, "games/clu-r/abr/") == {}

    with backfill_rig(config, tmp_path / "work") as rig:
        outcome, _ = rig.backfill("clu-r", reporter=RecordingReporter())
    assert "master.m3u8 published" in outcome.summary
