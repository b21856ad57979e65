"""Real operations for the jobs tests: the pinned ffmpeg rendering a test pattern, with
progress parsed from ``-progress`` and cancellation that stops the process."""

from __future__ import annotations

import asyncio
import os

import imageio_ffmpeg

from services.errors import MediaError
from services.job_reporting import JobOutcome, JobReporter


class FfmpegOperation:
    """``async def __call__(reporter)``: render ``duration`` s of ``testsrc`` to the null
    muxer at ``readrate`` x realtime (so it takes ``duration / readrate`` s), reporting
    progress. ``pids`` lists the ffmpeg processes it started; ``source`` replaces the
    lavfi input (a missing file makes ffmpeg fail)."""

    def __init__(
        self, duration: float = 30.0, readrate: float = 4.0, source: str | None = None
    ) -> None:
        self.duration = duration
        self.readrate = readrate
        self.source = source
        self.pids: list[int] = []
        self.started = asyncio.Event()

    def command(self) -> list[str]:
        source = (
            ["-i", self.source]
            if self.source
            else ["-f", "lavfi", "-i", f"testsrc=duration={self.duration}:size=160x120:rate=25"]
        )
        return [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-readrate",
            str(self.readrate),
            *source,
            "-f",
            "null",
            "-",
            "-progress",
            "pipe:1",
            "-stats_period",
            "0.2",
        ]

    async def __call__(self, reporter: JobReporter) -> JobOutcome:
        proc = await asyncio.create_subprocess_exec(
            *self.command(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        self.pids.append(proc.pid)
        self.started.set()
        reporter.log(f"ffmpeg started (pid {proc.pid})")
        frames = 0
        try:
            assert proc.stdout is not None and proc.stderr is not None
            async for raw in proc.stdout:
                key, _, value = raw.decode().strip().partition("=")
                if key == "frame":
                    frames = int(value)
                elif key == "out_time_us" and value.isdigit():
                    seconds = int(value) / 1e6
                    reporter.progress(
                        seconds / self.duration,
                        "encode",
                        f"{seconds:.1f} of {self.duration:.1f} s rendered",
                    )
            errors = (await proc.stderr.read()).decode().strip()
            if await proc.wait() != 0:
                raise MediaError(f"ffmpeg failed: {errors.splitlines()[-1] if errors else '?'}")
        except asyncio.CancelledError:
            reporter.log("cancelled: stopping ffmpeg")
            await stop(proc)
            raise
        reporter.log(f"ffmpeg done, {frames} frames")
        return JobOutcome(summary=f"{frames} frames rendered", result={"frames": frames})


async def stop(proc: asyncio.subprocess.Process, grace_s: float = 3.0) -> None:
    """Terminate ``proc``, kill it if it is still there after ``grace_s``, reap it."""
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), grace_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def pid_exists(pid: int) -> bool:
    """Whether a process (or an unreaped zombie) with ``pid`` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
