"""Clips on a really backfilled game (moto, gateway, ffmpeg-made rungs, libmpv offscreen):
the clip playlist is RFC 8216-valid, references only stored keys, covers [in, out] and
plays; a server clip with a missing, an extra and a foreign segment is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.cli import main
from console.gui.clip_controller import ClipController
from player.controller import Player
from player.video_widget import MpvSoftwareWidget
from services.catalog import Rendition
from services.clips import ClipError, build_clip, check_clip
from services.hls import MediaPlaylist, parse_playlist
from tests.compare_support import (
    ComparedGame,
    run,
)
from tests.gui_support import make_profile

IN_S, OUT_S = 5.0, 9.5  # rung segments are 4 s: the clip is segments 1 and 2, [4, 12) s


def _clip(game: ComparedGame, rung: str = "720p", in_s: float = IN_S, out_s: float = OUT_S):
    return build_clip(game.playlist_key(rung), game.playlist(rung), in_s, out_s)


def test_clip_playlist_is_valid_and_references_only_stored_keys(compared_game) -> None:
    clip = _clip(compared_game)
    parsed = parse_playlist(clip.text, "clip.m3u8")  # raises on an RFC 8216 violation
    assert isinstance(parsed, MediaPlaylist)
    assert parsed.endlist and parsed.playlist_type == "VOD"
    assert parsed.init_uri == "init.mp4"
    assert all(round(s.duration) <= parsed.target_duration for s in parsed.segments)
    assert [s.uri for s in parsed.segments] == ["seg_00001.m4s", "seg_00002.m4s"]
    assert parsed.media_sequence == 1
    assert "#EXT-X-START:TIME-OFFSET=1.000,PRECISE=YES" in clip.text
    # covers [in, out]
    assert clip.start_s <= IN_S < OUT_S <= clip.end_s
    assert (clip.start_s, clip.end_s) == (pytest.approx(4.0), pytest.approx(12.0))
    # only stored keys, all of them objects of the 720p rung
    stored = compared_game.keys()
    prefix = f"games/{compared_game.game_id}/abr/720p/"
    assert clip.keys == (prefix + "init.mp4", prefix + "seg_00001.m4s", prefix + "seg_00002.m4s")
    assert all(key in stored for key in clip.keys)


def test_clip_edges_and_errors(compared_game) -> None:
    one = _clip(compared_game, "v1", 3.0, 3.0)  # v1: 10.417 s + 3.708 s segments
    assert [s.uri for s in one.segments] == ["seg_00000.m4s"]
    assert one.keys[0] == f"games/{compared_game.game_id}/init.mp4"
    whole = _clip(compared_game, "360p", 0.0, 100.0)
    assert len(whole.segments) == len(compared_game.playlist("360p").segments)
    assert "#EXT-X-START" not in whole.text
    with pytest.raises(ClipError, match="after the out point"):
        _clip(compared_game, "720p", 8.0, 2.0)
    with pytest.raises(ClipError, match="past the end"):
        _clip(compared_game, "720p", 30.0, 40.0)


def test_clip_previews_in_libmpv(qtbot, compared_game) -> None:
    clips = ClipController(compared_game.storage(), compared_game.gateway.url_for)
    playlist_key = compared_game.playlist_key("720p")
    clips.set_rendition(
        compared_game.game_id, Rendition("720p", playlist_key, compared_game.playlist("720p"))
    )
    summaries: list[str] = []
    clips.changed.connect(summaries.append)
    clips.mark_in(IN_S)
    clips.mark_out(OUT_S)
    assert clips.clip is not None and "2 segments" in summaries[-1]
    player = Player()
    widget = MpvSoftwareWidget(player)
    qtbot.addWidget(widget)
    widget.resize(320, 180)
    widget.show()
    try:
        with qtbot.waitSignal(clips.preview_ready) as blocker:
            clips.preview()
        source, start = blocker.args
        assert source.kind == "media" and source.duration == pytest.approx(12.0)
        assert source.url.count("seg_") == 2  # only the clip's segments are referenced
        assert start == pytest.approx(IN_S)
        assert compared_game.gateway.base_url in source.url
        with qtbot.waitSignal(player.loaded, timeout=15_000):
            player.load(source, start)
        qtbot.waitUntil(lambda: widget.frames_rendered >= 5, timeout=15_000)
        # libmpv keeps the segments' own timestamps: the clip shows rendition positions
        assert player.duration == pytest.approx(clip_end(clips), abs=0.1)
        assert IN_S - 1 / 24 <= player.position < IN_S + 2.0  # started at the in point
        clips.mark_out(player.position)  # a mark while the clip plays: a rendition position
        assert clips.out_point == pytest.approx(player.position)
        # seeking inside the clip is exact on the rendition timeline
        with qtbot.waitSignal(player.seek_completed, timeout=10_000):
            player.seek(9.5)
        qtbot.waitUntil(lambda: abs(player.position - 9.5) < 0.05, timeout=5_000)
    finally:
        player.shutdown()


def clip_end(clips: ClipController) -> float:
    assert clips.clip is not None
    return clips.clip.end_s


def test_check_reports_missing_extra_and_foreign_segments(compared_game, tmp_path) -> None:
    storage = compared_game.storage()
    game = compared_game.game_id
    try:
        good = run(check_clip(storage, _clip(compared_game).text, game, "720p"))
        assert good.ok and len(good.items) == 3 and "OK" in good.summary()
        assert all(item.size and item.size > 0 for item in good.items)

        server_clip = "\n".join(
            [
                "#EXTM3U",
                "#EXT-X-VERSION:7",
                "#EXT-X-TARGETDURATION:4",
                "#EXT-X-PLAYLIST-TYPE:VOD",
                '#EXT-X-MAP:URI="init.mp4"',
                "#EXTINF:4.000000,",
                "seg_00001.m4s",
                "#EXTINF:4.000000,",
                f"https://cdn.example.com/games/{game}/abr/360p/seg_00002.m4s",
                "#EXTINF:4.000000,",
                "seg_00042.m4s",
                "#EXTINF:3.000000,",
                "seg_00003.m4s",
                "#EXTINF:6.000000,",
                "https://ads.example.com/pod/ad1.m4s",
                "#EXT-X-ENDLIST",
                "",
            ]
        )
        with pytest.raises(Exception, match="TARGETDURATION"):
            run(check_clip(storage, server_clip, game, "720p"))  # EXTINF 6 > target 4
        server_clip = server_clip.replace("TARGETDURATION:4", "TARGETDURATION:6")
        result = run(
            check_clip(
                storage,
                server_clip,
                game,
                "720p",
                clip_location=f"https://cdn.example.com/games/{game}/abr/720p/clip-17.m3u8",
            )
        )
        assert not result.ok
        by_uri = {item.uri.rsplit("/", 1)[-1]: item for item in result.items}
        assert by_uri["init.mp4"].status == "ok"
        assert by_uri["seg_00001.m4s"].status == "ok" and not by_uri["seg_00001.m4s"].note
        assert by_uri["seg_00002.m4s"].status == "extra"  # a 360p segment in a 720p clip
        assert by_uri["seg_00002.m4s"].key == f"games/{game}/abr/360p/seg_00002.m4s"
        assert by_uri["seg_00042.m4s"].status == "missing"
        assert by_uri["seg_00003.m4s"].status == "ok"
        assert "2.125" in by_uri["seg_00003.m4s"].note  # EXTINF 3 vs the stored 2.125 s
        assert by_uri["ad1.m4s"].status == "foreign"
        assert "1 missing" in result.summary() and "1 extra" in result.summary()

        # the same through the CLI, from a file, with JSON
        path = tmp_path / "server-clip.m3u8"
        path.write_text(server_clip)
        make_profile("clip-test", compared_game.config)
        assert (
            main(
                [
                    "--profile",
                    "clip-test",
                    "clip",
                    "check",
                    str(path),
                    "--game",
                    game,
                    "--rung",
                    "720p",
                    "--json",
                ]
            )
            == 1
        )
    finally:
        storage.close()


def test_cli_make_then_check_is_ok(compared_game, tmp_path: Path, capsys) -> None:
    make_profile("clip-cli", compared_game.config)
    game = compared_game.game_id
    out = tmp_path / "clip.m3u8"
    assert (
        main(
            [
                "--profile",
                "clip-cli",
                "clip",
                "make",
                "--game",
                game,
                "--rung",
                "v1",
                "--in",
                "11",
                "--out",
                "12",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert "seg_00001.m4s" in out.read_text() and "seg_00000.m4s" not in out.read_text()
    capsys.readouterr()
    assert (
        main(
            [
                "--profile",
                "clip-cli",
                "clip",
                "check",
                str(out),
                "--game",
                game,
                "--rung",
                "v1",
                "--json",
            ]
        )
        == 0
    )
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] and [i["status"] for i in verdict["items"]] == ["ok", "ok"]


def test_edl_timeline_start_extends_the_first_entry_only() -> None:
    from services.playback import edl_for_segments, media_source

    url = edl_for_segments("http://h/i.mp4", [("http://h/a", 4.0), ("http://h/b", 2.5)], 8.0)
    assert url.endswith("%10%http://h/a,length=12.0;%10%http://h/b,length=2.5")
    assert media_source("c", None, [("http://h/a", 4.0)], timeline_start=8.0).duration == 12.0
    with pytest.raises(ValueError):
        edl_for_segments(None, [("http://h/a", 4.0)], -1.0)


def test_player_panel_brackets_mark_in_and_out(qtbot, compared_game) -> None:
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent

    from views.player_panel import PlayerPanel

    clips = ClipController(compared_game.storage(), compared_game.gateway.url_for)
    player = Player()
    widget = MpvSoftwareWidget(player)
    panel = PlayerPanel(player, widget, clips=clips)
    qtbot.addWidget(panel)
    panel.resize(480, 360)
    panel.show()
    try:
        key = compared_game.playlist_key("360p")
        clips.set_rendition(
            compared_game.game_id, Rendition("360p", key, compared_game.playlist("360p"))
        )
        with qtbot.waitSignal(player.loaded, timeout=15_000):
            player.load(compared_game.source("360p"), 2.0)
        player.pause()
        qtbot.waitUntil(lambda: abs(player.position - 2.0) < 0.1, timeout=10_000)
        bracket = Qt.KeyboardModifier.NoModifier
        panel.keyPressEvent(QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_BracketLeft, bracket, "["))
        with qtbot.waitSignal(player.seek_completed, timeout=10_000):
            player.seek(6.5)
        qtbot.waitUntil(lambda: abs(player.position - 6.5) < 0.1, timeout=10_000)
        panel.keyPressEvent(QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_BracketRight, bracket, "]"))
        assert clips.in_point == pytest.approx(2.0, abs=0.1)
        assert clips.out_point == pytest.approx(6.5, abs=0.1)
        assert clips.clip is not None and [s.uri for s in clips.clip.segments] == [
            "seg_00000.m4s",
            "seg_00001.m4s",
        ]
        assert "2 segments" in panel.clip_label.text()
    finally:
        player.shutdown()
