"""Spot-check issue 17: each fault planted in one segment (or the init section) of one rung
of a backfilled game fails the right check, on the right rung, naming the segment; the
other rungs of the same game pass every check. Real moto S3 over HTTP, the real playback
gateway, the pinned ffmpeg (libvmaf) and the system ffprobe; planting is
``tests/spotcheck_planting.py`` (twins encoded like the ladder, stored in the test bucket).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from services.hls import MediaPlaylist, parse_playlist
from services.spotcheck.alignment import check_alignment
from services.spotcheck.checks import GameReport, RungReport, Verdict
from tests.backfill_support import make_short_v1
from tests.spotcheck_planting import encode_twin, plant_objects
from tests.spotcheck_support import GOP, backfilled_rig, copy_game, replace_rung, spotcheck

CLEAN = "nba-2026-12-01-bos-lal"

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def short_v1(tmp_path_factory) -> Path:
    return make_short_v1(tmp_path_factory.mktemp("short-v1"))


@pytest.fixture(scope="module")
def rig(moto_endpoint, short_v1, tmp_path_factory):
    """A test bucket holding one backfilled game (``CLEAN``), with the rig to edit it."""
    work = tmp_path_factory.mktemp("work")
    with backfilled_rig(moto_endpoint, short_v1, work, CLEAN, "scf") as made:
        yield made


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reports")


def _rung(game: GameReport, name: str) -> RungReport:
    return next(r for r in game.rungs if r.rung == name)


def _failed(game: GameReport, rung: str) -> dict[str, tuple[str, ...]]:
    return {c.name: c.reasons for c in _rung(game, rung).checks if c.verdict is Verdict.FAIL}


def _passes_everything(game: GameReport, rung: str) -> None:
    report = _rung(game, rung)
    assert all(c.verdict is Verdict.PASS for c in report.checks), (rung, _failed(game, rung))


def test_an_unplanted_twin_is_the_backfilled_rung(rig, short_v1, tmp_path) -> None:
    """The planting method: without a fault, the twin is the stored rung byte for byte,
    so a planted segment is spliced into an otherwise untouched rung."""
    twin = encode_twin(short_v1, tmp_path / "480p", rig.ladder, "480p")
    prefix = f"games/{CLEAN}/abr/480p/"
    names = sorted(p.name for p in twin.iterdir())
    assert names == ["index.m3u8", "init.mp4", *(f"seg_0000{i}.m4s" for i in range(4))]
    for name in names:
        assert (twin / name).read_bytes() == rig.read(prefix + name), name


@pytest.fixture(scope="module")
def faults_a(rig, short_v1, reports, tmp_path_factory):
    """720p (the first rung): every keyframe after the first one second late (frames 24,
    120, 216, 312), so its segments start at 5, 9 and 13 s; 480p: a 2 s boxblur in
    segment 1 (frames 120-167, 5-7 s); 360p: segment 2 starved (x264 zone at a tenth of
    the bitrate, frames 192-287)."""
    game = "faults-a-" + uuid.uuid4().hex[:6]
    copy_game(rig, CLEAN, game)
    work = tmp_path_factory.mktemp("faults-a")
    late = encode_twin(
        short_v1,
        work / "720p",
        rig.ladder,
        "720p",
        force_key_frames=f"expr:eq(n,0)+eq(mod(n+{GOP - 24},{GOP}),0)",
    )
    replace_rung(rig, game, "720p", late)
    blur = encode_twin(
        short_v1,
        work / "480p",
        rig.ladder,
        "480p",
        before_scale="boxblur=10:enable='between(n,120,167)'",
    )
    plant_objects(rig, game, "480p", blur, ["seg_00001.m4s"])
    starved = encode_twin(
        short_v1, work / "360p", rig.ladder, "360p", x264_params="open-gop=0:zones=192,287,b=0.1"
    )
    plant_objects(rig, game, "360p", starved, ["seg_00002.m4s"])
    return game, spotcheck(rig, game, reports)[1]


def test_the_first_rung_off_the_segment_grid_is_the_one_blamed(faults_a) -> None:
    _, game = faults_a
    assert game.reference is not None and game.reference.kind == "v1"
    failed = _failed(game, "720p")
    assert list(failed) == ["structure.alignment"]
    assert failed["structure.alignment"] == (
        "seg_00001.m4s starts at 5.000 s, off the ladder's 4 s grid on the v1 timeline: "
        "4.000 s (reference frame 96)",
        "seg_00002.m4s starts at 9.000 s, off the ladder's 4 s grid on the v1 timeline: "
        "8.000 s (reference frame 192)",
        "seg_00003.m4s starts at 13.000 s, off the ladder's 4 s grid on the v1 timeline: "
        "12.000 s (reference frame 288)",
    )
    for rung in ("480p", "360p"):
        alignment = _rung(game, rung).get("structure.alignment")
        assert alignment is not None and alignment.verdict is Verdict.PASS
        assert "largest deviation 0.000 s" in alignment.measured[0]


def test_without_a_reference_grid_the_majority_of_rungs_decides(rig, faults_a) -> None:
    game_id, _ = faults_a
    playlists: dict[str, MediaPlaylist] = {}
    for rung in ("720p", "480p", "360p"):
        parsed = parse_playlist(rig.read(f"games/{game_id}/abr/{rung}/index.m3u8"))
        assert isinstance(parsed, MediaPlaylist)
        playlists[rung] = parsed
    checks = check_alignment(playlists, None, 1 / 24)
    assert checks["480p"].verdict is Verdict.PASS and checks["360p"].verdict is Verdict.PASS
    assert checks["720p"].reasons[0] == (
        "seg_00001.m4s starts at 5.000 s, at 4.000 s on 2 of 3 rungs (480p, 360p) "
        "(no reference timeline: measured against the majority of the 3 rungs)"
    )
    assert "majority of the 3 rungs" in checks["480p"].measured[0]
    two = check_alignment({r: playlists[r] for r in ("720p", "480p")}, None, 1 / 24)
    for rung in ("720p", "480p"):
        assert two[rung].verdict is Verdict.FAIL
        assert (
            two[rung]
            .reasons[0]
            .startswith(
                "seg_00001.m4s: the rungs disagree (720p 5.000 s, 480p 4.000 s), no majority"
            )
        )


def test_a_blur_in_one_segment_fails_its_floor_named_by_segment(faults_a) -> None:
    _, game = faults_a
    failed = _failed(game, "480p")
    # the calibrated pooled floor (issue 18) now catches it too; the segment floor says where
    assert list(failed) == ["quality.metrics", "quality.segments"]
    reasons = failed["quality.segments"]
    assert reasons[0].startswith("seg_00001.m4s (4.000-8.000 s): mean VMAF ")
    assert reasons[0].endswith("is below the 480p floor 76.00")
    assert any(
        r.startswith("seg_00001.m4s (4.000-8.000 s): 1st-percentile frame VMAF") for r in reasons
    )
    assert all("seg_00001.m4s" in r for r in reasons)
    rung = _rung(game, "480p")
    assert rung.pooled["vmaf"].mean >= 70.0  # above the floor before calibration (70)
    segments = {s["uri"]: s for s in rung.measures["segments"]}
    assert segments["seg_00001.m4s"]["vmaf_mean"] < 60.0
    assert all(s["vmaf_mean"] > 80.0 for u, s in segments.items() if u != "seg_00001.m4s")


def test_a_starved_segment_fails_its_floor(faults_a) -> None:
    _, game = faults_a
    failed = _failed(game, "360p")
    assert list(failed) == ["quality.metrics", "quality.segments"]  # calibrated floors
    reasons = failed["quality.segments"]
    assert reasons[0].startswith("seg_00002.m4s (8.000-12.000 s): mean VMAF ")


@pytest.fixture(scope="module")
def faults_b(rig, short_v1, reports, tmp_path_factory):
    """720p: segment 1's first frame (96) repeats frame 95, re-encoded as its IDR (a splice
    freeze); 480p: segment 2 opens on a recovery-point I-frame (open GOP; every other
    keyframe a forced IDR); 360p: its init section tags the video full range (``pc``)."""
    game = "faults-b-" + uuid.uuid4().hex[:6]
    copy_game(rig, CLEAN, game)
    work = tmp_path_factory.mktemp("faults-b")
    frozen = encode_twin(
        short_v1,
        work / "720p",
        rig.ladder,
        "720p",
        before_scale="split[a][b];[a][b]freezeframes=first=96:last=96:replace=95",
    )
    plant_objects(rig, game, "720p", frozen, ["seg_00001.m4s"])
    open_gop = encode_twin(
        short_v1,
        work / "480p",
        rig.ladder,
        "480p",
        x264_params="open-gop=1",
        force_key_frames=f"expr:eq(mod(n,{GOP}),0)*not(eq(n,{2 * GOP}))",
        video_args=("-forced-idr", "1"),
    )
    replace_rung(rig, game, "480p", open_gop)
    full_range = encode_twin(
        short_v1,
        work / "360p",
        rig.ladder,
        "360p",
        video_args=("-bsf:v", "h264_metadata=video_full_range_flag=1"),
    )
    plant_objects(rig, game, "360p", full_range, ["init.mp4"])
    return game, spotcheck(rig, game, reports)[1]


def test_a_repeated_frame_at_a_segment_start_is_a_freeze(faults_b) -> None:
    _, game = faults_b
    failed = _failed(game, "720p")
    [reason] = failed["quality.freezes"]
    assert reason.startswith(
        "1 frozen frame from 4.000 s (reference frame 96, the first frame of seg_00001.m4s)"
        " that the reference does not have: motion ratio 0."
    )
    assert reason.endswith("dB nearer the reference's previous frame")
    assert _rung(game, "720p").measures["frozen_frames"] == 1
    # The repeated frame is also one bad frame against the reference (its VMAF collapses):
    # the segment floor names the same frame of the same segment, and nothing else fails.
    assert set(failed) == {"quality.freezes", "quality.segments"}
    assert all(
        r.startswith("seg_00001.m4s (4.000-8.000 s): 1st-percentile frame ")
        and "(frame 96 at 4.000 s)" in r
        for r in failed["quality.segments"]
    )


def test_an_open_gop_segment_fails_idr_not_keyframes(faults_b) -> None:
    _, game = faults_b
    failed = _failed(game, "480p")
    assert list(failed) == ["structure.idr"]
    assert failed["structure.idr"] == (
        "seg_00002.m4s (8.000 s) starts on an I-frame that is not an IDR "
        "(an open GOP's recovery point)",
    )
    rung = _rung(game, "480p")
    assert rung.get("structure.keyframes").verdict is Verdict.PASS  # the I-frame is "key"
    assert (
        rung.get("structure.idr")
        .measured[0]
        .startswith("3 of 4 segments start with an IDR, 1 with a non-IDR keyframe")
    )


def test_a_colour_range_tag_flip_fails_colour(faults_b) -> None:
    _, game = faults_b
    failed = _failed(game, "360p")
    assert failed["structure.colour"] == ("color_range pc, the reference (v1) unspecified",)
    colour = _rung(game, "360p").get("structure.colour")
    assert colour.measured[0].startswith("rung: color_range pc, color_primaries unspecified")
    # The player shows the limited-range pixels as full range, and so does the decode the
    # metrics compare: the pooled and per-segment quality fall with it (a consequence).
    assert set(failed) <= {"structure.colour", "quality.metrics", "quality.segments"}


def test_a_planted_rung_leaves_the_game_level_checks_passing(faults_a, faults_b) -> None:
    for _, game in (faults_a, faults_b):
        assert [c.name for c in game.checks if c.verdict is Verdict.FAIL] == []
        assert {r.rung for r in game.rungs if r.verdict is Verdict.FAIL} == {
            "720p",
            "480p",
            "360p",
        }


@pytest.fixture(scope="module")
def faults_c(rig, short_v1, reports, tmp_path_factory):
    """720p: its audio stretched by 0.3 % (``atempo``), a drift of about 42 ms over the
    14 s game that leaves the start offset as it was."""
    game = "faults-c-" + uuid.uuid4().hex[:6]
    copy_game(rig, CLEAN, game)
    work = tmp_path_factory.mktemp("faults-c")
    drifting = encode_twin(short_v1, work / "720p", rig.ladder, "720p", audio_filter="atempo=0.997")
    replace_rung(rig, game, "720p", drifting)
    return game, spotcheck(rig, game, reports)[1]


def test_audio_that_drifts_fails_av_drift_though_the_start_offset_passes(faults_c) -> None:
    _, game = faults_c
    failed = _failed(game, "720p")
    assert list(failed) == ["quality.av_drift"]
    [reason] = failed["quality.av_drift"]
    assert reason.startswith("the A/V offset drifts +")
    assert reason.endswith("beyond the AAC re-encode's priming +21.3 ms (limit ±25 ms)")
    rung = _rung(game, "720p")
    assert rung.get("quality.av_offset").verdict is Verdict.PASS
    assert 0.025 < rung.measures["av_drift_s"] - 0.0213 < 0.050
    for other in ("480p", "360p"):
        _passes_everything(game, other)
