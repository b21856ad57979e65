"""One game's ABR backfill, v1 → v1.5 (docs/contracts.md §1.1 and §4), as a job operation.

Order of writes, each one safe to be killed after:

1. rung objects under ``abr/{rung}/``, uploaded while the one-decode ladder encode runs,
   skipping objects already stored with the same SHA-256;
2. verify every rung object (HEAD: size + stored SHA-256);
3. the ledger ``abr/renditions.json``;
4. the rollback anchor ``master.v1.m3u8``, written only if absent (``If-None-Match: *``); an
   existing one must equal the v1 bytes, else the game is broken and the job stops;
5. the multivariant ``master.m3u8``, written last and only over the v1 ETag read at the
   start (``If-Match``): a 412 means someone changed the game and nothing is published.

Until step 5 succeeds viewers get the v1 media playlist, untouched. The v1 objects are
never written, nothing is ever deleted. A re-run after a kill resumes: when the ledger is
stored and verifies, the encode is skipped; otherwise the deterministic encode (one x264
thread per rung) reproduces identical bytes and the uploader keeps every object already
stored. An already-v1.5 game is verified and skipped unless ``force`` is set.

Keys come from ``services.layout``; the ledger and the multivariant playlist are
``services.abr`` (shared with the spot-check); steps 4 and 5 and the check of an already
published game are ``services.backfill.publish``.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from services.abr.ledger import LedgerDocument, LedgerObject, PackagedRendition
from services.abr.multivariant import codecs_attribute, measure_bandwidth, multivariant_text
from services.backfill.encode import (
    INIT_NAME,
    PLAYLIST_NAME,
    EncodeProgress,
    LadderEncode,
    ladder_command,
)
from services.backfill.publish import publish_master, sha256_hex, verify_published, write_anchor
from services.backfill.source import (
    SourceRendition,
    probe_source,
    read_source,
    require_no_missing,
)
from services.backfill.upload import RungObject, RungUploader, verify_stored
from services.clock import utc_stamp
from services.errors import MediaError, NotFound
from services.hls import MediaPlaylist, MultivariantPlaylist, parse_playlist
from services.job_reporting import JobOutcome, JobReporter
from services.ladder import Ladder, PlannedRung, gop_frames, plan_rungs
from services.layout import MASTER, MASTER_V1, GameKeys
from services.media_tools.binaries import ffmpeg_exe, ffmpeg_version
from services.media_tools.probe import RenditionProbe
from services.storage import ObjectBody, Storage
from services.units import human_bytes

FRAME_TOLERANCE = 2
"""Encoded frames may differ from the v1 playlist's duration x fps by this many frames."""

Checkpoint = Callable[[str], Awaitable[None]]
"""Awaited after each durable step ("ledger", "anchor", "published"); the CLI's crash tests
use it to hold a job at a precise point."""


async def no_checkpoint(stage: str) -> None:
    """The default checkpoint: go on at once."""
    return None


