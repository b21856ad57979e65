"""The jobs model without Qt: real ffmpeg operations run, queue, cancel, fail, persist and
render on a terminal; the history survives a new runner and a killed console."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from console.cli.progress import CliProgress
from console.paths import jobs_db_path
from services.errors import AccessDenied, PreconditionFailed, Unreachable, describe
from services.job_reporting import JobOutcome
from services.jobs import JobRecord, JobRunner, JobState, JobStore
from services.jobs.eta import EtaEstimator
from services.jobs.model import INTERRUPTED_MESSAGE, format_seconds
from services.jobs.store import JobStoreError
from tests.conftest import PROJECT
from tests.jobs_support import FfmpegOperation, pid_exists

pytestmark = pytest.mark.timeout(60)


def run(coro):
    return asyncio.run(coro)


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "jobs.sqlite3"


def test_cancel_stops_the_running_ffmpeg(store_path):
    async def main():
        runner = JobRunner(JobStore(store_path))
        op = FfmpegOperation(duration=60, readrate=2)
        job = runner.submit("backfill", "g1", "Backfill g1", op, profile="demo")
        await until(lambda: (runner.get(job.id).fraction or 0) > 0)
        pid = op.pids[0]
        assert pid_exists(pid)
        started = time.monotonic()
        assert runner.cancel(job.id)
        record = await runner.wait(job.id)
        assert time.monotonic() - started < 3
        assert record.state is JobState.CANCELLED
        assert not pid_exists(pid)
        assert any("stopping ffmpeg" in line for line in runner.log(job.id))
        assert not runner.cancel(job.id)
        await runner.aclose()
        return record

    record = run(main())
    assert record.finished_at >= record.started_at >= record.created_at
    assert record.profile == "demo"


def test_backfill_limit_keeps_the_second_queued_until_the_first_ends(store_path):
    async def main():
        runner = JobRunner(JobStore(store_path))
        first_op, second_op, check_op = (FfmpegOperation(60, 2) for _ in range(3))
        first = runner.submit("backfill", "g1", "g1", first_op)
        second = runner.submit("backfill", "g2", "g2", second_op)
        check = runner.submit("spotcheck", "g9", "g9", check_op)
        await until(lambda: first_op.pids and check_op.pids)
        await asyncio.sleep(0.5)
        assert runner.get(first.id).state is JobState.RUNNING
        assert runner.get(check.id).state is JobState.RUNNING  # another kind, its own slot
        assert runner.get(second.id).state is JobState.QUEUED
        assert second_op.pids == []
        runner.cancel(first.id)
        await until(lambda: runner.get(second.id).state is JobState.RUNNING)
        await until(lambda: bool(second_op.pids))
        first_done = await runner.wait(first.id)
        assert runner.get(second.id).started_at >= first_done.finished_at
        await runner.aclose()
        finals = [await runner.wait(j.id) for j in (first, second, check)]
        assert [r.state for r in finals] == [JobState.CANCELLED] * 3
        assert not any(pid_exists(p) for p in first_op.pids + second_op.pids + check_op.pids)

    run(main())


def test_a_queued_job_is_cancelled_at_once_and_never_starts(store_path):
    async def main():
        runner = JobRunner(JobStore(store_path), limits={"backfill": 1})
        blocker = FfmpegOperation(60, 2)
        waiting = FfmpegOperation(1, 10)
        runner.submit("backfill", "g1", "g1", blocker)
        queued = runner.submit("backfill", "g2", "g2", waiting)
        assert runner.cancel(queued.id)
        assert runner.get(queued.id).state is JobState.CANCELLED
        await asyncio.sleep(0.3)
        assert waiting.pids == []
        await runner.aclose()

    run(main())


def test_duplicate_submit_returns_the_active_job(store_path):
    async def main():
        runner = JobRunner(JobStore(store_path))
        op = FfmpegOperation(2, 10)
        first = runner.submit("backfill", "g1", "first", op)
        again = runner.submit("backfill", "g1", "second", FfmpegOperation(2, 10))
        assert again.id == first.id and again.title == "first"
        other_kind = runner.submit("spotcheck", "g1", "check", FfmpegOperation(1, 10))
        assert other_kind.id != first.id
        await runner.wait(first.id)
        after = runner.submit("backfill", "g1", "again", FfmpegOperation(1, 10))
        assert after.id != first.id
        await runner.wait(after.id)
        await runner.wait(other_kind.id)
        assert len(op.pids) == 1
        await runner.aclose()

    run(main())


def test_success_reports_progress_and_a_decreasing_eta(store_path):
    changes: list[JobRecord] = []

    async def main():
        runner = JobRunner(JobStore(store_path))
        runner.subscribe(changes.append)
        job = runner.submit("backfill", "g1", "g1", FfmpegOperation(duration=14, readrate=4))
        record = await runner.wait(job.id)
        await runner.aclose()
        return record

    record = run(main())
    assert record.state is JobState.SUCCEEDED
    assert record.fraction == 1.0 and record.eta_seconds is None
    assert record.summary == "350 frames rendered" and record.result == {"frames": 350}
    running = [c for c in changes if c.state is JobState.RUNNING and c.fraction is not None]
    assert running[0].eta_seconds is None  # no estimate from a single sample
    etas = [c.eta_seconds for c in running if c.eta_seconds is not None]
    assert len(etas) >= 3
    assert etas[-1] < etas[0]
    assert etas[0] < 6  # 3.5 s of work in all: the estimate is of the right order
    assert [c.state for c in changes if c.state is not JobState.RUNNING] == [
        JobState.QUEUED,
        JobState.SUCCEEDED,
    ]


@pytest.mark.parametrize(
    "error",
    [
        AccessDenied("The store refused the credentials (403)."),
        PreconditionFailed("games/g1/master.m3u8 changed since the job started (412)."),
        Unreachable("Cannot reach http://127.0.0.1:9 (connection refused)."),
    ],
)
def test_service_errors_fail_the_job_with_the_operator_message(store_path, error):
    async def failing(reporter):
        reporter.progress(0.1, "upload", "1 of 10 objects")
        raise error

    async def main():
        runner = JobRunner(JobStore(store_path))
        record = await runner.wait(runner.submit("backfill", "g1", "g1", failing).id)
        lines = runner.log(record.id)
        await runner.aclose()
        return record, lines

    record, lines = run(main())
    assert record.state is JobState.FAILED
    assert record.error == describe(error) and str(error) in record.error
    assert record.fraction == 0.1
    assert lines == [f"failed: {describe(error)}"]


def test_a_failing_ffmpeg_is_a_media_error(store_path, tmp_path):
    async def main():
        runner = JobRunner(JobStore(store_path))
        op = FfmpegOperation(source=str(tmp_path / "missing.mp4"))
        record = await runner.wait(runner.submit("backfill", "g1", "g1", op).id)
        await runner.aclose()
        return record

    record = run(main())
    assert record.state is JobState.FAILED
    assert "ffmpeg failed" in record.error and "No such file" in record.error
    assert "spot-check" in record.error  # console.errors advice for MediaError


def test_an_unexpected_exception_never_shows_a_traceback(store_path):
    async def broken(reporter):
        raise ValueError("bad ladder row 3")

    async def main():
        runner = JobRunner(JobStore(store_path))
        record = await runner.wait(runner.submit("backfill", "g1", "g1", broken).id)
        lines = runner.log(record.id)
        await runner.aclose()
        return record, lines

    record, lines = run(main())
    assert record.state is JobState.FAILED
    assert record.error.startswith("Unexpected error (ValueError: bad ladder row 3)")
    assert "Traceback" not in record.error
    assert lines[0].startswith("Traceback") and "bad ladder row 3" in lines[-1]


def test_history_and_logs_survive_a_new_runner(store_path):
    async def first_session():
        runner = JobRunner(JobStore(store_path))
        job = runner.submit("backfill", "g1", "Backfill g1", FfmpegOperation(2, 10), profile="prod")
        await runner.wait(job.id)
        await runner.aclose()
        runner.store.close()
        return job.id

    job_id = run(first_session())
    store = JobStore(store_path)
    try:
        assert store.recovered == []
        [record] = store.history()
        assert record.id == job_id and record.state is JobState.SUCCEEDED
        assert (record.kind, record.target, record.title, record.profile) == (
            "backfill",
            "g1",
            "Backfill g1",
            "prod",
        )
        assert record.result == {"frames": 50} and record.fraction == 1.0
        lines = store.log_lines(job_id)
        assert lines[0].startswith("ffmpeg started") and lines[-1] == "ffmpeg done, 50 frames"
        assert JobRunner(store).history()[0] == record
    finally:
        store.close()


CHILD = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from services.jobs import JobRunner, JobStore

    async def forever(reporter):
        reporter.progress(0.25, "encode", "working")
        await asyncio.sleep(3600)

    async def main():
        runner = JobRunner(JobStore(Path(sys.argv[1])))
        running = runner.submit("backfill", "g1", "g1", forever)
        queued = runner.submit("backfill", "g2", "g2", forever)
        await asyncio.sleep(0.2)
        runner.store.flush()
        print(running.id, queued.id, flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
""")


