"""Calibrating the ladder's floors (``services.spotcheck.calibration``) on real spot-checks:
real moto S3, the real playback gateway, the pinned ffmpeg (libvmaf). The short game is
backfilled once; the calibration's figures must be the report's own measurements, its
suggested floors the worst clean figure minus the documented margin, a game failing only
the floors being calibrated is accepted and one failing integrity is refused by name."""

from __future__ import annotations

import dataclasses
import io
import uuid

import pytest

from console.cli.ladder import print_calibration
from services.spotcheck.calibration import (
    FRAME_PSNR_MARGIN_DB,
    FRAME_VMAF_MARGIN,
    PSNR_MARGIN_DB,
    SEGMENT_PSNR_MARGIN_DB,
    SEGMENT_VMAF_MARGIN,
    SSIM_MARGIN,
    THRESHOLDED,
    VMAF_MARGIN,
    NotClean,
    calibrate,
)
from services.spotcheck.checks import Verdict
from tests.backfill_support import backfill_rig, make_short_v1
from tests.conftest import s3_client, upload_game
from tests.spotcheck_support import copy_game, spotcheck

CLEAN = "nfl-2026-11-22-kc-buf"
RUNGS = ("720p", "480p", "360p")

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def rig(moto_endpoint, tmp_path_factory):
    """A bucket holding the short game, backfilled, with the rig to read and edit it."""
    from services.storage import StorageConfig

    config = StorageConfig(moto_endpoint, f"cal-{uuid.uuid4().hex[:12]}", "test", "test-secret")
    s3_client(config).create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    upload_game(config, CLEAN, make_short_v1(tmp_path_factory.mktemp("short-v1")))
    with backfill_rig(config, tmp_path_factory.mktemp("work")) as made:
        made.backfill(CLEAN)
        yield made


@pytest.fixture(scope="module")
def strict_report(rig, tmp_path_factory):
    """The clean game spot-checked against a ladder whose pooled PSNR floor no encode
    reaches (99 dB): it fails ``quality.metrics`` only, a floor being calibrated."""
    strict = dataclasses.replace(
        rig.ladder,
        rungs=tuple(dataclasses.replace(r, min_psnr_db=99.0) for r in rig.ladder.rungs),
    )
    strict_rig = dataclasses.replace(rig, ladder=strict)
    _, game, _ = spotcheck(strict_rig, CLEAN, tmp_path_factory.mktemp("reports"))
    return game


def test_the_calibration_is_the_clean_games_own_measurements(rig, strict_report) -> None:
    game = strict_report
    failed = {(where, c.name) for where, c in game.failed_checks()}
    assert {(rung, "quality.metrics") for rung in RUNGS} <= failed
    assert all(name in THRESHOLDED for _, name in failed), failed
    calibration = calibrate([game], rig.ladder)  # a failed floor does not make it unclean
    assert calibration.games == (CLEAN,) and calibration.ladder == "abr v1"
    assert [r.rung for r in calibration.rungs] == ["1080p", *RUNGS]
    tallest = calibration.rung("1080p")  # taller than the 720p source: not produced
    assert tallest.games == () and all(not f.values for f in tallest.figures)
    margins = {
        "psnr_db": PSNR_MARGIN_DB,
        "ssim": SSIM_MARGIN,
        "vmaf": VMAF_MARGIN,
        "segment_psnr_db": SEGMENT_PSNR_MARGIN_DB,
        "segment_vmaf": SEGMENT_VMAF_MARGIN,
        "frame_psnr_db": FRAME_PSNR_MARGIN_DB,
        "frame_vmaf": FRAME_VMAF_MARGIN,
    }
    priming_s = rig.ladder.audio_priming_samples / rig.ladder.audio_sample_rate
    for report in game.rungs:
        spec = next(r for r in rig.ladder.rungs if r.name == report.rung)
        rung = calibration.rung(report.rung)
        assert rung.games == (CLEAN,)
        segments = report.measures["segments"]
        expected = {
            "psnr_db": report.pooled["psnr_db"].mean,
            "ssim": report.pooled["ssim"].mean,
            "vmaf": report.pooled["vmaf"].mean,
            "segment_psnr_db": min(s["psnr_db_mean"] for s in segments),
            "segment_vmaf": min(s["vmaf_mean"] for s in segments),
            "frame_psnr_db": min(s["psnr_db_p1"] for s in segments),
            "frame_vmaf": min(s["vmaf_p1"] for s in segments),
        }
        for key, value in expected.items():
            figure = rung.get(key)
            assert figure.values == ((CLEAN, value),) and figure.worst == value, key
            assert figure.worst_game == CLEAN
            assert figure.quantity.margin == margins[key]
            assert figure.suggested == value - margins[key], key
        # the current floors are the ladder's (not the strict one the check ran with)
        assert rung.get("psnr_db").current == spec.min_psnr_db
        assert rung.get("frame_vmaf").current == spec.min_frame_vmaf
        assert rung.get("av_drift_ms").current == spec.max_av_drift_ms
        # real figures of a real encode, not placeholders
        assert 35 < expected["psnr_db"] < 60 and 0.9 < expected["ssim"] <= 1.0
        assert expected["frame_psnr_db"] <= expected["segment_psnr_db"] <= 60
        m = report.measures
        offset = rung.get("av_offset_ms")
        assert offset.values == ((CLEAN, 1000 * (m["av_offset_s"] - m["reference_av_offset_s"])),)
        assert offset.suggested is None and offset.worst is None  # a shift, not a floor
        drift = rung.get("av_drift_ms").worst
        assert drift == pytest.approx(1000 * (m["av_drift_s"] - priming_s))
        assert abs(drift) < 2  # clean: the priming, no more
        ratio = rung.get("freeze_motion_ratio").worst
        assert ratio is not None and rig.ladder.rungs[0].freeze_motion_ratio < ratio
        freezes = report.get("quality.freezes").measured[0]
        assert f"lowest motion ratio {ratio:.2f}" in freezes
        assert abs(rung.get("av_sibling_ms").worst) < 1000 * rig.ladder.audio_frame_s
    pooled = [calibration.rung(r).get("psnr_db").worst for r in RUNGS]
    assert pooled == sorted(pooled, reverse=True)  # taller rungs measure higher
    shifts = [v for r in RUNGS for _, v in calibration.rung(r).get("av_offset_ms").values]
    assert calibration.av_offset_shift_ms == (min(shifts) + max(shifts)) / 2
    assert calibration.av_offset_error_ms == max(
        abs(v - calibration.av_offset_shift_ms) for v in shifts
    )
    table = io.StringIO()
    print_calibration(calibration, table)
    text = table.getvalue()
    suggested = calibration.rung("480p").get("psnr_db").suggested
    assert f"{suggested:.2f}" in text and "1080p: not measured" in text


def test_a_game_that_fails_integrity_is_refused_by_name(rig, strict_report, tmp_path) -> None:
    bad = "bad-" + uuid.uuid4().hex[:6]
    copy_game(rig, CLEAN, bad)
    anchor = f"games/{bad}/master.v1.m3u8"
    rig.put(anchor, rig.read(anchor).replace(b"#EXT-X-ENDLIST", b"#EXT-X-ENDLIST\n# edited"))
    _, game, _ = spotcheck(rig, bad, tmp_path)
    assert game.verdict is Verdict.FAIL
    with pytest.raises(NotClean) as refused:
        calibrate([strict_report, game], rig.ladder)
    message = str(refused.value)
    assert f"{bad}: game: integrity.anchor" in message
    assert CLEAN not in message  # the clean game is not blamed
