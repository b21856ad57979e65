"""Crash safety: `main.py backfill` in its own process group, SIGKILLed (with its ffmpeg)
at four named points (during the encode, mid-upload, after the ledger, after master.v1) and
at ``KILL_POINTS`` points drawn at random over the job's wall time; after each kill the game
still plays v1, and a re-run finishes with exactly the objects of an uninterrupted run.

Kill anywhere (``test_killed_anywhere_...``, first in the module so that the reference run
is measured just before it): the module's reference run, an uninterrupted backfill of the
short v1 game (``make_short_v1``), measures the job's wall time W (from starting the CLI
to its exit). ``random.Random(seed)`` draws ``KILL_POINTS`` fractions of W (seed ``SEED``,
or ``$VIDEO_OPS_CRASH_SEED``); the seed fixes the fractions, not the seconds, so it hits
the same moments of the job on a faster or slower machine.

The points are chained on one game, in the order drawn: the CLI is started, SIGKILLed (its
whole process group) at the point's second, checked, and the next point's run is the
resume of that killed state, so a kill also lands in a resume (one that re-encodes and
keeps the stored objects, or one that resumes from a stored ledger). A fresh game for
every point would add its own re-run to completion (about W) per point, twice the module's
budget (~4 minutes on a 2-core machine); the chain costs the killed runs (the sum of the
points, about 10 W) and one re-run. A game's chain ends when it is complete (its run
finished before its point, or the kill came after master.m3u8 was published): its last
run is compared with the reference, and the next point starts on a fresh game. The
encode restarts in every run (only the uploads resume), so most points land in the
encode or the upload; the named points below hold the job exactly after the ledger and
after the anchor. After every kill:

- no process of the killed group is alive (the ffmpeg included);
- ``master.m3u8`` holds the v1 bytes or the complete multivariant of the reference run;
- the v1 objects are the uploaded bytes and the v1 playlist decodes whole (every frame);
  a stored anchor equals the v1 bytes, a stored ledger's objects are all stored with its
  SHA-256s, and a multivariant master has both behind it;

and the game's final re-run ends with the reference's objects (every key of the game and
its SHA-256, the ledger equal but for its game, job and time). Each point's record (seed,
index, fraction, seconds, the phase the kill caught: startup / encode / upload / verify /
ledger / anchor / publish / master written, or finished before the kill, and what was
stored) is printed (visible with ``-s``), written to ``kill_anywhere.json`` in the test's
tmp dir and to the JUnit report (``record_testsuite_property``); a failing point is named
by seed, index and seconds. A machine slower during the chain than during the reference
run shifts the points towards the encode, a faster one past the end ("finished before the
kill"); at least a quarter of the points must catch a running job.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
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
    wait_group_gone,
)
from tests.conftest import PROJECT, s3_client, upload_game
from tests.file_keyring import ENV as KEYRING_ENV

pytestmark = pytest.mark.timeout(600)
PROFILE = "crash-test"
SEED = 1313
"""The kill-anywhere seed (issue 13); ``$VIDEO_OPS_CRASH_SEED`` overrides it."""
SEED_ENV = "VIDEO_OPS_CRASH_SEED"
KILL_POINTS = 20
LEDGER = "abr/renditions.json"
_STAGE_LINE = re.compile(r"^backfill \S+ \[[#?-]+\]\s+\d+% (\w+)")


class Child:
    """The CLI environment: its own data/config dirs, a profile on the test bucket whose
    keys sit in a file keyring the child can read."""

    def __init__(self, root: Path, config) -> None:
        self.config = config
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
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

    def start(self, game: str, hold: str = "", log: Path | None = None) -> subprocess.Popen:
        """``main.py backfill --game game --yes`` in a new session (its own process
        group); its output on a pipe, or in the file ``log``."""
        env = dict(self.env)
        if hold:
            env["VIDEO_OPS_TEST_HOLD_AFTER"] = hold
        argv = [sys.executable, "main.py", "backfill", "--game", game, "--yes"]
        if log is None:
            out = subprocess.PIPE
        else:
            out = log.open("w")
        try:
            return subprocess.Popen(
                argv,
                cwd=PROJECT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        finally:
            if log is not None:
                out.close()

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

    def game_digest(self, game: str) -> dict[str, str]:
        """SHA-256 of every object of the game by relative key (v1 objects, anchor, master,
        rungs), the ledger excepted (it names its game, job and time)."""
        prefix = f"games/{game}/"
        return {
            k[len(prefix) :]: hashlib.sha256(self.read(k)).hexdigest()
            for k in self.keys(prefix)
            if k != prefix + LEDGER
        }

    def ledger_essence(self, game: str) -> dict:
        """The stored ledger with what names this game, job and moment taken out (its
        game id, job id and timestamps; keys relative to the game), so two games' ledgers
        compare equal when they describe the same encode."""
        prefix = f"games/{game}/"
        doc = json.loads(self.read(prefix + LEDGER).decode().replace(prefix, "games/*/"))
        for row in (doc, *doc["renditions"]):
            for name in ("game_id", "job_id", "created_at"):
                row.pop(name, None)
        return doc


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


@dataclass(frozen=True)
class CrashEnv:
    """The module's bucket and CLI child, the short v1 folder, and the reference: the
    uninterrupted backfill of game "reference" (its final hashes, its wall time)."""

    child: Child
    short: Path
    reference: dict[str, str]
    wall_s: float


@pytest.fixture(scope="module")
def crash_env(moto_endpoint, tmp_path_factory) -> CrashEnv:
    from services.storage import StorageConfig

    config = StorageConfig(moto_endpoint, "crash-bucket-1", "test", "test-secret")
    s3_client(config).create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    short = make_short_v1(tmp_path_factory.mktemp("crash-v1"))
    child = Child(tmp_path_factory.mktemp("crash-child"), config)
    upload_game(config, "reference", short)
    started = time.monotonic()
    child.run("reference")
    wall_s = time.monotonic() - started
    return CrashEnv(child, short, child.final_hashes("reference"), wall_s)


def _v1_packets(gateway, key: str) -> int:
    return len(probe_video_packets(gateway.url_for(key)))


# --- kill anywhere -----------------------------------------------------------------------


def crash_seed() -> int:
    """``SEED``, or the integer in ``$VIDEO_OPS_CRASH_SEED``."""
    return int(os.environ.get(SEED_ENV) or SEED)


def kill_fractions(seed: int, count: int = KILL_POINTS) -> list[float]:
    """``count`` kill points as fractions of the job's wall time, in (0, 1), in the order
    ``random.Random(seed)`` draws them."""
    rng = random.Random(seed)
    return [rng.uniform(0.001, 0.999) for _ in range(count)]


@dataclass
class PointRecord:
    """What one kill point did: where it was (``index``, ``fraction`` of W, ``seconds``
    after the start), on which ``game`` and run of its chain, when the kill landed
    (``killed_at_s``, None: the run finished by itself first), the last stage the run
    printed, whether it resumed from a stored ledger, the ``phase`` the kill caught, what
    was ``stored`` after it, and the ``problems`` the checks found (empty: ok)."""

    index: int
    fraction: float
    seconds: float
    game: str
    run: int
    killed_at_s: float | None = None
    stage: str = "starting"
    resumed_from_ledger: bool = False
    phase: str = ""
    stored: dict = field(default_factory=dict)
    new_rung_objects: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"point {self.index} at {self.seconds:.2f} s (fraction {self.fraction:.4f})"

    def line(self) -> str:
        when = "finished first" if self.killed_at_s is None else f"killed {self.killed_at_s:.2f}"
        verdict = "ok" if not self.problems else "FAILED: " + "; ".join(self.problems)
        resumed = ", resumed from the ledger" if self.resumed_from_ledger else ""
        return (
            f"#{self.index:2d} {self.seconds:6.2f} s ({self.fraction:.4f} W) {self.game} "
            f"run {self.run}: {when}; stage {self.stage}{resumed}; phase {self.phase}; "
            f"stored {self.stored}; {verdict}"
        )


class KillChain:
    """Runs the kill points one after the other on a chain of games (module docstring):
    one PlaybackGateway for the v1 probes, one log file per run under ``logs``."""

    def __init__(self, env: CrashEnv, gateway, logs: Path) -> None:
        self.env = env
        self.child = env.child
        self.gateway = gateway
        self.logs = logs
        self.v1 = (env.short / "master.m3u8").read_bytes()
        self.v1_files = {  # the v1 media objects; master.m3u8 is checked by state()
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in env.short.iterdir()
            if p.name != "master.m3u8"
        }
        ref = self.child
        self.complete_master = ref.read("games/reference/master.m3u8")
        self.reference_digest = ref.game_digest("reference")
        self.reference_ledger = ref.ledger_essence("reference")
        self.rung_objects = sum(1 for k in self.reference_digest if k.startswith("abr/"))
        self.games = 0
        self.game = ""
        self.runs = 0
        self.final_checks: list[str] = []

    def fresh_game(self) -> None:
        self.games += 1
        self.game = f"anywhere-{self.games}"
        self.runs = 0
        upload_game(self.child.config, self.game, self.env.short)

    def kill_at(self, index: int, fraction: float) -> PointRecord:
        """Start the current game's backfill, SIGKILL its group ``fraction`` x W seconds
        after the start (unless it exits first), check the invariants, and end the game's
        chain when it is complete."""
        if not self.game:
            self.fresh_game()
        self.runs += 1
        seconds = fraction * self.env.wall_s
        rec = PointRecord(index, fraction, seconds, self.game, self.runs)
        before = self.state()
        log = self.logs / f"{index:02d}-{self.game}-run{self.runs}.log"
        started = time.monotonic()
        running = self.child.start(self.game, log=log)
        try:
            running.wait(timeout=max(0.0, started + seconds - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(running.pid, signal.SIGKILL)
            rec.killed_at_s = time.monotonic() - started
            running.wait(timeout=30)
            survivors = wait_group_gone(running.pid) or ffmpeg_pids(self.child.work)
            if survivors:
                rec.problems.append(f"processes {survivors} survived the kill")
        out = log.read_text()
        if rec.killed_at_s is None and running.returncode != 0:
            rec.problems.append(f"the run failed by itself (exit {running.returncode})")
        stages = [m.group(1) for m in map(_STAGE_LINE.match, out.splitlines()) if m]
        rec.stage = stages[-1] if stages else "starting"
        rec.resumed_from_ledger = "resuming: the stored ledger verifies" in out
        after = self.state()
        rec.stored = after
        rec.new_rung_objects = after["rung_objects"] - before["rung_objects"]
        rec.phase = self.phase(rec, out, before, after)
        rec.problems += self.check_invariants(after)
        if rec.killed_at_s is None or after["master"] == "multivariant":
            rec.problems += self.finish_game(rerun=rec.killed_at_s is not None)
        return rec

    def state(self) -> dict:
        """What the current game holds: master ("v1", "multivariant" or "other"), how
        many rung objects of the reference's, and whether the ledger and anchor exist."""
        prefix = f"games/{self.game}/"
        keys = self.child.keys(prefix)
        master = self.child.read(prefix + "master.m3u8")
        kind = {self.v1: "v1", self.complete_master: "multivariant"}.get(master, "other")
        rungs = [k for k in keys if k.startswith(prefix + "abr/") and k != prefix + LEDGER]
        return {
            "master": kind,
            "rung_objects": len(rungs),
            "of": self.rung_objects,
            "ledger": prefix + LEDGER in keys,
            "anchor": prefix + "master.v1.m3u8" in keys,
        }

    @staticmethod
    def phase(rec: PointRecord, out: str, before: dict, after: dict) -> str:
        """The step the killed run had reached: its last durable write, else the stage it
        had printed, else whether it had started the encode (``out``: its output). The
        encode stage is printed only with ffmpeg's first progress report, well into the
        encode, so the log line logged as ffmpeg starts ("...; encoding 720p, ...") marks it."""
        if rec.killed_at_s is None:
            return "finished before the kill"
        if after["master"] == "multivariant":
            return "master written"
        written = [
            (rec.stage == "publish", "publish (master.m3u8 not written yet)"),
            (after["anchor"] and not before["anchor"], "anchor written"),
            (rec.stage == "anchor", "anchor (being written)"),
            (after["ledger"] and not before["ledger"], "ledger written"),
            (rec.stage == "ledger", "ledger (being written)"),
            (rec.resumed_from_ledger, "resume (the stored ledger verified)"),
            (rec.stage == "verify", "verify"),
            (rec.new_rung_objects > 0 or rec.stage == "upload", "upload"),
            ("; encoding " in out, "encode"),
        ]
        return next((name for hit, name in written if hit), "startup")

    def check_invariants(self, state: dict) -> list[str]:
        """The after-kill checks (module docstring); one line per broken invariant."""
        prefix = f"games/{self.game}/"
        problems = []
        if state["master"] == "other":
            problems.append("master.m3u8 is neither the v1 bytes nor the complete multivariant")
        for name, sha in self.v1_files.items():
            if hashlib.sha256(self.child.read(prefix + name)).hexdigest() != sha:
                problems.append(f"the v1 object {name} changed")
        if state["anchor"] and self.child.read(prefix + "master.v1.m3u8") != self.v1:
            problems.append("master.v1.m3u8 differs from the v1 playlist")
        if state["master"] == "multivariant" and not (state["anchor"] and state["ledger"]):
            problems.append("master.m3u8 is published without its anchor and ledger")
        if state["ledger"]:
            problems += self.ledger_problems()
        v1_key = prefix + ("master.m3u8" if state["master"] == "v1" else "master.v1.m3u8")
        packets = _v1_packets(self.gateway, v1_key)
        if packets != SHORT_V1_FRAMES:
            problems.append(f"v1 decodes {packets} of {SHORT_V1_FRAMES} frames")
        return problems

    def ledger_problems(self) -> list[str]:
        """Every object the stored ledger records must be stored with its SHA-256."""
        ledger = json.loads(self.child.read(f"games/{self.game}/{LEDGER}"))
        stored = self.child.keys(f"games/{self.game}/abr/")
        problems = []
        for row in ledger["renditions"]:
            for obj in row["objects"]:
                if obj["key"] not in stored:
                    problems.append(f"the ledger records {obj['key']}, which is not stored")
                elif hashlib.sha256(self.child.read(obj["key"])).hexdigest() != obj["sha256"]:
                    problems.append(f"{obj['key']} is stored with other bytes than its ledger's")
        return problems

    def finish_game(self, *, rerun: bool) -> list[str]:
        """Run the current game to completion (unless its last run completed) and compare
        it with the reference; the next point starts on a fresh game."""
        problems = []
        if rerun:
            started = time.monotonic()
            running = self.child.start(self.game, log=self.logs / f"{self.game}-final.log")
            try:
                running.wait(timeout=300)
            except subprocess.TimeoutExpired:
                kill_tree(running)  # reported below as a failed re-run
            if running.returncode != 0:
                problems.append(f"the re-run of {self.game} failed (exit {running.returncode})")
            took = time.monotonic() - started
            self.final_checks.append(f"{self.game}: re-run to completion in {took:.2f} s")
        if self.child.game_digest(self.game) != self.reference_digest:
            problems.append(f"{self.game}: the final objects differ from the reference run's")
        elif self.child.ledger_essence(self.game) != self.reference_ledger:
            problems.append(f"{self.game}: the final ledger differs from the reference run's")
        else:
            self.final_checks.append(f"{self.game}: equal to the uninterrupted run")
        self.game = ""
        return problems


