"""A backfilled game for the compare and clip tests, built once per session.

The fixture is registered in ``tests/conftest.py`` (one build per session).

``compared_game``: the short v1 game (``tests.backfill_support.make_short_v1``, 14.125 s,
24 fps) uploaded to a bucket on the session's moto server and backfilled for real with a
two-rung ladder (720p and 360p: enough for rung vs rung, rung vs v1, and a lower rung
upscaled), plus ``source.mp4`` (the same frames as a plain MP4), with a playback gateway
on that bucket.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from services.gateway import PlaybackGateway
from services.hls import MediaPlaylist, parse_playlist
from services.playback import PlaybackSource, source_for_playlist
from services.storage import Storage, StorageConfig
from tests.backfill_support import SHORT_V1_FRAMES, backfill_rig, make_short_v1
from tests.conftest import DEMO_CLIP, s3_client, upload_game

GAME = "nfl-2026-11-22-kc-buf"
RUNGS = ("720p", "360p")
FPS = 24


@dataclass
class ComparedGame:
    """A backfilled game in a bucket, with the gateway that serves it."""

    config: StorageConfig
    gateway: PlaybackGateway
    game_id: str

    def playlist_key(self, rendition: str) -> str:
        """``v1`` or a rung name → the stored media playlist's key."""
        if rendition == "v1":
            return f"games/{self.game_id}/master.v1.m3u8"
        return f"games/{self.game_id}/abr/{rendition}/index.m3u8"

    def read(self, key: str) -> bytes:
        client = s3_client(self.config)
        return client.get_object(Bucket=self.config.bucket, Key=key)["Body"].read()

    def keys(self) -> dict[str, int]:
        """``key -> size`` of every stored object of the game."""
        client = s3_client(self.config)
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=self.config.bucket, Prefix=f"games/{self.game_id}/"
        )
        return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", ())}

    def playlist(self, rendition: str) -> MediaPlaylist:
        key = self.playlist_key(rendition)
        playlist = parse_playlist(self.read(key), key)
        assert isinstance(playlist, MediaPlaylist)
        return playlist

    def source(self, rendition: str) -> PlaybackSource:
        """The EDL playback source of ``rendition`` through the gateway."""
        key = self.playlist_key(rendition)
        return source_for_playlist(
            f"{self.game_id} {rendition}", key, self.playlist(rendition), self.gateway.url_for
        )

    def storage(self) -> Storage:
        return Storage(self.config)


@pytest.fixture(scope="session", name="compared_game")
def compared_game_fixture(moto_endpoint, tmp_path_factory) -> Iterator[ComparedGame]:
    config = StorageConfig(moto_endpoint, f"cmp-{uuid.uuid4().hex[:12]}", "test", "test-secret")
    s3_client(config).create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    v1_dir: Path = make_short_v1(tmp_path_factory.mktemp("cmp-v1"))
    upload_game(config, GAME, v1_dir)
    source = make_source_mp4(tmp_path_factory.mktemp("cmp-source") / "source.mp4")
    s3_client(config).put_object(
        Bucket=config.bucket, Key=f"games/{GAME}/source.mp4", Body=source.read_bytes()
    )
    with backfill_rig(config, tmp_path_factory.mktemp("cmp-work")) as rig:
        rig.ladder = replace(
            rig.ladder, rungs=tuple(r for r in rig.ladder.rungs if r.name in RUNGS)
        )
        outcome, _ = rig.backfill(GAME)
        assert outcome.result["rungs"] == list(RUNGS), outcome.result
        yield ComparedGame(config, rig.gateway, GAME)


def make_source_mp4(path: Path) -> Path:
    """The same frames as the short v1 game as a plain MP4 (``-c copy``): its first frame
    has PTS 0 where the HLS renditions' has 2/24 s (a source that starts differently)."""
    import subprocess

    import imageio_ffmpeg

    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(DEMO_CLIP),
            "-map",
            "0:v:0",
            "-frames:v",
            str(SHORT_V1_FRAMES),
            "-c",
            "copy",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


def run(coro):
    """Run ``coro`` on a fresh event loop (service calls from synchronous tests)."""
    return asyncio.run(coro)
