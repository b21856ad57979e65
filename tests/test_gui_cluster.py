"""Cluster batches from the real window on a real local Ray head (the demo profile's, as
``main.py cluster start`` runs it) over the real demo stack: the status bar's cluster part,
the Backfill… dialog's target choice sending one cluster job with a child row per game
that the catalog follows, and re-attaching after a console closed (detached) with its
Ray job still running."""

from __future__ import annotations

import os
import time

import pytest
from PySide6.QtCore import QObject, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication

from console.context import build_context
from console.gui.app import make_application
from console.gui.cluster_controller import ClusterStatus
from console.gui.composition import build_console
from console.ops.cluster import (
    KIND,
    cluster_target,
    no_cluster_reason,
    start_demo_cluster,
    stop_demo_cluster,
)
from services.catalog import GameState
from services.jobs.model import JobState
from tests.gui_support import run_task
from views.backfill_dialog import BackfillDialog
from views.cluster_status import ClusterStatusBar
from views.jobs_table import DETAIL, NODE, PROGRESS, STATE, TARGET
from views.spotcheck_dialog import SpotcheckDialog

pytestmark = pytest.mark.timeout(300)

#: the demo's two shortest v1 games (23 s and 24.5 s of the clip) and a third one
FIRST, SECOND = "mls-2026-cup-r1-cin-mia", "nfl-2026-w11-phi-dal"
REATTACHED = "nba-2026-11-18-bos-lal"
SHOTS = os.environ.get("VOC_SCREENSHOT_DIR", "/tmp")


@pytest.fixture(scope="module")
def demo_cluster(tmp_path_factory):
    """A fresh demo data dir, its demo stack and a local Ray head (2 CPUs) for the module."""
    from console.demo.stack import release_demo_stack, stop_demo_stack

    data = tmp_path_factory.mktemp("cluster-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VIDEO_OPS_DATA_DIR", str(data))
        context = build_context("demo")
        try:
            started = time.monotonic()
            head = start_demo_cluster(context, num_cpus=2)
            print(f"\nlocal Ray head at {head.dashboard_url} in {time.monotonic() - started:.1f} s")
            yield context, head
        finally:
            stop_demo_cluster()
            context.close()
            stop_demo_stack(data)
            release_demo_stack(data)


def _open(qtbot):
    built = run_task(qtbot, build_console(make_application(), "demo"), timeout_ms=120_000)
    panel = built.window.catalog_panel
    qtbot.waitUntil(
        lambda: (
            panel.model.total >= 8
            and all(panel.model.game(r).state for r in range(panel.model.rowCount()))
        ),
        timeout=60_000,
    )
    qtbot.waitUntil(lambda: built.cluster.target is not None, timeout=30_000)
    return built


@pytest.fixture
def console(demo_cluster, qapp, qloop, qtbot):
    built = _open(qtbot)
    yield built
    built.close()
    built.window.close()


def _state(console, game_id: str) -> GameState | None:
    panel = console.window.catalog_panel
    row = panel.model.row_of(game_id)
    return None if row is None else panel.model.game(row).state


def _summary(console, game_id: str):
    panel = console.window.catalog_panel
    return panel.model.game(panel.model.row_of(game_id))


def _child_cells(panel, job_id: str, column: int) -> list[str]:
    model = panel.model
    row = model.row_of(job_id)
    if row is None:
        return []
    parent = model.index(row, 0)
    return [model.index(n, column, parent).data() for n in range(model.rowCount(parent))]


def _wait(qtbot, condition, timeout_ms: int, jobs, job_id: str) -> None:
    """``qtbot.waitUntil``; on a timeout the failure shows the job's record and log tail."""
    try:
        qtbot.waitUntil(condition, timeout=timeout_ms)
    except Exception as exc:
        record = jobs.get(job_id)
        tail = "\n".join(jobs.log(job_id)[-25:])
        raise AssertionError(f"{exc}\njob: {record}\nlog:\n{tail}") from exc


class NoCluster(QObject):
    """The feed of a profile without a cluster (what the controller says then)."""

    status_changed = Signal(object)

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.last_status = ClusterStatus(problem=reason)


