"""Calibrating the ladder's spot-check floors from clean encodes (issue 18).

A floor is only as good as what it is measured against: a rung's floor sits a margin below
the worst figure a *clean* encode of that rung measures, so a clean game passes and a
visibly degraded one does not. ``calibrate`` takes the spot-check reports of games known
to be clean (``GameReport``, as ``GameSpotcheck`` returns them or ``read_report`` reads
them back) and gives, per rung, the worst clean figure of every thresholded quantity, the
ladder's current floor or limit, and the suggested floor (worst clean - margin).

Quantities (per rung and game; the worst over the games is what counts):

- ``psnr_db``, ``ssim``, ``vmaf``: the pooled means of ``quality.metrics`` (dB; 0-1;
  0-100), the lowest is the worst;
- ``segment_psnr_db``, ``segment_vmaf``: the worst segment's mean (``quality.segments``,
  from ``measures["segments"]``), the lowest is the worst;
- ``frame_psnr_db``, ``frame_vmaf``: the lowest 1st-percentile frame of any segment
  (the ``min_frame_*`` floors);
- ``freeze_motion_ratio``: the lowest motion ratio where the reference moves, and
  ``freeze_psnr_gain_db`` the largest previous-frame PSNR gain (dB), both as
  ``quality.freezes`` measured them (read from its ``measured`` sentence: they are not in
  ``measures``); reported against the ladder's ``freeze_motion_ratio`` and
  ``rules.FREEZE_PSNR_GAIN_DB``, no floor suggested (a freeze measures 0.06-0.12);
- ``av_offset_ms``: the rung's A/V offset minus the reference's (ms, ``quality.av_offset``);
  a shift, not a floor: the ladder-wide suggestion ``av_offset_shift_ms`` is the middle of
  the clean range over every rung and game, and ``av_offset_error_ms`` the clean figures'
  largest distance from it (to compare with ``max_av_offset_error_ms``);
- ``av_sibling_ms``: the rung's A/V offset minus the median of the game's other rungs' (ms;
  the sibling rule allows one AAC frame);
- ``av_end_offset_ms``: the end offset's difference to the reference's (ms,
  ``quality.av_drift``; a clean encode's is the start shift plus the AAC priming);
- ``av_drift_ms``: the A/V drift against the reference beyond the AAC priming (ms), the
  largest in magnitude is the worst (against ``max_av_drift_ms``).

Only clean games may be calibrated on: ``calibrate`` raises ``NotClean`` naming a game
whose spot-check fails anything but the thresholded quality checks (``THRESHOLDED``,
which a clean game may fail against floors being recalibrated), or that measured nothing.
No Qt, no I/O: reports in, a ``Calibration`` out.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.errors import ServiceError
from services.ladder import Ladder, Rung
from services.spotcheck.checks import GameReport, RungReport, Verdict
from services.spotcheck.rules import FREEZE_PSNR_GAIN_DB

PSNR_MARGIN_DB = 3.0
"""Suggested ``min_psnr_db`` = worst clean pooled PSNR - this (dB). A 640x360 encode
labelled 720p or a starved 480p loses 8-10 dB of pooled PSNR; clean encodes of different
windows of the demo clip spread by about 1-3 dB per rung."""

SSIM_MARGIN = 0.01
"""Suggested ``min_ssim`` = worst clean pooled SSIM - this."""

VMAF_MARGIN = 5.0
"""Suggested ``min_vmaf`` = worst clean pooled VMAF - this (VMAF points; about one just
noticeable difference and a half)."""

SEGMENT_PSNR_MARGIN_DB = 3.0
"""Suggested ``min_segment_psnr_db`` = worst clean segment mean PSNR - this (dB)."""

SEGMENT_VMAF_MARGIN = 8.0
"""Suggested ``min_segment_vmaf`` = worst clean segment mean VMAF - this (a 4 s segment's
mean swings more with content than a game's)."""

FRAME_PSNR_MARGIN_DB = 4.0
"""Suggested ``min_frame_psnr_db`` = worst clean 1st-percentile frame PSNR - this (dB)."""

FRAME_VMAF_MARGIN = 15.0
"""Suggested ``min_frame_vmaf`` = worst clean 1st-percentile frame VMAF - this (one frame,
often a scene cut's first, varies most)."""

THRESHOLDED = frozenset(
    {
        "quality.metrics",
        "quality.segments",
        "quality.freezes",
        "quality.av_offset",
        "quality.av_drift",
    }
)
"""Checks a clean game may fail while its floors are being calibrated: they compare with
the thresholds calibration sets. Any other failure (integrity, structure, fidelity, frame
count, duration) means the game is not clean."""


class NotClean(ServiceError):
    """A game given to ``calibrate`` fails a check that no floor explains (or measured
    nothing): its figures would calibrate the floors on a defect."""


@dataclass(frozen=True)
class Quantity:
    """One calibrated quantity: ``key``, ``label`` and ``unit`` for tables; ``worst`` which
    value is the worst (``"low"``, ``"high"``, ``"abs"`` the largest magnitude, ``"shift"``
    none: a range); ``current`` reads the ladder's floor or limit (None: not in the
    ladder); ``margin`` the suggested floor's distance below the worst (None: no floor is
    suggested); ``digits`` for printing."""

    key: str
    label: str
    unit: str
    worst: str
    current: Callable[[Rung], float] | None
    margin: float | None
    digits: int = 2


QUANTITIES: tuple[Quantity, ...] = (
    Quantity("psnr_db", "pooled PSNR", "dB", "low", lambda r: r.min_psnr_db, PSNR_MARGIN_DB),
    Quantity("ssim", "pooled SSIM", "", "low", lambda r: r.min_ssim, SSIM_MARGIN, 4),
    Quantity("vmaf", "pooled VMAF", "", "low", lambda r: r.min_vmaf, VMAF_MARGIN),
    Quantity(
        "segment_psnr_db",
        "worst segment mean PSNR",
        "dB",
        "low",
        lambda r: r.min_segment_psnr_db,
        SEGMENT_PSNR_MARGIN_DB,
    ),
    Quantity(
        "segment_vmaf",
        "worst segment mean VMAF",
        "",
        "low",
        lambda r: r.min_segment_vmaf,
        SEGMENT_VMAF_MARGIN,
    ),
    Quantity(
        "frame_psnr_db",
        "worst 1st-pct frame PSNR",
        "dB",
        "low",
        lambda r: r.min_frame_psnr_db,
        FRAME_PSNR_MARGIN_DB,
    ),
    Quantity(
        "frame_vmaf",
        "worst 1st-pct frame VMAF",
        "",
        "low",
        lambda r: r.min_frame_vmaf,
        FRAME_VMAF_MARGIN,
    ),
    Quantity(
        "freeze_motion_ratio",
        "lowest freeze motion ratio",
        "",
        "low",
        lambda r: r.freeze_motion_ratio,
        None,
    ),
    Quantity(
        "freeze_psnr_gain_db",
        "largest freeze PSNR gain",
        "dB",
        "high",
        lambda r: FREEZE_PSNR_GAIN_DB,
        None,
        1,
    ),
    Quantity("av_offset_ms", "A/V offset - reference", "ms", "shift", None, None, 1),
    Quantity("av_sibling_ms", "A/V offset - other rungs", "ms", "abs", None, None, 1),
    Quantity("av_end_offset_ms", "end A/V offset - reference", "ms", "shift", None, None, 1),
    Quantity(
        "av_drift_ms",
        "A/V drift beyond priming",
        "ms",
        "abs",
        lambda r: r.max_av_drift_ms,
        None,
        1,
    ),
)
"""Every calibrated quantity, in table order (module docstring)."""

_BY_KEY = {q.key: q for q in QUANTITIES}


@dataclass(frozen=True)
class Figure:
    """One quantity of one rung over the calibration games: ``values`` as ``(game_id,
    value)`` in the games' order (units of the quantity; a game that did not measure it is
    left out), ``current`` the ladder's floor or limit (None: not a ladder field)."""

    quantity: Quantity
    values: tuple[tuple[str, float], ...]
    current: float | None

    @property
    def lowest(self) -> float | None:
        return min((v for _, v in self.values), default=None)

    @property
    def highest(self) -> float | None:
        return max((v for _, v in self.values), default=None)

    @property
    def worst(self) -> float | None:
        """The worst clean value (by ``quantity.worst``; for a shift, None: see ``lowest``
        and ``highest``)."""
        pick = self._worst_pair()
        return None if pick is None else pick[1]

    @property
    def worst_game(self) -> str:
        pick = self._worst_pair()
        return "" if pick is None else pick[0]

    def _worst_pair(self) -> tuple[str, float] | None:
        if not self.values or self.quantity.worst == "shift":
            return None
        if self.quantity.worst == "low":
            return min(self.values, key=lambda pair: pair[1])
        if self.quantity.worst == "high":
            return max(self.values, key=lambda pair: pair[1])
        return max(self.values, key=lambda pair: abs(pair[1]))

    @property
    def suggested(self) -> float | None:
        """The suggested floor: worst clean - margin (None without margin or values)."""
        worst, margin = self.worst, self.quantity.margin
        if worst is None or margin is None:
            return None
        return worst - margin

    def as_json(self) -> dict[str, object]:
        return {
            "quantity": self.quantity.key,
            "unit": self.quantity.unit,
            "values": {game: value for game, value in self.values},
            "worst": self.worst,
            "worst_game": self.worst_game,
            "lowest": self.lowest,
            "highest": self.highest,
            "current": self.current,
            "margin": self.quantity.margin,
            "suggested": self.suggested,
        }


@dataclass(frozen=True)
class RungCalibration:
    """One rung's figures (``figures`` in ``QUANTITIES`` order); ``games`` the calibration
    games that have the rung (a rung taller than a game's source is not produced)."""

    rung: str
    games: tuple[str, ...]
    figures: tuple[Figure, ...]

    def get(self, key: str) -> Figure:
        return next(f for f in self.figures if f.quantity.key == key)


@dataclass(frozen=True)
class Calibration:
    """Floors measured on the clean ``games`` (game ids, in the order given) for
    ``ladder`` (its label, ``"abr v1"``): one ``RungCalibration`` per ladder rung, tallest
    first. A/V, ladder-wide (milliseconds): ``av_offset_shift_ms`` the suggested clean
    shift of a rung's A/V offset against the reference's (the middle of every clean
    rung's), ``av_offset_error_ms`` the clean figures' largest distance from it,
    ``av_end_error_ms`` the clean end offsets' largest distance from that shift plus the
    priming (``priming_ms``); None without audio."""

    ladder: str
    games: tuple[str, ...]
    rungs: tuple[RungCalibration, ...]
    priming_ms: float
    av_offset_shift_ms: float | None
    av_offset_error_ms: float | None
    av_end_error_ms: float | None

    def rung(self, name: str) -> RungCalibration:
        return next(r for r in self.rungs if r.rung == name)

    def as_json(self) -> dict[str, object]:
        return {
            "ladder": self.ladder,
            "games": list(self.games),
            "priming_ms": self.priming_ms,
            "av_offset_shift_ms": self.av_offset_shift_ms,
            "av_offset_error_ms": self.av_offset_error_ms,
            "av_end_error_ms": self.av_end_error_ms,
            "margins": {q.key: q.margin for q in QUANTITIES if q.margin is not None},
            "rungs": [
                {
                    "rung": r.rung,
                    "games": list(r.games),
                    "figures": {f.quantity.key: f.as_json() for f in r.figures},
                }
                for r in self.rungs
            ],
        }


def unclean_failures(game: GameReport) -> list[str]:
    """What keeps ``game`` from being a clean calibration game: every failed check but the
    ``THRESHOLDED`` ones (as ``"{rung or game}: {check}: {first reason}"``), and a rung
    whose metrics were not measured. Empty: the game is clean."""
    found = [
        f"{where}: {c.name}: {c.reasons[0] if c.reasons else 'failed'}"
        for where, c in game.failed_checks()
        if c.name not in THRESHOLDED
    ]
    if not game.rungs:
        found.append("game: no rung was checked")
    for rung in game.rungs:
        metrics = rung.get("quality.metrics")
        if not rung.pooled or metrics is None or metrics.verdict is Verdict.SKIP:
            why = metrics.reasons[0] if metrics is not None and metrics.reasons else "no metrics"
            found.append(f"{rung.rung}: not measured ({why})")
    return found


_RATIO = re.compile(r"lowest motion ratio (-?\d+(?:\.\d+)?)")
_GAIN = re.compile(r"largest previous-frame gain ([+-]?(?:\d+(?:\.\d+)?|inf)) dB")


def _freeze_figures(rung: RungReport) -> dict[str, float]:
    """The lowest motion ratio and the largest previous-frame gain (dB) ``quality.freezes``
    measured (as printed: 2 and 1 decimals), when it did."""
    freezes = rung.get("quality.freezes")
    if freezes is None:
        return {}
    text = " ".join(freezes.measured)
    out: dict[str, float] = {}
    if (ratio := _RATIO.search(text)) is not None:
        out["freeze_motion_ratio"] = float(ratio.group(1))
    if (gain := _GAIN.search(text)) is not None and math.isfinite(float(gain.group(1))):
        out["freeze_psnr_gain_db"] = float(gain.group(1))
    return out


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _segment_figures(rung: RungReport) -> dict[str, float]:
    """The worst segment mean and 1st-percentile frame, PSNR (dB) and VMAF."""
    segments = rung.measures.get("segments")
    out: dict[str, float] = {}
    if not isinstance(segments, list):
        return out
    for key, field in (
        ("segment_psnr_db", "psnr_db_mean"),
        ("segment_vmaf", "vmaf_mean"),
        ("frame_psnr_db", "psnr_db_p1"),
        ("frame_vmaf", "vmaf_p1"),
    ):
        values = [v for s in segments if (v := _number(s.get(field))) is not None]
        if values:
            out[key] = min(values)
    return out


def _av_figures(rung: RungReport, game: GameReport, priming_s: float) -> dict[str, float]:
    """A/V figures in milliseconds (module docstring) from the rung's ``measures``."""
    m = rung.measures
    out: dict[str, float] = {}
    mine, theirs = _number(m.get("av_offset_s")), _number(m.get("reference_av_offset_s"))
    if mine is not None and theirs is not None:
        out["av_offset_ms"] = 1000 * (mine - theirs)
    others = [
        o
        for r in game.rungs
        if r.rung != rung.rung and (o := _number(r.measures.get("av_offset_s"))) is not None
    ]
    if mine is not None and others:
        out["av_sibling_ms"] = 1000 * (mine - statistics.median(others))
    end, ref_end = _number(m.get("av_offset_end_s")), _number(m.get("reference_av_offset_end_s"))
    if end is not None and ref_end is not None:
        out["av_end_offset_ms"] = 1000 * (end - ref_end)
    drift = _number(m.get("av_drift_s"))
    if drift is not None:
        out["av_drift_ms"] = 1000 * (drift - priming_s)
    return out


def rung_figures(rung: RungReport, game: GameReport, ladder: Ladder) -> dict[str, float]:
    """Every quantity ``rung`` of ``game`` measured (``QUANTITIES`` keys, their units)."""
    out = {
        name: rung.pooled[name].mean for name in ("psnr_db", "ssim", "vmaf") if name in rung.pooled
    }
    out.update(_segment_figures(rung))
    out.update(_freeze_figures(rung))
    out.update(_av_figures(rung, game, ladder.audio_priming_samples / ladder.audio_sample_rate))
    return out


def calibrate(games: Sequence[GameReport], ladder: Ladder) -> Calibration:
    """The calibration of ``ladder``'s floors on the clean ``games`` (module docstring).

    Raises ``NotClean`` naming every game that is not clean, with its failures, and
    ``ValueError`` when ``games`` is empty or names a game twice."""
    if not games:
        raise ValueError("calibrate needs at least one clean game")
    ids = [g.game_id for g in games]
    if len(set(ids)) != len(ids):
        raise ValueError(f"a game is given twice: {ids}")
    refused = [(g.game_id, problems) for g in games if (problems := unclean_failures(g))]
    if refused:
        lines = "; ".join(f"{game}: {' | '.join(p[:3])}" for game, p in refused)
        raise NotClean(
            f"Not a clean game, so not a calibration game: {lines}. Calibrate on games whose "
            "spot-check fails nothing but the quality floors (re-run the backfill of a "
            "damaged game with --force, or leave it out)."
        )
    measured = {(g.game_id, r.rung): rung_figures(r, g, ladder) for g in games for r in g.rungs}
    rungs = []
    for spec in ladder.rungs:
        having = tuple(g.game_id for g in games if any(r.rung == spec.name for r in g.rungs))
        figures = tuple(
            Figure(
                q,
                tuple(
                    (game, measured[(game, spec.name)][q.key])
                    for game in having
                    if q.key in measured[(game, spec.name)]
                ),
                None if q.current is None else q.current(spec),
            )
            for q in QUANTITIES
        )
        rungs.append(RungCalibration(spec.name, having, figures))
    priming_ms = 1000 * ladder.audio_priming_samples / ladder.audio_sample_rate
    shifts = [v for r in rungs for _, v in r.get("av_offset_ms").values]
    ends = [v for r in rungs for _, v in r.get("av_end_offset_ms").values]
    shift = error = end_error = None
    if shifts:
        shift = (min(shifts) + max(shifts)) / 2
        error = max(abs(v - shift) for v in shifts)
        if ends:
            end_error = max(abs(v - shift - priming_ms) for v in ends)
    return Calibration(ladder.label, tuple(ids), tuple(rungs), priming_ms, shift, error, end_error)


def quantity(key: str) -> Quantity:
    """The ``Quantity`` of ``key`` (``QUANTITIES``)."""
    return _BY_KEY[key]
