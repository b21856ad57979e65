"""How the console starts its media tools (ffmpeg, ffprobe): at a lower CPU priority, tied
to the console's life, and stopped in two steps.

- ``prepare_child`` runs in the child before exec: ``nice`` by ``TOOL_NICENESS`` so the
  GUI thread stays responsive on a 2-core machine (the bytes a tool writes do not depend
  on it), and on Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` so a tool dies with the
  console instead of writing on as an orphan.
- ``stop_process`` sends SIGTERM, then SIGKILL after ``TERMINATE_GRACE_S`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

TOOL_NICENESS = 10
TERMINATE_GRACE_S = 3.0
_PR_SET_PDEATHSIG = 1


def prepare_child() -> None:
    """``preexec_fn`` of every media tool (POSIX only; see the module docstring)."""
    with contextlib.suppress(OSError):
        os.nice(TOOL_NICENESS)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def preexec() -> object:
    """The ``preexec_fn`` to pass to ``asyncio.create_subprocess_exec`` (None off POSIX)."""
    return prepare_child if os.name == "posix" else None


async def stop_process(process: asyncio.subprocess.Process) -> None:
    """Stop ``process``: SIGTERM, then SIGKILL after ``TERMINATE_GRACE_S``; waits for it."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(asyncio.shield(process.wait()), TERMINATE_GRACE_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
