"""The real console window on a real moto bucket: listing, states, detail, playback through
the gateway with libmpv (software render offscreen), and bad input shown as messages."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from console.gui.app import display_problem, make_application
from console.gui.composition import build_console
from services.catalog import GameState
from tests.conftest import s3_client, upload_game
from tests.gui_support import make_profile, run_task

pytestmark = pytest.mark.timeout(180)

META = {
    "title": "Chiefs at Bills",
    "league": "NFL",
    "date": "2026-11-16",
    "home": "BUF",
    "away": "KC",
}


@pytest.fixture
def console(qapp, qloop, qtbot, storage_config, v1_hls_dir, shared_dir):
    upload_game(storage_config, "nfl-good", v1_hls_dir, meta=META)
    upload_game(
        storage_config,
        "nba-missing",
        v1_hls_dir,
        skip=("seg_00002.m4s",),
        meta={**META, "league": "NBA", "title": "Missing segment"},
    )
    upload_game(
        storage_config,
        "nba-truncated",
        v1_hls_dir,
        meta={**META, "league": "NBA", "title": "Truncated segment"},
    )
    client = s3_client(storage_config)
    truncated = (shared_dir / "media" / "pymediainfo_sample_truncated.mkv").read_bytes()
    client.put_object(
        Bucket=storage_config.bucket, Key="games/nba-truncated/seg_00003.m4s", Body=truncated
    )
    malformed = (shared_dir / "hls/m3u8-parser_npm_7.2.0/manifestNoExtM3u.m3u8").read_bytes()
    client.put_object(
        Bucket=storage_config.bucket, Key="games/mls-malformed/master.m3u8", Body=malformed
    )
    make_profile("gui-test", storage_config)
    app = make_application()
    built = run_task(qtbot, build_console(app, "gui-test"))
    panel = built.window.catalog_panel
    qtbot.waitUntil(lambda: panel.model.rowCount() == 4, timeout=30_000)
    qtbot.waitUntil(lambda: all(panel.model.game(r).state for r in range(4)), timeout=30_000)
    yield built
    built.close()
    built.window.close()


def _states(console) -> dict[str, GameState]:
    model = console.window.catalog_panel.model
    return {model.game(r).id: model.game(r).state for r in range(model.rowCount())}


def _detail(qtbot, console, game_id: str):
    loaded = []
    console.catalog.detail_loaded.connect(loaded.append)
    console.catalog.load_detail(game_id)
    qtbot.waitUntil(lambda: bool(loaded), timeout=20_000)
    return loaded[-1]


def test_catalog_shows_every_state_and_filters(console, qtbot):
    states = _states(console)
    assert states == {
        "nfl-good": GameState.V1,
        "nba-missing": GameState.BROKEN,
        "nba-truncated": GameState.V1,
        "mls-malformed": GameState.BROKEN,
    }
    panel = console.window.catalog_panel
    panel.league_box.setCurrentText("NBA")
    assert panel.model.rowCount() == 2
    panel.filter_edit.setText("missing")
    assert panel.model.rowCount() == 1 and panel.model.game(0).id == "nba-missing"
    assert panel.count_label.text() == "1 of 4 games"
    panel.filter_edit.clear()
    panel.league_box.setCurrentIndex(0)
    panel.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)
    ids = [panel.model.game(r).id for r in range(panel.model.rowCount())]
    assert ids == sorted(ids)
    panel.table.selectRow(1)
    selected = panel.selected_game_id()
    panel.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    assert panel.selected_game_id() == selected  # the selection follows its game
    assert "NFL" in console.window.windowTitle() or "gui-test" in console.window.windowTitle()


def test_plays_v1_through_gateway_and_seeks_to_80_percent(console, qtbot):
    detail = _detail(qtbot, console, "nfl-good")
    window = console.window
    window.detail_panel.show_detail(detail)
    v1 = next(r for r in detail.renditions if r.name == "v1")
    assert len(v1.playlist.segments) == 11
    window.detail_panel.play_requested.emit(v1)
    video = window.player_panel.video
    qtbot.waitUntil(lambda: video.frames_rendered > 0, timeout=20_000)
    player = console.player
    qtbot.waitUntil(lambda: (player.duration or 0) > 50, timeout=10_000)
    before = video.frames_rendered
    player.seek(0.8 * player.duration)
    qtbot.waitUntil(
        lambda: (
            (player.position or 0) >= 0.8 * player.duration - 0.5
            and video.frames_rendered > before + 5
        ),
        timeout=20_000,
    )
    assert console.context.gateway.requests_served > 3
    assert not window.banner.isVisible()


def test_missing_segment_is_refused_with_a_clear_message(console, qtbot):
    detail = _detail(qtbot, console, "nba-missing")
    v1 = next(r for r in detail.renditions if r.name == "v1")
    assert v1.missing == ("games/nba-missing/seg_00002.m4s",)
    console.window.detail_panel.play_requested.emit(v1)
    banner = console.window.banner
    qtbot.waitUntil(banner.isVisible, timeout=5_000)
    assert "missing" in banner.label.text() and "seg_00002.m4s" in banner.label.text()


def test_malformed_master_shows_its_reason(console, qtbot):
    model = console.window.catalog_panel.model
    game = next(model.game(r) for r in range(4) if model.game(r).id == "mls-malformed")
    assert "malformed" in game.reason and "EXTM3U" in game.reason
    detail = _detail(qtbot, console, "mls-malformed")
    assert detail.renditions[0].playlist is None
    assert "line 1" in detail.renditions[0].error


def test_truncated_segment_plays_without_crash(console, qtbot):
    detail = _detail(qtbot, console, "nba-truncated")
    v1 = next(r for r in detail.renditions if r.name == "v1")
    console.window.detail_panel.play_requested.emit(v1)
    player = console.player
    video = console.window.player_panel.video
    qtbot.waitUntil(lambda: video.frames_rendered > 0, timeout=20_000)
    player.seek(v1.playlist.segments[3].start + 0.5)
    qtbot.wait(3_000)
    # the player survives the undecodable segment: it still answers and can seek back
    before = video.frames_rendered
    player.seek(1.0)
    player.play()
    qtbot.waitUntil(lambda: video.frames_rendered > before, timeout=20_000)


def test_no_display_is_one_clear_sentence(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    message = display_problem()
    assert message and "xvfb-run" in message and "\n" not in message
