"""Upload rung objects while the encode runs, skipping what the store already holds.

The uploader watches the encoder's output folders: with ``-hls_flags temp_file`` a segment
only appears under its final name once complete, and ``init.mp4`` is written before the
first segment closes, so every ``seg_*.m4s`` seen, and ``init.mp4`` once a segment exists,
is final. Each object is hashed (SHA-256 and MD5, one read, off the event loop), then
HEADed with its stored checksum: the same size and SHA-256 already stored means it is kept
(a resumed job re-uploads nothing verified); otherwise it is PUT with
``ChecksumAlgorithm="SHA256"``. Rung playlists are offered last, once ffmpeg has exited.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.backfill.encode import INIT_NAME, PLAYLIST_NAME, SEGMENT_RE
from services.errors import NotFound, ServiceError
from services.gateway import content_type_for
from services.storage import ObjectInfo, Storage
from services.units import count_of, human_bytes

SCAN_INTERVAL_S = 0.25


@dataclass(frozen=True)
class RungObject:
    """One rung object as stored: ``key``, ``size`` in bytes, ``sha256`` hex digest;
    ``reused`` is True when the store already held these exact bytes (nothing sent)."""

    key: str
    size: int
    sha256: str
    reused: bool


def _digest(path: Path) -> tuple[bytes, str, str]:
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()  # noqa: S324


def same_bytes(stored: ObjectInfo, size: int, sha256: str, md5: str | None = None) -> bool:
    """True when ``stored`` (a HEAD with checksum) holds ``size`` bytes with ``sha256``;
    when the store gave no SHA-256, a single-part ETag equal to the MD5 is accepted."""
    if stored.size != size:
        return False
    if stored.sha256 is not None:
        return stored.sha256 == sha256
    return md5 is not None and stored.etag == md5


class RungUploader:
    """Uploads the files under ``out_dir/{rung}/`` to ``key_prefix + "{rung}/" + name``.

    ``offer_ready(final=False)`` queues every file that is final now (call it periodically
    while ffmpeg runs, and once with ``final=True`` after it exits 0 to add the rung
    playlists); ``drain()`` waits for every queued upload and returns the stored objects by
    key. The first failed upload stops its worker, sets ``failed`` (so the caller can stop
    the encode at once) and is re-raised by ``drain()``. ``on_change`` is called after each
    object. ``allow_replace=False`` refuses to overwrite a stored object whose bytes differ
    (raises ``ServiceError``). ``existing`` (the keys a listing found at the start of the
    job, None: unknown) spares the HEAD of an object that was not stored then.
    """

    def __init__(
        self,
        storage: Storage,
        out_dir: Path,
        rung_names: list[str],
        key_prefix: str,
        *,
        workers: int = 4,
        allow_replace: bool = True,
        existing: set[str] | None = None,
        on_change: Callable[[], None] = lambda: None,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.storage = storage
        self.out_dir = out_dir
        self.rung_names = rung_names
        self.key_prefix = key_prefix
        self.allow_replace = allow_replace
        self.existing = existing
        self.on_change = on_change
        self.log = log
        self.objects: dict[str, RungObject] = {}
        self.bytes_uploaded = 0
        self.bytes_reused = 0
        self.failure: Exception | None = None
        self.failed = asyncio.Event()
        self._queued: set[Path] = set()
        self._queue: asyncio.Queue[Path | None] = asyncio.Queue()
        self._workers = [asyncio.ensure_future(self._work()) for _ in range(workers)]

    def key_for(self, path: Path) -> str:
        return f"{self.key_prefix}{path.parent.name}/{path.name}"

    def offer_ready(self, *, final: bool = False) -> int:
        """Queue the files final now; returns how many were newly queued."""
        added = 0
        for rung in self.rung_names:
            folder = self.out_dir / rung
            if not folder.is_dir():
                continue
            names = {p.name for p in folder.iterdir()}
            segments = sorted(n for n in names if SEGMENT_RE.match(n))
            ready = list(segments)
            if INIT_NAME in names and (segments or final):
                ready.insert(0, INIT_NAME)
            if final and PLAYLIST_NAME in names:
                ready.append(PLAYLIST_NAME)
            for name in ready:
                path = folder / name
                if path not in self._queued:
                    self._queued.add(path)
                    self._queue.put_nowait(path)
                    added += 1
        return added

    async def watch(self, stop: asyncio.Event) -> None:
        """Offer ready files every ``SCAN_INTERVAL_S`` until ``stop`` is set."""
        while not stop.is_set():
            self.offer_ready()
            try:
                await asyncio.wait_for(stop.wait(), SCAN_INTERVAL_S)
            except TimeoutError:
                pass

    @property
    def objects_uploaded(self) -> int:
        """How many objects this run PUT (their bytes: ``bytes_uploaded``)."""
        return sum(not o.reused for o in self.objects.values())

    @property
    def objects_reused(self) -> int:
        """How many objects were already stored with the same bytes (``bytes_reused``)."""
        return sum(o.reused for o in self.objects.values())

    def transfer_summary(self) -> str:
        """``"2 objects uploaded (1.3 KiB), 16 already stored (2.1 MiB)"``: objects and
        bytes, so a one-object re-upload never reads as nothing."""
        return (
            f"{count_of(self.objects_uploaded, 'object')} uploaded "
            f"({human_bytes(self.bytes_uploaded)}), {self.objects_reused} already stored "
            f"({human_bytes(self.bytes_reused)})"
        )

    async def drain(self) -> dict[str, RungObject]:
        """Wait for every queued upload; re-raises the first upload failure."""
        for _ in self._workers:
            self._queue.put_nowait(None)
        await asyncio.gather(*self._workers)
        if self.failure is not None:
            raise self.failure
        return dict(self.objects)

    async def abort(self) -> None:
        """Stop the workers (an upload in flight in the store's thread pool completes)."""
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def _work(self) -> None:
        while True:
            path = await self._queue.get()
            if path is None:
                return
            try:
                await self._upload(path)
            except Exception as exc:  # kept for drain(); `failed` lets the encode stop early
                if self.failure is None:
                    self.failure = exc
                    self.failed.set()
                return

    async def _upload(self, path: Path) -> None:
        key = self.key_for(path)
        data, sha256, md5 = await asyncio.to_thread(_digest, path)
        stored: ObjectInfo | None = None
        if self.existing is None or key in self.existing:
            try:
                stored = await self.storage.head_with_checksum(key)
            except NotFound:
                stored = None
        if stored is not None and same_bytes(stored, len(data), sha256, md5):
            self.objects[key] = RungObject(key, len(data), sha256, reused=True)
            self.bytes_reused += len(data)
            self.on_change()
            return
        if stored is not None:
            if not self.allow_replace:
                raise ServiceError(
                    f"{key} is stored with other bytes and the game is published; "
                    "re-run with --force to replace its rungs."
                )
            self.log(f"replacing {key}: the stored bytes differ (left by an earlier run)")
        await self.storage.put(key, data, sha256=sha256, content_type=content_type_for(key))
        self.objects[key] = RungObject(key, len(data), sha256, reused=False)
        self.bytes_uploaded += len(data)
        self.on_change()


async def verify_stored(
    storage: Storage, objects: list[RungObject], *, concurrency: int = 8
) -> list[str]:
    """HEAD every object with its checksum; returns one problem line per object whose
    stored size or SHA-256 differs from the record, or that is missing (empty: all good)."""
    gate = asyncio.Semaphore(concurrency)

    async def check(obj: RungObject) -> str | None:
        async with gate:
            try:
                stored = await storage.head_with_checksum(obj.key)
            except NotFound:
                return f"{obj.key}: missing"
        if stored.size != obj.size:
            return f"{obj.key}: {stored.size} bytes stored, {obj.size} recorded"
        if stored.sha256 is None:
            return f"{obj.key}: the store keeps no SHA-256 for it"
        if stored.sha256 != obj.sha256:
            stored_hex, recorded_hex = stored.sha256[:12], obj.sha256[:12]
            return f"{obj.key}: stored SHA-256 {stored_hex}… differs from {recorded_hex}…"
        return None

    results = await asyncio.gather(*(check(o) for o in objects))
    return [r for r in results if r]
