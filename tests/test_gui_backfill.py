"""Backfill from the real window: catalog → confirmation → Jobs tab with live progress →
the catalog's state column turns v1.5; a production profile needs its name typed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from console.gui.app import make_application
from console.gui.composition import build_console
from services.catalog import GameState
from services.jobs.model import JobState
from tests.backfill_support import make_short_v1
from tests.conftest import upload_game
from tests.gui_support import make_profile, run_task
from views.backfill_dialog import BackfillDialog

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def console(qapp, qloop, qtbot, storage_config, tmp_path):
    short = make_short_v1(tmp_path / "v1")
    upload_game(storage_config, "nba-gui-1", short, meta={"title": "A at B", "league": "NBA"})
    upload_game(
        storage_config,
        "nba-gui-2",
        short,
        meta={"title": "C at D", "league": "NBA"},
        skip=("seg_00001.m4s",),
    )
    make_profile("gui-backfill", storage_config)
    built = run_task(qtbot, build_console(make_application(), "gui-backfill"))
    panel = built.window.catalog_panel
    qtbot.waitUntil(
        lambda: (
            panel.model.total == 2
            and all(panel.model.game(r).state for r in range(panel.model.rowCount()))
        ),
        timeout=20_000,
    )
    yield built
    built.close()
    built.window.close()


def _state(panel, game_id: str) -> GameState | None:
    row = panel.model.row_of(game_id)
    return None if row is None else panel.model.game(row).state


def test_backfill_from_the_catalog_updates_jobs_and_state(console, qtbot, monkeypatch):
    shown: list[BackfillDialog] = []

    def accept(dialog: BackfillDialog) -> int:
        shown.append(dialog)
        assert dialog.typed is not None  # a non-demo profile: the name must be typed
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert not ok.isEnabled()
        dialog.typed.setText("gui-backfill")
        assert ok.isEnabled()
        return 1

    monkeypatch.setattr(BackfillDialog, "exec", accept)
    panel = console.window.catalog_panel
    panel.request_backfill_shown()  # batch: the broken game is skipped with its reason
    dialog = shown[0]
    assert dialog.games == ["nba-gui-1"]
    assert "skip  nba-gui-2: broken" in dialog.listing.toPlainText()
    assert console.window.sections.currentWidget() is console.window.jobs_panel

    jobs = console.jobs
    records = [r for r in jobs.history() if r.target == "nba-gui-1"]
    assert len(records) == 1
    jobs_panel = console.window.jobs_panel
    qtbot.waitUntil(lambda: jobs.get(records[0].id).state is JobState.RUNNING, timeout=20_000)
    qtbot.waitUntil(lambda: (jobs.get(records[0].id).fraction or 0) > 0.1, timeout=60_000)
    assert jobs_panel.model.rowCount() >= 1
    qtbot.waitUntil(lambda: jobs.get(records[0].id).finished, timeout=120_000)
    finished = jobs.get(records[0].id)
    assert finished.state is JobState.SUCCEEDED, finished.error
    assert "master.m3u8 published" in finished.summary
    qtbot.waitUntil(lambda: _state(panel, "nba-gui-1") is GameState.V15, timeout=20_000)
    assert _state(panel, "nba-gui-2") is GameState.BROKEN

    # a second request for the same game while nothing runs: the job verifies, never twice
    panel.select_game("nba-gui-1")
    qtbot.keyClick(panel.table, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert shown[-1].games == ["nba-gui-1"]


def test_spotcheck_from_the_catalog_opens_its_report_and_a_plot_click_the_compare(
    console, qtbot, monkeypatch
):
    from views.compare_view import CompareView
    from views.spotcheck_report import SpotcheckReportView

    monkeypatch.setattr(BackfillDialog, "exec", lambda d: d.typed.setText("gui-backfill") or 1)
    window, jobs, panel = console.window, console.jobs, console.window.catalog_panel
    earlier = {r.id for r in jobs.history()}  # the job history outlives a console

    def new_jobs(kind: str) -> list:
        return [r for r in jobs.history() if r.kind == kind and r.id not in earlier]

    panel.select_game("nba-gui-1")
    qtbot.keyClick(panel.table, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    (backfill,) = new_jobs("backfill")
    qtbot.waitUntil(lambda: jobs.get(backfill.id).finished, timeout=120_000)
    assert jobs.get(backfill.id).state is JobState.SUCCEEDED, jobs.get(backfill.id).error
    qtbot.waitUntil(lambda: _state(panel, "nba-gui-1") is GameState.V15, timeout=20_000)

    window.show_section(panel)
    panel.select_game("nba-gui-1")
    qtbot.keyClick(panel.table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    jobs_panel = window.jobs_panel
    assert window.sections.currentWidget() is jobs_panel
    (check,) = new_jobs("spotcheck")
    qtbot.waitUntil(lambda: jobs.get(check.id).finished, timeout=120_000)
    assert jobs.get(check.id).state is JobState.SUCCEEDED, jobs.get(check.id).error
    jobs_panel.select_job(check.id)
    qtbot.waitUntil(jobs_panel.report_action.isEnabled, timeout=5_000)
    jobs_panel.report_action.trigger()
    qtbot.waitUntil(lambda: bool(window.findChildren(SpotcheckReportView)), timeout=10_000)
    view = window.findChildren(SpotcheckReportView)[0]
    assert view.isWindow() and view.isVisible()
    verdicts = {
        view.table.item(r, 0).text(): view.table.item(r, 1).text()
        for r in range(view.table.rowCount())
    }
    assert verdicts == {"720p": "PASS", "480p": "PASS", "360p": "PASS"}

    (game_report,) = view.games
    vmaf_360 = next(r for r in game_report.rungs if r.rung == "360p").frames.vmaf
    assert view.pick("vmaf", 100.1, vmaf_360[100]) == ("360p", 100)
    qtbot.waitUntil(lambda: bool(window.findChildren(CompareView)), timeout=10_000)
    compare = window.findChildren(CompareView)[0]
    qtbot.waitUntil(
        lambda: all("— frame 100 ·" in label.text() for label in compare.side_labels),
        timeout=60_000,
    )
    assert compare.isVisible()

    # the same rung of another game: typed game ids list their renditions; leaving the
    # field without a typed change lists nothing
    listed: list[str] = []
    console.compare.renditions_listed.connect(lambda game, names: listed.append(game))
    compare.game_b.setFocus()
    compare.game_b.selectAll()
    qtbot.keyClicks(compare.game_b, "nba-gui-2")
    qtbot.keyClick(compare.game_b, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: listed == ["nba-gui-2"], timeout=10_000)
    compare.game_b.editingFinished.emit()
    qtbot.wait(200)
    assert listed == ["nba-gui-2"]


def test_open_game_from_the_jobs_panel_selects_it_in_the_catalog(console, qtbot):
    console.window.show_section(console.window.jobs_panel)
    console.window.catalog_panel.filter_edit.setText("C at D")
    console.window.jobs_panel.open_target.emit("nba-gui-1")
    panel = console.window.catalog_panel
    assert console.window.sections.currentWidget() is panel
    assert panel.selected_game_id() == "nba-gui-1"
    assert panel.filter_edit.text() == ""
