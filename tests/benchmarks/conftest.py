"""Benchmark fixtures: one 10,000-game bucket on the session's moto server, shared by P1-P3.

Run with ``make bench PYTEST_ADDOPTS=-s`` to see the figures (``make bench -s`` only makes
make silent). The parent ``tests/conftest.py`` provides the v1 HLS packaging of the demo
clip (``v1_hls_dir``) and ``upload_game``.

The S3 server (``moto_endpoint``, overridden here) runs in its own process, as R2 does in
production. The parent's in-process ``ThreadedMotoServer`` would run moto's Python (each
``LIST games/{id}/`` scans every key of the 10,000-game bucket) under the GIL of the
process that hosts the GUI thread, so P2 would measure the test server's GIL contention,
not the console (measured in P2: 1.1-1.4 s stalls and 9-11 probes/s in process, against
0.5-0.7 s and 16-19 probes/s out of process). ``BENCH_S3=inprocess`` uses an in-process
server anyway, for comparison.

Bucket layout (docs/contracts.md §1.1): ``games/g00000/`` .. ``games/g09998/`` hold a tiny v1 media
playlist only (``master.m3u8``; its init/segment objects are not stored, so those games
probe as *broken* "v1 object missing": the probe does the same LIST + GET as for a
complete game); every 250th game also has a ``meta.json``. ``games/g09999/`` is a real,
playable v1 game (the demo clip remuxed to fMP4 HLS), so the catalog lists exactly
10,000 games.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
import pytest
from botocore.config import Config
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from services.storage import StorageConfig
from tests.conftest import upload_game

T = TypeVar("T")

GAME_COUNT = 10_000
REAL_GAME = f"g{GAME_COUNT - 1:05d}"
META_EVERY = 250
SEED_THREADS = 32
LEAGUES = ("NFL", "NBA", "MLS", "NHL")
REAL_META = {
    "title": "Benchmark: Chiefs at Bills",
    "league": "NFL",
    "date": "2026-11-16",
    "home": "BUF",
    "away": "KC",
}
# A tiny valid v1 media playlist (fMP4, one 4 s segment), as the v1 remux writes them.
TINY_MASTER = (
    b"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n"
    b'#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI="init.mp4"\n'
    b"#EXTINF:4.000000,\nseg_00000.m4s\n#EXT-X-ENDLIST\n"
)

# Werkzeug logs every request of the moto server: 10,000 seeding lines would be captured.
logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def moto_endpoint():
    """An S3 server for the benchmarks: ``python -m moto.server`` on 127.0.0.1 (free port)
    in a child process; in this process with ``BENCH_S3=inprocess``."""
    if os.environ.get("BENCH_S3", "").lower() == "inprocess":
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        print(f"\n[bench] S3 server: moto in this process (BENCH_S3=inprocess), port {port}")
        yield f"http://{host}:{port}"
        server.stop()
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto S3 server did not start") from None
                time.sleep(0.1)
        print(f"\n[bench] S3 server: moto in child process {process.pid}, port {port}")
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass(frozen=True)
class BenchCatalog:
    """The seeded bucket: its config, how many games it holds and which one plays."""

    config: StorageConfig
    game_count: int
    real_game: str
    meta_games: int
    seed_seconds: float


def _meta_for(index: int) -> dict[str, str]:
    league = LEAGUES[(index // META_EVERY) % len(LEAGUES)]
    return {
        "title": f"Benchmark game {index}",
        "league": league,
        "date": f"2026-{1 + index % 12:02d}-{1 + index % 28:02d}",
        "home": "HOM",
        "away": "AWY",
    }


@pytest.fixture(scope="session")
def catalog_bucket(moto_endpoint, v1_hls_dir) -> BenchCatalog:
    """A bucket with 10,000 games on the session moto server (seeded once per session)."""
    config = StorageConfig(moto_endpoint, f"bench-{uuid.uuid4().hex[:10]}", "bench", "bench-secret")
    client = boto3.client(
        "s3",
        endpoint_url=config.endpoint_url,
        region_name=config.region,
        aws_access_key_id=config.access_key_id,
        aws_secret_access_key=config.secret_access_key,
        config=Config(max_pool_connections=SEED_THREADS, retries={"mode": "standard"}),
    )
    client.create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )

    def put(index: int) -> int:
        prefix = f"games/g{index:05d}/"
        client.put_object(Bucket=config.bucket, Key=prefix + "master.m3u8", Body=TINY_MASTER)
        if index % META_EVERY == 0:
            body = json.dumps(_meta_for(index)).encode()
            client.put_object(Bucket=config.bucket, Key=prefix + "meta.json", Body=body)
            return 1
        return 0

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=SEED_THREADS) as pool:
        metas = sum(pool.map(put, range(GAME_COUNT - 1)))
    upload_game(config, REAL_GAME, v1_hls_dir, meta=REAL_META)
    seconds = time.perf_counter() - started
    objects = GAME_COUNT - 1 + metas + len(list(v1_hls_dir.iterdir())) + 1
    print(
        f"\n[bench] seeded {GAME_COUNT} games ({objects} objects, {metas + 1} meta.json) "
        f"into {config.bucket} on {moto_endpoint} in {seconds:.1f} s "
        f"({SEED_THREADS} threads, one boto3 client)"
    )
    return BenchCatalog(config, GAME_COUNT, REAL_GAME, metas + 1, seconds)


class EventTimes:
    """Qt event deliveries on the GUI thread while recording.

    ``all``: every delivery as (started, seconds, depth, event type, receiver class name);
    depth 0 is a delivery from the event loop, deeper ones happen inside another (a paint
    inside an UpdateRequest, a sendEvent from a slot). ``slow``: deliveries of at least
    ``threshold`` seconds, with a readable description of the receiver.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.all: list[tuple[float, float, int, Any, str]] = []
        self.slow: list[tuple[float, float, str]] = []
        self.depth = 0

    @property
    def count(self) -> int:
        return len(self.all)


