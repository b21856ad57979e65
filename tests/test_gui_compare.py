"""Compare and clips from the real window on a backfilled game: "Compare…" in the game
detail opens the compare window with v1 against the selected rung in lockstep; a clip
marked in the player previews in the main player."""

from __future__ import annotations

import pytest

from console.gui.app import make_application
from console.gui.composition import build_console
from tests.compare_support import ComparedGame
from tests.gui_support import make_profile, run_task
from views.compare_view import CompareView

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def console(qapp, qloop, qtbot, compared_game: ComparedGame):
    make_profile("gui-compare", compared_game.config)
    built = run_task(qtbot, build_console(make_application(), "gui-compare"))
    yield built
    built.close()
    built.window.close()


def test_compare_button_opens_the_window_in_lockstep(console, qtbot, compared_game) -> None:
    detail_panel = console.window.detail_panel
    with qtbot.waitSignal(console.catalog.detail_loaded, timeout=20_000):
        console.catalog.load_detail(compared_game.game_id)
    names = [r.name for r in detail_panel.detail.renditions]
    detail_panel.renditions.selectRow(names.index("360p"))
    assert detail_panel.compare_button.isEnabled()
    detail_panel.renditions.selectRow(names.index("ABR (multivariant)"))
    assert not detail_panel.compare_button.isEnabled()  # adaptive: not comparable
    detail_panel.renditions.selectRow(names.index("360p"))
    compare = console.compare
    detail_panel.compare_button.click()
    qtbot.waitUntil(lambda: bool(console.window.findChildren(CompareView)), timeout=10_000)
    view = console.window.findChildren(CompareView)[0]
    qtbot.waitUntil(
        lambda: (
            compare.sides is not None
            and not compare.pair.busy
            and all("— frame 0 ·" in label.text() for label in view.side_labels)
        ),
        timeout=30_000,
    )
    assert view.isVisible() and view.isWindow()
    assert [c.name for c in compare.sides] == ["v1", "360p"]
    a, b = compare.pair.state(0), compare.pair.state(1)
    assert a.frame == b.frame == 0 and a.pts == pytest.approx(b.pts, abs=1e-3)
    menu_action = next(
        a
        for m in console.window.menuBar().actions()
        if m.menu()
        for a in m.menu().actions()
        if "Compare" in a.text()
    )
    assert menu_action.shortcut().toString() == "Ctrl+Shift+C"
    qtbot.waitUntil(lambda: view.rendition_b.count() >= 3, timeout=10_000)
    assert {view.rendition_b.itemText(i) for i in range(view.rendition_b.count())} >= {
        "v1",
        "720p",
        "360p",
    }


def test_clip_preview_plays_in_the_main_player(console, qtbot, compared_game) -> None:
    detail_panel = console.window.detail_panel
    with qtbot.waitSignal(console.catalog.detail_loaded, timeout=20_000):
        console.catalog.load_detail(compared_game.game_id)
    names = [r.name for r in detail_panel.detail.renditions]
    player = console.player
    with qtbot.waitSignal(player.loaded, timeout=20_000):
        detail_panel._play_row(names.index("720p"))
    clips = console.clips
    assert clips.available and clips.rendition_name == "720p"
    clips.mark_in(4.5)
    clips.mark_out(6.0)
    assert clips.clip is not None and len(clips.clip.segments) == 1
    with qtbot.waitSignal(player.loaded, timeout=20_000):
        clips.preview()
    assert "clip" in player.source.title
    qtbot.waitUntil(lambda: 4.5 - 0.05 <= player.position < 8.0, timeout=10_000)
