"""Step 4 of a spot-check [diagnose] (issue 18): which failures are causes, which follow
from them, and the operator's next step for each.

A failure that follows from another gets ``cause`` (the name of that check and its first
reason) and the action "fix the cause first"; every other failure gets the action that
fixes it. Rules, per rung, in this order (a failure already marked keeps its first cause):

1. ``integrity.objects`` failed: every failed check that reads the rung's media (frames,
   duration, keyframes, IDRs, bandwidth, codecs, resolution, colour, metrics, segments,
   freezes, A/V) follows from it; the playlist checks too when the rung's playlist is one
   of the damaged objects, and ``integrity.playlist_uris`` when the keys it finds missing
   are the objects it found missing. A truncated segment is one failure, not five bad
   encodes.
2. ``structure.keyframes`` failed: ``structure.idr`` and ``structure.alignment`` follow.
3. ``quality.frames`` failed: ``quality.duration`` and ``quality.av_drift`` follow (a rung
   short of frames ends early).
4. ``structure.resolution`` failed: ``quality.metrics`` and ``quality.segments`` follow (a
   smaller picture scaled to the reference scores lower everywhere).
5. ``structure.colour`` failed: ``quality.metrics`` and ``quality.segments`` follow (a
   range or matrix tag off shifts every decoded level).
6. ``quality.av_offset`` failed: ``quality.av_drift`` follows (an offset wrong at the
   start is wrong at the end too).
7. ``quality.freezes`` failed: ``quality.segments`` follows when every segment it finds
   below its floors holds a frozen run.

At game level ``fidelity.v1_remux`` follows from a failed ``integrity.anchor`` (the v1
compared with the source is the changed anchor).

Actions name the command to run (``main.py backfill --game G --force``, which re-encodes
the ladder from ``master.v1.m3u8`` and re-uploads only objects whose bytes differ;
``main.py ledger v1-playlist``, which writes the ledger's copy of the v1 playlist to a
file) or whom to escalate to. The console never writes ``master.v1.m3u8`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from services.spotcheck.checks import Check, GameReport, RungReport
from services.spotcheck.rung_checks import CHECK_ORDER

PLAYLIST_CHECKS = frozenset(
    {
        "integrity.playlist_uris",
        "structure.playlist",
        "structure.target_duration",
        "structure.alignment",
    }
)
"""The rung checks that read its media playlist (rule 1, when the playlist is damaged)."""

MEDIA_CHECKS = frozenset(
    n for n in CHECK_ORDER if n.split(".")[0] != "integrity" and n not in PLAYLIST_CHECKS
)
"""The rung checks that read its media bytes (rule 1): every other structure and quality
check."""

_FOLLOWS: tuple[tuple[str, frozenset[str]], ...] = (
    ("structure.keyframes", frozenset({"structure.idr", "structure.alignment"})),
    ("quality.frames", frozenset({"quality.duration", "quality.av_drift"})),
    ("structure.resolution", frozenset({"quality.metrics", "quality.segments"})),
    ("structure.colour", frozenset({"quality.metrics", "quality.segments"})),
    ("quality.av_offset", frozenset({"quality.av_drift"})),
)
"""Rules 2-6: a failed check and the failures that follow from it."""


def diagnose(game: GameReport, *, v1_copy: bool) -> GameReport:
    """``game`` with every failed check given its ``cause`` or ``action`` (module
    docstring). ``v1_copy``: the ledger keeps a copy of the v1 playlist (so a changed
    anchor can be restored from it)."""
    advice = _Advice(game.game_id, v1_copy)
    anchor = _failed(game.checks, "integrity.anchor")
    checks = []
    for c in game.checks:
        if not c.failed:
            checks.append(c)
        elif anchor is not None and c.name == "fidelity.v1_remux":
            checks.append(_follows(c, anchor))
        else:
            checks.append(replace(c, action=advice.game(c)))
    rungs = tuple(_diagnose_rung(r, advice) for r in game.rungs)
    return replace(game, checks=tuple(checks), rungs=rungs)


def _failed(checks: Iterable[Check], name: str) -> Check | None:
    return next((c for c in checks if c.name == name and c.failed), None)


def _follows(check: Check, cause: Check) -> Check:
    return replace(
        check,
        cause=f"{cause.name} ({cause.reasons[0]})",
        action=f"Fix {cause.name} first: this failure follows from it.",
    )


def _causes(rung: RungReport) -> dict[str, Check]:
    """Each failed check of ``rung`` that follows from another, with that other (rules 1-7)."""
    failed = {c.name: c for c in rung.checks if c.failed}
    found: dict[str, Check] = {}

    def mark(names: Iterable[str], cause: Check) -> None:
        for name in names:
            if name in failed and name != cause.name and name not in found:
                found[name] = cause

    objects = failed.get("integrity.objects")
    if objects is not None:
        mark(MEDIA_CHECKS, objects)
        if any(s.endswith("/index.m3u8") for s in objects.subjects):
            mark(PLAYLIST_CHECKS, objects)
        uris = failed.get("integrity.playlist_uris")
        if uris is not None and uris.subjects and set(uris.subjects) <= set(objects.subjects):
            mark(["integrity.playlist_uris"], objects)
    for cause_name, names in _FOLLOWS:
        cause = failed.get(cause_name)
        if cause is not None and cause_name not in found:
            mark(names, cause)
    freezes, segments = failed.get("quality.freezes"), failed.get("quality.segments")
    if (
        freezes is not None
        and segments is not None
        and segments.subjects
        and set(segments.subjects) <= set(freezes.subjects)
    ):
        mark(["quality.segments"], freezes)
    return found


def _diagnose_rung(rung: RungReport, advice: _Advice) -> RungReport:
    causes = _causes(rung)
    checks = []
    for c in rung.checks:
        if not c.failed:
            checks.append(c)
        elif c.name in causes:
            checks.append(_follows(c, causes[c.name]))
        else:
            checks.append(replace(c, action=advice.rung(rung.rung, c)))
    return replace(rung, checks=tuple(checks))


class _Advice:
    """The next step for a root-cause failure of game ``game_id``."""

    def __init__(self, game_id: str, v1_copy: bool) -> None:
        self.game_id = game_id
        self.v1_copy = v1_copy
        self.force = f"`main.py backfill --game {game_id} --force`"

    def game(self, check: Check) -> str:
        name = check.name
        if name == "integrity.anchor":
            return self._anchor(check)
        if name == "integrity.ledger":
            if "not backfilled" in check.reasons[0]:
                return f"Backfill the game first: `main.py backfill --game {self.game_id}`."
            return (
                f"Re-run the backfill with --force ({self.force}): it encodes the ladder "
                "again from master.v1.m3u8 and writes a new ledger before publishing."
            )
        if name in ("integrity.multivariant_uris", "structure.multivariant"):
            return (
                f"Re-run the backfill with --force ({self.force}): it keeps every rung object "
                "whose bytes match and publishes master.m3u8 from the ledger again "
                "(a conditional write, the only one the console makes)."
            )
        if name == "fidelity.v1_remux":
            return (
                "Escalate to the platform team: the v1 rendition is not a remux of the "
                "configured source (the source differs); no backfill fixes that."
            )
        return f"Re-run the backfill with --force ({self.force}), then spot-check again."

    def _anchor(self, check: Check) -> str:
        if check.finding == "ledger_changed":
            return (
                "Escalate to the platform team with this report: abr/renditions.json was "
                "edited, not master.v1.m3u8. Once the anchor is confirmed as the v1 playlist, "
                f"{self.force} writes a fresh ledger from it."
            )
        if check.finding == "undetermined":
            return (
                "Escalate to the platform team: compare master.v1.m3u8 with their record of "
                "the v1 playlist (the SHA-256 the ledger records); the spot-check cannot tell "
                "which side changed. Do not backfill with --force meanwhile."
            )
        restore = (
            f"write the ledger's copy with `main.py ledger v1-playlist --game {self.game_id} "
            "-o master.v1.m3u8`"
            if self.v1_copy
            else "take the platform's backup of the v1 playlist (its SHA-256 is the one the "
            "ledger records)"
        )
        return (
            f"Restore master.v1.m3u8: {restore} and upload it over "
            f"games/{self.game_id}/master.v1.m3u8 with the store's admin credentials (the "
            "console never overwrites the rollback anchor). Do not backfill with --force "
            "before: it would encode from the changed anchor."
        )

    def rung(self, rung: str, check: Check) -> str:
        name = check.name
        if name == "integrity.objects":
            if check.finding == "unreadable":
                return (
                    "Run the spot-check again: a store fault kept these bytes from being "
                    "read, nothing is known to be wrong with them. If it keeps failing, "
                    "check the store's health."
                )
            shown = ", ".join(check.subjects[:3]) + (" …" if len(check.subjects) > 3 else "")
            return (
                f"Re-upload {shown}: re-run the backfill with --force ({self.force}); it "
                f"re-encodes the ladder and re-uploads only the objects of {rung} whose "
                "bytes differ, then spot-check again."
            )
        if name == "structure.bandwidth":
            return (
                f"Re-run the backfill with --force ({self.force}): it measures BANDWIDTH from "
                "the stored segments again and publishes master.m3u8 from the ledger."
            )
        return (
            f"Re-encode {rung}: re-run the backfill with --force ({self.force}) and "
            "spot-check again; if it fails the same way, the encoder or the ladder is at "
            "fault: escalate with this report."
        )