@pytest.mark.timeout(1200)  # ~12 W (20 killed runs, the re-runs): 3 min on 2 idle cores
def test_killed_anywhere_keeps_v1_playing_and_the_rerun_matches_an_uninterrupted_run(
    crash_env, tmp_path, record_testsuite_property
) -> None:
    from services.gateway import PlaybackGateway

    seed = crash_seed()
    fractions = kill_fractions(seed)
    print(f"\nkill anywhere: seed {seed} ({SEED_ENV}), W = {crash_env.wall_s:.2f} s")
    logs = tmp_path / "logs"
    logs.mkdir()
    gateway = PlaybackGateway(crash_env.child.config)
    gateway.start()
    try:
        chain = KillChain(crash_env, gateway, logs)
        records = []
        for index, fraction in enumerate(fractions):
            try:
                records.append(chain.kill_at(index, fraction))
            except Exception as exc:  # named like any failing point; the chain stops here
                seconds = fraction * crash_env.wall_s
                records.append(PointRecord(index, fraction, seconds, chain.game, chain.runs))
                records[-1].phase = "unknown (the point raised)"
                records[-1].problems.append(f"raised {exc!r}")
                print(records[-1].line(), flush=True)
                break
            print(records[-1].line(), flush=True)
        final_problems = chain.finish_game(rerun=True) if chain.game else []
    finally:
        gateway.stop()
    for line in chain.final_checks:
        print(line)
    report = {
        "seed": seed,
        "wall_s": round(crash_env.wall_s, 3),
        "points": [asdict(r) for r in records],
        "final": chain.final_checks,
        "final_problems": final_problems,
    }
    (tmp_path / "kill_anywhere.json").write_text(json.dumps(report, indent=2))
    record_testsuite_property("kill_anywhere", json.dumps(report))
    seconds = ", ".join(f"{r.seconds:.2f}" for r in records)
    print(f"seed {seed}, W {crash_env.wall_s:.2f} s, points (s): {seconds}")
    failures = [f"seed {seed}, {r.name}: {p}" for r in records for p in r.problems]
    failures += [f"seed {seed}, final re-run: {p}" for p in final_problems]
    assert not failures, "\n".join(failures)
    killed = sum(r.killed_at_s is not None for r in records)
    assert killed >= KILL_POINTS // 4, (
        f"seed {seed}: only {killed} of {KILL_POINTS} points caught a running job "
        f"(W = {crash_env.wall_s:.2f} s is far off this machine's runs)"
    )


# --- the four named points --------------------------------------------------------------


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
    child, short, reference = crash_env.child, crash_env.short, crash_env.reference
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
        packets = _v1_packets(gateway, f"games/{game}/master.m3u8")
    finally:
        gateway.stop()
    assert packets == SHORT_V1_FRAMES, f"{point}: v1 no longer plays whole"

    out = child.run(game)
    assert ("resuming: the stored ledger verifies" in out) == resumes_from_ledger, out
    assert child.final_hashes(game) == reference, f"{point}: the re-run differs"
    ledger = json.loads(child.read(f"games/{game}/abr/renditions.json"))
    for row in ledger["renditions"]:
        for obj in row["objects"]:
            assert hashlib.sha256(child.read(obj["key"])).hexdigest() == obj["sha256"]
