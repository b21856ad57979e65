"""Spot-check verdicts an operator can act on (issue 18), on real parts: moto over HTTP, the
playback gateway, the pinned ffmpeg/libvmaf. One defect is planted per copy of a backfilled
short game; each test asserts the verdict, the rung, the wording that separates the cause
from its consequences, and the next step. Backfill's side: a v1.5 game that does not
verify says what ``--force`` would redo, and ``--force`` counts objects and bytes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from console.cli import main
from services.errors import NotVerified, describe
from services.media_tools.binaries import ffmpeg_exe
from services.spotcheck.checks import GameReport, RungReport, Verdict
from services.spotcheck.integrity import check_anchor
from services.units import human_bytes
from tests.backfill_support import make_short_v1
from tests.gui_support import make_profile
from tests.spotcheck_planting import encode_twin, hls_output
from tests.spotcheck_support import (
    backfilled_rig,
    copy_game,
    encode_rung,
    ledger_of,
    replace_rung,
    spotcheck,
)

CLEAN = "nhl-2026-12-02-tor-mtl"

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def short_v1(tmp_path_factory) -> Path:
    return make_short_v1(tmp_path_factory.mktemp("short-v1"))


@pytest.fixture(scope="module")
def rig(moto_endpoint, short_v1, tmp_path_factory):
    """A bucket holding one backfilled short game (``CLEAN``)."""
    with backfilled_rig(
        moto_endpoint, short_v1, tmp_path_factory.mktemp("work"), CLEAN, "scv"
    ) as made:
        yield made


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reports")


def _copy(rig, stem: str) -> str:
    game = f"{stem}-{uuid.uuid4().hex[:6]}"
    copy_game(rig, CLEAN, game)
    return game


def _rung(game: GameReport, name: str) -> RungReport:
    return next(r for r in game.rungs if r.rung == name)


def _failed(checks) -> dict:
    return {c.name: c for c in checks if c.verdict is Verdict.FAIL}


def _drop_segment(playlist: bytes, uri: bytes) -> bytes:
    """The v1 playlist without ``uri`` and its EXTINF line (a drifted anchor)."""
    lines = playlist.split(b"\n")
    at = lines.index(uri)
    return b"\n".join(lines[: at - 1] + lines[at + 1 :])


def _audio_moved(rung: Path, out: Path, seconds: float) -> Path:
    """``rung`` (an fMP4 HLS folder) remuxed with its audio's timestamps ``seconds`` later
    and the video untouched (``-itsoffset`` on the audio input; ``-c copy``)."""
    out.mkdir(parents=True, exist_ok=True)
    playlist = str(rung / "index.m3u8")
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            playlist,
            "-itsoffset",
            str(seconds),
            "-i",
            playlist,
            "-map",
            "0:v:0",
            "-map",
            "1:a:0",
            "-c",
            "copy",
            *hls_output(out, 4),
        ],
        check=True,
    )
    return out


# --- cause and consequence -------------------------------------------------------------


@pytest.fixture(scope="module")
def truncated(rig, reports):
    """720p's second segment cut to half its bytes (ledger untouched)."""
    game = _copy(rig, "trunc")
    key = f"games/{game}/abr/720p/seg_00001.m4s"
    data = rig.read(key)
    rig.put(key, data[: len(data) // 2])
    return game, len(data), spotcheck(rig, game, reports)


def test_a_truncated_segment_is_one_cause_and_its_consequences(truncated) -> None:
    game_id, size, (outcome, game, _) = truncated
    failed = _failed(_rung(game, "720p").checks)
    cause = failed.pop("integrity.objects")
    assert cause.reasons == (f"abr/720p/seg_00001.m4s: {size // 2} bytes stored, {size} recorded",)
    assert cause.cause == "" and cause.subjects == ("abr/720p/seg_00001.m4s",)
    assert f"main.py backfill --game {game_id} --force" in cause.action
    assert "abr/720p/seg_00001.m4s" in cause.action and "whose bytes differ" in cause.action
    # the decode of a half segment fails the frame count and the metrics too: consequences
    assert {"quality.frames", "quality.metrics"} <= set(failed), list(failed)
    for name, consequence in failed.items():
        assert consequence.cause.startswith("integrity.objects (abr/720p/seg_00001.m4s: "), name
        assert consequence.action == "Fix integrity.objects first: this failure follows from it."
    assert _failed(_rung(game, "480p").checks) == {} and _failed(_rung(game, "360p").checks) == {}
    lines = outcome.result["failures"]
    assert lines[0].startswith("720p: integrity.objects: abr/720p/seg_00001.m4s: ")
    assert " -> next: Re-upload abr/720p/seg_00001.m4s" in lines[0]
    assert all("(consequence of integrity.objects (" in line for line in lines[1:])


def test_backfill_of_a_game_that_does_not_verify_says_what_force_redoes(rig, truncated) -> None:
    game_id, size, _ = truncated
    with pytest.raises(NotVerified) as raised:
        rig.backfill(game_id)
    objects = len(ledger_of(rig, game_id).objects)
    said = describe(raised.value)
    assert f"is v1.5 but does not verify: games/{game_id}/abr/720p/seg_00001.m4s" in said
    assert (
        f"`main.py backfill --game {game_id} --force` re-encodes the ladder from "
        f"master.v1.m3u8 and re-uploads only the objects whose bytes differ (1 of {objects})"
    ) in said
    assert "cannot be decoded" not in said and "run a spot-check" not in said

    outcome, _ = rig.backfill(game_id, force=True)
    assert outcome.result["objects_uploaded"] == 1
    assert outcome.result["bytes_uploaded"] == size
    assert f"1 object uploaded ({human_bytes(size)}), {objects - 1} already stored" in (
        outcome.summary
    )
    assert rig.backfill(game_id)[0].result["verified_only"] is True


# --- the reference ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def drifted(rig, reports):
    """master.v1.m3u8 with its last segment dropped (the short v1 has two); no source
    configured."""
    game = _copy(rig, "drift")
    anchor = f"games/{game}/master.v1.m3u8"
    original = rig.read(anchor)
    rig.put(anchor, _drop_segment(original, b"seg_00001.m4s"))
    return game, original, spotcheck(rig, game, reports)


def test_a_drifted_anchor_is_no_reference_and_names_the_restore(drifted) -> None:
    game_id, _, (outcome, game, _) = drifted
    failed = _failed(game.checks)
    assert list(failed) == ["integrity.anchor"]
    anchor = failed["integrity.anchor"]
    assert anchor.finding == "anchor_changed"
    assert anchor.reasons[0].startswith("master.v1.m3u8 changed (SHA-256 ")
    assert "it no longer lists seg_00001.m4s" in anchor.reasons[0]
    assert f"`main.py ledger v1-playlist --game {game_id} -o master.v1.m3u8`" in anchor.action
    assert "Do not backfill with --force before" in anchor.action
    # healthy rungs are not blamed ("75 extra frames"): what needs a reference is skipped
    assert game.reference is None
    for rung in game.rungs:
        assert _failed(rung.checks) == {}, rung.rung
        frames = rung.get("quality.frames")
        assert frames is not None and frames.verdict is Verdict.SKIP
        assert frames.reasons[0].startswith(
            "no reference: master.v1.m3u8 failed integrity.anchor, so the rungs were not "
            "compared with it, and no source is configured"
        )
        assert rung.get("integrity.objects").verdict is Verdict.PASS
    assert outcome.result["failures"] == [
        f"game: integrity.anchor: {anchor.reasons[0]} -> next: {anchor.action}"
    ]


def test_the_ledger_copy_restores_the_anchor_byte_for_byte(rig, drifted, tmp_path, capsys) -> None:
    game_id, original, _ = drifted
    make_profile("verdicts", rig.config)
    out = tmp_path / "master.v1.m3u8"
    assert (
        main(["--profile", "verdicts", "ledger", "v1-playlist", "--game", game_id, "-o", str(out)])
        == 0
    )
    assert out.read_bytes() == original
    said = capsys.readouterr().err
    assert hashlib.sha256(original).hexdigest() in said and "admin credentials" in said
    out.write_bytes(b"kept")
    assert (
        main(["--profile", "verdicts", "ledger", "v1-playlist", "--game", game_id, "-o", str(out)])
        == 2
    )
    assert out.read_bytes() == b"kept"
    assert "exists" in capsys.readouterr().err
    with pytest.raises(NotVerified) as raised:
        rig.backfill(game_id)
    assert "Do not use --force yet" in describe(raised.value)


def test_a_changed_ledger_hash_blames_the_ledger_and_keeps_the_reference(rig, reports) -> None:
    game_id = _copy(rig, "ledger")
    ledger = ledger_of(rig, game_id)
    edited = replace(
        ledger, renditions=tuple(replace(r, source_sha256="0" * 64) for r in ledger.renditions)
    )
    rig.put(f"games/{game_id}/abr/renditions.json", edited.to_bytes())
    _, game, _ = spotcheck(rig, game_id, reports)
    failed = _failed(game.checks)
    assert list(failed) == ["integrity.anchor"]
    assert failed["integrity.anchor"].finding == "ledger_changed"
    assert (
        failed["integrity.anchor"]
        .reasons[0]
        .startswith("the ledger's recorded hash changed, not master.v1.m3u8")
    )
    assert failed["integrity.anchor"].action.startswith("Escalate to the platform team")
    assert game.reference is not None and game.reference.kind == "v1"
    assert all(_failed(r.checks) == {} for r in game.rungs)


def test_without_the_ledger_copy_the_anchor_check_says_what_it_can_tell(rig) -> None:
    ledger = replace(ledger_of(rig, CLEAN), v1_playlist=None)
    prefix = f"games/{CLEAN}/"
    anchor = rig.read(prefix + "master.v1.m3u8")
    stored = list(rig.objects(prefix))
    assert check_anchor(anchor, ledger, stored, prefix).verdict is Verdict.PASS
    dropped = check_anchor(_drop_segment(anchor, b"seg_00001.m4s"), ledger, stored, prefix)
    assert dropped.finding == "anchor_changed"
    assert dropped.reasons[0].endswith(
        "master.v1.m3u8 changed, it no longer lists seg_00001.m4s, stored beside it"
    )
    rehashed = replace(
        ledger, renditions=tuple(replace(r, source_sha256="1" * 64) for r in ledger.renditions)
    )
    unknown = check_anchor(anchor, rehashed, stored, prefix)
    assert unknown.finding == "undetermined"
    assert "cannot tell which side changed" in unknown.reasons[0]
    assert check_anchor(None, ledger, stored, prefix).reasons == (
        "master.v1.m3u8 (the rollback anchor) is missing",
    )


# --- calibrated thresholds --------------------------------------------------------------


@pytest.fixture(scope="module")
def planted_quality(rig, short_v1, reports, tmp_path_factory):
    """720p encoded at 640x360 (declared 1280x720); 480p degraded (a heavy blur: pooled
    PSNR about 33.4 dB, where a clean 480p measures 43.6); 360p's audio 100 ms late (its
    clean twin remuxed with the audio's timestamps moved). One game, one defect per rung."""
    game = _copy(rig, "quality")
    work = tmp_path_factory.mktemp("quality")
    small = encode_rung(short_v1, work / "720p", 640, 360)
    replace_rung(rig, game, "720p", small)
    blurred = encode_twin(short_v1, work / "480p", rig.ladder, "480p", before_scale="gblur=sigma=6")
    replace_rung(rig, game, "480p", blurred)
    twin = encode_twin(short_v1, work / "360p-twin", rig.ladder, "360p")
    replace_rung(rig, game, "360p", _audio_moved(twin, work / "360p", 0.100))
    return spotcheck(rig, game, reports)


def test_a_rung_encoded_smaller_than_its_label_fails_metrics_as_a_consequence(
    planted_quality,
) -> None:
    _, game, _ = planted_quality
    failed = _failed(_rung(game, "720p").checks)
    assert failed["structure.resolution"].cause == ""
    metrics = failed["quality.metrics"]
    assert any("pooled VMAF" in r for r in metrics.reasons), metrics.reasons
    assert metrics.cause.startswith("structure.resolution (")
    assert "Re-encode 720p" in failed["structure.resolution"].action


def test_a_degraded_rung_fails_its_calibrated_floor(planted_quality) -> None:
    _, game, _ = planted_quality
    failed = _failed(_rung(game, "480p").checks)
    metrics = failed["quality.metrics"]
    assert metrics.cause == ""
    assert any(r.startswith("pooled PSNR") for r in metrics.reasons), metrics.reasons
    assert "Re-encode 480p" in metrics.action


def test_late_audio_fails_against_the_reference_and_the_sibling_rungs(planted_quality) -> None:
    _, game, _ = planted_quality
    offset = _failed(_rung(game, "360p").checks)["quality.av_offset"]
    # 100 ms moved; the rung's clean delta to the reference is -60 ms on this game, so the
    # error against the ladder's calibrated -40.8 ms is about +80 ms
    assert offset.reasons[0].startswith("audio 8"), offset.reasons
    assert " ms late: A/V offset " in offset.reasons[0]
    assert "the other rungs" in offset.reasons[1] and "same audio encode" in offset.reasons[1]
    for rung in ("720p", "480p"):
        assert "quality.av_offset" not in _failed(_rung(game, rung).checks), rung


def test_the_report_json_carries_cause_and_action(planted_quality) -> None:
    outcome, _, _ = planted_quality
    document = json.loads(Path(outcome.result["report"]).read_text(encoding="utf-8"))
    (checked,) = document["games"]
    rung = next(r for r in checked["rungs"] if r["rung"] == "720p")
    metrics = next(c for c in rung["checks"] if c["name"] == "quality.metrics")
    assert metrics["cause"].startswith("structure.resolution (")
    assert metrics["action"].startswith("Fix structure.resolution first")
