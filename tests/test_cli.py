"""The CLI: `catalog list` (table and --json) on a profile, and on the embedded demo stack
in a separate process exactly as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main
from tests.conftest import PROJECT, closed_port, upload_game
from tests.gui_support import make_profile

pytestmark = pytest.mark.timeout(240)


def test_catalog_list_json_on_a_profile(storage_config, v1_hls_dir, capsys):
    upload_game(
        storage_config,
        "nfl-a",
        v1_hls_dir,
        meta={"title": "A at B", "league": "NFL", "date": "2026-11-01"},
    )
    upload_game(
        storage_config,
        "nba-b",
        v1_hls_dir,
        skip=("seg_00004.m4s",),
        meta={"title": "C at D", "league": "NBA", "date": "2026-11-02"},
    )
    make_profile("cli-test", storage_config)
    assert main(["--profile", "cli-test", "catalog", "list", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["nfl-a"]["state"] == "v1" and rows["nfl-a"]["league"] == "NFL"
    assert rows["nba-b"]["state"] == "broken" and "seg_00004.m4s" in rows["nba-b"]["reason"]
    assert main(["--profile", "cli-test", "catalog", "list", "--league", "nba"]) == 0
    table = capsys.readouterr().out
    assert "nba-b" in table and "nfl-a" not in table


def test_unknown_profile_is_a_clear_error(capsys):
    assert main(["--profile", "nope", "catalog", "list"]) == 1
    assert "No profile named 'nope'" in capsys.readouterr().err


def test_unreachable_endpoint_is_a_clear_error(capsys, moto_endpoint):
    from services.storage import StorageConfig

    port = closed_port()
    make_profile("dead", StorageConfig(f"http://127.0.0.1:{port}", "b", "k", "s"))
    assert main(["--profile", "dead", "catalog", "list"]) == 1
    err = capsys.readouterr().err
    assert "Cannot reach the store" in err and "Traceback" not in err


def test_catalog_list_on_the_demo_stack_in_a_subprocess(tmp_path: Path):
    # idle 5 s: the server must outlive the gap between `catalog list` and `demo status`
    # (with 1 s it exits at its next 2 s poll, which a loaded machine can lose to)
    env = {
        **os.environ,
        "VIDEO_OPS_DATA_DIR": str(tmp_path / "data"),
        "VIDEO_OPS_CONFIG_DIR": str(tmp_path / "config"),
        "VIDEO_OPS_DEMO_IDLE_SECONDS": "5",
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "main.py", *args],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    try:
        listed = run("catalog", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        games = json.loads(listed.stdout)
        states = {g["state"] for g in games}
        assert {"v1", "partial", "broken"} <= states
        assert len({g["league"] for g in games}) >= 2 and len(games) >= 8
        assert all(set(g) >= {"id", "league", "title", "state"} for g in games)
        status = run("demo", "status")
        assert status.returncode == 0 and "127.0.0.1" in status.stdout
    finally:
        run("demo", "stop")


def test_gui_stays_open_until_its_window_closes(tmp_path: Path):
    """`python main.py` on the demo stack keeps running (regression: qasync's
    run_until_complete ends with QApplication.exit(), which once closed the console at
    once) and exits 0 on SIGTERM."""
    import signal
    import time

    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "VIDEO_OPS_AUDIO": "null",
        "VIDEO_OPS_DATA_DIR": str(tmp_path / "data"),
        "VIDEO_OPS_CONFIG_DIR": str(tmp_path / "config"),
        "VIDEO_OPS_DEMO_IDLE_SECONDS": "1",
    }
    gui = subprocess.Popen(
        [sys.executable, "main.py"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        log = tmp_path / "data" / "console.log"
        while time.monotonic() < deadline and gui.poll() is None:
            if log.exists() and (tmp_path / "data" / "demo" / "stack.json").exists():
                break
            time.sleep(0.5)
        time.sleep(3)
        assert gui.poll() is None, gui.communicate()[1][-2000:]
        gui.send_signal(signal.SIGTERM)
        assert gui.wait(timeout=30) == 0
    finally:
        if gui.poll() is None:
            gui.kill()
        subprocess.run(
            [sys.executable, "main.py", "demo", "stop"],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            timeout=60,
        )
