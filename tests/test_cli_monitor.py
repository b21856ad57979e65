"""`main.py monitor`, in-process, on a profile pointing at a real demo cue service: the
channels resolved the short way, the JSON state, the exit code, the stored event log."""

from __future__ import annotations

import json

import pytest

from console.cli import main
from console.ops.monitor import event_log
from tests.test_cli_cues import cue_profile  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(120)


def test_monitor_json_on_a_healthy_channel_exits_0(cue_profile, capsys):  # noqa: F811
    name, _server = cue_profile("cli-monitor")
    code = main(["--profile", name, "monitor", "--channel", "sports2", "--duration", "5", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    doc = json.loads(out)
    rows = doc["variants"]
    assert {r["channel"] for r in rows} == {"demo/sports2"} and len(rows) == 4
    assert all(r["alarms"] == [] and r["newest"] for r in rows)
    assert doc["alarms_raised"] == 0


def test_monitor_reports_a_frozen_variant_exits_1_and_logs_it(cue_profile, capsys, tmp_path):  # noqa: F811
    name, server = cue_profile("cli-monitor-faults")
    server.desk.set_live_faults({"freeze": ["demo/sports1/v_3000k"]})
    csv_path = tmp_path / "events.csv"
    code = main(
        ["--profile", name, "monitor", "--channel", "demo/sports1", "--duration", "12",
         "--csv", str(csv_path)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1, out
    assert "raised      stale" in out and "v_3000k.m3u8" in out
    assert "v_400k.m3u8" in out and "ok" in out
    assert "stale" in csv_path.read_text()
    stored = event_log().recent()
    assert any(r[1] == "raised" and r[2] == "stale" and r[4] == "v_3000k.m3u8" for r in stored)


def test_monitor_refuses_an_unknown_channel(cue_profile, capsys):  # noqa: F811
    name, _server = cue_profile("cli-monitor-unknown")
    code = main(["--profile", name, "monitor", "--channel", "nope", "--duration", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "Unknown channel 'nope'" in err and "demo/sports1" in err
