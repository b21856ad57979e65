"""A Ray head node on loopback for the demo profile (and the tests): start, status, stop.

``start_local_head(folder, num_cpus=…)`` runs ``ray start --head`` with every listener it
lets us choose on 127.0.0.1 (GCS, dashboard and agent ports free ones, usage stats off) and
token authentication on (``RAY_AUTH_MODE=token``, the token in ``folder/auth_token``, mode
0600, sent by the console as ``Authorization: Bearer``). The head and every process it
spawns (raylet, dashboard, job drivers, workers and the ffmpeg they run) carry the
environment variable ``VIDEO_OPS_CLUSTER_ID``, which is how ``stop_local_head`` finds them
all, and the store credentials ``worker_env`` gives: for the demo the demo's fixed,
non-secret pair (docs/contracts.md §1.4), so that no job ever carries a key.

``folder/head.json`` records the head (``LocalHead``) so the GUI and the CLI share it,
like the demo stack's ``stack.json``. Ray's own files go to a short temp dir under
``/tmp`` (its socket paths must stay under 107 bytes).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from services.errors import BadConfig, ServiceError

CLUSTER_ID_ENV = "VIDEO_OPS_CLUSTER_ID"
_OWN_PORTS = (
    "dashboard-agent-listen-port",
    "dashboard-agent-grpc-port",
    "runtime-env-agent-port",
    "metrics-export-port",
    "ray-client-server-port",
)
"""Ports Ray would otherwise take at fixed defaults (52365, 10001, …): a second head on
the same machine (another data dir, a test) would find them taken and never get a job
agent ("No available agent to submit job")."""
HEAD_FILE = "head.json"
TOKEN_FILE = "auth_token"
START_TIMEOUT_S = 120.0
START_ATTEMPTS = 3
STOP_TIMEOUT_S = 5.0
"""SIGTERM grace before SIGKILL: gcs_server, raylet and the autoscaler monitor outlive a
SIGTERM (measured: still there after 20 s), so waiting longer only delays the stop."""


class LocalHeadError(ServiceError):
    """The local head did not start or stop; the message says why and what to do."""


@dataclass(frozen=True)
class LocalHead:
    """A running local head: ``dashboard_url`` (``http://127.0.0.1:PORT``, the Jobs REST
    API's address), ``gcs_address`` (``127.0.0.1:PORT``), ``num_cpus``, ``cluster_id`` (the
    ``VIDEO_OPS_CLUSTER_ID`` of its processes), ``temp_dir`` (Ray's session files),
    ``token_path`` (the auth token file) and ``started_at`` (Unix seconds)."""

    dashboard_url: str
    gcs_address: str
    num_cpus: int
    cluster_id: str
    temp_dir: str
    token_path: str
    started_at: float

    def token(self) -> str:
        """The head's auth token (raises ``LocalHeadError`` when its file is gone)."""
        try:
            return Path(self.token_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise LocalHeadError(
                f"The local Ray head's token file {self.token_path} is unreadable ({exc}): "
                "restart it with `main.py cluster stop` then `main.py cluster start`."
            ) from exc


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free_port() -> int:
    """A free loopback port **below** the kernel's ephemeral range: a port picked with
    ``bind(0)`` and released would be handed out again to the next ``bind(0)`` (Ray's own
    components bind many while the head starts), so the dashboard found its port taken."""
    low = _ephemeral_low()
    for _ in range(200):
        port = secrets.randbelow(max(1, low - 20000)) + 20000
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ray_exe() -> str:
    beside = Path(sys.executable).with_name("ray")
    if beside.exists():
        return str(beside)
    found = shutil.which("ray")
    if not found:
        raise BadConfig(
            "Ray is not installed in this environment: install the cluster extra "
            "(pip install -e '.[cluster]', done by make setup)."
        )
    return found


def read_head(folder: Path) -> LocalHead | None:
    """The head recorded in ``folder/head.json`` if its processes still run, else None
    (a stale record is removed)."""
    path = folder / HEAD_FILE
    try:
        head = LocalHead(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if not cluster_processes(head.cluster_id):
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return head


def cluster_processes(cluster_id: str) -> list[int]:
    """Pids of the live processes whose environment holds ``VIDEO_OPS_CLUSTER_ID=cluster_id``
    (the head, its workers and every tool they started), read from ``/proc``."""
    marker = f"{CLUSTER_ID_ENV}={cluster_id}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and marker in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def start_local_head(
    folder: Path,
    *,
    num_cpus: int | None = None,
    worker_env: Mapping[str, str] | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> LocalHead:
    """Start a loopback head recorded in ``folder`` (or return the one already running).

    ``num_cpus``: the CPUs it offers (default: this machine's); ``worker_env``: variables
    every worker sees (the store credentials). Blocks until the dashboard answers (seconds).
    Raises ``BadConfig`` (Ray not installed) or ``LocalHeadError`` (did not start: the
    message ends with the tail of ``ray start``'s output)."""
    folder.mkdir(parents=True, exist_ok=True)
    running = read_head(folder)
    if running is not None:
        return running
    cluster_id = secrets.token_hex(6)
    token_path = folder / TOKEN_FILE
    if not token_path.exists():
        token_path.write_text(secrets.token_hex(32), encoding="utf-8")
    token_path.chmod(0o600)
    cpus = num_cpus or os.cpu_count() or 1
    env = {
        **os.environ,
        **(worker_env or {}),
        CLUSTER_ID_ENV: cluster_id,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token_path),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_DEDUP_LOGS": "0",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    temp_dir = Path("/tmp") / f"voc-ray-{cluster_id}"
    for attempt in range(1, START_ATTEMPTS + 1):
        gcs_port, dashboard_port = _free_port(), _free_port()
        command = [
            _ray_exe(),
            "start",
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={gcs_port}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dashboard_port}",
            "--include-dashboard=true",
            f"--num-cpus={cpus}",
            *(f"--{name}={_free_port()}" for name in _OWN_PORTS),
            f"--temp-dir={temp_dir}",
            "--disable-usage-stats",
        ]
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            _kill(cluster_id)
            raise LocalHeadError(f"`ray start --head` took over {timeout_s:.0f} s.") from exc
        if done.returncode == 0:
            break
        _kill(cluster_id)
        said = done.stdout + done.stderr
        if "address already in use" in said and attempt < START_ATTEMPTS:
            continue  # another program took one of the chosen ports meanwhile: new ports
        tail = "\n".join(said.strip().splitlines()[-8:])
        raise LocalHeadError(f"`ray start --head` failed (exit {done.returncode}):\n{tail}")
    head = LocalHead(
        dashboard_url=f"http://127.0.0.1:{dashboard_port}",
        gcs_address=f"127.0.0.1:{gcs_port}",
        num_cpus=cpus,
        cluster_id=cluster_id,
        temp_dir=str(temp_dir),
        token_path=str(token_path),
        started_at=time.time(),
    )
    _wait_for_dashboard(head, time.monotonic() + timeout_s)
    (folder / HEAD_FILE).write_text(json.dumps(asdict(head), indent=2) + "\n", encoding="utf-8")
    return head


def _wait_for_dashboard(head: LocalHead, deadline: float) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {head.token()}"}
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{head.dashboard_url}/api/version", headers=headers, timeout=5)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.25)
    _kill(head.cluster_id)
    raise LocalHeadError(f"The local Ray head's dashboard never answered ({last}).")


def stop_local_head(folder: Path, *, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Stop the head recorded in ``folder`` and every process of it (SIGTERM, then SIGKILL
    after ``timeout_s``); removes its record and Ray's temp dir. False when none ran."""
    path = folder / HEAD_FILE
    try:
        head = LocalHead(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return False
    stopped = _kill(head.cluster_id, timeout_s)
    with contextlib.suppress(OSError):
        path.unlink()
    shutil.rmtree(head.temp_dir, ignore_errors=True)
    return stopped


def _kill(cluster_id: str, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    pids = cluster_processes(cluster_id)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while cluster_processes(cluster_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in cluster_processes(cluster_id):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return bool(pids)
