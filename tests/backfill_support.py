"""Helpers for backfill tests: a short v1 game, a recording reporter, a backfill rig on the
real moto server with a real playback gateway, and ffprobe readings of stored rungs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from services.backfill.game_backfill import Checkpoint, GameBackfill, no_checkpoint
from services.gateway import PlaybackGateway
from services.job_reporting import JobOutcome
from services.ladder import Ladder, load_ladder
from services.storage import Storage, StorageConfig
from tests.conftest import PROJECT, s3_client

LADDER_FILE = PROJECT / "resources" / "ladders" / "abr.toml"
SHORT_V1_FRAMES = 339
"""Frames of the short v1 game: the demo clip's first two GOPs (keyframes at 0 and 250),
14.125 s at 24 fps, so the v1 playlist has two segments (10.417 s + 3.708 s)."""


def make_short_v1(out: Path) -> Path:
    """Package the demo clip's first ``SHORT_V1_FRAMES`` frames as a v1 game folder
    (``master.m3u8``, ``init.mp4``, ``seg_0000N.m4s``: video copied, AAC stereo)."""
    import imageio_ffmpeg

    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(PROJECT / "resources" / "demo" / "bbb_trailer.mp4"),
            "-map",
            "0:v:0",
            "-map",
            "0:a:0",
            "-frames:v",
            str(SHORT_V1_FRAMES),
            "-c:v",
            "copy",
            "-c:a",
            "aac",
            "-ac",
            "2",
            "-f",
            "hls",
            "-hls_time",
            "4",
            "-hls_playlist_type",
            "vod",
            "-hls_segment_type",
            "fmp4",
            "-hls_fmp4_init_filename",
            "init.mp4",
            "-hls_segment_filename",
            str(out / "seg_%05d.m4s"),
            str(out / "master.m3u8"),
        ],
        check=True,
    )
    return out


@dataclass
class RecordingReporter:
    """A JobReporter that keeps what it hears (progress tuples and log lines)."""

    job_id: str = "testjob1"
    progress_calls: list[tuple[float | None, str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def progress(self, fraction: float | None, stage: str, detail: str = "") -> None:
        self.progress_calls.append((fraction, stage, detail))

    def log(self, line: str) -> None:
        self.lines.append(line)

    @property
    def stages(self) -> list[str]:
        out: list[str] = []
        for _, stage, _ in self.progress_calls:
            if not out or out[-1] != stage:
                out.append(stage)
        return out


@dataclass
class BackfillRig:
    """A bucket on the session's moto server, a playback gateway on it, and the ladder."""

    config: StorageConfig
    gateway: PlaybackGateway
    ladder: Ladder
    work_root: Path

    def backfill(
        self,
        game_id: str,
        *,
        force: bool = False,
        checkpoint: Checkpoint = no_checkpoint,
        reporter: RecordingReporter | None = None,
        config: StorageConfig | None = None,
    ) -> tuple[JobOutcome, RecordingReporter]:
        """Run one backfill to its end on a fresh event loop (re-raises its error)."""
        reporter = reporter or RecordingReporter()

        async def go() -> JobOutcome:
            storage = Storage(config or self.config)
            try:
                job = GameBackfill(
                    storage,
                    self.gateway.url_for,
                    self.ladder,
                    self.work_root,
                    game_id,
                    force=force,
                    checkpoint=checkpoint,
                )
                return await job(reporter)
            finally:
                storage.close()

        return asyncio.run(go()), reporter

    def objects(self, prefix: str) -> dict[str, str]:
        """``key -> ETag`` of every object under ``prefix``."""
        return stored_etags(self.config, prefix)

    def read(self, key: str) -> bytes:
        return read_object(self.config, key)

    def put(self, key: str, data: bytes) -> None:
        s3_client(self.config).put_object(Bucket=self.config.bucket, Key=key, Body=data)


def stored_etags(config: StorageConfig, prefix: str) -> dict[str, str]:
    """``key -> ETag`` of every object under ``prefix`` in ``config``'s bucket (boto3)."""
    pages = (
        s3_client(config)
        .get_paginator("list_objects_v2")
        .paginate(Bucket=config.bucket, Prefix=prefix)
    )
    return {o["Key"]: o["ETag"] for page in pages for o in page.get("Contents", ())}


def read_object(config: StorageConfig, key: str) -> bytes:
    """The bytes of ``key`` in ``config``'s bucket (boto3)."""
    return s3_client(config).get_object(Bucket=config.bucket, Key=key)["Body"].read()


@contextmanager
def backfill_rig(config: StorageConfig, work_root: Path) -> Iterator[BackfillRig]:
    gateway = PlaybackGateway(config)
    gateway.start()
    try:
        yield BackfillRig(config, gateway, load_ladder(LADDER_FILE), work_root)
    finally:
        gateway.stop()


def probe_video_packets(url: str) -> list[tuple[float, bool]]:
    """``(pts seconds, is keyframe)`` of every video packet at ``url`` (system ffprobe)."""
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "json",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return [
        (float(p["pts_time"]), "K" in p.get("flags", ""))
        for p in json.loads(out).get("packets", [])
    ]


def probe_video_stream(url: str) -> dict:
    """The first video stream's fields (width, height, codec_name, profile, level)."""
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,codec_name,profile,level",
            "-of",
            "json",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(out)["streams"][0]


def ffmpeg_pids(marker: str | Path) -> list[int]:
    """PIDs of the running ffmpeg processes whose command line contains ``marker``
    (a work folder path)."""
    needle = str(marker).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and b"ffmpeg" in cmdline:
            pids.append(int(entry))
    return pids


def freeze_ffmpeg_at_first_segment(work_root: Path, timeout_s: float = 120) -> list[int]:
    """Wait until a ``seg_*.m4s`` is final under ``work_root``, then SIGSTOP every ffmpeg
    working there and return their PIDs (resume them with ``SIGCONT``). This pins the
    encode mid-way, so a test can act "mid-upload" without racing a fast encode.

    Raises ``AssertionError`` when no segment appears within ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(work_root.rglob("seg_*.m4s")):
            pids = ffmpeg_pids(work_root)
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)
            return pids
        time.sleep(0.01)
    raise AssertionError(f"no segment appeared under {work_root} in {timeout_s} s")


def live_group_members(pgid: int) -> list[int]:
    """PIDs of the processes in process group ``pgid`` that are still alive (from
    ``/proc/*/stat``; zombies, which only wait to be reaped, are not counted)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry))
    return members


def wait_group_gone(pgid: int, timeout_s: float = 10) -> list[int]:
    """Wait until no live process is left in group ``pgid`` (a SIGKILLed group dies in
    moments); returns the survivors when ``timeout_s`` passes first (empty: all gone)."""
    deadline = time.monotonic() + timeout_s
    while (left := live_group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left
