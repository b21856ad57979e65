"""Crash safety: `main.py backfill` in its own process group, SIGKILLed (with its ffmpeg)
during the encode, mid-upload, after the ledger and after master.v1; after each kill the
game still plays v1, and a re-run finishes with exactly the objects of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.profiles import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Profile, save_profile
from services.credentials import SERVICE
from tests.backfill_support import (
    SHORT_V1_FRAMES,
    ffmpeg_pids,
    freeze_ffmpeg_at_first_segment,
    make_short_v1,
    probe_video_packets,
    read_object,
    stored_etags,
)
from tests.conftest import PROJECT, s3_client, upload_game
from tests.file_keyring import ENV as KEYRING_ENV

pytestmark = pytest.mark.timeout(600)
PROFILE = "crash-test"


class Child:
    """The CLI environment: its own data/config dirs, a profile on the test bucket whose
    keys sit in a file keyring the child can read."""

    def __init__(self, root: Path, config) -> None:
        self.config = config
        self.env = {
            **os.environ,
            "VIDEO_OPS_DATA_DIR": str(root / "data"),
            "VIDEO_OPS_CONFIG_DIR": str(root / "config"),
            "PYTHON_KEYRING_BACKEND": "tests.file_keyring.JsonFileKeyring",
            KEYRING_ENV: str(root / "keyring.json"),
        }
        (root / "config").mkdir(parents=True, exist_ok=True)
        save_profile(
            Profile(PROFILE, config.endpoint_url, config.bucket),
            make_default=True,
            path=root / "config" / "profiles.toml",
        )
        users = {
            f"{PROFILE}:{ACCESS_KEY_ID}": config.access_key_id,
            f"{PROFILE}:{SECRET_ACCESS_KEY}": config.secret_access_key,
        }
        (root / "keyring.json").write_text(json.dumps({SERVICE: users}))
        self.work = root / "data" / "backfill-work"

    def start(self, game: str, hold: str = "") -> subprocess.Popen:
        env = dict(self.env)
        if hold:
            env["VIDEO_OPS_TEST_HOLD_AFTER"] = hold
        return subprocess.Popen(
            [sys.executable, "main.py", "backfill", "--game", game, "--yes"],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def run(self, game: str) -> str:
        child = self.start(game)
        out, _ = child.communicate(timeout=300)
        assert child.returncode == 0, out
        return out

    def keys(self, prefix: str) -> dict[str, str]:
        return stored_etags(self.config, prefix)

    def read(self, key: str) -> bytes:
        return read_object(self.config, key)

    def final_hashes(self, game: str) -> dict[str, str]:
        """SHA-256 of the rung objects, rung playlists, master and anchor, by relative key."""
        prefix = f"games/{game}/"
        keys = [k for k in self.keys(prefix + "abr/") if not k.endswith("renditions.json")]
        keys += [prefix + "master.m3u8", prefix + "master.v1.m3u8"]
        return {k[len(prefix) :]: hashlib.sha256(self.read(k)).hexdigest() for k in keys}


def kill_tree(child: subprocess.Popen) -> None:
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=30)


def wait_for_line(child: subprocess.Popen, needle: str, timeout_s: float = 120) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"never printed {needle!r}:\n{''.join(seen)}")


@pytest.fixture(scope="module")
def crash_env(moto_endpoint, tmp_path_factory):
    from services.storage import StorageConfig

    config = StorageConfig(moto_endpoint, "crash-bucket-1", "test", "test-secret")
    s3_client(config).create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    short = make_short_v1(tmp_path_factory.mktemp("crash-v1"))
    child = Child(tmp_path_factory.mktemp("crash-child"), config)
    upload_game(config, "reference", short)
    child.run("reference")
    return child, short, child.final_hashes("reference")


def _killed_during_encode(child: Child, game: str) -> None:
    running = child.start(game)
    wait_for_line(running, "encode:")
    assert not child.keys(f"games/{game}/abr/renditions.json")
    kill_tree(running)


def _killed_mid_upload(child: Child, game: str) -> None:
    running = child.start(game)
    assert freeze_ffmpeg_at_first_segment(child.work), "no ffmpeg at the first segment"
    deadline = time.monotonic() + 120
    while len(child.keys(f"games/{game}/abr/")) < 2:  # init.mp4 + seg_00000.m4s
        assert running.poll() is None and time.monotonic() < deadline, "finished too early"
        time.sleep(0.05)
    kill_tree(running)


def _held_after(stage: str):
    def kill(child: Child, game: str) -> None:
        running = child.start(game, hold=stage)
        wait_for_line(running, f"HOLD {stage}")
        kill_tree(running)

    return kill


@pytest.mark.parametrize(
    ("point", "kill", "resumes_from_ledger"),
    [
        ("during encode", _killed_during_encode, False),
        ("mid-upload", _killed_mid_upload, False),
        ("after the ledger", _held_after("ledger"), True),
        ("after master.v1", _held_after("anchor"), True),
    ],
)
def test_killed_backfill_keeps_v1_playing_and_a_rerun_matches_an_uninterrupted_run(
    crash_env, point, kill, resumes_from_ledger
) -> None:
    child, short, reference = crash_env
    game = "killed-" + point.replace(" ", "-").replace(".", "")
    upload_game(child.config, game, short)
    v1 = (short / "master.m3u8").read_bytes()
    kill(child, game)
    assert not ffmpeg_pids(child.work), f"{point}: ffmpeg survived the kill"
    assert child.read(f"games/{game}/master.m3u8") == v1, f"{point}: master.m3u8 changed"
    from services.gateway import PlaybackGateway

    gateway = PlaybackGateway(child.config)
    gateway.start()
    try:
        packets = probe_video_packets(gateway.url_for(f"games/{game}/master.m3u8"))
    finally:
        gateway.stop()
    assert len(packets) == SHORT_V1_FRAMES, f"{point}: v1 no longer plays whole"

    out = child.run(game)
    assert ("resuming: the stored ledger verifies" in out) == resumes_from_ledger, out
    assert child.final_hashes(game) == reference, f"{point}: the re-run differs"
    ledger = json.loads(child.read(f"games/{game}/abr/renditions.json"))
    for row in ledger["renditions"]:
        for obj in row["objects"]:
            assert hashlib.sha256(child.read(obj["key"])).hexdigest() == obj["sha256"]
