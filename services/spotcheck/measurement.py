"""Step 2 of a spot-check [measure] (docs/architecture.md §4): everything read from the
stored bytes, at once.

- streamed SHA-256 of every ledger object (``integrity.check_objects``);
- per rendition (the reference and every readable rung): one ffprobe of its packets
  (``services.media_tools.probe``) and one of its colour tags (``signalling``);
- the fidelity comparison when a source is configured (``fidelity``);
- once the reference is probed, the one metrics ffmpeg (``metrics``): PSNR, SSIM, VMAF of
  every measurable rung, and from the same decode each input's motion, each rung's PSNR
  against the reference's previous frame, and the IDR and audio packets (``stream_logs``).

A rung with a missing object is not measured (its decode would be incomplete); it fails on
integrity. Cancelling stops every ffmpeg/ffprobe (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.abr.ledger import LedgerDocument
from services.errors import MediaError
from services.job_reporting import JobReporter
from services.media_tools.binaries import ffmpeg_exe
from services.media_tools.probe import RenditionProbe, probe_rendition
from services.spotcheck import integrity, quality
from services.spotcheck.checks import Check
from services.spotcheck.fidelity import check_fidelity
from services.spotcheck.hashing import StoreHasher
from services.spotcheck.inspection import RungState
from services.spotcheck.metrics import (
    ReferenceLogs,
    RungMetricFiles,
    metric_files,
    metrics_command,
    read_metric_files,
    read_previous_psnr,
    reference_logs,
    run_metrics,
)
from services.spotcheck.signalling import ColourTags, probe_colour
from services.spotcheck.stream_logs import MotionSeries, PacketLog, read_motion, read_packet_log
from services.storage import Storage

NO_REFERENCE = "no reference: neither a source nor master.v1.m3u8"


@dataclass
class ReferenceState:
    """What the rungs are measured against: ``kind`` ``source`` or ``v1`` and its ``key``
    (None: there is none); then its probe, colour tags, motion and audio packets, each
    with a ``*_problem`` sentence when it could not be read. ``disqualified``: there is a
    v1 playlist but it failed integrity, so it is no reference (``problem`` says so) and the
    checks against it are skipped, not failed."""

    kind: str
    key: str | None
    probe: RenditionProbe | None = None
    problem: str = NO_REFERENCE
    disqualified: bool = False
    colour: ColourTags | None = None
    colour_problem: str = ""
    motion: MotionSeries | None = None
    packets: PacketLog | None = None
    logs_problem: str = ""


class Measurement:
    """Step 2 for one game. ``url_for(key)``: the gateway URL of a stored key; ``hide``
    its secret prefix (kept out of every message); ``prefix`` the game's ``games/{id}/``;
    ``vmaf_threads`` libvmaf's ``n_threads``."""

    def __init__(
        self,
        storage: Storage,
        url_for: Callable[[str], str],
        hide: str,
        prefix: str,
        vmaf_threads: int,
    ) -> None:
        self.storage = storage
        self.url_for = url_for
        self.hide = hide
        self.prefix = prefix
        self.vmaf_threads = vmaf_threads

    async def run(
        self,
        rungs: list[RungState],
        reference: ReferenceState,
        source_key: str | None,
        v1_key: str | None,
        ledger: LedgerDocument,
        reporter: JobReporter,
    ) -> Check:
        """Fill ``rungs`` and ``reference``; return the fidelity check."""
        hasher = StoreHasher(self.storage)
        total = sum(o.size for o in ledger.objects)
        expected = {"frames": 1, "done": 0}

        def show() -> None:
            done = min(expected["done"] / max(expected["frames"], 1), 1.0)
            reporter.progress(
                0.05 + 0.9 * done,
                "measure",
                f"{expected['done']} of {expected['frames']} frames measured, "
                f"{hasher.bytes_hashed / 1e6:.1f} of {total / 1e6:.1f} MB hashed",
            )

        async def objects(rung: RungState) -> None:
            rung.checks.append(await integrity.check_objects(hasher, rung.row, self.prefix))
            show()

        async def probe(rung: RungState) -> None:
            if rung.playlist is None or rung.missing:
                return
            url, name = self.url_for(rung.row.playlist), rung.row.playlist

            async def packets() -> None:
                try:
                    rung.probe = await probe_rendition(url, packets=True, hide=self.hide, name=name)
                except MediaError as exc:
                    rung.probe_problem = str(exc)

            async def colour() -> None:
                try:
                    rung.colour = await probe_colour(url, hide=self.hide, name=name)
                except MediaError as exc:
                    rung.colour_problem = str(exc)

            await asyncio.gather(packets(), colour())

        async def reference_colour() -> None:
            if reference.key is None:
                return
            try:
                reference.colour = await probe_colour(
                    self.url_for(reference.key), hide=self.hide, name=reference.key
                )
            except MediaError as exc:
                reference.colour_problem = str(exc)

        async def measure() -> None:
            if reference.key is None:
                return
            try:
                reference.probe = await probe_rendition(
                    self.url_for(reference.key), packets=True, hide=self.hide, name=reference.key
                )
            except MediaError as exc:
                reference.problem = str(exc)
                return
            reference.problem = ""
            expected["frames"] = reference.probe.frames
            await self._metrics(rungs, reference, expected, show)

        work: list[Coroutine[Any, Any, Any]] = [objects(r) for r in rungs]
        work += [probe(r) for r in rungs]
        work += [reference_colour(), measure()]
        fidelity = check_fidelity(
            self.url_for(v1_key) if v1_key else None,
            self.url_for(source_key) if source_key else None,
            source_key,
            hide=self.hide,
        )
        tasks = [asyncio.ensure_future(c) for c in (*work, fidelity)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            hasher.close()
        self._place_series(rungs, reference.probe)
        return tasks[-1].result()

    async def _metrics(
        self,
        rungs: list[RungState],
        reference: ReferenceState,
        expected: dict,
        show: Callable[[], None],
    ) -> None:
        """Run the one-decode metrics command over every measurable rung and read back
        what it wrote (metrics, motion, packets)."""
        probe = reference.probe
        assert probe is not None and reference.key is not None
        for rung in rungs:
            if rung.missing:
                rung.metrics_problem = "not measured: the rung has missing objects"
            elif rung.playlist is None:
                rung.metrics_problem = "not measured: the rung playlist is unreadable"
        chosen = [r for r in rungs if not r.metrics_problem]
        if not chosen:
            return
        folder = Path(tempfile.mkdtemp(prefix="spotcheck-"))
        try:
            files = metric_files(folder, [r.row.rung for r in chosen])
            logs = reference_logs(folder, audio=probe.has_audio, frame_s=probe.frame_duration)
            argv = metrics_command(
                ffmpeg_exe(),
                self.url_for(reference.key),
                [self.url_for(r.row.playlist) for r in chosen],
                files,
                probe.width,
                probe.height,
                vmaf_threads=self.vmaf_threads,
                reference=logs,
            )

            def on_frames(frames: int) -> None:
                expected["done"] = frames
                show()

            run = await run_metrics(argv, hide=self.hide, on_frames=on_frames)
            if run.code != 0:
                said = run.warnings[-1] if run.warnings else f"exit status {run.code}"
                reference.logs_problem = f"the metrics ffmpeg failed: {said!r}"
                for rung in chosen:
                    rung.metrics_problem = rung.logs_problem = reference.logs_problem
                return
            await asyncio.to_thread(self._read_logs, chosen, files, reference, logs)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _read_logs(
        chosen: list[RungState],
        files: list[RungMetricFiles],
        reference: ReferenceState,
        logs: ReferenceLogs,
    ) -> None:
        """Read what the metrics run wrote (a worker thread: plain file reads)."""
        try:
            reference.motion = read_motion(logs.motion, "the reference")
            if logs.audio is not None:
                reference.packets = read_packet_log(logs.audio, "the reference")
        except MediaError as exc:
            reference.logs_problem = str(exc)
        for rung, out in zip(chosen, files, strict=True):
            try:
                rung.values = read_metric_files(out)
            except MediaError as exc:
                rung.metrics_problem = str(exc)
            try:
                rung.motion = read_motion(out.motion, rung.row.rung)
                rung.packets = read_packet_log(out.packets, rung.row.rung)
                if rung.values is not None:
                    frames = len(rung.values.psnr_db)
                    rung.previous_psnr = read_previous_psnr(out, frames)
            except MediaError as exc:
                rung.logs_problem = str(exc)

    @staticmethod
    def _place_series(rungs: list[RungState], reference: RenditionProbe | None) -> None:
        """Once every probe is done: each measured rung's values on the reference frames."""
        for rung in rungs:
            if rung.values is None or reference is None:
                continue
            if rung.probe is None:
                rung.metrics_problem = f"not placed on the reference: {rung.probe_problem}"
                continue
            rung.series = quality.on_reference_frames(rung.values, rung.probe, reference)
