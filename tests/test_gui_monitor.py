"""The Monitor tab of the real window against a real demo cue service with 20 channels × 4
variants: it starts watching when shown, fills one row per variant, never blocks the GUI
(a lag probe on the Qt loop), turns a frozen variant's row red with its event, and plays a
variant when its row is activated."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from PySide6.QtCore import QTimer

from console.context import SSAI_TOKEN
from console.gui.app import make_application
from console.gui.composition import build_console
from console.profiles import Profile, save_profile
from services.credentials import CredentialStore
from tests.gui_support import make_profile, run_task

pytestmark = pytest.mark.timeout(180)
TOKEN = "gui-monitor-token"
CHANNELS, VARIANTS = 20, 4
LAG_BOUND_MS = 50.0
"""Issue 16: the monitor never blocks the GUI. Measured as the 99th percentile lateness of a
10 ms timer while watching, beyond the same probe's in the same run without the monitor
(so a machine busy with other work does not count against the console), in ms."""


class LagProbe:
    """A 10 ms repeating QTimer; ``worst_ms`` is the largest lateness seen while running."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.lateness: list[float] = []

    def start(self) -> None:
        self.last = time.perf_counter()
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness.append((now - self.last) * 1000 - 10)
        self.last = now

    @property
    def ticks(self) -> int:
        return len(self.lateness)

    @property
    def worst_ms(self) -> float:
        return max(self.lateness, default=0.0)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.lateness)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0

    def stop(self) -> None:
        self.timer.stop()


class RemoteCues:
    """The demo cue service in a child process (``tests.cue_server_process``)."""

    def __init__(self, demo_dir) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.cue_server_process", str(demo_dir), TOKEN,
             str(CHANNELS - 2)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.url = json.loads(self.process.stdout.readline())["url"]

    def faults(self, body: dict) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        httpx.post(f"{self.url}/admin/faults", json=body, headers=headers).raise_for_status()

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture
def console(qapp, qloop, qtbot, storage_config, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEO_OPS_DATA_DIR", str(tmp_path / "data"))
    server = RemoteCues(tmp_path / "cue-demo")
    make_profile("gui-monitor", storage_config)
    save_profile(
        Profile(
            name="gui-monitor",
            endpoint_url=storage_config.endpoint_url,
            bucket=storage_config.bucket,
            ssai_url=server.url,
        )
    )
    CredentialStore().set("gui-monitor", SSAI_TOKEN, TOKEN)
    built = run_task(qtbot, build_console(make_application(), "gui-monitor"))
    built.server = server
    yield built
    built.close()
    built.window.close()
    server.stop()


def test_monitor_tab_watches_every_variant_without_blocking_the_gui(console, qtbot):
    window, monitor = console.window, console.monitor
    panel = window.monitor_panel
    assert not monitor.running
    baseline = LagProbe()
    baseline.start()
    begun = time.monotonic()
    qtbot.waitUntil(lambda: time.monotonic() - begun > 6, timeout=20_000)
    baseline.stop()
    window.show_section(panel)  # shown → watching
    qtbot.waitUntil(lambda: monitor.running, timeout=10_000)
    qtbot.waitUntil(lambda: panel.model.rowCount() == CHANNELS * VARIANTS, timeout=30_000)
    probe = LagProbe()
    probe.start()
    started = time.monotonic()
    qtbot.waitUntil(
        lambda: (
            all(panel.model.row(i).reloads >= 3 for i in range(panel.model.rowCount()))
            and time.monotonic() - started > 10
        ),
        timeout=60_000,
    )
    probe.stop()
    lag = probe.percentile(99) - baseline.percentile(99)
    print(
        f"lag probe p99 {probe.percentile(99):.0f} ms (worst {probe.worst_ms:.0f}) watching, "
        f"{baseline.percentile(99):.0f} ms (worst {baseline.worst_ms:.0f}) idle"
    )
    assert probe.ticks > 300
    assert lag < LAG_BOUND_MS, f"watching delayed the GUI by {lag:.0f} ms (p99)"
    assert "all healthy" in panel.summary.text() and "80 variant(s)" in panel.summary.text()

    console.server.faults({"freeze": ["demo/extra05/v_1600k"]})

    def frozen_row() -> int | None:
        for i in range(panel.model.rowCount()):
            row = panel.model.row(i)
            if (row.channel, row.variant) == ("demo/extra05", "v_1600k.m3u8") and row.alarms:
                return i
        return None

    qtbot.waitUntil(lambda: frozen_row() is not None, timeout=20_000)
    index = panel.model.index(frozen_row(), 2)
    assert panel.model.data(index) == "stale"
    assert "1 in trouble" in panel.summary.text()
    assert panel.events.item(0, 1).text() == "raised" or any(
        panel.events.item(r, 2).text() == "stale" for r in range(panel.events.rowCount())
    )
    with qtbot.waitSignal(monitor.preview_ready, timeout=5_000) as played:
        panel.table.doubleClicked.emit(index)
    source = played.args[0]
    assert source.url.endswith("/demo/extra05/v_1600k.m3u8") and source.live
    panel.toggle.click()
    qtbot.waitUntil(lambda: not monitor.running, timeout=10_000)
    assert panel.toggle.text() == "Start watching"
