"""The one media-tool runner (``services.media_tools``) with the real pinned ffmpeg and the
system ffprobe: stopping on cancel and timeout (even a tool that cannot act on SIGTERM),
niceness, death with the parent, redaction, ``-progress`` reports, exit statuses, and
the one ffprobe wrapper."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from fractions import Fraction
from pathlib import Path

import pytest

from services.errors import MediaError, ServiceError
from services.media_tools import runner
from services.media_tools.binaries import ffmpeg_exe, ffmpeg_version
from services.media_tools.probe import probe_rendition
from services.media_tools.runner import ToolTimeout, run_sync, run_tool, tool_name
from tests.conftest import DEMO_CLIP, PROJECT

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

ENDLESS = [
    ffmpeg_exe(),
    "-hide_banner",
    "-nostdin",
    "-loglevel",
    "error",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc=size=64x48:rate=10",
    "-f",
    "null",
    "-",
]
"""An ffmpeg that runs until stopped, at real-time pace (almost no CPU)."""


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_gone(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return False


async def _started(pids: list[int]) -> int:
    while not pids:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    return pids[0]


@linux_only
def test_cancel_stops_the_tool() -> None:
    pids: list[int] = []

    async def go() -> float:
        task = asyncio.ensure_future(run_tool(ENDLESS, on_start=pids.append))
        pid = await _started(pids)
        assert alive(pid)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    elapsed = asyncio.run(go())
    assert not alive(pids[0]), "ffmpeg outlived its cancelled run"
    assert elapsed < runner.TERMINATE_GRACE_S, "SIGTERM alone should have stopped ffmpeg"


@linux_only
def test_cancel_kills_a_tool_that_cannot_act_on_sigterm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "TERMINATE_GRACE_S", 0.5)
    pids: list[int] = []

    async def go() -> float:
        task = asyncio.ensure_future(run_tool(ENDLESS, on_start=pids.append))
        pid = await _started(pids)
        os.kill(pid, signal.SIGSTOP)  # a stopped process leaves SIGTERM pending
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    elapsed = asyncio.run(go())
    assert not alive(pids[0]), "ffmpeg outlived its cancelled run"
    assert 0.45 <= elapsed < 5, f"SIGKILL should come after the grace period ({elapsed:.2f} s)"


@linux_only
def test_a_second_cancel_kills_at_once_and_still_waits_for_the_exit() -> None:
    """A job cancels its tools, then cancels them again while they stop: the tool must be
    gone (not merely signalled) when the run raises."""
    pids: list[int] = []

    async def go() -> tuple[float, bool]:
        task = asyncio.ensure_future(run_tool(ENDLESS, on_start=pids.append))
        pid = await _started(pids)
        os.kill(pid, signal.SIGSTOP)  # SIGTERM alone would not stop it
        started = time.monotonic()
        task.cancel()
        await asyncio.sleep(0.1)  # now in the grace period
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started, alive(pid)

    elapsed, left_alive = asyncio.run(go())
    assert not left_alive, "the run raised before ffmpeg had exited"
    assert elapsed < runner.TERMINATE_GRACE_S, "the second cancel should SIGKILL at once"


@linux_only
def test_a_timeout_raises_a_service_error_and_stops_the_tool() -> None:
    pids: list[int] = []
    with pytest.raises(ToolTimeout) as caught:
        asyncio.run(run_tool(ENDLESS, on_start=pids.append, timeout_s=0.5))
    assert isinstance(caught.value, ServiceError)
    assert str(caught.value) == "ffmpeg did not answer within 0.5 s."
    assert not alive(pids[0])

    sync_pids: list[int] = []
    with pytest.raises(ToolTimeout, match="ffmpeg did not answer within 1 s"):
        run_sync(ENDLESS, on_start=sync_pids.append, timeout_s=1.0)
    assert not alive(sync_pids[0])


@linux_only
def test_the_tool_runs_nicer_than_the_console() -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    seen: list[int] = []

    async def go() -> None:
        pids: list[int] = []
        task = asyncio.ensure_future(run_tool(ENDLESS, on_start=pids.append))
        pid = await _started(pids)
        seen.append(os.getpriority(os.PRIO_PROCESS, pid))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(go())
    assert seen == [min(19, own + runner.TOOL_NICENESS)]


@linux_only
@pytest.mark.parametrize("entry", ["run_sync", "run_tool"])
def test_the_tool_dies_with_the_console(entry: str) -> None:
    """SIGKILL the process that started ffmpeg (no cleanup can run): ffmpeg dies too."""
    start = (
        f"run_sync({ENDLESS!r}, on_start=report)"
        if entry == "run_sync"
        else f"asyncio.run(run_tool({ENDLESS!r}, on_start=report))"
    )
    script = textwrap.dedent(
        f"""
        import asyncio
        from services.media_tools.runner import run_sync, run_tool

        def report(pid):
            print(pid, flush=True)

        {start}
        """
    )
    console = subprocess.Popen(
        [sys.executable, "-c", script], cwd=PROJECT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert console.stdout is not None
        pid = int(console.stdout.readline())
        time.sleep(0.3)
        assert alive(pid)
    finally:
        console.kill()
        console.wait()
    assert wait_gone(pid), "ffmpeg outlived the process that started it"


def test_the_secret_is_removed_from_every_warning_and_failure_is_reported(
    tmp_path: Path,
) -> None:
    secret = f"/s-{uuid.uuid4().hex}"
    missing = f"{tmp_path}{secret}/master.m3u8"
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", missing, "-f", "null", "-"]
    for result in (asyncio.run(run_tool(argv, hide=secret)), run_sync(argv, hide=secret)):
        assert result.code != 0
        assert result.warnings, "ffmpeg said nothing about the missing input"
        assert all(secret not in line for line in result.warnings)
        assert any(f"{tmp_path}/master.m3u8" in line for line in result.warnings)
        assert "No such file" in result.said("")


def test_keep_warnings_bounds_the_kept_lines(tmp_path: Path) -> None:
    argv = [ffmpeg_exe(), "-nostdin", "-i", str(tmp_path / "absent.mp4")]  # banner + error
    every = run_sync(argv, keep_warnings=None)
    last_two = run_sync(argv, keep_warnings=2)
    assert len(every.warnings) > 2
    assert last_two.warnings == every.warnings[-2:]


def test_progress_reports_reach_the_callback() -> None:
    argv = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=10:duration=2",
        "-f",
        "null",
        "-",
    ]
    reports: list[dict[str, str]] = []
    result = asyncio.run(run_tool(argv, on_progress=reports.append))
    assert result.code == 0
    assert result.stdout == b""  # read as reports, not collected
    assert reports, "no -progress report reached the callback"
    assert reports[-1]["progress"] == "end"
    assert reports[-1]["frame"] == "20"
    assert all("out_time_us" in report for report in reports)


def test_stdout_is_collected_and_cwd_is_honoured(tmp_path: Path) -> None:
    argv = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=10:duration=1",
        "-f",
        "framemd5",
        "-",
    ]
    result = asyncio.run(run_tool(argv))
    assert result.code == 0
    assert len([x for x in result.stdout.splitlines() if not x.startswith(b"#")]) == 10
    png = [
        ffmpeg_exe(),
        "-nostdin",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:duration=1",
        "-frames:v",
        "1",
        "frame.png",
    ]
    assert run_sync(png, cwd=tmp_path).code == 0
    assert (tmp_path / "frame.png").stat().st_size > 0


def test_a_tool_that_cannot_start_raises_oserror() -> None:
    with pytest.raises(OSError):
        asyncio.run(run_tool(["/nonexistent/ffmpeg", "-version"]))
    with pytest.raises(OSError):
        run_sync(["/nonexistent/ffprobe", "-version"])


def test_tool_names_and_version() -> None:
    assert tool_name(ffmpeg_exe()) == "ffmpeg"
    assert tool_name("/usr/bin/ffprobe") == "ffprobe"
    assert tool_name("/opt/x/other") == "other"
    assert ffmpeg_version().startswith("ffmpeg version")


def test_probe_streams_and_packets() -> None:
    streams = asyncio.run(probe_rendition(str(DEMO_CLIP)))
    assert (streams.width, streams.height, streams.codec) == (1280, 720, "h264")
    assert streams.frame_rate == Fraction(24) and streams.fps == 24.0
    assert streams.sample_aspect == 1.0 and streams.has_audio
    assert streams.packets == () and streams.audio_start is None  # not asked for

    full = asyncio.run(probe_rendition(str(DEMO_CLIP), packets=True))
    assert full.frames == 1323
    assert full.measured_fps == pytest.approx(24.0, rel=1e-4)  # mp4 durations round
    assert full.duration == pytest.approx(1323 / 24, abs=1e-3)
    assert full.keyframe_times()[0] == 0.0
    assert full.audio_start is not None and full.av_offset is not None
    assert (full.width, full.height, full.frame_rate) == (1280, 720, Fraction(24))


def test_probe_failure_is_a_media_error_without_the_secret(tmp_path: Path) -> None:
    secret = f"/s-{uuid.uuid4().hex}"
    url = f"{tmp_path}{secret}/master.m3u8"
    with pytest.raises(MediaError) as caught:
        asyncio.run(probe_rendition(url, hide=secret, name="games/g/master.m3u8"))
    message = str(caught.value)
    assert message.startswith("games/g/master.m3u8 cannot be read: ffprobe says ")
    assert secret not in message and "No such file" in message
    with pytest.raises(MediaError, match="^The v1 source cannot be decoded: ffprobe says"):
        asyncio.run(probe_rendition(url, failure="The v1 source cannot be decoded"))