class UrlCatcher(QObject):
    """Stands in for the desktop's browser (``QDesktopServices.setUrlHandler``)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


def test_status_bar_shows_the_cluster_and_opens_its_dashboard(console, demo_cluster, qtbot):
    _, head = demo_cluster
    address = head.dashboard_url.removeprefix("http://")
    (bar,) = console.window.statusBar().findChildren(ClusterStatusBar)
    # a head that has just started reports no node for a few seconds
    expected = f"Ray {address} · 1 node · 2 of 2 CPUs free"
    qtbot.waitUntil(lambda: bar.label.text() == expected, timeout=30_000)
    assert bar.button.isEnabled()

    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("http", catcher, "open")
    try:
        bar.button.click()
    finally:
        QDesktopServices.unsetUrlHandler("http")
    assert catcher.urls == [head.dashboard_url + "/"]
    bar.copy_action.trigger()
    assert QGuiApplication.clipboard().text() == head.dashboard_url

    # a profile without a cluster: the status bar and the dialog say why
    reason = no_cluster_reason(console.context)
    idle = ClusterStatusBar(NoCluster(reason))
    qtbot.addWidget(idle)
    assert idle.label.text() == "no cluster" and not idle.button.isEnabled()
    assert "main.py cluster start" in idle.label.toolTip()
    dialog = BackfillDialog(
        {False: ([FIRST], []), True: ([FIRST], [])},
        profile="demo",
        bucket="griddy-video",
        is_demo=True,
        ladder="abr v1",
        no_cluster_reason=reason,
    )
    qtbot.addWidget(dialog)
    assert not dialog.target.cluster_button.isEnabled()
    assert reason in dialog.target.note.text()
    assert "on this machine" in dialog.heading.text() and not dialog.on_cluster


def test_backfill_on_the_cluster_is_one_job_with_a_row_per_game(console, qtbot, monkeypatch):
    window, jobs = console.window, console.jobs
    address = console.cluster.target.address.removeprefix("http://")
    shown: list[BackfillDialog] = []

    def accept(dialog: BackfillDialog) -> int:
        shown.append(dialog)
        assert dialog.target.cluster_button.isEnabled()
        assert dialog.target.cluster_button.text() == f"Ray cluster at {address}"
        assert "on this machine" in dialog.heading.text()
        dialog.target.set_on_cluster(True)
        assert f"on the Ray cluster at {address}" in dialog.heading.text()
        assert dialog.on_cluster and dialog.games == [FIRST, SECOND]
        return 1

    monkeypatch.setattr(BackfillDialog, "exec", accept)
    earlier = {r.id for r in jobs.history()}
    window.catalog_panel.backfill_requested.emit(
        [_summary(console, FIRST), _summary(console, SECOND)], True
    )
    assert len(shown) == 1
    new = [r for r in jobs.history() if r.id not in earlier]
    assert [r.kind for r in new] == [KIND]  # ONE console job for the batch
    job_id = new[0].id
    panel = window.jobs_panel
    assert window.sections.currentWidget() is panel
    qtbot.waitUntil(lambda: sorted(_child_cells(panel, job_id, TARGET)) == [FIRST, SECOND])
    assert panel.model.index(panel.model.row_of(job_id), TARGET).data().startswith("Backfill 2")

    # live: a game runs on a worker node with a percentage; the batch's log names games
    _wait(qtbot, lambda: "running" in _child_cells(panel, job_id, STATE), 120_000, jobs, job_id)
    qtbot.waitUntil(
        lambda: any(c and c != "0%" for c in _child_cells(panel, job_id, PROGRESS)),
        timeout=120_000,
    )
    assert any(_child_cells(panel, job_id, NODE))
    panel.select_job(job_id)
    qtbot.waitUntil(lambda: f"[{FIRST}]" in panel.log_view.toPlainText(), timeout=60_000)
    window.resize(1600, 900)
    window.grab().save(f"{SHOTS}/gui_cluster_running.png")

    qtbot.waitUntil(lambda: jobs.get(job_id).finished, timeout=240_000)
    record = jobs.get(job_id)
    assert record.state is JobState.SUCCEEDED, record.error
    assert _child_cells(panel, job_id, STATE) == ["succeeded", "succeeded"]
    assert all("master.m3u8 published" in c for c in _child_cells(panel, job_id, DETAIL))
    # the catalog follows each game as it finishes
    qtbot.waitUntil(
        lambda: (
            _state(console, FIRST) is GameState.V15 and _state(console, SECOND) is GameState.V15
        ),
        timeout=30_000,
    )
    panel.select_game(job_id, SECOND)
    assert panel.open_action.isEnabled()
    window.grab().save(f"{SHOTS}/gui_cluster.png")

    # a spot-check of a v1.5 game: the dialog asks where; cancel stops the Ray job
    asked: list[SpotcheckDialog] = []

    def on_cluster(dialog: SpotcheckDialog) -> int:
        asked.append(dialog)
        dialog.target.set_on_cluster(True)
        return 1

    monkeypatch.setattr(SpotcheckDialog, "exec", on_cluster)
    earlier = {r.id for r in jobs.history()}
    window.catalog_panel.spotcheck_requested.emit([_summary(console, FIRST)], 0)
    assert [d.games for d in asked] == [[FIRST]]
    (check,) = [r for r in jobs.history() if r.id not in earlier]
    assert check.kind == KIND and check.title.startswith("Spot-check")
    batch = console.cluster.batch_of(check.id)
    _wait(
        qtbot, lambda: _child_cells(panel, check.id, STATE) == ["running"], 120_000, jobs, check.id
    )
    panel.select_job(check.id)
    panel.confirm_cancel = lambda records: True
    panel.request_cancel()
    _wait(qtbot, lambda: jobs.get(check.id).finished, 90_000, jobs, check.id)
    assert jobs.get(check.id).state is JobState.CANCELLED
    assert _child_cells(panel, check.id, STATE) == ["cancelled"]
    client = console.cluster.target.connect()
    try:
        assert run_task(qtbot, client.get(batch.submission_id)).status == "STOPPED"
    finally:
        run_task(qtbot, client.aclose())


def test_closing_detaches_and_the_next_console_reattaches(demo_cluster, qapp, qloop, qtbot):
    first = _open(qtbot)
    try:
        record = first.cluster.submit("backfill", [REATTACHED])
        assert record is not None
        batch = first.cluster.batch_of(record.id)
        qtbot.waitUntil(
            lambda: batch.games[REATTACHED].state == "running" and bool(batch.submission_id),
            timeout=120_000,
        )
        submission = batch.submission_id
    finally:
        run_task(qtbot, first.aclose())  # as the window's close does: detach, then cancel
        first.window.close()
    target = cluster_target(first.context)
    client = target.connect()
    try:
        assert not run_task(qtbot, client.get(submission)).finished  # still running on Ray
    finally:
        run_task(qtbot, client.aclose())

    second = _open(qtbot)
    try:
        jobs, panel = second.jobs, second.window.jobs_panel
        # the closed console's job ended on its side only (the history says so)
        assert jobs.get(record.id).state is JobState.CANCELLED
        assert "keeps running on the cluster" in jobs.get(record.id).error
        assert any(f"Ray job {submission} keeps running" in x for x in jobs.log(record.id))

        def attached():
            return [r for r in jobs.runner.jobs() if r.kind == KIND and r.id != record.id]

        qtbot.waitUntil(lambda: len(attached()) == 1, timeout=30_000)
        job_id = attached()[0].id
        assert second.cluster.batch_of(job_id).submission_id == submission
        qtbot.waitUntil(
            lambda: any(f"attached to Ray job {submission}" in x for x in jobs.log(job_id)),
            timeout=10_000,
        )
        # the row is rebuilt from the Ray job's log: already started, on a worker node
        qtbot.waitUntil(
            lambda: (
                _child_cells(panel, job_id, TARGET) == [REATTACHED]
                and _child_cells(panel, job_id, STATE) in (["running"], ["succeeded"])
                and all(_child_cells(panel, job_id, NODE))
            ),
            timeout=30_000,
        )
        qtbot.waitUntil(lambda: jobs.get(job_id).finished, timeout=180_000)
        assert jobs.get(job_id).state is JobState.SUCCEEDED, jobs.get(job_id).error
        assert _child_cells(panel, job_id, STATE) == ["succeeded"]
        qtbot.waitUntil(lambda: _state(second, REATTACHED) is GameState.V15, timeout=30_000)
    finally:
        second.close()
        second.window.close()
