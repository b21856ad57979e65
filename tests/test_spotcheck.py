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
from tests.backfill_support import SHORT_V1_FRAMES, make_short_v1
from tests.conftest import upload_game
from tests.spotcheck_support import (
    backfilled_rig,
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
    work = tmp_path_factory.mktemp("work")
    with backfilled_rig(moto_endpoint, short_v1, work, CLEAN, "sc") as made:
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
    assert game.verdict is Verdict.PASS, game.failures()
    assert outcome.result["verdict"] == "pass" and outcome.result["failures"] == []
    assert [r.rung for r in game.rungs] == list(RUNGS)
    assert game.reference is not None and game.reference.kind == "source"
    assert (game.reference.width, game.reference.height) == (1280, 720)
    assert game.reference.frames == SHORT_V1_FRAMES
    names = {c.name: c.verdict for c in game.checks}
    assert names["fidelity.v1_remux"] is Verdict.PASS
    new_checks = (
        "structure.alignment",
        "structure.idr",
        "structure.colour",
        "quality.segments",
        "quality.freezes",
        "quality.av_drift",
    )
    for rung in game.rungs:
        assert all(c.verdict is Verdict.PASS for c in rung.checks), rung.rung
        assert len(rung.checks) == 18
        for name in new_checks:  # measured values are reported on pass too
            assert rung.get(name).measured, (rung.rung, name)
        assert (
            rung.get("structure.alignment")
            .measured[0]
            .startswith("4 segment starts against the ladder's 4 s grid on the source timeline")
        )
        assert rung.get("structure.idr").measured[0].startswith("4 of 4 segments start with an IDR")
        assert [s["uri"] for s in rung.measures["segments"]] == [
            f"seg_0000{i}.m4s" for i in range(4)
        ]
        assert rung.measures["frozen_frames"] == 0
        assert abs(rung.measures["av_drift_s"] - 1024 / 48000) < 0.002
        assert set(rung.pooled) == {"psnr_db", "ssim", "vmaf"}
        assert rung.pooled["psnr_db"].frames == SHORT_V1_FRAMES
        assert rung.pooled["vmaf"].min <= rung.pooled["vmaf"].p5 <= rung.pooled["vmaf"].mean
        assert rung.measures["frames"] == SHORT_V1_FRAMES
    pooled = {r.rung: r.pooled["vmaf"].mean for r in game.rungs}
    assert pooled["720p"] > pooled["480p"] > pooled["360p"] > 50
    fractions = [f for f, _, _ in reporter.progress_calls if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert reporter.stages[0] == "inspect" and reporter.stages[-2:] == ["report", "done"]


def test_the_report_is_saved_with_the_job_and_holds_no_url(clean_with_source, rig) -> None:
    outcome, game, reporter = clean_with_source
    path = Path(outcome.result["report"])
    assert path.parent.name == reporter.job_id
    text = path.read_text()
    document = json.loads(text)
    assert document["schema_version"] == 1 and document["kind"] == "spotcheck"
    assert document["verdict"] == "pass" and document["job_id"] == reporter.job_id
    [entry] = document["games"]
    assert [r["rung"] for r in entry["rungs"]] == list(RUNGS)
    assert set(entry["rungs"][0]["metrics"]["vmaf"]) == {"mean", "min", "p5", "frames"}
    checks = {c["name"]: c for c in entry["rungs"][0]["checks"]}
    assert (
        checks["quality.segments"]["verdict"] == "pass" and checks["quality.segments"]["measured"]
    )
    with (path.parent / document["frames_csv"]).open() as source:
        rows = list(csv.DictReader(source))
    assert len(rows) == len(RUNGS) * SHORT_V1_FRAMES
    assert rows[0].keys() == {"game_id", "rung", "frame", "pts_s", "psnr_db", "ssim", "vmaf"}
    assert rows[-1]["frame"] == str(SHORT_V1_FRAMES - 1)
    frames = (path.parent / "frames.csv").read_text()
    for secret in (rig.gateway.token, "http://", rig.config.secret_access_key):
        assert secret not in text and secret not in frames
        assert all(secret not in line for line in reporter.lines)


@pytest.fixture(scope="module")
def defects_a(rig, short_v1, reports, tmp_path_factory):
    """720p: a segment with flipped bytes; 480p: re-encoded at 640x360; 360p: 3 frames
    dropped in its second segment. Ledger and master follow the re-encoded rungs."""
    game = "defects-a-" + uuid.uuid4().hex[:6]
    copy_game(rig, CLEAN, game)
    work = tmp_path_factory.mktemp("defects-a")
    flip_bytes(rig, f"games/{game}/abr/720p/seg_00001.m4s")
    replace_rung(rig, game, "480p", encode_rung(short_v1, work / "480p", 640, 360))
    dropped = encode_rung(
        short_v1,
        work / "360p",
        640,
        360,
        video_filter="select='not(between(n,120,122))'",
        force_key_frames="expr:gte(t,n_forced*4)",
    )
    replace_rung(rig, game, "360p", dropped)
    return spotcheck(rig, game, reports)


def test_flipped_bytes_in_a_segment_fail_the_checksum(defects_a) -> None:
    _, game, _ = defects_a
    failed = _failed(game, "720p")
    # the flipped bytes also break the segment's picture: a consequence, named as such
    assert list(failed) == ["integrity.objects", "quality.segments"]
    [reason] = failed["integrity.objects"]
    assert reason.startswith("abr/720p/seg_00001.m4s: checksum mismatch")
    segments = next(r for r in game.rungs if r.rung == "720p").get("quality.segments")
    assert segments.cause.startswith("integrity.objects (abr/720p/seg_00001.m4s: checksum")
    assert game.verdict is Verdict.FAIL


def test_a_rung_at_the_wrong_resolution_is_flagged(defects_a) -> None:
    _, game, _ = defects_a
    failed = _failed(game, "480p")
    assert list(failed) == ["structure.resolution"]
    assert failed["structure.resolution"] == (
        "wrong resolution: coded 640x360, the ladder gives 854x480",
        "coded 640x360, master.m3u8 declares RESOLUTION=854x480",
    )


def test_a_rung_with_dropped_frames_is_flagged(defects_a) -> None:
    _, game, _ = defects_a
    failed = _failed(game, "360p")
    assert list(failed) == ["quality.frames"]
    assert failed["quality.frames"] == (
        f"{SHORT_V1_FRAMES - 3} frames, the reference has {SHORT_V1_FRAMES} (3 dropped frames)",
    )
    rung = next(r for r in game.rungs if r.rung == "360p")
    assert rung.frames is not None
    gaps = [i for i, v in enumerate(rung.frames.vmaf) if v != v]
    assert gaps == [120, 121, 122]


@pytest.fixture(scope="module")
def defects_b(rig, short_v1, reports, tmp_path_factory):
    """480p: keyframes half a GOP off the segment boundaries (cut by time); 360p: a segment
    deleted; master.v1.m3u8 edited so it differs from the v1 the ledger records."""
    game = "defects-b-" + uuid.uuid4().hex[:6]
    copy_game(rig, CLEAN, game)
    work = tmp_path_factory.mktemp("defects-b")
    off = encode_rung(
        short_v1,
        work / "480p",
        854,
        480,
        force_key_frames="expr:eq(mod(n+48,96),0)",
        hls_flags="independent_segments+split_by_time",
        x264_params="open-gop=0:bframes=0",
    )
    replace_rung(rig, game, "480p", off)
    delete(rig, f"games/{game}/abr/360p/seg_00002.m4s")
    anchor = f"games/{game}/master.v1.m3u8"
    rig.put(anchor, rig.read(anchor).replace(b"#EXT-X-ENDLIST", b"#EXT-X-ENDLIST\n# edited"))
    return spotcheck(rig, game, reports)


def test_keyframes_off_the_segment_boundaries_are_flagged(defects_b) -> None:
    _, game, _ = defects_b
    failed = _failed(game, "480p")
    assert list(failed) == ["structure.keyframes"]
    reasons = failed["structure.keyframes"]
    assert len(reasons) == 3, reasons  # segments 1-3; segment 0 starts on frame 0
    assert reasons[0].startswith("seg_00001.m4s: starts at 4.000 s on a non-keyframe")


def test_a_missing_object_is_flagged(defects_b) -> None:
    _, game, _ = defects_b
    failed = _failed(game, "360p")
    assert set(failed) == {"integrity.objects", "integrity.playlist_uris"}
    assert failed["integrity.objects"] == ("abr/360p/seg_00002.m4s is missing from the store",)
    assert failed["integrity.playlist_uris"] == (
        "abr/360p/seg_00002.m4s is referenced by the playlist but missing",
    )
    rung = next(r for r in game.rungs if r.rung == "360p")
    assert rung.get("quality.metrics").verdict is Verdict.SKIP


def test_an_anchor_that_differs_from_v1_is_flagged(defects_b) -> None:
    _, game, _ = defects_b
    failed = _failed(game)
    assert list(failed) == ["integrity.anchor"]
    assert failed["integrity.anchor"][0].startswith("master.v1.m3u8 changed (SHA-256 ")
    assert (
        "the ledger's copy of the v1 playlist still has the recorded hash"
        in (failed["integrity.anchor"][0])
    )
    # a changed anchor is no reference (issue 18): the healthy 720p is not compared with it
    assert _failed(game, "720p") == {}
    assert game.reference is None
    metrics = next(r for r in game.rungs if r.rung == "720p").get("quality.metrics")
    assert metrics.verdict is Verdict.SKIP
    assert metrics.reasons[0].startswith("no reference: master.v1.m3u8 failed integrity.anchor")


def test_a_v1_that_is_not_a_remux_of_the_source_fails_fidelity(rig, tmp_path) -> None:
    import asyncio

    from services.spotcheck.fidelity import check_fidelity

    game = "fidelity-" + uuid.uuid4().hex[:6]
    copy_game(rig, CLEAN, game)
    source = make_source_mp4(tmp_path / "source.mp4", reencode=True)
    rig.put(f"games/{game}/source.mp4", source.read_bytes())
    url = rig.gateway.url_for
    result = asyncio.run(
        check_fidelity(
            url(f"games/{game}/master.v1.m3u8"),
            url(f"games/{game}/source.mp4"),
            f"games/{game}/source.mp4",
        )
    )
    assert result.verdict is Verdict.FAIL
    assert "is not a bit-exact remux" in result.reasons[-1]
    assert "the first at packet 0" in result.reasons[-1]


def test_a_v1_game_is_reported_as_not_backfilled(rig, short_v1, reports) -> None:
    game = "v1-only-" + uuid.uuid4().hex[:6]
    upload_game(rig.config, game, short_v1)
    outcome, report, _ = spotcheck(rig, game, reports)
    assert report.verdict is Verdict.FAIL and report.rungs == ()
    assert list(_failed(report)) == ["integrity.ledger"]
    assert "not backfilled" in _failed(report)["integrity.ledger"][0]


def test_cli_checks_a_seeded_league_sample_and_fails_on_a_failed_check(
    rig, short_v1, capsys
) -> None:
    from console.cli import main
    from tests.gui_support import make_profile

    make_profile("spot-cli", rig.config)
    meta = {"title": "Crew at Union", "league": "MLS", "date": "2026-11-20"}
    checked = "mls-cli-" + uuid.uuid4().hex[:6]
    copy_game(rig, CLEAN, checked)
    rig.put(f"games/{checked}/meta.json", json.dumps(meta).encode())
    v1_game = "mls-v1-" + uuid.uuid4().hex[:6]
    upload_game(rig.config, v1_game, short_v1, meta=meta)
    argv = [
        "--profile",
        "spot-cli",
        "spotcheck",
        "--league",
        "mls",
        "--sample",
        "5",
        "--seed",
        "7",
        "--json",
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["verdict"] == "pass" and document["seed"] == 7
    assert [g["game_id"] for g in document["games"]] == [checked]  # v1.5 games only
    assert "sample of 1 of 1 v1.5 games in 'mls' (seed 7)" in captured.err
    assert Path(document["reports"][0]).name == "report.json"
    assert main(["--profile", "spot-cli", "spotcheck", "--game", v1_game]) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {v1_game}" in out and "game: integrity.ledger: master.m3u8 is a v1" in out
    assert main(["--profile", "spot-cli", "spotcheck", "--league", "mls"]) == 2


def test_a_profile_source_prefix_feeds_fidelity_and_the_cli_can_override_it(
    rig, capsys, tmp_path
) -> None:
    from console.cli import main
    from console.profiles import load_profiles
    from tests.gui_support import make_profile

    make_profile("spot-src", rig.config)
    argv = [
        "profile",
        "add",
        "spot-src",
        "--endpoint",
        rig.config.endpoint_url,
        "--bucket",
        rig.config.bucket,
        "--source-prefix",
        "mezzanine/",
        "--channel",
        "demo/sports1",
    ]
    assert main(argv) == 0
    profile = load_profiles()[0]["spot-src"]
    assert (profile.source_prefix, profile.channels) == ("mezzanine/", ("demo/sports1",))
    assert main(["profile", "list"]) == 0
    assert "sources=mezzanine/" in capsys.readouterr().out
    game = "src-prefix-" + uuid.uuid4().hex[:6]
    copy_game(rig, CLEAN, game)
    rig.put(f"mezzanine/{game}.mp4", make_source_mp4(tmp_path / "source.mp4").read_bytes())

    assert main(["--profile", "spot-src", "spotcheck", "--game", game, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    (checked,) = document["games"]
    assert checked["reference"]["kind"] == "source"
    assert checked["reference"]["key"] == f"mezzanine/{game}.mp4"
    fidelity = next(c for c in checked["checks"] if c["name"] == "fidelity.v1_remux")
    assert fidelity["verdict"] == "pass"

    assert (
        main(
            [
                "--profile",
                "spot-src",
                "spotcheck",
                "--game",
                game,
                "--json",
                "--source-prefix",
                "elsewhere/",
            ]
        )
        == 0
    )
    (checked,) = json.loads(capsys.readouterr().out)["games"]
    assert checked["reference"]["kind"] == "v1"
    fidelity = next(c for c in checked["checks"] if c["name"] == "fidelity.v1_remux")
    assert fidelity["verdict"] == "skip"
    assert fidelity["reasons"] == ["no source object is configured for this game"]


def test_report_view_shows_verdicts_and_a_plot_click_asks_for_the_compare(
    defects_a, qtbot, tmp_path
) -> None:
    from views.spotcheck_report import SpotcheckReportView

    outcome, game, _ = defects_a
    view = SpotcheckReportView([game], "job1")
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    table = view.table
    rows = {
        table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text())
        for r in range(table.rowCount())
    }
    assert rows == {
        "720p": ("FAIL", "integrity.objects (+1 following)"),
        "480p": ("FAIL", "structure.resolution"),
        "360p": ("FAIL", "quality.frames"),
    }
    assert all(len(plot.listDataItems()) == 3 for plot in view.plots.values())
    table.selectRow(2)
    reasons = {
        view.checks.topLevelItem(i).text(0): view.checks.topLevelItem(i).text(2)
        for i in range(view.checks.topLevelItemCount())
    }
    assert reasons["quality.frames"].endswith("(3 dropped frames)")
    steps = {
        view.checks.topLevelItem(i).text(0): view.checks.topLevelItem(i).text(3)
        for i in range(view.checks.topLevelItemCount())
    }
    assert steps["quality.frames"].startswith("Re-encode 360p: re-run the backfill with --force")
    assert steps["structure.idr"] == ""  # a pass has no next step
    table.selectRow(0)
    follows = [
        view.checks.topLevelItem(i)
        for i in range(view.checks.topLevelItemCount())
        if view.checks.topLevelItem(i).text(1) == "fail (follows)"
    ]
    assert [i.text(0) for i in follows] == ["quality.segments"]
    assert follows[0].text(3).startswith("follows from integrity.objects (")
    table.selectRow(2)
    assert reasons["structure.idr"].startswith("4 of 4 segments start with an IDR")  # measured
    vmaf = {r.rung: r.frames.vmaf for r in game.rungs}
    with qtbot.waitSignal(view.compare_requested) as signal:
        assert view.pick("vmaf", 200.2, vmaf["360p"][200]) == ("360p", 200)
    assert signal.args == [game.game_id, "360p", "v1", 200]
    assert view.pick("vmaf", 121, 90.0) in {("720p", 121), ("480p", 121)}  # 360p has a gap
    assert view.marker_lines["psnr_db"].value() == 121
    assert not view.grab().isNull()


def _processes_reading(needle: str) -> list[int]:
    """Pids of live processes whose command line mentions ``needle``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if needle.encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def _metrics_ffmpeg(game: str) -> list[int]:
    """Pids of the quality-metrics ffmpeg (libvmaf in its graph) reading ``game``'s rungs."""
    pids = []
    for pid in _processes_reading(f"games/{game}/abr/"):
        try:
            if b"libvmaf" in Path("/proc", str(pid), "cmdline").read_bytes():
                pids.append(pid)
        except OSError:
            continue
    return pids


def test_cancel_stops_the_metrics_ffmpeg(rig, reports) -> None:
    import asyncio

    from services.spotcheck.game_spotcheck import GameSpotcheck
    from services.storage import Storage
    from tests.backfill_support import RecordingReporter

    game = "cancel-" + uuid.uuid4().hex[:6]
    copy_game(rig, CLEAN, game)
    reporter = RecordingReporter(job_id="cancel1")

    async def go() -> tuple[list[int], list[int]]:
        storage = Storage(rig.config)
        try:
            job = GameSpotcheck(storage, rig.gateway.url_for, rig.ladder, reports, game)
            task = asyncio.ensure_future(job(reporter))
            while not (running := _metrics_ffmpeg(game)):
                assert not task.done(), "the spot-check ended before the metrics ran"
                await asyncio.sleep(0.02)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return running, _processes_reading(f"games/{game}/")
        finally:
            storage.close()

    running, left = asyncio.run(go())
    assert running, "no ffmpeg was reading the rungs while measuring"
    assert left == []
    assert not (reports / "cancel1").exists()
