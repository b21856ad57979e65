"""Helpers for spot-check tests: run a spot-check on the backfill rig, copy a backfilled
game, and seed defects by editing its stored objects (re-encoded rungs are made with the
pinned ffmpeg from the short v1, and the ledger and master are rewritten to match them so
that only the intended check can fail)."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from services.abr.ledger import LedgerDocument, LedgerObject
from services.abr.multivariant import codecs_attribute, measure_bandwidth, multivariant_text
from services.hls import parse_playlist
from services.job_reporting import JobOutcome
from services.media_tools.binaries import ffmpeg_exe
from services.spotcheck.checks import GameReport
from services.spotcheck.game_spotcheck import GameSpotcheck
from services.spotcheck.report import read_report
from services.storage import Storage
from tests.backfill_support import SHORT_V1_FRAMES, BackfillRig, RecordingReporter, backfill_rig
from tests.conftest import DEMO_CLIP, s3_client, upload_game

GOP = 96
"""Frames per segment of the abr ladder at 24 fps (4 s)."""


def spotcheck(
    rig: BackfillRig,
    game_id: str,
    report_root: Path,
    *,
    source_prefix: str = "",
    reporter: RecordingReporter | None = None,
) -> tuple[JobOutcome, GameReport, RecordingReporter]:
    """Run one spot-check to its end; returns the outcome, the report read back from its
    saved JSON + CSV, and the reporter."""
    reporter = reporter or RecordingReporter(job_id=f"sc{game_id[-8:]}")

    async def go() -> JobOutcome:
        storage = Storage(rig.config)
        try:
            job = GameSpotcheck(
                storage,
                rig.gateway.url_for,
                rig.ladder,
                report_root,
                game_id,
                source_prefix=source_prefix,
            )
            return await job(reporter)
        finally:
            storage.close()

    outcome = asyncio.run(go())
    [game] = read_report(Path(outcome.result["report"]))
    return outcome, game, reporter


@contextmanager
def backfilled_rig(
    endpoint: str, v1_dir: Path, work: Path, game_id: str, bucket_stem: str
) -> Iterator[BackfillRig]:
    """A new bucket (``{bucket_stem}-{random}``) on the moto server at ``endpoint`` holding
    the v1 game ``v1_dir`` as ``game_id``, backfilled; yields the rig to read and edit it."""
    from services.storage import StorageConfig

    config = StorageConfig(
        endpoint, f"{bucket_stem}-{uuid.uuid4().hex[:12]}", "test", "test-secret"
    )
    s3_client(config).create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    upload_game(config, game_id, v1_dir)
    with backfill_rig(config, work) as made:
        made.backfill(game_id)
        yield made


def copy_game(rig: BackfillRig, source: str, target: str) -> None:
    """Copy every object of ``games/{source}/`` to ``games/{target}/`` (server-side), the
    ledger rewritten for the new keys."""
    client = s3_client(rig.config)
    bucket = rig.config.bucket
    for key in rig.objects(f"games/{source}/"):
        new = f"games/{target}/" + key[len(f"games/{source}/") :]
        client.copy_object(Bucket=bucket, Key=new, CopySource={"Bucket": bucket, "Key": key})
    ledger_key = f"games/{target}/abr/renditions.json"
    rig.put(ledger_key, rig.read(ledger_key).replace(source.encode(), target.encode()))


def ledger_of(rig: BackfillRig, game_id: str) -> LedgerDocument:
    key = f"games/{game_id}/abr/renditions.json"
    return LedgerDocument.from_bytes(rig.read(key), key)


def flip_bytes(rig: BackfillRig, key: str, count: int = 16) -> None:
    """Invert ``count`` bytes in the middle of a stored object (ledger untouched)."""
    data = bytearray(rig.read(key))
    middle = len(data) // 2
    for i in range(middle, middle + count):
        data[i] ^= 0xFF
    rig.put(key, bytes(data))


def delete(rig: BackfillRig, key: str) -> None:
    s3_client(rig.config).delete_object(Bucket=rig.config.bucket, Key=key)


def encode_rung(
    v1_dir: Path,
    out: Path,
    width: int,
    height: int,
    *,
    video_filter: str = "",
    force_key_frames: str = f"expr:eq(mod(n,{GOP}),0)",
    hls_flags: str = "independent_segments",
    x264_params: str = "open-gop=0",
) -> Path:
    """A rung like the ladder's (x264 veryfast, closed 96-frame GOP, AAC, 4 s fMP4 HLS)
    from the local short v1, with the given size, extra video filter, keyframe rule and
    HLS flags: the way to make a defective rung. Cutting segments by time off the keyframes
    (``split_by_time``) needs ``bframes=0`` in ``x264_params`` to keep the PTS intact."""
    out.mkdir(parents=True, exist_ok=True)
    chain = (f"{video_filter}," if video_filter else "") + f"scale={width}:{height},setsar=1"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(v1_dir / "master.m3u8"),
            "-map",
            "0:v:0",
            "-map",
            "0:a:0",
            "-vf",
            chain,
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-b:v",
            "1400k",
            "-maxrate",
            "1498k",
            "-bufsize",
            "2800k",
            "-profile:v",
            "main",
            "-level:v",
            "3.0",
            "-pix_fmt",
            "yuv420p",
            "-g",
            str(GOP),
            "-keyint_min",
            str(GOP),
            "-sc_threshold",
            "0",
            "-force_key_frames",
            force_key_frames,
            "-x264-params",
            x264_params,
            "-fps_mode",
            "passthrough",
            "-threads",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-ac",
            "2",
            "-ar",
            "48000",
            "-f",
            "hls",
            "-hls_time",
            "4",
            "-hls_playlist_type",
            "vod",
            "-hls_segment_type",
            "fmp4",
            "-hls_flags",
            hls_flags,
            "-hls_fmp4_init_filename",
            "init.mp4",
            "-hls_segment_filename",
            str(out / "seg_%05d.m4s"),
            str(out / "index.m3u8"),
        ],
        check=True,
    )
    return out


def replace_rung(rig: BackfillRig, game_id: str, rung: str, folder: Path) -> None:
    """Store ``folder``'s rung files (``index.m3u8``, ``init.mp4``, segments) as ``rung`` of
    ``game_id`` instead of the old ones, then rewrite the ledger row (objects, bandwidth,
    codecs; the declared size is kept) and the multivariant master to match them."""
    prefix = f"games/{game_id}/abr/{rung}/"
    for key in rig.objects(prefix):
        delete(rig, key)
    playlist = parse_playlist((folder / "index.m3u8").read_bytes())
    names = ["init.mp4", *(s.uri for s in playlist.segments), "index.m3u8"]
    objects = []
    for name in names:
        data = (folder / name).read_bytes()
        rig.put(prefix + name, data)
        objects.append(LedgerObject(prefix + name, len(data), hashlib.sha256(data).hexdigest()))
    sizes = {o.key: o.size for o in objects}
    peak, average = measure_bandwidth(
        [(sizes[prefix + s.uri], s.duration) for s in playlist.segments]
    )
    ledger = ledger_of(rig, game_id)
    rows = tuple(
        replace(
            row,
            objects=tuple(objects),
            bandwidth=peak,
            average_bandwidth=average,
            codecs=codecs_attribute((folder / "init.mp4").read_bytes(), True),
        )
        if row.rung == rung
        else row
        for row in ledger.renditions
    )
    ledger = replace(ledger, renditions=rows)
    rig.put(f"games/{game_id}/abr/renditions.json", ledger.to_bytes())
    rig.put(f"games/{game_id}/master.m3u8", multivariant_text(rows, f"games/{game_id}/").encode())


def make_source_mp4(out: Path, *, reencode: bool = False) -> Path:
    """The short v1's source as one MP4: the demo clip's first ``SHORT_V1_FRAMES`` video
    frames copied (the packets v1 remuxed), or re-encoded (same frames, other packets)."""
    video = (
        ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18"] if reencode else ["-c:v", "copy"]
    )
    subprocess.run(
        [
            ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(DEMO_CLIP),
            "-map",
            "0:v:0",
            "-map",
            "0:a:0",
            "-frames:v",
            str(SHORT_V1_FRAMES),
            *video,
            "-c:a",
            "aac",
            "-ac",
            "2",
            str(out),
        ],
        check=True,
    )
    return out
