"""``main.py cluster start|status|stop`` and ``--on-cluster`` backfill and spot-check, as an
operator types them, on the embedded demo stack and a real local Ray head."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT

GAME = "mls-2026-cup-r1-sea-lafc"


@pytest.mark.timeout(900)
def test_demo_cluster_backfills_and_spot_checks_from_the_cli(tmp_path: Path) -> None:
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
            timeout=600,
        )

    try:
        none = run("cluster", "status")
        assert none.returncode == 2 and "main.py cluster start" in none.stderr
        refused = run("backfill", "--game", GAME, "--on-cluster")
        assert refused.returncode == 2 and "no local Ray head runs" in refused.stderr

        started = run("cluster", "start", "--num-cpus", "2")
        assert started.returncode == 0, started.stderr
        assert "Local Ray head at http://127.0.0.1:" in started.stdout
        status = run("cluster", "status", "--json")
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        assert doc["local"] and doc["nodes"] == 1 and doc["cpus_total"] == 2
        assert doc["ray_version"] == "2.60.0"

        backfill = run("backfill", "--game", GAME, "--on-cluster")
        assert backfill.returncode == 0, backfill.stdout + backfill.stderr
        assert "1 of 1 backfill(s) succeeded on the cluster" in backfill.stdout
        assert f"[{GAME}] succeeded on " in backfill.stdout
        listed = json.loads(run("catalog", "list", "--json").stdout)
        assert {g["id"]: g["state"] for g in listed}[GAME] == "v1.5"

        spot = run("spotcheck", "--game", GAME, "--on-cluster", "--json")
        assert spot.returncode == 0, spot.stdout + spot.stderr
        verdict = json.loads(spot.stdout)
        assert verdict["verdict"] == "pass" and verdict["games"][0]["game_id"] == GAME
        report = Path(verdict["reports"][0])
        assert report.is_file() and report.parent.name == GAME
        assert (report.parent / "frames.csv").stat().st_size > 1000
    finally:
        stopped = run("cluster", "stop")
        run("demo", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
