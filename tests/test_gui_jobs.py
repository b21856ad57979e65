"""The Jobs panel and controller on a real runner with real ffmpeg jobs (pytest-qt,
offscreen): live progress and state, confirmed cancel that stops ffmpeg, queued cancel,
keyboard shortcuts, open game, live log, state filter, throttled signals."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from console.gui.jobs_controller import JobsController
from services.errors import Unreachable
from services.job_reporting import JobOutcome
from services.jobs import JobRunner, JobState, JobStore
from tests.gui_support import run_task
from tests.jobs_support import FfmpegOperation, pid_exists
from views.jobs_panel import JobsPanel
from views.jobs_table import DETAIL, ETA, PROGRESS, STATE, STATE_COLOURS

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def controller(qloop, qtbot, tmp_path):
    runner = JobRunner(JobStore(tmp_path / "jobs.sqlite3"), limits={"synthetic": 10})
    built = JobsController(runner)
    yield built
    built.shutdown()
    run_task(qtbot, runner.aclose())
    runner.store.close()


@pytest.fixture
def panel(controller, qtbot):
    widget = JobsPanel(controller)
    qtbot.addWidget(widget)
    widget.resize(1000, 500)
    widget.show()
    widget.activateWindow()
    widget.table.setFocus()
    return widget


def cell(panel, job_id, column, role=Qt.ItemDataRole.DisplayRole):
    row = panel.model.row_of(job_id)
    return None if row is None else panel.model.index(row, column).data(role)


def test_progress_live_log_and_confirmed_cancel(panel, controller, qtbot):
    op = FfmpegOperation(duration=60, readrate=2)
    job = controller.submit("backfill", "g1", "Backfill g1", op, profile="demo")
    qtbot.waitUntil(lambda: cell(panel, job.id, STATE) == "running", timeout=5000)
    assert (
        cell(panel, job.id, STATE, Qt.ItemDataRole.ForegroundRole)
        == STATE_COLOURS[JobState.RUNNING]
    )
    qtbot.waitUntil(lambda: (cell(panel, job.id, PROGRESS) or "").endswith("%"), timeout=5000)
    assert cell(panel, job.id, DETAIL).startswith("encode: ")
    qtbot.waitUntil(lambda: cell(panel, job.id, ETA).endswith(" s"), timeout=5000)

    selected = []
    panel.target_selected.connect(selected.append)
    panel.select_job(job.id)
    assert selected == ["g1"]  # the main window shows the job's game in the detail
    assert panel.log_box.isVisible()  # the log follows the selected job by default
    panel.log_action.trigger()
    assert not panel.log_box.isVisible()
    panel.log_action.trigger()
    assert panel.log_box.isVisible()
    assert f"ffmpeg started (pid {op.pids[0]})" in panel.log_view.toPlainText()

    asked = []
    panel.confirm_cancel = lambda records: asked.append(records) or False
    button = panel.toolbar.widgetForAction(panel.cancel_action)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert [r.id for r in asked[0]] == [job.id]
    qtbot.wait(300)
    assert controller.get(job.id).state is JobState.RUNNING  # declined: still running

    panel.confirm_cancel = lambda records: asked.append(records) or True
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cell(panel, job.id, STATE) == "cancelled", timeout=5000)
    assert len(asked) == 2
    assert not pid_exists(op.pids[0])
    assert cell(panel, job.id, DETAIL) == "Cancelled by the operator."
    qtbot.waitUntil(lambda: "stopping ffmpeg" in panel.log_view.toPlainText(), timeout=2000)
    assert not panel.cancel_action.isEnabled()


def test_keyboard_cancel_of_a_queued_job_copy_id_and_open_game(panel, controller, qtbot):
    running = controller.submit("backfill", "g1", "g1", FfmpegOperation(60, 2))
    queued = controller.submit("backfill", "g2", "g2", FfmpegOperation(60, 2))
    qtbot.waitUntil(lambda: cell(panel, queued.id, STATE) == "queued", timeout=2000)
    assert cell(panel, queued.id, DETAIL) == "waiting for a free backfill slot"

    def must_not_ask(records):
        raise AssertionError("a queued job is cancelled without asking")

    panel.confirm_cancel = must_not_ask
    panel.select_job(queued.id)
    qtbot.keyClick(panel.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == queued.id
    with qtbot.waitSignal(panel.open_target, timeout=1000) as opened:
        panel.toolbar.widgetForAction(panel.open_action).click()
    assert opened.args == ["g2"]
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: cell(panel, queued.id, STATE) == "cancelled", timeout=2000)
    assert controller.get(running.id).state is JobState.RUNNING


def test_history_and_state_filter(controller, qtbot):
    async def unreachable(reporter):
        raise Unreachable("Cannot reach http://127.0.0.1:9 (connection refused).")

    async def quick(reporter):
        reporter.progress(0.5, "verify", "2 of 4 rungs")
        return JobOutcome("4 rungs verified")

    failed = controller.submit("spotcheck", "g1", "g1", unreachable)
    done = controller.submit("spotcheck", "g2", "g2", quick)
    run_task(qtbot, controller.runner.wait(failed.id))
    run_task(qtbot, controller.runner.wait(done.id))
    panel = JobsPanel(controller)  # built afterwards: the rows come from the history
    qtbot.addWidget(panel)
    assert panel.model.rowCount() == 0  # read in a worker thread, not in the constructor
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=5000)
    assert cell(panel, failed.id, DETAIL).startswith("Cannot reach http://127.0.0.1:9")
    assert cell(panel, done.id, DETAIL) == "4 rungs verified"
    assert cell(panel, done.id, PROGRESS) == "100%"
    panel.state_box.setCurrentText("Failed")
    assert panel.proxy.rowCount() == 1
    assert panel.proxy.index(0, 0).data(Qt.ItemDataRole.UserRole) == failed.id
    panel.state_box.setCurrentText("Active")
    assert panel.proxy.rowCount() == 0
    panel.state_box.setCurrentText("All jobs")
    assert panel.proxy.rowCount() == 2
    panel.select_job(failed.id)  # a finished job's log comes from the store, off the GUI thread
    qtbot.waitUntil(
        lambda: "Cannot reach http://127.0.0.1:9" in panel.log_view.toPlainText(), timeout=5000
    )
    assert f"job {failed.id}" in panel.log_title.text()


def test_controller_coalesces_a_flood_of_progress(controller, qtbot):
    seen: dict[str, int] = {}
    controller.job_changed.connect(lambda r: seen.__setitem__(r.id, seen.get(r.id, 0) + 1))
    lines: list[tuple[str, str]] = []
    controller.log_line.connect(lambda job_id, text: lines.append((job_id, text)))

    async def busy(reporter):
        for n in range(200):
            reporter.progress(n / 200, "work", f"{n} of 200")
            reporter.log(f"step {n}")
            await asyncio.sleep(0.005)
        return JobOutcome("done")

    jobs = [controller.submit("synthetic", f"t{n}", f"t{n}", busy) for n in range(10)]
    for job in jobs:
        run_task(qtbot, controller.runner.wait(job.id))
    qtbot.wait(250)
    for job in jobs:
        # 200 reports in ~1.5 s: at most ~1 emission per 100 ms plus the 3 state changes
        assert 3 <= seen[job.id] <= 30, seen[job.id]
        text = "\n".join(t for j, t in lines if j == job.id)
        assert text.splitlines() == [f"step {n}" for n in range(200)]
    assert len(lines) <= 10 * 30
