"""What a spot-check finds: one ``Check`` per rule with its verdict and reasons, grouped
per rung and per game. Frozen dataclasses; ``services.spotcheck.report`` writes them out.

Check names are stable identifiers ``{category}.{rule}`` (categories: ``integrity``,
``fidelity``, ``structure``, ``quality``); the report schema documents them. A check may
carry ``measured``: sentences of the figures it compared (on pass as well as on fail), so
an operator sees how close a passing rung came to its threshold.

A failed check also says what to do (issue 18, ``services.spotcheck.diagnosis``): a root
cause carries ``action``, the next step for the operator; a failure that follows from
another one carries ``cause`` (the name of the failed check it follows from, with that
check's first reason) and the action "fix the cause first", so one truncated segment reads
as one failure and its consequences, not five bad encodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Verdict(StrEnum):
    """``pass``; ``fail`` (the rule is broken: the reasons say how); ``skip`` (the rule
    could not or need not run, e.g. no source configured: the reasons say why; a skip
    never fails a rung)."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One rule applied to one rung (or to the game): ``name`` as ``category.rule``;
    ``reasons`` why it failed or was skipped; ``measured`` what it measured (units in the
    sentences), whatever the verdict; ``subjects`` the objects a failure is about (keys
    relative to the game, ``abr/720p/seg_00003.m4s``, or a rung's segment URIs);
    ``finding`` a short tag of what kind of failure it is where the next step depends on
    it (``damaged``, ``unreadable``, ``anchor_changed``, ``ledger_changed``,
    ``undetermined``); ``cause`` and ``action`` as in the module docstring (empty on a
    pass)."""

    name: str
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    measured: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    finding: str = ""
    cause: str = ""
    action: str = ""

    @property
    def consequence(self) -> bool:
        """A failure that follows from another failed check (``cause``)."""
        return self.failed and bool(self.cause)

    @property
    def category(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def failed(self) -> bool:
        return self.verdict is Verdict.FAIL


def check(
    name: str,
    reasons: list[str] | tuple[str, ...],
    measured: list[str] | tuple[str, ...] = (),
    *,
    subjects: list[str] | tuple[str, ...] = (),
    finding: str = "",
) -> Check:
    """``pass`` when ``reasons`` (the problems found) is empty, else ``fail`` with them;
    ``measured`` is kept either way, ``subjects`` and ``finding`` only on a fail."""
    if not reasons:
        return Check(name, Verdict.PASS, (), tuple(measured))
    return Check(name, Verdict.FAIL, tuple(reasons), tuple(measured), tuple(subjects), finding)


def skipped(name: str, why: str) -> Check:
    return Check(name, Verdict.SKIP, (why,))


@dataclass(frozen=True)
class Pooled:
    """Per-frame values pooled: arithmetic ``mean``, ``min`` and the 5th percentile ``p5``
    (nearest rank), over ``frames`` values."""

    mean: float
    min: float
    p5: float
    frames: int


@dataclass(frozen=True)
class FrameSeries:
    """Per-frame metrics of one rung against the reference, in reference frame order:
    ``pts`` in seconds from the first frame, ``psnr_db`` (capped, dB), ``ssim`` (0-1, all
    planes), ``vmaf`` (0-100, model vmaf_v0.6.1). Equal lengths."""

    pts: tuple[float, ...]
    psnr_db: tuple[float, ...]
    ssim: tuple[float, ...]
    vmaf: tuple[float, ...]


@dataclass(frozen=True)
class RungReport:
    """One rung's checks; ``pooled`` maps ``psnr_db``/``ssim``/``vmaf`` to ``Pooled`` when
    the metrics ran; ``measures`` holds the compared figures (frame counts, durations in
    seconds, A/V offsets in seconds, sizes) for the report."""

    rung: str
    checks: tuple[Check, ...]
    pooled: dict[str, Pooled] = field(default_factory=dict)
    measures: dict[str, object] = field(default_factory=dict)
    frames: FrameSeries | None = None

    @property
    def verdict(self) -> Verdict:
        return Verdict.FAIL if any(c.failed for c in self.checks) else Verdict.PASS

    def get(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)


@dataclass(frozen=True)
class Reference:
    """What the rungs were measured against: ``kind`` ``source`` or ``v1``, its store
    ``key``, ``width`` x ``height`` in pixels, ``frames``, ``duration_s`` and ``fps``."""

    kind: str
    key: str
    width: int
    height: int
    frames: int
    duration_s: float
    fps: float


@dataclass(frozen=True)
class GameReport:
    """One game's spot-check: game-level checks (ledger, anchor, multivariant, fidelity)
    and one ``RungReport`` per rung of the ledger."""

    game_id: str
    checks: tuple[Check, ...]
    rungs: tuple[RungReport, ...]
    reference: Reference | None = None
    ladder: str = ""
    wall_seconds: float = 0.0

    @property
    def verdict(self) -> Verdict:
        failed = any(c.failed for c in self.checks) or any(
            r.verdict is Verdict.FAIL for r in self.rungs
        )
        return Verdict.FAIL if failed else Verdict.PASS

    def failed_checks(self) -> list[tuple[str, Check]]:
        """Every failed check as ``(rung or "game", check)``: game-level first, then rung by
        rung in report order."""
        found = [("game", c) for c in self.checks if c.failed]
        for rung in self.rungs:
            found += [(rung.rung, c) for c in rung.checks if c.failed]
        return found

    def failures(self) -> list[str]:
        """One line per failed check, root causes first: ``"{rung or game}: {check}:
        {first reason} -> next: {action}"``; then each consequence as ``"{rung or game}:
        {check}: {first reason} (consequence of {cause})"``."""
        found = self.failed_checks()
        lines = [
            f"{where}: {c.name}: {c.reasons[0]}" + (f" -> next: {c.action}" if c.action else "")
            for where, c in found
            if not c.consequence
        ]
        lines += [
            f"{where}: {c.name}: {c.reasons[0]} (consequence of {c.cause})"
            for where, c in found
            if c.consequence
        ]
        return lines