class GameBackfill:
    """The backfill of one game; call it with a ``JobReporter`` (a jobs-model operation).

    ``source_url_for(key)`` gives the URL ffmpeg reads a stored key from (the playback
    gateway); ``work_root`` is a local folder for the encoder's output (a per-job subfolder,
    removed at the end). Raises ``MediaError`` (broken or undecodable v1, failed
    verification), ``PreconditionFailed`` (master.m3u8 changed during the job), ``NotFound``
    (no such game), ``AccessDenied``/``Unreachable`` from the store, ``PlaylistError``.
    """

    def __init__(
        self,
        storage: Storage,
        source_url_for: Callable[[str], str],
        ladder: Ladder,
        work_root: Path,
        game_id: str,
        *,
        force: bool = False,
        checkpoint: Checkpoint = no_checkpoint,
    ) -> None:
        self.storage = storage
        self.source_url_for = source_url_for
        self.ladder = ladder
        self.work_root = work_root
        self.keys = GameKeys(game_id)
        self.force = force
        self.checkpoint = checkpoint

    async def __call__(self, reporter: JobReporter) -> JobOutcome:
        started = time.monotonic()
        keys = self.keys
        reporter.progress(0.0, "inspect", f"reading {keys.master}")
        try:
            master = await self.storage.get(keys.master)
        except NotFound:
            raise NotFound(f"No game {keys.game_id!r}: {keys.master} does not exist.") from None
        stored = {o.key: o for o in (await self.storage.list_all(keys.prefix)).objects}
        parsed = parse_playlist(master.data, uri=keys.master)
        published = isinstance(parsed, MultivariantPlaylist)
        if published and not self.force:
            return await verify_published(self.storage, keys, master, stored, reporter)
        source = await self._source(master, published, stored)
        require_no_missing(source, stored)
        reporter.log(
            f"v1 source {source.key}: {len(source.playlist.segments)} segments, "
            f"{source.duration:.1f} s, SHA-256 {source.sha256[:16]}…"
        )
        ledger = None if self.force else await self._resumable_ledger(source, stored, reporter)
        transfer = "nothing uploaded (the stored ledger verifies)"
        uploaded = reused = objects_uploaded = 0
        if ledger is None:
            ledger, uploader = await self._encode(source, published, stored, reporter)
            transfer = uploader.transfer_summary()
            uploaded, reused = uploader.bytes_uploaded, uploader.bytes_reused
            objects_uploaded = uploader.objects_uploaded
            reporter.progress(0.94, "ledger", f"writing {keys.ledger}")
            data = ledger.to_bytes()
            await self.storage.put(
                keys.ledger, data, sha256=sha256_hex(data), content_type="application/json"
            )
            reporter.log(f"ledger written: {keys.ledger}")
        await self.checkpoint("ledger")
        reporter.progress(0.96, "anchor", f"rollback anchor {keys.anchor}")
        await write_anchor(self.storage, keys, source)
        await self.checkpoint("anchor")
        reporter.progress(0.98, "publish", f"publishing {keys.master}")
        text = multivariant_text(ledger.renditions, keys.prefix).encode("utf-8")
        changed = await publish_master(self.storage, keys, master, text, reporter)
        await self.checkpoint("published")
        rungs = ledger.rungs
        skipped = [f"{rung} skipped ({reason})" for rung, reason in ledger.skipped]
        summary = f"{len(rungs)} rungs ({', '.join(rungs)}), {transfer}, " + (
            "master.m3u8 published" if changed else "master.m3u8 already up to date"
        )
        reporter.progress(1.0, "done", summary)
        return JobOutcome(
            summary,
            {
                "game_id": keys.game_id,
                "state": "v1.5",
                "rungs": rungs,
                "skipped": skipped,
                "bytes_uploaded": uploaded,
                "bytes_reused": reused,
                "objects_uploaded": objects_uploaded,
                "objects": len(ledger.objects),
                "master_published": changed,
                "wall_seconds": round(time.monotonic() - started, 2),
            },
        )

    async def _source(self, master: ObjectBody, published: bool, stored: dict) -> SourceRendition:
        """The v1 playlist: ``master.m3u8`` itself, or (forced re-run of a v1.5 game) the
        anchor. A stored anchor that differs from a v1 master means the game is broken."""
        keys = self.keys
        if published:
            if keys.anchor not in stored:
                raise MediaError(
                    f"{keys.master} is multivariant but {MASTER_V1} is missing: the game is "
                    "broken (no rollback anchor); nothing was changed."
                )
            anchor = await self.storage.get(keys.anchor)
            return read_source(keys.anchor, anchor.data)
        source = read_source(keys.master, master.data)
        if keys.anchor in stored:
            anchor = await self.storage.get(keys.anchor)
            if anchor.data != master.data:
                raise MediaError(
                    f"{keys.anchor} exists and differs from the v1 {MASTER}: the game is "
                    "broken; nothing was encoded or written."
                )
        return source

    async def _resumable_ledger(
        self, source: SourceRendition, stored: dict, reporter: JobReporter
    ) -> LedgerDocument | None:
        """A stored ledger of this ladder and source whose objects all verify, else None."""
        if self.keys.ledger not in stored:
            return None
        body = await self.storage.get(self.keys.ledger)
        try:
            ledger = LedgerDocument.from_bytes(body.data, self.keys.ledger)
        except MediaError as exc:
            reporter.log(f"ignoring the stored ledger: {exc}")
            return None
        same_ladder = (ledger.ladder_name, ledger.ladder_version) == (
            self.ladder.name,
            self.ladder.version,
        )
        same_source = all(r.source_sha256 == source.sha256 for r in ledger.renditions)
        if not (same_ladder and same_source and ledger.renditions):
            reporter.log("the stored ledger is for another ladder or source: re-encoding")
            return None
        reporter.progress(0.5, "verify", f"verifying the {len(ledger.objects)} ledger objects")
        problems = await verify_stored(self.storage, ledger.objects)
        if problems:
            reporter.log(f"the stored ledger does not verify ({problems[0]}): re-encoding")
            return None
        reporter.log(f"resuming: the stored ledger verifies ({len(ledger.objects)} objects)")
        return ledger

    async def _encode(
        self, source: SourceRendition, published: bool, stored: dict, reporter: JobReporter
    ) -> tuple[LedgerDocument, RungUploader]:
        """Probe, encode every rung in one ffmpeg, upload as segments land, verify; returns
        the ledger to write (with the v1 playlist's text) and the uploader (what it
        uploaded and what it found already stored)."""
        url = self.source_url_for(source.key)
        hide = url[: -len(source.key)] if url.endswith(source.key) else url
        video = await probe_source(url, hide=hide)
        planned, skipped = plan_rungs(self.ladder, video.width, video.height, video.sample_aspect)
        gop = gop_frames(self.ladder, video.fps)
        for s in skipped:
            reporter.log(f"{s.rung.name}: skipped, {s.reason}")
        reporter.log(
            f"source {video.codec} {video.width}x{video.height} @ {video.fps:.3f} fps; "
            f"encoding {', '.join(p.rung.name for p in planned)} with a {gop}-frame GOP"
        )
        version = await asyncio.to_thread(ffmpeg_version)
        work = self._work_dir(reporter.job_id)
        try:
            objects, uploader = await self._encode_into(
                work, url, hide, source, video, planned, gop, published, set(stored), reporter
            )
            rows = [
                self._row(work, plan, video, source, objects, reporter.job_id, version)
                for plan in planned
            ]
        finally:
            shutil.rmtree(work, ignore_errors=True)
        reporter.progress(0.9, "verify", f"verifying {len(objects)} rung objects")
        problems = await verify_stored(self.storage, list(objects.values()))
        if problems:
            raise MediaError(
                f"Verification failed for {len(problems)} rung objects ({problems[0]}); "
                "nothing was published. Run the backfill again."
            )
        ledger = LedgerDocument(
            game_id=self.keys.game_id,
            job_id=reporter.job_id,
            created_at=_now(),
            ladder_name=self.ladder.name,
            ladder_version=self.ladder.version,
            renditions=tuple(rows),
            skipped=tuple((s.rung.name, s.reason) for s in skipped),
            v1_playlist=source.data.decode("utf-8"),
        )
        return ledger, uploader

    async def _encode_into(
        self,
        work: Path,
        url: str,
        hide: str,
        source: SourceRendition,
        video: RenditionProbe,
        planned: list[PlannedRung],
        gop: int,
        published: bool,
        existing: set[str],
        reporter: JobReporter,
    ) -> tuple[dict[str, RungObject], RungUploader]:
        for plan in planned:
            (work / plan.rung.name).mkdir(parents=True, exist_ok=True)
        duration = max(source.duration, 0.001)
        expected_frames = max(1, round(duration * video.fps))
        state = {"frames": 0, "speed": None, "stage": "encode"}

        def show() -> None:
            # frames, not -progress out_time: with several outputs out_time runs ahead
            done = min(state["frames"] / expected_frames, 1.0)
            speed = f" ({state['speed']:.2f}x)" if state["speed"] else ""
            reporter.progress(
                0.02 + 0.86 * done,
                state["stage"],
                f"{done * duration:.1f} of {duration:.1f} s encoded{speed}, "
                f"{human_bytes(uploader.bytes_uploaded)} uploaded, "
                f"{human_bytes(uploader.bytes_reused)} kept",
            )

        def on_progress(p: EncodeProgress) -> None:
            state["frames"], state["speed"] = p.frame, p.speed
            show()

        uploader = RungUploader(
            self.storage,
            work,
            [p.rung.name for p in planned],
            self.keys.abr,
            allow_replace=self.force or not published,
            existing=existing,
            on_change=show,
            log=reporter.log,
        )
        argv = ladder_command(ffmpeg_exe(), url, video, self.ladder, planned, gop, work)
        encode = LadderEncode(argv, on_progress, hide=hide)
        stop = asyncio.Event()
        watcher = asyncio.ensure_future(uploader.watch(stop))
        try:
            await self._encode_unless_upload_fails(encode, uploader)
            stop.set()
            await watcher
            expected = expected_frames
            if abs(encode.frames - expected) > FRAME_TOLERANCE:
                raise MediaError(
                    f"The encode produced {encode.frames} frames but the v1 playlist declares "
                    f"{duration:.3f} s = {expected} frames: a truncated or damaged segment? "
                    "Nothing was published."
                )
            uploader.offer_ready(final=True)
            state["stage"] = "upload"
            show()
            objects = await uploader.drain()
        except BaseException:
            stop.set()
            watcher.cancel()
            await uploader.abort()
            raise
        reporter.log(f"encode done: {encode.frames} frames; {uploader.transfer_summary()}")
        return objects, uploader

    @staticmethod
    async def _encode_unless_upload_fails(encode: LadderEncode, uploader: RungUploader) -> None:
        """Run the encode; if an upload fails first (a 403, the store unreachable), stop
        ffmpeg at once and raise that failure instead of encoding for nothing."""
        encoding = asyncio.ensure_future(encode.run())
        failing = asyncio.ensure_future(uploader.failed.wait())
        try:
            await asyncio.wait({encoding, failing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            failing.cancel()
            if not encoding.done():
                encoding.cancel()
                await asyncio.gather(encoding, return_exceptions=True)
        if uploader.failure is not None and encoding.cancelled():
            raise uploader.failure
        await encoding

    def _row(
        self,
        work: Path,
        plan: PlannedRung,
        video: RenditionProbe,
        source: SourceRendition,
        objects: dict[str, RungObject],
        job_id: str,
        version: str,
    ) -> PackagedRendition:
        rung_dir = work / plan.rung.name
        key_prefix = self.keys.rung_prefix(plan.rung.name)
        playlist = parse_playlist((rung_dir / PLAYLIST_NAME).read_bytes(), uri=PLAYLIST_NAME)
        if not isinstance(playlist, MediaPlaylist):
            raise MediaError(f"ffmpeg wrote a multivariant playlist for {plan.rung.name}.")
        segments = [(objects[key_prefix + s.uri].size, s.duration) for s in playlist.segments]
        peak, average = measure_bandwidth(segments)
        names = [INIT_NAME, *(s.uri for s in playlist.segments), PLAYLIST_NAME]
        return PackagedRendition(
            game_id=self.keys.game_id,
            rung=plan.rung.name,
            ladder_name=self.ladder.name,
            ladder_version=self.ladder.version,
            encoder_settings=self.ladder.encoder_settings(plan.rung),
            ffmpeg_version=version,
            source_key=source.key,
            source_sha256=source.sha256,
            created_at=_now(),
            job_id=job_id,
            playlist=key_prefix + PLAYLIST_NAME,
            width=plan.width,
            height=plan.height,
            frame_rate=round(video.fps, 3),
            codecs=codecs_attribute((rung_dir / INIT_NAME).read_bytes(), video.has_audio),
            bandwidth=peak,
            average_bandwidth=average,
            objects=tuple(
                LedgerObject(o.key, o.size, o.sha256)
                for o in (objects[key_prefix + n] for n in names)
            ),
        )

    def _work_dir(self, job_id: str) -> Path:
        """``work_root/{game_id}.{job_id}``, after removing folders of earlier runs of this
        game that a kill left behind."""
        self.work_root.mkdir(parents=True, exist_ok=True)
        for stale in self.work_root.glob(f"{self.keys.game_id}.*"):
            shutil.rmtree(stale, ignore_errors=True)
        return self.work_root / f"{self.keys.game_id}.{job_id}"


def _now() -> str:
    return utc_stamp()
