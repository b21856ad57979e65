"""Client side of the embedded demo stack: join it, start it, release it, stop or reset it.

The GUI and the CLI both call ``ensure_demo_stack()``: the first one starts the detached
server (``console.demo.server``), later ones join it through ``<data_dir>/demo/stack.json``.
Each process using the stack holds a lease (``<data_dir>/demo/clients/<pid>``, removed by
``release_demo_stack`` or at exit; a dead process's lease counts for nothing); the server
exits 15 s after its last client went away. See ``console.demo.state`` for the files.

Blocking calls: run them off the GUI thread (joining takes milliseconds, starting a fresh
stack a few seconds, or longer the first time while the seed is built).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from console.demo import state
from console.demo.seed import remove_seed_caches

START_TIMEOUT = 90.0
JOIN_PROBE_SECONDS = 2.0

_thread_lock = threading.Lock()  # fcntl locks are per process: also serialise our threads
_children: dict[int, subprocess.Popen] = {}  # servers this process spawned (to reap them)
_atexit_dirs: set[Path] = set()


class DemoStackError(RuntimeError):
    """The demo stack could not be started, joined or stopped; the message says why and
    ends with the tail of ``server.log`` when the server said something."""


@dataclass(frozen=True)
class DemoEndpoint:
    """How to reach the running demo stack.

    ``endpoint_url`` is ``http://127.0.0.1:PORT`` (S3 API, region ``region``), ``bucket`` the
    demo bucket; the credentials are the demo's fixed, non-secret pair. ``ssai_url`` and
    ``assets_api_url`` are the base URLs of the hosted cue service and assets API, None when
    those services are not running; ``assets_api_token`` is the assets API's Bearer token, a
    fixed, non-secret demo value (loopback only) published in ``stack.json``; ``ssai_token``
    likewise for the cue service. ``viewer_url`` is the origin of the gate and the playback
    and clip APIs (docs/contracts.md §1.5), with their demo API token and HS256 signing key.
    """

    endpoint_url: str
    bucket: str
    region: str
    access_key: str
    secret_key: str
    ssai_url: str | None = None
    assets_api_url: str | None = None
    assets_api_token: str | None = None
    ssai_token: str | None = None
    viewer_url: str | None = None
    viewer_api_token: str | None = None
    viewer_signing_key: str | None = None


@dataclass(frozen=True)
class StackInfo:
    """What ``stack.json`` says about the running server (``pid``, ISO-8601 ``started_at``,
    ``restored_from`` = ``"snapshot"`` or ``"seed-vN"``) plus its endpoint."""

    pid: int
    endpoint: DemoEndpoint
    seed_version: int
    started_at: str
    restored_from: str


def _endpoint_from(doc: dict) -> DemoEndpoint:
    return DemoEndpoint(
        endpoint_url=str(doc["endpoint_url"]),
        bucket=str(doc.get("bucket") or state.BUCKET),
        region=str(doc.get("region") or state.REGION),
        access_key=str(doc.get("access_key") or state.ACCESS_KEY),
        secret_key=str(doc.get("secret_key") or state.SECRET_KEY),
        ssai_url=doc.get("ssai_url"),
        assets_api_url=doc.get("assets_api_url"),
        assets_api_token=doc.get("assets_api_token"),
        ssai_token=doc.get("ssai_token"),
        viewer_url=doc.get("viewer_url"),
        viewer_api_token=doc.get("viewer_api_token"),
        viewer_signing_key=doc.get("viewer_signing_key"),
    )


def _read_info(demo: Path) -> StackInfo | None:
    doc = state.read_json(demo / state.STATE_FILE)
    if doc is None:
        return None
    try:
        return StackInfo(
            pid=int(doc["pid"]),
            endpoint=_endpoint_from(doc),
            seed_version=int(doc.get("seed_version", 0)),
            started_at=str(doc.get("started_at", "")),
            restored_from=str(doc.get("restored_from", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def stack_info(data_dir: Path | None = None) -> StackInfo | None:
    """The running stack as published in ``stack.json`` if its process is alive and its
    endpoint answers, else None. Does not register a lease."""
    demo = state.demo_dir(data_dir)
    info = _read_info(demo)
    if info is None or not _alive(info.pid):
        return None
    if not state.endpoint_answers(info.endpoint.endpoint_url, info.endpoint.bucket):
        return None
    return info


def running_demo_stack(data_dir: Path | None = None) -> DemoEndpoint | None:
    """The running stack's endpoint (alive and answering), else None; registers no lease
    and never starts anything (``main.py demo status``)."""
    info = stack_info(data_dir)
    return info.endpoint if info is not None else None


def _alive(pid: int) -> bool:
    proc = _children.get(pid)
    if proc is not None:
        if proc.poll() is None:
            return True
        _children.pop(pid, None)
        return False
    return state.pid_alive(pid)


@contextlib.contextmanager
def _stack_lock(demo: Path, timeout: float) -> Iterator[None]:
    if not _thread_lock.acquire(timeout=timeout):
        raise DemoStackError("Timed out waiting for another thread to start the demo stack.")
    try:
        try:
            with state.file_lock(demo / state.STACK_LOCK, timeout=timeout):
                yield
        except state.LockTimeout:
            raise DemoStackError(
                f"Another console process has been starting the demo stack for over "
                f"{timeout:.0f} s (lock {demo / state.STACK_LOCK})."
            ) from None
    finally:
        _thread_lock.release()


def _register_lease(demo: Path) -> None:
    lease = demo / state.CLIENTS_DIR / str(os.getpid())
    lease.parent.mkdir(parents=True, exist_ok=True)
    lease.write_text(
        json.dumps({"pid": os.getpid(), "argv0": sys.argv[0] if sys.argv else ""}) + "\n",
        encoding="utf-8",
    )
    data_dir = demo.parent
    if data_dir not in _atexit_dirs:
        _atexit_dirs.add(data_dir)
        atexit.register(release_demo_stack, data_dir)


def _with_log(message: str, demo: Path) -> str:
    tail = state.log_tail(demo)
    if tail:
        return f"{message}\nLast lines of {demo / state.LOG_FILE}:\n{tail}"
    return message


def _join_locked(demo: Path) -> DemoEndpoint | None:
    """The live stack's endpoint, or None after clearing a stale state file (lock held)."""
    info = _read_info(demo)
    if info is None:
        return None
    if _alive(info.pid) and state.endpoint_answers(
        info.endpoint.endpoint_url, info.endpoint.bucket, timeout=JOIN_PROBE_SECONDS
    ):
        return info.endpoint
    # Stale: the pid is dead, or alive but not answering. Only signal it if it really is
    # our server (it holds server.lock with its pid in it): a reused pid is left alone.
    holder = state.lock_holder(demo / state.SERVER_LOCK)
    if holder == info.pid and _alive(info.pid):
        _terminate(info.pid, timeout=15.0, demo=demo)
    with contextlib.suppress(OSError):
        (demo / state.STATE_FILE).unlink()
    return None


