"""ABR backfill end to end: real moto S3 over HTTP, the real playback gateway, the pinned
ffmpeg, the system ffprobe and libmpv. The published game is built once per module."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import uuid
from pathlib import Path

import boto3
import pytest

from services.backfill.game_backfill import GameBackfill
from services.errors import AccessDenied, MediaError, PreconditionFailed
from services.hls import MediaPlaylist, MultivariantPlaylist, parse_playlist
from services.storage import Storage, StorageConfig
from tests.backfill_support import (
    SHORT_V1_FRAMES,
    RecordingReporter,
    backfill_rig,
    ffmpeg_pids,
    freeze_ffmpeg_at_first_segment,
    make_short_v1,
    probe_video_packets,
    probe_video_stream,
)
from tests.conftest import moto_iam_auth, s3_client, upload_game

GAME = "nba-2026-11-20-bos-lal"
RUNGS = ("720p", "480p", "360p")
FPS = 24


def _bucket(moto_endpoint: str) -> StorageConfig:
    config = StorageConfig(moto_endpoint, f"bf-{uuid.uuid4().hex[:12]}", "test", "test-secret")
    s3_client(config).create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    return config


@pytest.fixture(scope="module")
def short_v1(tmp_path_factory) -> Path:
    return make_short_v1(tmp_path_factory.mktemp("short-v1"))


@pytest.fixture(scope="module")
def published(moto_endpoint, short_v1, tmp_path_factory):
    """One game backfilled once: ``(rig, outcome, reporter, v1 ETags before the job)``."""
    config = _bucket(moto_endpoint)
    upload_game(config, GAME, short_v1)
    with backfill_rig(config, tmp_path_factory.mktemp("work")) as rig:
        before = rig.objects(f"games/{GAME}/")
        outcome, reporter = rig.backfill(GAME)
        yield rig, outcome, reporter, before


@pytest.fixture
def rig(storage_config, tmp_path):
    with backfill_rig(storage_config, tmp_path / "work") as made:
        yield made


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _relative_hashes(rig, game: str) -> dict[str, str]:
    """SHA-256 of every rung object and playlist of ``game``, by key relative to the game."""
    prefix = f"games/{game}/"
    keys = [k for k in rig.objects(prefix) if "/abr/" in k and not k.endswith(".json")]
    keys += [prefix + "master.m3u8", prefix + "master.v1.m3u8"]
    return {k[len(prefix) :]: _sha(rig.read(k)) for k in keys}


# --- a clean backfill --------------------------------------------------------------------


def test_backfill_publishes_a_multivariant_master_last(published, short_v1) -> None:
    rig, outcome, reporter, before = published
    prefix = f"games/{GAME}/"
    master = parse_playlist(rig.read(prefix + "master.m3u8"))
    assert isinstance(master, MultivariantPlaylist)
    assert [v.uri for v in master.variants] == [f"abr/{r}/index.m3u8" for r in RUNGS]
    text = rig.read(prefix + "master.m3u8").decode()
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in text
    for attribute in ("AVERAGE-BANDWIDTH=", "RESOLUTION=1280x720", "FRAME-RATE=24.000"):
        assert attribute in text
    assert 'CODECS="avc1.64001f,mp4a.40.2"' in text  # High 3.1 from the 720p init's avcC
    assert rig.read(prefix + "master.v1.m3u8") == (short_v1 / "master.m3u8").read_bytes()
    after = rig.objects(prefix)
    for key, etag in before.items():
        if not key.endswith("master.m3u8"):
            assert after[key] == etag, f"{key} was rewritten"
    assert outcome.result["rungs"] == list(RUNGS)
    assert outcome.result["skipped"] == [
        "1080p skipped (taller than the source (720 px): no upscaling)"
    ]
    assert reporter.stages == [
        "inspect",
        "encode",
        "upload",
        "verify",
        "ledger",
        "anchor",
        "publish",
        "done",
    ]
    fractions = [f for f, _, _ in reporter.progress_calls if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_ledger_records_every_rung_object_with_its_checksum(published, short_v1) -> None:
    rig, outcome, reporter, _ = published
    import json

    ledger = json.loads(rig.read(f"games/{GAME}/abr/renditions.json"))
    assert ledger["schema_version"] == 1 and ledger["ladder"] == {"name": "abr", "version": 1}
    assert ledger["skipped"] == [
        {"rung": "1080p", "reason": "taller than the source (720 px): no upscaling"}
    ]
    v1_sha = _sha((short_v1 / "master.m3u8").read_bytes())
    for row in ledger["renditions"]:
        assert row["game_id"] == GAME and row["job_id"] == reporter.job_id
        assert row["source"] == {"key": f"games/{GAME}/master.m3u8", "sha256": v1_sha}
        assert row["ffmpeg_version"].startswith("ffmpeg version")
        assert row["encoder_settings"]["segment_seconds"] == 4
        names = [o["key"].rsplit("/", 1)[-1] for o in row["objects"]]
        assert names[0] == "init.mp4" and names[-1] == "index.m3u8"
        for obj in row["objects"]:
            data = rig.read(obj["key"])
            assert (len(data), _sha(data)) == (obj["size"], obj["sha256"])
    assert {o["key"].split("/")[3] for r in ledger["renditions"] for o in r["objects"]} == set(
        RUNGS
    )


def test_every_segment_of_every_rung_starts_on_the_same_keyframe(published) -> None:
    rig, *_ = published
    keyframes: dict[str, list[float]] = {}
    for rung in RUNGS:
        key = f"games/{GAME}/abr/{rung}/index.m3u8"
        playlist = parse_playlist(rig.read(key))
        assert isinstance(playlist, MediaPlaylist)
        assert all(s.duration <= playlist.target_duration for s in playlist.segments)
        packets = probe_video_packets(rig.gateway.url_for(key))
        assert len(packets) == SHORT_V1_FRAMES  # -fps_mode passthrough: no dup, no drop
        first = min(t for t, _ in packets)
        starts = [round(first + s.start, 3) for s in playlist.segments]
        keyframes[rung] = [round(t, 3) for t, is_key in packets if is_key]
        assert keyframes[rung] == starts, f"{rung}: keyframes off the segment boundaries"
    assert keyframes["720p"] == keyframes["480p"] == keyframes["360p"]
    assert [round(t - keyframes["720p"][0], 3) for t in keyframes["720p"]] == [0, 4, 8, 12]


def test_rungs_have_the_ladder_size_profile_and_bitrate(published) -> None:
    rig, *_ = published
    master = parse_playlist(rig.read(f"games/{GAME}/master.m3u8"))
    expected = {
        "720p": (1280, 720, "High", 31, 3_000_000 + 128_000),
        "480p": (854, 480, "Main", 30, 1_400_000 + 96_000),
        "360p": (640, 360, "Main", 30, 800_000 + 96_000),
    }
    for variant in master.variants:
        rung = variant.uri.split("/")[1]
        width, height, profile, level, target = expected[rung]
        stream = probe_video_stream(rig.gateway.url_for(f"games/{GAME}/{variant.uri}"))
        assert (stream["width"], stream["height"]) == (width, height)
        assert (stream["profile"], stream["level"]) == (profile, level)
        assert variant.resolution == (width, height)
        assert 0.7 * target <= variant.average_bandwidth <= 1.2 * target, rung
        assert variant.average_bandwidth <= variant.bandwidth <= 1.6 * target, rung


def test_a_second_run_verifies_and_writes_nothing(published) -> None:
    rig, *_ = published
    before = rig.objects(f"games/{GAME}/")
    outcome, reporter = rig.backfill(GAME)
    assert outcome.result["verified_only"] is True
    assert "nothing re-encoded" in outcome.summary
    assert "encode" not in reporter.stages
    assert rig.objects(f"games/{GAME}/") == before


def test_backfilled_game_plays_as_abr_and_its_v1_anchor_still_plays(published) -> None:
    import locale

    locale.setlocale(locale.LC_NUMERIC, "C")
    import mpv

    rig, *_ = published

    def play(key: str) -> tuple[int, list[tuple[int, int]]]:
        """Height mpv decodes after 1 s of playback, and the video variants it was offered
        (mpv 0.35 lists each HLS variant as a video track with its demuxed size)."""
        player = mpv.MPV(vo="null", ao="null", ytdl=False, input_default_bindings=False)
        try:
            player.play(rig.gateway.url_for(key))
            player.wait_until_playing(timeout=15)
            player.wait_for_property("time-pos", lambda t: t is not None and t > 1.0, timeout=15)
            offered = [
                (t["demux-w"], t["demux-h"]) for t in player.track_list if t["type"] == "video"
            ]
            return int(player.video_params["h"]), offered
        finally:
            player.terminate()

    height, offered = play(f"games/{GAME}/master.m3u8")
    master = parse_playlist(rig.read(f"games/{GAME}/master.m3u8"))
    assert sorted(offered) == sorted(v.resolution for v in master.variants)
    assert height in (720, 480, 360)
    for rung, rung_height in zip(RUNGS, (720, 480, 360), strict=True):
        assert play(f"games/{GAME}/abr/{rung}/index.m3u8")[0] == rung_height
    assert play(f"games/{GAME}/master.v1.m3u8")[0] == 720


# --- cancel and resume -------------------------------------------------------------------


def test_cancel_mid_upload_stops_ffmpeg_and_a_rerun_reuploads_nothing_stored(
    published, rig, short_v1
) -> None:
    game = "nba-cancelled"
    upload_game(rig.config, game, short_v1)
    v1 = rig.read(f"games/{game}/master.m3u8")

    async def cancel_after_uploads() -> int:
        storage = Storage(rig.config)
        job = GameBackfill(storage, rig.gateway.url_for, rig.ladder, rig.work_root, game)
        task = asyncio.ensure_future(job(RecordingReporter(job_id="cancelme")))
        try:
            frozen = await asyncio.to_thread(freeze_ffmpeg_at_first_segment, rig.work_root)
            assert frozen, "no ffmpeg running when its first segment appeared"
            while len(rig.objects(f"games/{game}/abr/")) < 2:  # init.mp4 + seg_00000.m4s
                assert not task.done(), "the job ended before it could be cancelled"
                await asyncio.sleep(0.05)
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return len(ffmpeg_pids(rig.work_root))
        finally:
            storage.close()

    assert asyncio.run(cancel_after_uploads()) == 0
    assert rig.read(f"games/{game}/master.m3u8") == v1  # still plays as v1
    assert not list(rig.work_root.iterdir())  # the work folder was removed
    stored_before = {k: len(rig.read(k)) for k in rig.objects(f"games/{game}/abr/")}
    outcome, _ = rig.backfill(game)
    assert outcome.result["bytes_reused"] >= sum(stored_before.values())
    assert outcome.result["bytes_uploaded"] + outcome.result["bytes_reused"] > 0
    published_rig = published[0]
    assert _relative_hashes(rig, game) == _relative_hashes(published_rig, GAME)


# --- conditional writes and bad input ------------------------------------------------------


def test_master_changed_during_the_job_is_a_412_and_nothing_is_published(rig, short_v1) -> None:
    game = "nfl-raced"
    upload_game(rig.config, game, short_v1)
    edited = (short_v1 / "master.m3u8").read_bytes() + b"# edited by someone else\n"

    async def someone_edits(stage: str) -> None:
        if stage == "anchor":
            rig.put(f"games/{game}/master.m3u8", edited)

    with pytest.raises(PreconditionFailed) as failed:
        rig.backfill(game, checkpoint=someone_edits)
    assert "changed while the job ran" in str(failed.value)
    assert "NOT published" in str(failed.value)
    assert rig.read(f"games/{game}/master.m3u8") == edited


def test_missing_v1_segment_fails_before_encoding(rig, short_v1) -> None:
    game = "mls-missing"
    upload_game(rig.config, game, short_v1, skip=("seg_00001.m4s",))
    with pytest.raises(MediaError) as failed:
        rig.backfill(game)
    assert "seg_00001.m4s missing" in str(failed.value)
    assert set(rig.objects(f"games/{game}/")) == {
        f"games/{game}/{n}" for n in ("master.m3u8", "init.mp4", "seg_00000.m4s")
    }


def test_truncated_v1_segment_fails_and_publishes_nothing(rig, short_v1) -> None:
    game = "mls-truncated"
    upload_game(rig.config, game, short_v1)
    whole = (short_v1 / "seg_00000.m4s").read_bytes()
    rig.put(f"games/{game}/seg_00000.m4s", whole[: len(whole) // 2])
    v1 = rig.read(f"games/{game}/master.m3u8")
    with pytest.raises(MediaError) as failed:
        rig.backfill(game)
    message = str(failed.value)
    assert "truncated" in message or "did not decode cleanly" in message
    assert "Nothing was published" in message
    assert rig.read(f"games/{game}/master.m3u8") == v1
    keys = rig.objects(f"games/{game}/")
    assert f"games/{game}/master.v1.m3u8" not in keys
    assert f"games/{game}/abr/renditions.json" not in keys


def test_vp8_webm_source_is_a_clear_media_error(rig, shared_dir) -> None:
    game = "nhl-webm"
    rig.put(
        f"games/{game}/seg_00000.webm", (shared_dir / "media/renpy_oa4_launch.webm").read_bytes()
    )
    rig.put(
        f"games/{game}/master.m3u8",
        b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:9\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        b"#EXTINF:8.125,\nseg_00000.webm\n#EXT-X-ENDLIST\n",
    )
    with pytest.raises(MediaError) as failed:
        rig.backfill(game)
    message = str(failed.value)
    assert "cannot be decoded" in message
    assert rig.gateway.base_url not in message  # the gateway's token never leaks
    assert set(rig.objects(f"games/{game}/")) == {
        f"games/{game}/seg_00000.webm",
        f"games/{game}/master.m3u8",
    }


def test_a_stored_anchor_that_differs_from_v1_stops_the_job(rig, short_v1) -> None:
    game = "nfl-bad-anchor"
    upload_game(rig.config, game, short_v1)
    rig.put(f"games/{game}/master.v1.m3u8", b"#EXTM3U\n# not the v1 playlist\n")
    with pytest.raises(MediaError) as failed:
        rig.backfill(game)
    assert "differs from the v1" in str(failed.value)
    assert not rig.objects(f"games/{game}/abr/")


def test_read_only_credentials_get_access_denied_and_publish_nothing(
    rig, short_v1, moto_endpoint
) -> None:
    game = "nba-readonly"
    upload_game(rig.config, game, short_v1)
    v1 = rig.read(f"games/{game}/master.m3u8")
    iam = boto3.client(
        "iam",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test-secret",
    )
    user = f"reader-{rig.config.bucket}"
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="read-only",
        PolicyDocument=(
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
            '"Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}'
        ),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    reader = StorageConfig(
        moto_endpoint, rig.config.bucket, key["AccessKeyId"], key["SecretAccessKey"]
    )
    with moto_iam_auth(moto_endpoint), backfill_rig(reader, rig.work_root) as reading:
        with pytest.raises(AccessDenied) as denied:
            reading.backfill(game)
    assert "Access denied" in str(denied.value)
    assert rig.read(f"games/{game}/master.m3u8") == v1
    assert not rig.objects(f"games/{game}/abr/")
    assert not ffmpeg_pids(rig.work_root)
