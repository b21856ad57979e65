"""One game's spot-check as a job operation (issue 4, docs/architecture.md §4): may this game's
ladder replace v1 for viewers? Read-only: nothing in the store is written.

Steps (progress stages in brackets):

1. [inspect] read ``master.m3u8``, list the game's objects once, read the ledger, the
   anchor and every rung playlist: game-level checks (ledger, anchor, multivariant URIs,
   the master lists exactly the ledger's rungs) and per-rung playlist checks
   (``services.spotcheck.inspection``);
2. [measure] at once: streamed SHA-256 of every ledger object; one ffprobe of packets and
   one of colour tags per rendition (reference and rungs); the fidelity comparison when a
   source is configured; and, once the reference is probed, the one-decode metrics ffmpeg
   (PSNR, SSIM, VMAF, motion, IDR and audio packets: ``services.spotcheck.measurement``);
3. [report] the segment grid and per-rung verdicts (``services.spotcheck.rung_checks``),
   ``report.json`` + ``frames.csv`` in ``report_root/{job_id}/``
   (``services.spotcheck.report``).

The reference is the game's source when one is configured, else v1 (``master.v1.m3u8``)
unless that failed ``integrity.anchor`` (a changed anchor is no reference: the checks
against the reference are skipped and say why). Step 4 [diagnose] marks the failures that
follow from another one and gives every failure its next step
(``services.spotcheck.diagnosis``).
A rung with a missing object is not measured (its decode would be incomplete); it fails
on integrity. Cancelling stops every ffmpeg/ffprobe (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from services.clock import utc_stamp
from services.errors import NotFound
from services.job_reporting import JobOutcome, JobReporter
from services.ladder import Ladder
from services.layout import MASTER_V1, GameKeys
from services.spotcheck.alignment import check_alignment, ladder_grid
from services.spotcheck.checks import Check, GameReport, Reference, RungReport, check
from services.spotcheck.diagnosis import diagnose
from services.spotcheck.inspection import RungState, inspect_game
from services.spotcheck.measurement import Measurement, ReferenceState
from services.spotcheck.report import write_report
from services.spotcheck.rung_checks import CHECK_ORDER, RungContext, rung_report
from services.storage import Storage

__all__ = ["CHECK_ORDER", "GameSpotcheck"]


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
        """Steps 1 to 4 but for the files: the game's report (nothing written)."""
        started = time.monotonic()
        keys = self.keys
        reporter.progress(0.0, "inspect", f"reading {keys.master}")
        try:
            master_body = await self.storage.get(keys.master)
        except NotFound:
            raise NotFound(f"No game {keys.game_id!r}: {keys.master} does not exist.") from None
        listing = {o.key: o.size for o in (await self.storage.list_all(keys.prefix)).objects}
        seen = await inspect_game(
            self.storage, keys, master_body.data, listing, source_prefix=self.source_prefix
        )
        ledger = seen.ledger
        if ledger is None:
            game = self._game([check("integrity.ledger", [seen.problem])], [], None, started)
            return diagnose(game, v1_copy=False)
        game_checks, rungs = list(seen.checks), list(seen.rungs)
        source_key = seen.source_key
        v1_key = keys.anchor if seen.anchor is not None else None
        reference = self._reference(source_key, v1_key, game_checks)
        reference_key = reference.key
        measurement = Measurement(
            self.storage, self.url_for, self.hide, keys.prefix, self.vmaf_threads
        )
        game_checks.append(
            await measurement.run(rungs, reference, source_key, v1_key, ledger, reporter)
        )
        offsets = {
            r.row.rung: r.probe.av_offset
            for r in rungs
            if r.probe is not None and r.probe.av_offset is not None
        }
        alignment = self._alignment(rungs, reference)
        context = RungContext(self.ladder, listing, keys.prefix, alignment, offsets)
        reports = [rung_report(r, reference, context) for r in rungs]
        ref = None
        probe = reference.probe
        if probe is not None and reference_key is not None:
            ref = Reference(
                reference.kind,
                reference_key,
                probe.width,
                probe.height,
                probe.frames,
                probe.duration,
                probe.measured_fps,
            )
        game = self._game(game_checks, reports, ref, started)
        return diagnose(game, v1_copy=ledger.v1_playlist is not None)

    def _reference(
        self, source_key: str | None, v1_key: str | None, game_checks: list[Check]
    ) -> ReferenceState:
        """The game's source when there is one; else ``master.v1.m3u8`` unless it failed
        integrity.anchor for a reason other than a changed ledger hash (then it is not a
        reference: every check against it is skipped and says why)."""
        if source_key:
            return ReferenceState("source", source_key)
        anchor = next((c for c in game_checks if c.name == "integrity.anchor"), None)
        if v1_key is None or anchor is None or not anchor.failed:
            return ReferenceState("v1", v1_key)
        if anchor.finding == "ledger_changed":
            return ReferenceState("v1", v1_key)
        places = self.keys.source_places(self.source_prefix)
        why = (
            f"no reference: {MASTER_V1} failed integrity.anchor, so the rungs were not "
            f"compared with it, and no source is configured ({places})"
        )
        return ReferenceState("v1", None, problem=why, disqualified=True)

    def _alignment(self, rungs: list[RungState], reference: ReferenceState) -> dict[str, Check]:
        """``structure.alignment`` of every rung with a playlist, against the ladder's grid
        on the reference's timeline (the majority of the rungs without one)."""
        playlists = {r.row.rung: r.playlist for r in rungs if r.playlist is not None}
        probe = reference.probe
        grid = ladder_grid(probe, self.ladder, reference.kind) if probe is not None else None
        probed = probe or next((r.probe for r in rungs if r.probe is not None), None)
        frame_s = probed.frame_duration if probed is not None else 1 / 24
        return check_alignment(playlists, grid, frame_s)

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
