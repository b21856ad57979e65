"""Helpers for the cluster tests: a real Ray head on loopback, batch specs on a test
bucket, a job runner to run batches in, and the processes of a head."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from services.cluster.batch import BatchSpec, ClusterBatch, GameRow
from services.cluster.jobs_api import RayJobsClient
from services.cluster.local_head import LocalHead, cluster_processes
from services.jobs.model import JobRecord
from services.jobs.runner import JobRunner
from services.media_tools.binaries import ffmpeg_version
from services.storage import StorageConfig

WORKER_KEY_ID = "worker-key-7f3a"
WORKER_SECRET = "worker-secret-only-on-the-cluster-91c2"


def spec_for(config: StorageConfig, kind: str, games: list[str], **options) -> BatchSpec:
    """A batch of ``games`` on ``config``'s bucket, one CPU per task (two at once on the
    2-core head)."""
    return BatchSpec(
        kind=kind,
        games=tuple(games),
        profile="test",
        endpoint_url=config.endpoint_url,
        bucket=config.bucket,
        region=config.region,
        ffmpeg_version=options.pop("ffmpeg_version", None) or ffmpeg_version(),
        cpus_per_task=options.pop("cpus_per_task", 1.0),
        **options,
    )


@dataclass
class BatchRun:
    """What a batch run left: the job ``record``, the ``batch`` (its rows) and every row
    change seen, in order."""

    record: JobRecord
    batch: ClusterBatch
    changes: list[GameRow] = field(default_factory=list)


def run_batch(
    head: LocalHead,
    spec: BatchSpec,
    db: Path,
    *,
    during: Callable[[JobRunner, JobRecord, BatchRun], Awaitable[None]] | None = None,
    address: str | None = None,
) -> BatchRun:
    """Run ``spec`` as one job of a real ``JobRunner`` (history in ``db``) to its end;
    ``during(runner, record, run)`` runs beside it (to kill a worker or cancel)."""

    async def go() -> BatchRun:
        runner = JobRunner.at(db)
        changes: list[GameRow] = []
        batch = ClusterBatch(
            lambda: RayJobsClient(address or head.dashboard_url, head.token()),
            spec,
            on_game=changes.append,
            poll_interval_s=0.3,
        )
        record = runner.submit("cluster", spec.batch_key, "test batch", batch)
        run = BatchRun(record, batch, changes)
        side = asyncio.ensure_future(during(runner, record, run)) if during else None
        run.record = await runner.wait(record.id)
        if side is not None:
            await side
        await runner.aclose()
        return run

    return asyncio.run(go())


def tool_pids(head: LocalHead, name: str = "ffmpeg") -> list[int]:
    """Pids of the head's processes whose executable name starts with ``name``."""
    found = []
    for pid in cluster_processes(head.cluster_id):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm.startswith(name):
            found.append(pid)
    return found


def parent_of(pid: int) -> int:
    """The parent pid of ``pid`` (from ``/proc``)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@dataclass
class FakeDashboard:
    """A loopback HTTP server answering like a Ray dashboard that cannot run our jobs:
    ``mode`` ``"5xx"`` (every request 503) or ``"old"`` (Ray 2.9.3). ``requests`` lists
    ``(method, path)`` of everything it was asked."""

    mode: str
    url: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)


@contextmanager
def fake_dashboard(mode: str) -> Iterator[FakeDashboard]:
    fake = FakeDashboard(mode)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            fake.requests.append((self.command, self.path))
            if fake.mode == "5xx":
                body, status = b"Service Unavailable: GCS is restarting", 503
            elif self.path == "/api/version":
                body, status = json.dumps({"ray_version": "2.9.3", "version": "4"}).encode(), 200
            else:
                body, status = b"[]", 200
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