def test_jobs_of_a_killed_console_are_marked_interrupted(store_path):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store_path)],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        running_id, queued_id = child.stdout.readline().split()
        alive = JobStore(store_path)  # the other console is still alive: leave its jobs be
        assert alive.recovered == []
        assert alive.get(running_id).state is JobState.RUNNING
        assert alive.get(running_id).fraction == 0.25
        alive.close()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    store = JobStore(store_path)
    try:
        assert {r.id for r in store.recovered} == {running_id, queued_id}
        for job_id in (running_id, queued_id):
            record = store.get(job_id)
            assert record.state is JobState.INTERRUPTED
            assert record.error == INTERRUPTED_MESSAGE
            assert record.finished_at is not None
    finally:
        store.close()
    assert JobStore(store_path).recovered == []  # marked once


def test_the_log_keeps_the_newest_lines_per_job(store_path):
    async def chatty(reporter):
        for n in range(200):
            reporter.log(f"line {n}")
            if n % 50 == 0:
                await asyncio.sleep(0)
        return JobOutcome("ok")

    async def main():
        runner = JobRunner(JobStore(store_path, log_cap=50))
        job = runner.submit("spotcheck", "g1", "g1", chatty)
        await runner.wait(job.id)
        lines = runner.log(job.id)
        await runner.aclose()
        runner.store.close()
        return job.id, lines

    job_id, lines = run(main())
    assert lines == [f"line {n}" for n in range(150, 200)]
    store = JobStore(store_path, log_cap=50)
    try:
        assert store.log_lines(job_id) == lines
        count = sqlite3.connect(store_path).execute("SELECT COUNT(*) FROM job_logs").fetchone()
        assert count == (50,)
    finally:
        store.close()


