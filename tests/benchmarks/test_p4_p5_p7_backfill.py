"""Backfill benchmarks, each against a baseline measured in the same run.

- P4: a whole backfill (``GameBackfill``: inspect, probe, one-decode ladder encode with
  uploads overlapping it, SHA-256 everywhere, verify, ledger, anchor, publish) of the demo
  clip's 55 s 720p v1 game, vs the bare ffmpeg ladder command (the very argv the backfill
  runs, same gateway URL, output to a local folder, nothing uploaded). Goal: <= 1.10x.
- P5: the one-decode ladder (one ffmpeg: decode once, ``split`` + ``scale``, four rungs)
  vs four separate ffmpeg runs, one per rung, each decoding the source, on a 1080p source
  made from the demo clip, read from a local file by all. Goal: separate / one-decode >=
  1.8x, asserted against separate runs with the same encoder settings (one x264 thread per
  rung: the setting that makes the ladder bit-reproducible with VBV, which resume by
  checksum needs). Also reported: separate runs with x264's automatic threads (both cores
  per run, output not reproducible), the fastest way to run four separate encodes.
- P7: a backfill cancelled at ~90 % of its encode, then run again: bytes re-uploaded for
  objects already stored / bytes already stored. Goal: <= 2 %.

Median of ``ROUNDS`` interleaved rounds for P4; one round for P5 and P7 (each is long).
Run: ``make bench PYTEST_ADDOPTS="-s -k backfill"``.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from services.backfill.encode import ladder_command
from services.backfill.game_backfill import GameBackfill
from services.backfill.source import probe_source
from services.ffmpeg_tools import ffmpeg_exe
from services.gateway import PlaybackGateway
from services.ladder import gop_frames, load_ladder, plan_rungs
from services.storage import Storage, StorageConfig
from tests.backfill_support import LADDER_FILE, RecordingReporter
from tests.benchmarks.conftest import run_async
from tests.conftest import DEMO_CLIP, s3_client, upload_game

pytestmark = pytest.mark.timeout(1800)

ROUNDS = 2
P4_GOAL = 1.10
P5_GOAL = 1.8
P7_GOAL = 0.02
P5_SECONDS = 12


@pytest.fixture(scope="module")
def bench_bucket(moto_endpoint):
    config = StorageConfig(moto_endpoint, f"bf-bench-{uuid.uuid4().hex[:8]}", "test", "secret")
    s3_client(config).create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    gateway = PlaybackGateway(config)
    gateway.start()
    yield config, gateway
    gateway.stop()


def _backfill(config, gateway, game: str, work: Path, reporter=None, cancel_at=None):
    """Run one backfill; with ``cancel_at`` (a fraction), cancel it once reported past it.
    Returns ``(seconds, outcome or None, reporter)``."""
    reporter = reporter or RecordingReporter(job_id=uuid.uuid4().hex[:12])

    async def go():
        storage = Storage(config)
        job = GameBackfill(storage, gateway.url_for, load_ladder(LADDER_FILE), work, game)
        started = time.perf_counter()
        try:
            task = asyncio.ensure_future(job(reporter))
            if cancel_at is not None:
                while not task.done():
                    done = [f for f, _, _ in reporter.progress_calls if f is not None]
                    if done and done[-1] >= cancel_at:
                        task.cancel()
                        break
                    await asyncio.sleep(0.02)
                await asyncio.gather(task, return_exceptions=True)
                return time.perf_counter() - started, None
            outcome = await task
            return time.perf_counter() - started, outcome
        finally:
            storage.close()

    seconds, outcome = run_async(go())
    return seconds, outcome, reporter


def _bare_ladder(gateway, key: str, out: Path) -> float:
    """The backfill's own ffmpeg argv on the same gateway URL, into ``out``; seconds."""
    url = gateway.url_for(key)
    video = run_async(probe_source(url))
    ladder = load_ladder(LADDER_FILE)
    planned, _ = plan_rungs(ladder, video.width, video.height, video.sample_aspect)
    for plan in planned:
        (out / plan.rung.name).mkdir(parents=True, exist_ok=True)
    argv = ladder_command(ffmpeg_exe(), url, video, ladder, planned,
                          gop_frames(ladder, video.fps), out)
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def test_p4_backfill_vs_bare_ladder(benchmark, bench_bucket, v1_hls_dir, tmp_path):
    config, gateway = bench_bucket
    bare: list[float] = []
    full: list[float] = []
    outcomes = []
    upload_game(config, "p4-source", v1_hls_dir)

    def bare_round() -> None:
        with tempfile.TemporaryDirectory() as out:
            bare.append(_bare_ladder(gateway, "games/p4-source/master.m3u8", Path(out)))

    def backfill_round() -> None:
        game = f"p4-{len(full)}"
        upload_game(config, game, v1_hls_dir)
        seconds, outcome, _ = _backfill(config, gateway, game, tmp_path / "work")
        full.append(seconds)
        outcomes.append(outcome)

    benchmark.pedantic(backfill_round, setup=bare_round, rounds=ROUNDS, iterations=1)
    ratio = statistics.median(full) / statistics.median(bare)
    uploaded = outcomes[-1].result["bytes_uploaded"]
    benchmark.extra_info.update({"backfill_s": full, "bare_s": bare, "ratio": round(ratio, 3),
                                 "bytes_uploaded": uploaded})
    print(
        f"\n[P4] backfill of a 55.1 s 720p v1 game (3 rungs), median of {ROUNDS} rounds\n"
        f"[P4]   backfill (encode + upload {uploaded / 1e6:.1f} MB + verify + publish): "
        f"{statistics.median(full):.2f} s ({', '.join(f'{t:.2f}' for t in full)})\n"
        f"[P4]   bare ffmpeg ladder, same argv and URL:  {statistics.median(bare):.2f} s "
        f"({', '.join(f'{t:.2f}' for t in bare)})\n"
        f"[P4]   ratio = {ratio:.3f} (goal <= {P4_GOAL})"
    )
    assert all(o.result["master_published"] for o in outcomes)
    assert ratio <= P4_GOAL


