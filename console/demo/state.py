"""Files shared by the demo server and its clients, and the small helpers around them.

Everything lives in ``<data_dir>/demo/``::

    stack.json         the running server: {pid, endpoint_url, bucket, region, seed_version,
                       started_at, ...} written atomically once it is ready, removed on exit
    stack.lock         fcntl lock: a client holds it while it joins/starts/stops the stack; the
                       server takes it (non-blocking) before an idle exit
    server.lock        fcntl lock held by the live server for its whole life, restore to final
                       snapshot (contains its pid): a second server waits on it
    clients/<pid>      one lease per client process using the stack
    server.log         the server's stdout/stderr (previous run: server.log.1)
    bucket/            the persisted bucket snapshot (index.json + objects/<sha256>)
    seed-v{N}/         the seed cache (console.demo.seed)

This module imports nothing heavy (no boto3, no moto): joining a running stack stays fast.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from console import paths
from services.process_liveness import pid_alive

BUCKET = "griddy-video"
REGION = "auto"
ACCESS_KEY = "demo"  # not a secret: the demo server accepts any credentials
SECRET_KEY = "demo-secret"  # not a secret either

STATE_FILE = "stack.json"
STACK_LOCK = "stack.lock"
SERVER_LOCK = "server.lock"
CLIENTS_DIR = "clients"
LOG_FILE = "server.log"
SNAPSHOT_DIR = "bucket"

IDLE_EXIT_SECONDS = 15.0
"""The server exits this long after its last live client went away."""

IDLE_ENV = "VIDEO_OPS_DEMO_IDLE_SECONDS"
"""Environment override of ``IDLE_EXIT_SECONDS`` (tests)."""


class LockTimeout(RuntimeError):
    """An fcntl lock could not be taken before the deadline."""


def resolve_data_dir(data_dir: Path | str | None) -> Path:
    """Absolute data dir: ``data_dir`` or ``console.paths.data_dir()`` (honours
    ``VIDEO_OPS_DATA_DIR``); created if absent."""
    path = Path(data_dir) if data_dir is not None else paths.data_dir()
    path = path.expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_dir(data_dir: Path | str | None) -> Path:
    """``<data_dir>/demo`` (created with its ``clients/`` folder)."""
    path = resolve_data_dir(data_dir) / "demo"
    (path / CLIENTS_DIR).mkdir(parents=True, exist_ok=True)
    return path


def idle_exit_seconds() -> float:
    """Idle timeout in seconds: ``$VIDEO_OPS_DEMO_IDLE_SECONDS`` or ``IDLE_EXIT_SECONDS``."""
    try:
        return float(os.environ.get(IDLE_ENV, "")) or IDLE_EXIT_SECONDS
    except ValueError:
        return IDLE_EXIT_SECONDS


def write_json_atomic(path: Path, doc: object) -> None:
    """Write ``doc`` as JSON to ``path`` through a temporary file + ``os.replace`` (readers
    never see a partial file); fsyncs the data first."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> dict | None:
    """The JSON object stored in ``path``, or None if absent/unreadable/not an object."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def endpoint_answers(endpoint_url: str, bucket: str, timeout: float = 2.0) -> bool:
    """Whether an S3 server answers ``HEAD {endpoint_url}/{bucket}`` with HTTP 200 within
    ``timeout`` seconds (proxies from the environment are bypassed: loopback only)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"{endpoint_url.rstrip('/')}/{bucket}", method="HEAD")
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


@contextlib.contextmanager
def file_lock(path: Path, timeout: float | None) -> Iterator[int]:
    """Hold an exclusive ``fcntl.flock`` on ``path`` for the block; yields the fd.

    ``timeout=None`` blocks; ``0`` tries once. Raises LockTimeout when not acquired in time.
    Never nest two ``file_lock`` on the same path in one process: flock locks belong to the
    open file, so the inner one would wait for the outer one.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"{path} is locked by another process") from None
                time.sleep(0.05)
        yield fd
    finally:
        os.close(fd)


def lock_holder(path: Path) -> int | None:
    """If some process holds the lock on ``path``, the pid written in it (0 if unreadable);
    None when the lock is free."""
    if not path.exists():
        return None
    try:
        with file_lock(path, timeout=0):
            return None
    except LockTimeout:
        try:
            return int(path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0


def live_leases(demo: Path, *, prune: bool = False) -> list[int]:
    """Pids of the client leases in ``demo/clients`` whose process is alive; with ``prune``
    the leases of dead processes are deleted."""
    alive: list[int] = []
    try:
        entries = list((demo / CLIENTS_DIR).iterdir())
    except OSError:
        return alive
    for entry in entries:
        try:
            pid = int(entry.name)
        except ValueError:
            continue
        if pid_alive(pid):
            alive.append(pid)
        elif prune:
            with contextlib.suppress(OSError):
                entry.unlink()
    return sorted(alive)


def log_tail(demo: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of ``demo/server.log`` ('' if there is none)."""
    try:
        text = (demo / LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])