def _rotate_log(demo: Path) -> Path:
    log_path = demo / state.LOG_FILE
    if log_path.exists():
        with contextlib.suppress(OSError):
            os.replace(log_path, demo / f"{state.LOG_FILE}.1")
    return log_path


def _project_root() -> Path:
    import console

    return Path(console.__file__).resolve().parent.parent


def _spawn_server(demo: Path) -> subprocess.Popen:
    root = _project_root()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    log_path = _rotate_log(demo)
    if getattr(sys, "frozen", False):  # PyInstaller bundle: the binary's hidden subcommand
        command = [sys.executable, "demo-server"]
    else:
        command = [sys.executable, "-m", "console.demo.server"]
    with log_path.open("ab") as log_file:
        proc = subprocess.Popen(
            [*command, "--data-dir", str(demo.parent)],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _children[proc.pid] = proc
    # Reap it as soon as it exits, so no zombie looks alive to other processes.
    threading.Thread(target=proc.wait, name=f"demo-server-reaper-{proc.pid}", daemon=True).start()
    return proc


def _start_locked(demo: Path, deadline: float) -> DemoEndpoint:
    proc = _spawn_server(demo)
    while True:
        code = proc.poll()
        if code is not None:
            _children.pop(proc.pid, None)
            raise DemoStackError(
                _with_log(f"The demo server exited during start-up (exit code {code}).", demo)
            )
        info = _read_info(demo)
        if info is not None and info.pid == proc.pid:
            if state.endpoint_answers(info.endpoint.endpoint_url, info.endpoint.bucket):
                return info.endpoint
        if time.monotonic() >= deadline:
            _terminate(proc.pid, timeout=10.0, demo=demo)
            raise DemoStackError(
                _with_log("The demo server did not become ready in time (stopped it).", demo)
            )
        time.sleep(0.05)


def ensure_demo_stack(data_dir: Path | None = None, timeout: float = START_TIMEOUT) -> DemoEndpoint:
    """Join the running demo stack or start one, register this process's lease, and return
    the endpoint.

    Joining (a ``stack.json`` whose pid is alive and whose endpoint answers) takes a few
    milliseconds. Otherwise a stale state file is removed (and a hung server of ours stopped)
    and a detached server is started; the first start builds the seed, a few seconds on two
    cores. ``timeout`` (seconds) bounds the whole call, including waiting for another process
    that is starting the stack (an fcntl lock serialises a GUI and a CLI starting at once).
    ``data_dir`` defaults to ``console.paths.data_dir()``.

    Raises DemoStackError with a readable message (and the tail of ``server.log``).
    """
    deadline = time.monotonic() + timeout
    demo = state.demo_dir(data_dir)
    with _stack_lock(demo, timeout):
        endpoint = _join_locked(demo)
        if endpoint is None:
            _register_lease(demo)  # before the server exists: it never sees zero clients
            try:
                endpoint = _start_locked(demo, deadline)
            except BaseException:
                release_demo_stack(demo.parent)
                raise
        else:
            _register_lease(demo)
    return endpoint


def hold_demo_stack_for(pid: int, data_dir: Path | None = None) -> None:
    """Lease the running demo stack to process ``pid`` (another program using it, e.g. the
    local Ray head whose workers read the demo bucket): the server keeps running while that
    process lives. The lease is dropped with the process (a dead pid counts for nothing)."""
    lease = state.demo_dir(data_dir) / state.CLIENTS_DIR / str(pid)
    lease.parent.mkdir(parents=True, exist_ok=True)
    lease.write_text(json.dumps({"pid": pid, "argv0": "ray"}) + "\n", encoding="utf-8")


def release_demo_stack(data_dir: Path | None = None) -> None:
    """Remove this process's lease (idempotent; also done at interpreter exit). The server
    keeps running for its other clients, or exits after its idle delay."""
    with contextlib.suppress(OSError):
        (state.demo_dir(data_dir) / state.CLIENTS_DIR / str(os.getpid())).unlink()


def _terminate(pid: int, timeout: float, demo: Path) -> None:
    """SIGTERM ``pid`` and wait up to ``timeout`` s; SIGKILL it if needed. Raises
    DemoStackError if it survives even that."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    if not _alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    end = time.monotonic() + 5.0
    while _alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    if _alive(pid):
        raise DemoStackError(_with_log(f"The demo server (pid {pid}) does not stop.", demo))


def _stop_locked(demo: Path, timeout: float) -> bool:
    pids: list[int] = []
    info = _read_info(demo)
    if info is not None and _alive(info.pid):
        pids.append(info.pid)
    holder = state.lock_holder(demo / state.SERVER_LOCK)  # a server without stack.json yet
    if holder and holder not in pids and _alive(holder):
        pids.append(holder)
    for pid in pids:
        _terminate(pid, timeout, demo)
    with contextlib.suppress(OSError):
        (demo / state.STATE_FILE).unlink()
    return bool(pids)


def stop_demo_stack(data_dir: Path | None = None, timeout: float = 15.0) -> bool:
    """Stop the demo server for every client: SIGTERM, then wait up to ``timeout`` seconds
    while it takes its final snapshot (SIGKILL after that). Returns True if a server was
    running, False if there was none. Raises DemoStackError if it cannot be stopped."""
    demo = state.demo_dir(data_dir)
    with _stack_lock(demo, timeout + 10.0):
        return _stop_locked(demo, timeout)


def reset_demo_stack(data_dir: Path | None = None, timeout: float = START_TIMEOUT) -> DemoEndpoint:
    """Stop the stack, delete the bucket snapshot, the hosted services' databases and the
    seed cache, rebuild the seed and start a fresh stack; returns its endpoint. Everything
    written to the demo bucket is lost. Raises DemoStackError."""
    deadline = time.monotonic() + timeout
    demo = state.demo_dir(data_dir)
    with _stack_lock(demo, timeout):
        _stop_locked(demo, 15.0)
        shutil.rmtree(demo / state.SNAPSHOT_DIR, ignore_errors=True)
        for database in demo.glob("*.sqlite3*"):  # the hosted services' data (assets API)
            database.unlink(missing_ok=True)
        remove_seed_caches(demo.parent)
        _register_lease(demo)
        try:
            return _start_locked(demo, deadline)
        except BaseException:
            release_demo_stack(demo.parent)
            raise