def test_the_store_is_in_the_data_dir_and_refuses_a_newer_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEO_OPS_DATA_DIR", str(tmp_path / "data"))
    store = JobStore(jobs_db_path())
    assert store.path == tmp_path / "data" / "jobs.sqlite3"
    store.close()
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(JobStoreError, match="newer console"):
        JobStore(jobs_db_path())
    (tmp_path / "junk.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(JobStoreError, match="not a job history"):
        JobStore(tmp_path / "junk.sqlite3")


def test_eta_estimator_follows_a_steady_rate_and_restarts_on_a_new_stage():
    eta = EtaEstimator()
    assert eta.update(0.0, 0.0) is None
    assert eta.update(0.5, 0.05) is None  # not enough signal yet
    estimates = [eta.update(t / 2, t / 20) for t in range(2, 12)]
    assert estimates[0] is not None
    assert estimates[-1] == pytest.approx((1 - 0.55) / 0.1, rel=0.01)
    assert estimates == sorted(estimates, reverse=True)
    assert eta.update(6.0, 0.1) is None  # went back: a new stage
    assert eta.update(6.5, None) is None


def test_format_seconds():
    assert [format_seconds(s) for s in (None, -1, 4, 72, 3725)] == [
        "",
        "",
        "4 s",
        "1 m 12 s",
        "1 h 2 m",
    ]


def test_cli_progress_plain_output_is_throttled(store_path):
    out = io.StringIO()

    async def main():
        runner = JobRunner(JobStore(store_path))
        with CliProgress(runner, out, tty=False, interval_s=1.0):
            job = runner.submit("backfill", "g1", "Backfill g1", FfmpegOperation(12, 4))
            await runner.wait(job.id)
            failed = runner.submit(
                "backfill", "g2", "g2", FfmpegOperation(source=os.devnull + "/missing")
            )
            await runner.wait(failed.id)
        await runner.aclose()

    run(main())
    lines = out.getvalue().splitlines()
    progress = [line for line in lines if "%" in line]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert 1 <= len(progress) <= 5  # 3 s of progress at ~5 reports/s, one line per s
    assert lines[0] == "backfill g1 queued: Backfill g1"
    assert "backfill g1 done in" in out.getvalue() and "300 frames rendered" in out.getvalue()
    assert any(line.startswith("backfill g2 FAILED") and "ffmpeg failed" in line for line in lines)
    assert any(line == "  g1 | ffmpeg done, 300 frames" for line in lines)


def test_cli_progress_redraws_one_line_per_job_on_a_tty(store_path):
    out = io.StringIO()

    async def main():
        runner = JobRunner(JobStore(store_path))
        with CliProgress(runner, out, tty=True, show_log=False):
            job = runner.submit("backfill", "g1", "g1", FfmpegOperation(6, 4))
            runner.submit("backfill", "g2", "g2", FfmpegOperation(60, 4))
            await until(lambda: (runner.get(job.id).fraction or 0) > 0.5)
            await runner.aclose()

    run(main())
    text = out.getvalue()
    assert "\r\x1b[1A\x1b[J" in text  # two lines (g1 running, g2 queued) redrawn in place
    assert "backfill g1 [" in text and "backfill g2 queued" in text
    assert "% encode:" in text
    assert "backfill g2 cancelled" in text
    assert text.endswith("\n")


def test_reports_from_a_worker_thread_reach_the_job(store_path):
    async def threaded(reporter):
        def work():
            reporter.progress(0.5, "hash", "from a worker thread")
            reporter.log("hashed in a thread")

        await asyncio.to_thread(work)
        await asyncio.sleep(0.05)
        return JobOutcome("ok")

    async def main():
        runner = JobRunner(JobStore(store_path))
        changes: list[JobRecord] = []
        runner.subscribe(changes.append)
        job = runner.submit("spotcheck", "g1", "g1", threaded)
        await runner.wait(job.id)
        lines = runner.log(job.id)
        await runner.aclose()
        return changes, lines

    changes, lines = run(main())
    assert any(c.detail == "from a worker thread" for c in changes)
    assert lines == ["hashed in a thread"]


def test_submit_needs_a_running_loop(store_path):
    runner = JobRunner(JobStore(store_path))
    with pytest.raises(RuntimeError):
        runner.submit("backfill", "g1", "g1", FfmpegOperation())
    assert runner.jobs() == [] and runner.store.history() == []
    runner.store.close()