@pytest.fixture(scope="module")
def source_1080p(tmp_path_factory) -> Path:
    """``P5_SECONDS`` of the demo clip upscaled to 1920x1080 (H.264, AAC), a local file."""
    out = tmp_path_factory.mktemp("p5") / "source-1080p.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-y", "-t", str(P5_SECONDS), "-i", str(DEMO_CLIP),
         "-vf", "scale=1920:1080", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "16",
         "-c:a", "aac", str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_p5_one_decode_ladder_vs_separate_runs(benchmark, source_1080p, tmp_path):
    ladder = load_ladder(LADDER_FILE)
    video = run_async(probe_source(str(source_1080p)))
    planned, skipped = plan_rungs(ladder, video.width, video.height)
    assert not skipped and len(planned) == 4
    gop = gop_frames(ladder, video.fps)
    times: dict[str, float] = {}

    def run(argv: list[str]) -> float:
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        return time.perf_counter() - started

    def separate() -> None:
        for label, threads in (("separate", 1), ("separate_free_threads", 0)):
            total = 0.0
            for plan in planned:
                out = tmp_path / label
                (out / plan.rung.name).mkdir(parents=True, exist_ok=True)
                total += run(ladder_command(ffmpeg_exe(), str(source_1080p), video, ladder,
                                            [plan], gop, out, x264_threads=threads))
            times[label] = total

    def one_decode() -> None:
        out = tmp_path / "one"
        for plan in planned:
            (out / plan.rung.name).mkdir(parents=True, exist_ok=True)
        times["one"] = run(ladder_command(ffmpeg_exe(), str(source_1080p), video, ladder,
                                          planned, gop, out))

    benchmark.pedantic(one_decode, setup=separate, rounds=1, iterations=1)
    speedup = times["separate"] / times["one"]
    free = times["separate_free_threads"] / times["one"]
    benchmark.extra_info.update({**times, "speedup": round(speedup, 3),
                                 "speedup_vs_free_threads": round(free, 3)})
    print(
        f"\n[P5] 4-rung ladder from a {P5_SECONDS} s 1080p source (local file)\n"
        f"[P5]   one ffmpeg, one decode, split+scale:            {times['one']:.2f} s\n"
        f"[P5]   four runs, one per rung, same settings:          {times['separate']:.2f} s\n"
        f"[P5]   four runs, x264 automatic threads (not reproducible): "
        f"{times['separate_free_threads']:.2f} s\n"
        f"[P5]   speed-up = {speedup:.2f}x (goal >= {P5_GOAL}x); vs free threads {free:.2f}x"
    )
    assert speedup >= P5_GOAL


def test_p7_resume_after_cancel_at_90_percent(benchmark, bench_bucket, v1_hls_dir, tmp_path):
    config, gateway = bench_bucket
    game = "p7-resume"
    upload_game(config, game, v1_hls_dir)
    figures: dict[str, float] = {}

    def sizes() -> dict[str, int]:
        client = s3_client(config)
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=config.bucket, Prefix=f"games/{game}/abr/"
        )
        return {o["Key"]: o["Size"] for p in pages for o in p.get("Contents", ())}

    def killed() -> None:
        # 0.02 + 0.86 x 90 % of the encode: the fraction the job reports at 90 % encoded
        seconds, _, _ = _backfill(config, gateway, game, tmp_path / "work", cancel_at=0.79)
        figures["cancelled_after_s"] = seconds

    def resumed() -> None:
        before = sizes()
        seconds, outcome, reporter = _backfill(config, gateway, game, tmp_path / "work")
        replaced = {line.split()[1].rstrip(":") for line in reporter.lines
                    if line.startswith("replacing ")}
        figures.update({
            "resume_s": seconds,
            "done_before_bytes": sum(before.values()),
            "reuploaded_bytes": sum(size for key, size in before.items() if key in replaced),
            "uploaded_bytes": outcome.result["bytes_uploaded"],
            "kept_bytes": outcome.result["bytes_reused"],
        })

    benchmark.pedantic(resumed, setup=killed, rounds=1, iterations=1)
    share = figures["reuploaded_bytes"] / figures["done_before_bytes"]
    benchmark.extra_info.update({**figures, "reuploaded_share": share})
    print(
        f"\n[P7] cancel at ~90 % of the encode after {figures['cancelled_after_s']:.1f} s, "
        f"then resume ({figures['resume_s']:.1f} s)\n"
        f"[P7]   already stored before the resume: {figures['done_before_bytes'] / 1e6:.2f} MB;"
        f" kept by the resume: {figures['kept_bytes'] / 1e6:.2f} MB\n"
        f"[P7]   re-uploaded of those: {figures['reuploaded_bytes'] / 1e6:.3f} MB = "
        f"{share:.2%} (goal <= {P7_GOAL:.0%}); newly uploaded: "
        f"{figures['uploaded_bytes'] / 1e6:.2f} MB"
    )
    assert figures["done_before_bytes"] > 0
    assert share <= P7_GOAL