class TimedApplication(QApplication):
    """The benchmarks' QApplication: ``notify`` times every event while ``recording`` is
    set (P2 uses it to say which event blocked the GUI thread: a paint, a header's
    delayed resize, a queued slot, asyncio callbacks...). Otherwise it only forwards."""

    recording: EventTimes | None = None

    def notify(self, receiver, event):  # noqa: N802 - Qt override
        record = TimedApplication.recording
        if record is None:
            return super().notify(receiver, event)
        kind = event.type()
        owner = type(receiver).__name__
        depth = record.depth
        record.depth = depth + 1
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return super().notify(receiver, event)
        finally:
            seconds = time.perf_counter() - started
            record.depth = depth
            record.all.append((started, seconds, depth, kind, owner))
            if seconds >= record.threshold:
                cpu_ms = (time.thread_time() - cpu) * 1000
                what = f"{_describe_event(kind, receiver)} [on CPU {cpu_ms:.0f} ms]"
                record.slow.append((started, seconds, what))


def _describe_event(kind, receiver) -> str:
    name = getattr(kind, "name", str(kind))
    try:
        what = receiver.metaObject().className()
        parent = receiver.parent()
        if parent is not None:
            what += f" in {parent.metaObject().className()}"
            grand = parent.parent()
            if grand is not None:
                what += f" in {grand.metaObject().className()}"
    except (RuntimeError, AttributeError):  # deleted while handling the event
        what = type(receiver).__name__
    return f"{name} -> {what}"


@pytest.fixture(scope="session")
def qapp_cls():
    """pytest-qt builds the session's QApplication from this class."""
    return TimedApplication


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` on a fresh thread.

    A test that installed a qasync loop leaves it registered as the main thread's running
    loop, where ``asyncio.run`` refuses to start; a private thread never has one.
    """
    box: dict[str, Any] = {}

    def main() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised on the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=main, name="bench-asyncio")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (``fraction`` in 0..1); 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def spin_until(predicate, timeout_s: float, poll_ms: int = 25) -> bool:
    """Run a nested Qt event loop (real waiting, no sleep) until ``predicate()`` or
    ``timeout_s`` seconds; ``poll_ms`` is how often the predicate is checked."""
    if predicate():
        return True
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s
    timer = QTimer()
    timer.setInterval(poll_ms)
    timer.timeout.connect(
        lambda: loop.quit() if predicate() or time.perf_counter() >= deadline else None
    )
    timer.start()
    loop.exec()
    timer.stop()
    return bool(predicate())
