"""Run one media tool (ffmpeg, ffprobe) the way every part of the product does.

Every run, asynchronous (``run_tool``, on the event loop) or synchronous (``run_sync``,
for the demo seed's plain threads), follows the same rules:

- the child runs ``TOOL_NICENESS`` steps nicer than the console, so the GUI thread stays
  responsive on a 2-core machine (the bytes a tool writes do not depend on it);
- on Linux the child gets ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, so a tool dies with the
  console instead of writing on as an orphan. The kernel ties that signal to the *thread*
  that started the tool: both entries wait for the tool in that thread (the event loop's,
  or the caller's for ``run_sync``), so it only fires when the console goes away;
- cancelling (or a ``timeout_s`` running out) stops the tool: SIGTERM, then SIGKILL after
  ``TERMINATE_GRACE_S`` seconds, and waits for it, so no tool outlives its run;
- ``hide`` (e.g. the playback gateway's secret URL prefix) is removed from every stderr
  line kept, so no token reaches a log, an error message or a report; the last
  ``keep_warnings`` non-empty stderr lines are kept as the run's ``warnings``;
- a non-zero exit status is reported in the ``ToolResult``, never raised: the caller says
  what it means. Only a timeout raises (``ToolTimeout``).

With ``on_progress`` the tool's stdout is read as ``-progress pipe:1`` key=value lines: at
every ``progress=continue|end`` line the callback gets every key reported so far with its
latest value (``frame``, ``out_time_us``, ``speed``...).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.errors import ServiceError

TOOL_NICENESS = 10
"""Added to the console's niceness for every media tool (capped at 19 by the kernel)."""

TERMINATE_GRACE_S = 3.0
"""Seconds a tool has to exit after SIGTERM before it gets SIGKILL."""

KEEP_WARNINGS = 40
"""Default number of last stderr lines a run keeps."""

_PR_SET_PDEATHSIG = 1
_READ_LIMIT = 1 << 20

ProgressCallback = Callable[[dict[str, str]], None]


class ToolTimeout(ServiceError):
    """A media tool ran longer than its ``timeout_s``; it was stopped (TERM, then KILL).
    ``tool`` is ``"ffmpeg"`` or ``"ffprobe"`` (else the binary's file name)."""

    def __init__(self, tool: str, timeout_s: float) -> None:
        super().__init__(f"{tool} did not answer within {timeout_s:g} s.")
        self.tool = tool
        self.timeout_s = timeout_s


@dataclass(frozen=True)
class ToolResult:
    """A finished run: ``code`` the exit status (negative: killed by that signal),
    ``stdout`` its bytes (empty when read as ``-progress`` lines), ``warnings`` the last
    non-empty stderr lines, stripped, with ``hide`` removed."""

    code: int
    stdout: bytes
    warnings: tuple[str, ...]

    def said(self, default: str) -> str:
        """The tool's last stderr line, or ``default`` when it said nothing."""
        return self.warnings[-1] if self.warnings else default


def tool_name(executable: str) -> str:
    """``"ffprobe"`` or ``"ffmpeg"`` for a path to either (the pinned binary's file name
    carries a platform and version), else the file name itself."""
    name = Path(executable).name
    return next((tool for tool in ("ffprobe", "ffmpeg") if tool in name), name)


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, looked up once in the console (never in a freshly forked child)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _preexec() -> Callable[[], None] | None:
    """The ``preexec_fn`` of a tool started now (None off POSIX): nice, parent-death signal,
    and exit at once if the console already died between fork and ``prctl``."""
    if os.name != "posix":
        return None
    prctl = _prctl()
    parent = os.getpid()

    def prepare_child() -> None:
        with contextlib.suppress(OSError):
            os.nice(TOOL_NICENESS)
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
            if os.getppid() != parent:
                os._exit(1)

    return prepare_child


class _Warnings:
    """The last ``keep`` non-empty stderr lines (all with ``keep=None``), ``hide`` removed."""

    def __init__(self, hide: str, keep: int | None) -> None:
        self.hide = hide
        self.lines: deque[str] = deque(maxlen=keep)

    def add(self, raw: bytes) -> None:
        line = raw.decode(errors="replace").strip()
        if self.hide:
            line = line.replace(self.hide, "")
        if line:
            self.lines.append(line)

    def add_all(self, raws: Iterable[bytes]) -> None:
        for raw in raws:
            self.add(raw)


class _ProgressLines:
    """Accumulates ``-progress`` key=value lines; hands the values over at each report."""

    def __init__(self, callback: ProgressCallback) -> None:
        self.callback = callback
        self.values: dict[str, str] = {}

    def feed(self, raw: bytes) -> None:
        key, _, value = raw.decode(errors="replace").strip().partition("=")
        self.values[key] = value
        if key == "progress":
            self.callback(dict(self.values))


