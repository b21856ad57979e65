"""Run one media tool (ffmpeg, ffprobe) for the spot-check, cancellably.

Cancelling the awaiting task terminates the process (SIGTERM, then SIGKILL after
``TERMINATE_GRACE_S``) and the child runs niced and dies with the console, as every media
tool does (``services.child_process``). ``hide`` (the playback gateway's secret URL prefix)
is removed from every line kept from the tool's stderr, so no token reaches a log or a
report.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from services.child_process import preexec, stop_process

_READ_LIMIT = 1 << 20


@dataclass(frozen=True)
class ToolResult:
    """A finished run: ``code`` the exit status, ``stdout`` its bytes (empty when streamed
    to ``on_line``), ``warnings`` the last stderr lines with ``hide`` removed."""

    code: int
    stdout: bytes
    warnings: tuple[str, ...]


async def run_tool(
    argv: list[str],
    *,
    hide: str = "",
    on_line: Callable[[str], None] | None = None,
    keep_warnings: int = 40,
) -> ToolResult:
    """Run ``argv`` to its end. With ``on_line`` each stdout line is handed over as it
    comes (``-progress pipe:1``); otherwise stdout is collected. Never raises for a
    non-zero exit (the caller says what it means); cancellation stops the process."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=_READ_LIMIT,
        preexec_fn=preexec(),
    )
    warnings: deque[str] = deque(maxlen=keep_warnings)
    chunks: list[bytes] = []

    async def read_stdout() -> None:
        assert process.stdout is not None
        if on_line is None:
            chunks.append(await process.stdout.read())
            return
        async for raw in process.stdout:
            on_line(raw.decode(errors="replace").strip())

    async def read_stderr() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode(errors="replace").strip()
            if hide:
                line = line.replace(hide, "")
            if line:
                warnings.append(line)

    try:
        await asyncio.gather(read_stdout(), read_stderr())
        code = await process.wait()
    except BaseException:
        await stop_process(process)
        raise
    return ToolResult(code, b"".join(chunks), tuple(warnings))
