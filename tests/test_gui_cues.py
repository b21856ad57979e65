"""The Cues tab of the real window against a real demo cue service over HTTP: channels from
the service, a confirmed start verified live on every variant, a double click that starts
one break only, the audit log with its CSV export, and the typed confirmation."""

from __future__ import annotations

import csv

import pytest

from console.gui.app import make_application
from console.gui.composition import build_console
from tests.gui_support import make_cue_profile, run_task
from views.cue_confirm_dialog import ConfirmBreakDialog

pytestmark = pytest.mark.timeout(120)
TOKEN = "gui-cue-token"


@pytest.fixture
def console(qapp, qloop, qtbot, storage_config, start_cues, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEO_OPS_DATA_DIR", str(tmp_path / "data"))  # a fresh audit log
    server = start_cues(TOKEN)
    make_cue_profile("gui-cues", storage_config, server.url, TOKEN)
    built = run_task(qtbot, build_console(make_application(), "gui-cues"))
    built.window.show_section(built.window.cues_panel)
    built.server = server
    yield built
    built.close()
    built.window.close()


def test_start_is_verified_live_on_every_variant_and_audited(console, qtbot, tmp_path):
    window, controller = console.window, console.cues
    panel, status = window.cues_panel, window.cue_status_panel
    assert window.details.currentWidget() is status
    qtbot.waitUntil(lambda: panel.channel_box.count() == 2, timeout=10_000)
    asked = []
    panel.confirm_start = lambda channel, duration: asked.append((channel, duration)) or True
    panel.channel_box.setCurrentText("demo/sports2")
    panel.duration.setValue(4)
    panel.start_button.click()
    assert not panel.start_button.isEnabled()  # in flight: a second click cannot land
    panel.request_start()  # a double click reaching the panel anyway
    assert asked == [("demo/sports2", 4), ("demo/sports2", 4)]
    qtbot.waitUntil(lambda: status.table.rowCount() == 4, timeout=10_000)  # every variant
    qtbot.waitUntil(
        lambda: (
            "marker seen" in status.phase_of("v_800k.m3u8")
            or "verified" in status.phase_of("v_800k.m3u8")
        ),
        timeout=10_000,
    )
    assert "Planned end in" in status.countdown.text() or "starts in" in status.countdown.text()
    finished = []
    controller.verification_finished.connect(finished.append)
    qtbot.waitUntil(lambda: bool(finished), timeout=30_000)
    verification = finished[0]
    assert verification.ok, verification.summary()
    assert status.phase_of("v_800k.m3u8").startswith("verified")
    assert status.phase_of("v_1600k.m3u8").startswith("verified")
    assert status.phase_of("v_3000k.m3u8").startswith("verified")
    assert "verified on 4/4 variants" in status.verdict.text()
    # one break on the service, one audit row with its verification
    assert len(console.server.desk.timelines["demo/sports2"].breaks) == 1
    entries = controller.audit.entries()
    assert [(e.channel, e.action, e.outcome, e.verified) for e in entries] == [
        ("demo/sports2", "start", "accepted", True)
    ]
    assert entries[0].event_id == verification.event_id
    assert panel.audit_table.rowCount() == 1
    assert panel.audit_table.item(0, 5).text() == "✓ verified"
    assert "4/4 variants" in panel.audit_table.item(0, 5).toolTip()
    out = tmp_path / "audit.csv"
    with qtbot.waitSignal(controller.status, timeout=10_000) as written:
        controller.export_audit(str(out))
    assert written.args == [f"1 audit entry written to {out}"]
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows[0]["event_id"] == str(verification.event_id) and rows[0]["verified"] == "True"


def test_preview_plays_the_live_multivariant_playlist(console, qtbot):
    panel = console.window.cues_panel
    qtbot.waitUntil(lambda: panel.channel_box.count() == 2, timeout=10_000)
    sources = []
    console.cues.preview_ready.connect(sources.append)
    panel.preview_button.click()
    assert sources[0].kind == "multivariant" and sources[0].live
    assert sources[0].url == f"{console.server.url}/demo/sports1/master.m3u8"
    player_panel = console.window.player_panel
    qtbot.waitUntil(lambda: player_panel.time_label.text() == "● LIVE", timeout=20_000)
    assert player_panel.slider.isHidden()  # no seek bar on a live window
    assert "three target durations" in player_panel.time_label.toolTip()


def test_stop_without_a_break_is_shown_and_audited(console, qtbot):
    panel, window = console.window.cues_panel, console.window
    qtbot.waitUntil(lambda: panel.channel_box.count() == 2, timeout=10_000)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10_000)
    assert "no ad break is active" in window.banner.label.text()
    assert console.cues.audit.entries()[0].outcome.startswith("refused")
    qtbot.waitUntil(lambda: panel.audit_table.rowCount() == 1, timeout=10_000)
    assert panel.audit_table.item(0, 6).text().startswith("refused")


def test_production_confirmation_needs_the_channel_name_typed(qtbot):
    dialog = ConfirmBreakDialog("live/sports1", 30, "prod", typed=True)
    qtbot.addWidget(dialog)
    assert "30 s" in dialog.message.text() and "prod" in dialog.message.text()
    assert not dialog.accept_button.isEnabled()
    dialog.typed_edit.setText("live/sports")
    assert not dialog.accept_button.isEnabled()
    dialog.typed_edit.setText("live/sports1")
    assert dialog.accept_button.isEnabled()
    demo = ConfirmBreakDialog("demo/sports1", 15, "demo", typed=False)
    qtbot.addWidget(demo)
    assert demo.accept_button.isEnabled() and "DEMO" in demo.message.text()
