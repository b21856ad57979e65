"""The audit from the real window (issue 15): the catalog's Audit… on the demo-like test
stack (tests/audit_support.py: the gate and playback API with planted mistakes) runs one
job in the Jobs tab; Open report shows the audit view, whose red cell for the planted
mistake opens its evidence, the auth matrix as a grid for criterion 3."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from console.context import GATE_SIGNING_KEY, VIEWER_API_TOKEN
from console.gui.app import make_application
from console.gui.composition import build_console
from console.ops.audit import baseline_for
from console.profiles import Profile, save_profile
from services.credentials import CredentialStore
from services.jobs.model import JobState
from tests.audit_support import CLEAN, OPEN_RUNG, audit_stack_fixture  # noqa: F401
from tests.gui_support import make_profile, run_task
from views.audit_view import VERDICT_COLOURS, AuditView

pytestmark = pytest.mark.timeout(300)
PROFILE = "gui-audit"


@pytest.fixture
def console(qapp, qloop, qtbot, audit_stack):
    config = audit_stack.config
    make_profile(PROFILE, config)
    save_profile(
        Profile(PROFILE, config.endpoint_url, config.bucket, viewer_url=audit_stack.viewer.url)
    )
    store = CredentialStore()
    store.set(PROFILE, VIEWER_API_TOKEN, audit_stack.viewer_config.api_token)
    store.set(PROFILE, GATE_SIGNING_KEY, audit_stack.viewer_config.signing_key)
    for game_id in (CLEAN, OPEN_RUNG):  # recorded when their backfill started
        url = f"{audit_stack.viewer.url}/games/{game_id}/master.m3u8"
        baseline_for(PROFILE).record(game_id, url, "backfill")
    built = run_task(qtbot, build_console(make_application(), PROFILE))
    panel = built.window.catalog_panel
    qtbot.waitUntil(
        lambda: (
            panel.model.total == len(audit_stack.catalog)
            and all(panel.model.game(r).state for r in range(panel.model.rowCount()))
        ),
        timeout=30_000,
    )
    yield built
    built.close()
    built.window.close()


def test_audit_from_the_catalog_shows_a_red_cell_for_a_planted_mistake(console, qtbot):
    panel = console.window.catalog_panel
    assert panel.audit_button.isEnabled()
    panel.filter_edit.setText("aud-nfl-")  # the league's shown games: clean + planted ones
    shown = [g.id for g in panel.shown_games()]
    assert OPEN_RUNG in shown and CLEAN in shown
    panel.filter_edit.setText(OPEN_RUNG)
    assert panel.select_game(OPEN_RUNG)
    submitted = []
    console.jobs.job_changed.connect(lambda r: submitted.append(r) if r.kind == "audit" else None)
    menu = panel.audit_button.menu()
    next(a for a in menu.actions() if a.text() == "Selected game").trigger()
    qtbot.waitUntil(lambda: bool(submitted), timeout=5_000)
    job_id = submitted[0].id
    assert console.window.sections.currentWidget() is console.window.jobs_panel
    qtbot.waitUntil(
        lambda: (r := console.jobs.get(job_id)) is not None and r.state.finished, timeout=120_000
    )
    record = console.jobs.get(job_id)
    assert record.state is JobState.SUCCEEDED, record.error
    assert record.result["games"] == {OPEN_RUNG: "fail"}
    console.window.jobs_panel.open_report.emit(record)  # "Open report" on the finished job
    qtbot.waitUntil(lambda: bool(console.window.findChildren(AuditView)), timeout=10_000)
    view = console.window.findChildren(AuditView)[0]
    assert view.isVisible()
    assert (OPEN_RUNG, "denied_no_media") in view.red_cells()
    cell = view.cell_item(OPEN_RUNG, "denied_no_media")
    assert cell.text() == "FAIL"
    assert cell.background().color().name() == VERDICT_COLOURS["fail"]
    table = next(iter(view.tables.values()))
    qtbot.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(cell).center()
    )
    assert view.current == (OPEN_RUNG, "denied_no_media")
    assert view.matrix.isVisible() and view.matrix.rowCount() == 9
    red = [
        (view.matrix.verticalHeaderItem(r).text(), view.matrix.horizontalHeaderItem(c).text())
        for r in range(view.matrix.rowCount())
        for c in range(view.matrix.columnCount())
        if view.matrix.item(r, c).background().color().name() == VERDICT_COLOURS["fail"]
    ]
    assert ("no credential (deny)", "360p segment") in red
    assert all(column.startswith("360p") for _, column in red)
    failed = [
        view.checks.topLevelItem(i).text(2)
        for i in range(view.checks.topLevelItemCount())
        if view.checks.topLevelItem(i).text(1) == "fail"
    ]
    assert any(f"/games/{OPEN_RUNG}/abr/360p/" in line for line in failed)
    ok_cell = view.cell_item(OPEN_RUNG, "v1_url_plays")
    assert ok_cell.background().color().name() == VERDICT_COLOURS["pass"]
    view.close()


def test_a_league_sample_is_one_audit_job_named_after_the_league(console, qtbot):
    panel = console.window.catalog_panel
    panel.filter_edit.setText("aud-nfl-")
    panel.ask_audit_sample = lambda shown: 2
    submitted = []
    console.jobs.job_changed.connect(lambda r: submitted.append(r) if r.kind == "audit" else None)
    menu = panel.audit_button.menu()
    next(a for a in menu.actions() if a.text().startswith("Random sample")).trigger()
    qtbot.waitUntil(lambda: bool(submitted), timeout=5_000)
    record = submitted[0]
    assert record.title.startswith("Audit NFL (sample 2 of 5, seed ")
    assert record.target == "league:NFL"
    console.jobs.cancel(record.id)
    qtbot.waitUntil(lambda: console.jobs.get(record.id).state.finished, timeout=30_000)
