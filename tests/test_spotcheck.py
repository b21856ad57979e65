"""Spot-check end to end: real moto S3 over HTTP, the real playback gateway, the pinned
ffmpeg (libvmaf) and the system ffprobe. One short game is backfilled once per module;
each scenario copies it server-side and seeds its defects by editing stored objects."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pytest

from services.spotcheck.checks import GameReport, Verdict
from tests.backfill_support import SHORT_V1_FRAMES, backfill_rig, make_short_v1
from tests.conftest import s3_client, upload_game
from tests.spotcheck_support import (
    copy_game,
    delete,
    encode_rung,
    flip_bytes,
    make_source_mp4,
    replace_rung,
    spotcheck,
)

CLEAN = "nfl-2026-11-22-kc-buf"
RUNGS = ("720p", "480p", "360p")

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def short_v1(tmp_path_factory) -> Path:
    return make_short_v1(tmp_path_factory.mktemp("short-v1"))


@pytest.fixture(scope="module")
def rig(moto_endpoint, short_v1, tmp_path_factory):
    """A bucket holding one backfilled game (``CLEAN``), with the rig to read and edit it."""
    from services.storage import StorageConfig

    config = StorageConfig(moto_endpoint, f"sc-{uuid.uuid4().hex[:12]}", "test", "test-secret")
    s3_client(config).create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    upload_game(config, CLEAN, short_v1)
    with backfill_rig(config, tmp_path_factory.mktemp("work")) as made:
        made.backfill(CLEAN)
        yield made


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reports")


def _failed(game: GameReport, rung: str | None = None) -> dict[str, tuple[str, ...]]:
    """``check name -> reasons`` of the failed checks of the game (or of one rung)."""
    checks = game.checks if rung is None else next(r for r in game.rungs if r.rung == rung).checks
    return {c.name: c.reasons for c in checks if c.verdict is Verdict.FAIL}


@pytest.fixture(scope="module")
def clean_with_source(rig, reports, tmp_path_factory):
    """The clean game with its source (``source.mp4``, of which v1 is a remux), checked."""
    game = "clean-" + uuid.uuid4().hex[:6]
    copy_game(rig, CLEAN, game)
    source = make_source_mp4(tmp_path_factory.mktemp("src") / "source.mp4")
    rig.put(f"games/{game}/source.mp4", source.read_bytes())
    return spotcheck(rig, game, reports)


def test_a_clean_backfilled_game_passes_every_check(clean_with_source) -> None:
    outcome, game, reporter = clean_with_source
    print(json.dumps(outcome.result, indent=1))
    for r in game.rungs:
        print(r.rung, {k: (round(v.mean, 3), round(v.min, 3), round(v.p5, 3)) for k, v in r.pooled.items()}, r.measures)
        for c in r.checks:
            print("  ", c.name, c.verdict.value, c.reasons)
    for c in game.checks:
        print("  ", c.name, c.verdict.value, c.reasons)
    assert game.verdict is Verdict.PASS, game.failures()