async def run_tool(
    argv: Sequence[str],
    *,
    hide: str = "",
    on_progress: ProgressCallback | None = None,
    on_start: Callable[[int], None] | None = None,
    keep_warnings: int | None = KEEP_WARNINGS,
    timeout_s: float | None = None,
    cwd: Path | None = None,
) -> ToolResult:
    """Run ``argv`` (``argv[0]`` the tool's path) to its end, stdin closed.

    ``on_progress`` turns stdout into ``-progress`` reports (module docstring); otherwise
    stdout is collected. ``on_start(pid)`` is called once the tool runs. ``keep_warnings``
    None keeps every stderr line. ``timeout_s`` (seconds, None: no limit) bounds the run.

    Returns the ``ToolResult`` whatever the exit status. Raises ``ToolTimeout`` (a
    ``ServiceError``) when ``timeout_s`` runs out, ``OSError`` when the tool cannot be
    started; cancelling the awaiting task stops the tool and re-raises. Either way the
    tool is gone when this returns or raises.
    """
    starting = asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=_READ_LIMIT,
            preexec_fn=_preexec(),
        )
    )
    try:
        process = await asyncio.shield(starting)
    except asyncio.CancelledError:
        # cancelled while the tool was being started: it may exist already, and nobody
        # else holds it; wait for it and stop it, so a cancelled job leaves no tool behind
        with contextlib.suppress(OSError):
            await stop_process(await starting)
        raise
    warnings = _Warnings(hide, keep_warnings)
    chunks: list[bytes] = []

    async def read_stdout() -> None:
        assert process.stdout is not None
        if on_progress is None:
            chunks.append(await process.stdout.read())
            return
        progress = _ProgressLines(on_progress)
        async for raw in process.stdout:
            progress.feed(raw)

    async def read_stderr() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            warnings.add(raw)

    async def finish() -> int:
        if on_start is not None:
            on_start(process.pid)
        await asyncio.gather(read_stdout(), read_stderr())
        return await process.wait()

    try:
        code = await asyncio.wait_for(finish(), timeout_s)
    except TimeoutError:
        await stop_process(process)
        if timeout_s is None:
            raise
        raise ToolTimeout(tool_name(argv[0]), timeout_s) from None
    except BaseException:
        await stop_process(process)
        raise
    return ToolResult(code, b"".join(chunks), tuple(warnings.lines))


async def stop_process(process: asyncio.subprocess.Process) -> None:
    """Stop ``process``: SIGTERM, then SIGKILL after ``TERMINATE_GRACE_S`` seconds, and
    wait until it has exited. Cancelled meanwhile (a job cancels its tools, then cancels
    them again while they stop), it sends SIGKILL at once but still waits for the exit
    (milliseconds after SIGKILL) before re-raising ``CancelledError``: a stopped tool is
    always gone, never left exiting on its own."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    exited = asyncio.ensure_future(process.wait())
    cancelled = False
    try:
        await asyncio.wait_for(asyncio.shield(exited), TERMINATE_GRACE_S)
    except TimeoutError:
        pass
    except asyncio.CancelledError:
        cancelled = True
    if not exited.done():
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    while not exited.done():
        try:
            await asyncio.shield(exited)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


def run_sync(
    argv: Sequence[str],
    *,
    hide: str = "",
    on_start: Callable[[int], None] | None = None,
    keep_warnings: int | None = KEEP_WARNINGS,
    timeout_s: float | None = None,
    cwd: Path | None = None,
) -> ToolResult:
    """``run_tool`` for callers with no event loop (the demo seed's worker threads): the
    same niceness, parent-death signal, redaction and timeout rules; stdout is collected.

    Blocks the calling thread until the tool exits. Returns the ``ToolResult`` whatever
    the exit status. Raises ``ToolTimeout`` when ``timeout_s`` (seconds) runs out and
    ``OSError`` when the tool cannot be started; on any exception (a ``KeyboardInterrupt``
    too) the tool is stopped first.
    """
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_preexec(),
    )
    try:
        if on_start is not None:
            on_start(process.pid)
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _stop_sync(process)
        raise ToolTimeout(tool_name(argv[0]), timeout_s or 0.0) from None
    except BaseException:
        _stop_sync(process)
        raise
    warnings = _Warnings(hide, keep_warnings)
    warnings.add_all(err.splitlines())
    return ToolResult(process.returncode, out, tuple(warnings.lines))


def _stop_sync(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after ``TERMINATE_GRACE_S``; drains the pipes and reaps."""
    if process.poll() is not None:
        process.communicate()
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        process.communicate(timeout=TERMINATE_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.communicate()
