"""Whether a process recorded by an earlier console (a job's runner, the demo stack's
server) is still alive: one rule for the jobs store and the demo stack."""

from __future__ import annotations

import os
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie.

    On Linux ``/proc/{pid}/stat`` tells zombies apart; on other POSIX systems an unreaped
    zombie counts as alive, so spawners must reap their children (``console.demo.stack``
    does, in a thread). Off POSIX only this process counts as alive: ``os.kill`` there
    would terminate the process instead of probing it."""
    if pid == os.getpid():
        return True
    if os.name != "posix" or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs (macOS) or it just vanished: trust kill(0)
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
