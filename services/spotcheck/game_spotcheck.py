"""One game's spot-check as a job operation (issue 4, docs/architecture.md §4): may this game's
ladder replace v1 for viewers? Read-only: nothing in the store is written.

Steps (progress stages in brackets):

1. [inspect] read ``master.m3u8``, list the game's objects once, read the ledger, the
   anchor and every rung playlist: game-level checks (ledger, anchor, multivariant URIs,
   the master lists exactly the ledger's rungs) and per-rung playlist checks
   (``services.spotcheck.inspection``);
2. [measure] at once: streamed SHA-256 of every ledger object; one ffprobe per rendition
   (reference and rungs: keyframes, frame counts, durations, A/V offsets, sizes); the
   fidelity comparison when a source is configured; and, once the reference is probed,
   the one-decode metrics ffmpeg (PSNR, SSIM, VMAF of every readable rung);
3. [report] per-rung verdicts, ``report.json`` + ``frames.csv`` in
   ``report_root/{job_id}/`` (``services.spotcheck.report``).

The reference is the game's source when one is configured, else v1 (``master.v1.m3u8``).
A rung with a missing object is not measured (its decode would be incomplete); it fails
on integrity. Cancelling stops every ffmpeg/ffprobe (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from services.abr.ledger import LedgerDocument
from services.clock import utc_stamp
from services.errors import MediaError, NotFound
from services.hls import resolve_key
from services.job_reporting import JobOutcome, JobReporter
from services.ladder import Ladder, plan_rungs
from services.layout import GameKeys
from services.media_tools.binaries import ffmpeg_exe
from services.media_tools.probe import RenditionProbe, probe_rendition
from services.spotcheck import integrity, quality, structure
from services.spotcheck.checks import (
    Check,
    GameReport,
    Reference,
    RungReport,
    check,
    skipped,
)
from services.spotcheck.fidelity import check_fidelity
from services.spotcheck.hashing import StoreHasher
from services.spotcheck.inspection import RungState, inspect_game
from services.spotcheck.metrics import (
    metric_files,
    metrics_command,
    read_metric_files,
    run_metrics,
)
from services.spotcheck.report import write_report
from services.storage import Storage


class GameSpotcheck:
    """The spot-check of one game; call it with a ``JobReporter``.

    ``url_for(key)`` is the playback gateway's URL of a stored key (ffmpeg and ffprobe
    read through it); ``report_root`` is where reports are kept (``{job_id}/``);
    ``source_prefix`` a profile-level prefix holding ``{game_id}.{ext}`` sources (the
    source rule of ``services.layout``);
    ``vmaf_threads`` libvmaf's ``n_threads``. Raises ``NotFound`` (no such game),
    ``AccessDenied``/``Unreachable`` from the store; every finding about the game itself
    is a failed check in the report, not an exception.
    """

    def __init__(
        self,
        storage: Storage,
        url_for: Callable[[str], str],
        ladder: Ladder,
        report_root: Path,
        game_id: str,
        *,
        source_prefix: str = "",
        vmaf_threads: int = 2,
    ) -> None:
        self.storage = storage
        self.url_for = url_for
        self.ladder = ladder
        self.report_root = report_root
        self.keys = GameKeys(game_id)
        self.source_prefix = source_prefix
        self.vmaf_threads = vmaf_threads
        self.hide = url_for("k")[:-1]  # the gateway's secret prefix, kept out of messages
        self._listing: dict[str, int] = {}
        self._reference: RenditionProbe | None = None
        self._reference_problem = ""

    async def __call__(self, reporter: JobReporter) -> JobOutcome:
        started = time.monotonic()
        game = await self.run(reporter)
        reporter.progress(0.97, "report", "writing the report")
        created = utc_stamp()
        folder = self.report_root / reporter.job_id
        path = await asyncio.to_thread(write_report, folder, reporter.job_id, created, [game])
        failures = game.failures()
        rungs = ", ".join(f"{r.rung} {r.verdict.value}" for r in game.rungs)
        summary = (
            f"{game.game_id}: {game.verdict.value.upper()}"
            + (f" ({rungs})" if rungs else "")
            + (f"; {len(failures)} failed checks" if failures else "")
        )
        for line in failures:
            reporter.log(f"FAIL {line}")
        reporter.log(f"report: {path}")
        reporter.progress(1.0, "done", summary)
        return JobOutcome(
            summary,
            {
                "game_id": game.game_id,
                "verdict": game.verdict.value,
                "report": str(path),
                "rungs": {r.rung: r.verdict.value for r in game.rungs},
                "failures": failures[:50],
                "wall_seconds": round(time.monotonic() - started, 2),
            },
        )

    async def run(self, reporter: JobReporter) -> GameReport:
        """Steps 1 and 2: the game's report (nothing written)."""
        started = time.monotonic()
        keys = self.keys
        reporter.progress(0.0, "inspect", f"reading {keys.master}")
        try:
            master_body = await self.storage.get(keys.master)
        except NotFound:
            raise NotFound(f"No game {keys.game_id!r}: {keys.master} does not exist.") from None
        listing = {o.key: o.size for o in (await self.storage.list_all(keys.prefix)).objects}
        self._listing = listing
        seen = await inspect_game(
            self.storage, keys, master_body.data, listing, source_prefix=self.source_prefix
        )
        ledger = seen.ledger
        if ledger is None:
            return self._game([check("integrity.ledger", [seen.problem])], [], None, started)
        game_checks, rungs = list(seen.checks), list(seen.rungs)
        source_key = seen.source_key
        v1_key = keys.anchor if seen.anchor is not None else None
        reference_key = source_key or v1_key
        game_checks.append(
            await self._measure(rungs, reference_key, source_key, v1_key, ledger, reporter)
        )
        reference = self._reference
        reports = [self._rung_report(r, rungs, reference) for r in rungs]
        ref = None
        if reference is not None and reference_key is not None:
            ref = Reference(
                "source" if source_key else "v1",
                reference_key,
                reference.width,
                reference.height,
                reference.frames,
                reference.duration,
                reference.measured_fps,
            )
        return self._game(game_checks, reports, ref, started)

    def _game(
        self, checks: list[Check], rungs: list[RungReport], ref: Reference | None, started: float
    ) -> GameReport:
        return GameReport(
            self.keys.game_id,
            tuple(checks),
            tuple(rungs),
            ref,
            self.ladder.label,
            time.monotonic() - started,
        )

    async def _measure(
        self,
        rungs: list[RungState],
        reference_key: str | None,
        source_key: str | None,
        v1_key: str | None,
        ledger: LedgerDocument,
        reporter: JobReporter,
    ) -> Check:
        """Step 2: hashes, probes, fidelity and metrics at once; fills ``rungs`` and
        ``self._reference``; returns the fidelity check."""
        self._reference = None
        self._reference_problem = "no reference: neither a source nor master.v1.m3u8"
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
            rung.checks.append(await integrity.check_objects(hasher, rung.row, self.keys.prefix))
            show()

        async def probe(rung: RungState) -> None:
            if rung.playlist is None or rung.missing:
                return
            try:
                rung.probe = await probe_rendition(
                    self.url_for(rung.row.playlist),
                    packets=True,
                    hide=self.hide,
                    name=rung.row.playlist,
                )
            except MediaError as exc:
                rung.probe_problem = str(exc)

        async def measure() -> None:
            if reference_key is None:
                return
            try:
                self._reference = await probe_rendition(
                    self.url_for(reference_key), packets=True, hide=self.hide, name=reference_key
                )
            except MediaError as exc:
                self._reference_problem = str(exc)
                return
            expected["frames"] = self._reference.frames
            await self._metrics(rungs, reference_key, expected, show)

        work: list[Coroutine[Any, Any, Any]] = [objects(r) for r in rungs]
        work += [probe(r) for r in rungs]
        work.append(measure())
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
        self._place_series(rungs)
        return tasks[-1].result()

    async def _metrics(
        self, rungs: list[RungState], reference_key: str, expected: dict, show: Callable[[], None]
    ) -> None:
        """Run the one-decode metrics command over every measurable rung."""
        reference = self._reference
        assert reference is not None
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
            argv = metrics_command(
                ffmpeg_exe(),
                self.url_for(reference_key),
                [self.url_for(r.row.playlist) for r in chosen],
                files,
                reference.width,
                reference.height,
                vmaf_threads=self.vmaf_threads,
            )

            def on_frames(frames: int) -> None:
                expected["done"] = frames
                show()

            run = await run_metrics(argv, hide=self.hide, on_frames=on_frames)
            for rung, out in zip(chosen, files, strict=True):
                if run.code != 0:
                    said = run.warnings[-1] if run.warnings else f"exit status {run.code}"
                    rung.metrics_problem = f"the metrics ffmpeg failed: {said!r}"
                    continue
                try:
                    rung.values = await asyncio.to_thread(read_metric_files, out)
                except MediaError as exc:
                    rung.metrics_problem = str(exc)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _place_series(self, rungs: list[RungState]) -> None:
        """Once every probe is done: each measured rung's values on the reference frames."""
        reference = self._reference
        for rung in rungs:
            if rung.values is None or reference is None:
                continue
            if rung.probe is None:
                rung.metrics_problem = f"not placed on the reference: {rung.probe_problem}"
                continue
            rung.series = quality.on_reference_frames(rung.values, rung.probe, reference)

    def _planned_size(self, rung: str, reference: RenditionProbe | None) -> tuple[int, int] | None:
        if reference is None:
            return None
        planned, _ = plan_rungs(self.ladder, reference.width, reference.height)
        match = next((p for p in planned if p.rung.name == rung), None)
        return None if match is None else (match.width, match.height)

    def _rung_report(
        self, rung: RungState, rungs: list[RungState], reference: RenditionProbe | None
    ) -> RungReport:
        row, prefix = rung.row, self.keys.prefix
        checks = list(rung.checks)
        recorded = [o.key for o in row.objects]
        measures: dict[str, object] = {}
        if rung.playlist is None:
            checks.append(check("structure.playlist", [rung.playlist_problem]))
            why = "the rung playlist is unreadable"
            checks += [skipped(n, why) for n in _PLAYLIST_CHECKS]
        else:
            checks.append(
                integrity.check_playlist_uris(
                    row.playlist, rung.playlist, self._listing, recorded, prefix
                )
            )
            checks += [
                check("structure.playlist", []),
                structure.check_target_duration(rung.playlist),
            ]
            checks += self._stream_checks(rung, rungs, reference, measures)
        checks += self._quality_checks(rung, reference, measures)
        pooled = quality.pooled_series(rung.series) if rung.series is not None else {}
        order = {name: i for i, name in enumerate(CHECK_ORDER)}
        checks.sort(key=lambda c: order.get(c.name, len(order)))
        return RungReport(row.rung, tuple(checks), pooled, measures, rung.series)

    def _stream_checks(
        self,
        rung: RungState,
        rungs: list[RungState],
        reference: RenditionProbe | None,
        measures: dict[str, object],
    ) -> list[Check]:
        assert rung.playlist is not None
        baseline = next(r for r in rungs if r.playlist is not None)
        out: list[Check] = []
        probe = rung.probe
        frame_s = (probe or reference).frame_duration if (probe or reference) else 1 / 24
        assert baseline.playlist is not None
        out.append(
            structure.check_alignment(rung.playlist, baseline.playlist, baseline.row.rung, frame_s)
        )
        if rung.variant is None:
            why = "the rung is not listed in master.m3u8"
            out += [skipped("structure.bandwidth", why), skipped("structure.codecs", why)]
        else:
            recorded = {o.key: o.size for o in rung.row.objects}
            keys = {
                s.uri: resolve_key(rung.row.playlist, s.uri) or "" for s in rung.playlist.segments
            }
            sizes = {uri: self._listing.get(key, recorded.get(key, 0)) for uri, key in keys.items()}
            bandwidth, measured = structure.check_bandwidth(rung.playlist, rung.variant, sizes)
            measures.update(measured)
            out.append(bandwidth)
        if rung.missing:
            why = "not read: the rung has missing objects (see integrity)"
            out += [skipped("structure.keyframes", why), skipped("structure.resolution", why)]
            if rung.variant is not None:
                out.append(skipped("structure.codecs", why))
            return out
        if probe is None:
            why = f"the rung cannot be probed: {rung.probe_problem}"
            out += [check("structure.keyframes", [why]), check("structure.resolution", [why])]
            if rung.variant is not None:
                out.append(check("structure.codecs", [why]))
            return out
        out.append(structure.check_keyframes(rung.playlist, probe))
        if rung.variant is not None:
            out.append(structure.check_codecs(rung.variant, rung.init, probe))
        out.append(
            structure.check_resolution(
                probe,
                self._planned_size(rung.row.rung, reference),
                rung.variant.resolution if rung.variant else None,
            )
        )
        return out

    def _quality_checks(
        self, rung: RungState, reference: RenditionProbe | None, measures: dict[str, object]
    ) -> list[Check]:
        names = ("quality.metrics", "quality.frames", "quality.duration", "quality.av_offset")
        if reference is None:
            return [check(n, [self._reference_problem]) for n in names]
        ladder_rung = next((r for r in self.ladder.rungs if r.name == rung.row.rung), None)
        out: list[Check] = []
        if rung.metrics_problem:
            verdict = skipped if rung.missing else (lambda n, why: check(n, [why]))
            out.append(verdict("quality.metrics", rung.metrics_problem))
        elif ladder_rung is None:
            out.append(
                check(
                    "quality.metrics",
                    [f"{rung.row.rung} is not a rung of {self.ladder.label}: no thresholds"],
                )
            )
        elif rung.series is not None:
            out.append(quality.check_metrics(quality.pooled_series(rung.series), ladder_rung))
        if rung.missing:
            why = "not read: the rung has missing objects (see integrity)"
            return out + [skipped(n, why) for n in names[1:]]
        if rung.probe is None:
            why = f"the rung cannot be probed: {rung.probe_problem or rung.playlist_problem}"
            return out + [check(n, [why]) for n in names[1:]]
        measures.update(quality.timing_measures(rung.probe, reference))
        return out + [
            quality.check_frames(rung.probe, reference),
            quality.check_duration(rung.probe, reference),
            quality.check_av_offset(rung.probe, reference),
        ]


_PLAYLIST_CHECKS = (
    "integrity.playlist_uris",
    "structure.target_duration",
    "structure.keyframes",
    "structure.alignment",
    "structure.bandwidth",
    "structure.codecs",
    "structure.resolution",
)

CHECK_ORDER = (
    "integrity.objects",
    "integrity.playlist_uris",
    "structure.playlist",
    "structure.target_duration",
    "structure.keyframes",
    "structure.alignment",
    "structure.bandwidth",
    "structure.codecs",
    "structure.resolution",
    "quality.metrics",
    "quality.frames",
    "quality.duration",
    "quality.av_offset",
)
"""The order of a rung's checks in reports (the report schema lists the same names)."""
