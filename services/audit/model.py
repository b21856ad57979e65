"""What a migration audit finds (issue 15): per game, the five success criteria of
docs/contracts.md §1.5, each pass / fail / skip with its evidence.

Evidence is plain JSON values (counts, bytes, status codes, URLs **without** tokens) so a
report carries it as it is; a criterion's ``checks`` are its named sub-checks, each with a
verdict and one readable line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """A check's outcome: ``skip`` says why it could not or need not be judged."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


CRITERIA: tuple[tuple[str, str, str], ...] = (
    ("abr_same_url", "1 ABR, same URL", "every backfilled game plays ABR with no URL change"),
    ("v1_url_plays", "2 v1 URL plays", "a pre-migration v1 playback URL still plays"),
    ("denied_no_media", "3 403, no media", "unauthorized or wrong-entitlement requests get 403"),
    ("clips_stored", "4 clips stored only", "a clip references only stored segments"),
    ("cost", "5 cost", "storage stays in the ~$100s/month class"),
)
"""``(id, short label, the criterion's sentence)`` in the plan's order."""

CRITERION_IDS = tuple(c[0] for c in CRITERIA)
LABELS = {c[0]: c[1] for c in CRITERIA}


@dataclass(frozen=True)
class SubCheck:
    """One named check inside a criterion: ``detail`` says what was seen (or why not)."""

    name: str
    verdict: Verdict
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "verdict": self.verdict.value, "detail": self.detail}


def sub(name: str, ok: bool, detail: str) -> SubCheck:
    """A pass (``ok``) or fail sub-check."""
    return SubCheck(name, Verdict.PASS if ok else Verdict.FAIL, detail)


def skip(name: str, why: str) -> SubCheck:
    """A skipped sub-check."""
    return SubCheck(name, Verdict.SKIP, why)


@dataclass(frozen=True)
class CriterionResult:
    """One criterion of one game: ``verdict`` fails when any sub-check fails, skips when
    every one skipped; ``summary`` one line; ``evidence`` JSON values."""

    criterion: str
    verdict: Verdict
    summary: str
    checks: tuple[SubCheck, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return LABELS.get(self.criterion, self.criterion)

    def failures(self) -> list[str]:
        """``"{check}: {detail}"`` of every failed sub-check."""
        return [f"{c.name}: {c.detail}" for c in self.checks if c.verdict is Verdict.FAIL]

    def as_json(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "label": self.label,
            "verdict": self.verdict.value,
            "summary": self.summary,
            "checks": [c.as_json() for c in self.checks],
            "evidence": self.evidence,
        }


def judged(
    criterion: str, checks: list[SubCheck], evidence: dict[str, Any], summary: str = ""
) -> CriterionResult:
    """The criterion from its sub-checks: fail if any fails, skip if all skip, else pass;
    ``summary`` defaults to the first failure (or "n checks passed")."""
    failed = [c for c in checks if c.verdict is Verdict.FAIL]
    if failed:
        verdict = Verdict.FAIL
        summary = summary or f"{failed[0].name}: {failed[0].detail}"
    elif checks and all(c.verdict is Verdict.SKIP for c in checks):
        verdict = Verdict.SKIP
        summary = summary or checks[0].detail
    else:
        verdict = Verdict.PASS
        passed = sum(c.verdict is Verdict.PASS for c in checks)
        summary = summary or f"{passed} checks passed"
    return CriterionResult(criterion, verdict, summary, tuple(checks), evidence)


@dataclass(frozen=True)
class GameAudit:
    """One game's audit: its five criteria in order, the auth matrix (``matrix``: rows,
    columns, cells as JSON values) and how long it took (seconds)."""

    game_id: str
    league: str
    title: str
    state: str
    criteria: tuple[CriterionResult, ...]
    matrix: dict[str, Any]
    wall_seconds: float
    problem: str = ""

    @property
    def verdict(self) -> Verdict:
        """Fail when any criterion fails (or the game could not be audited)."""
        if self.problem or any(c.verdict is Verdict.FAIL for c in self.criteria):
            return Verdict.FAIL
        return Verdict.PASS

    def criterion(self, criterion: str) -> CriterionResult | None:
        return next((c for c in self.criteria if c.criterion == criterion), None)

    def failures(self) -> list[str]:
        """``"{label} {check}: {detail}"`` lines of every failure."""
        lines = [f"audit: {self.problem}"] if self.problem else []
        for result in self.criteria:
            lines += [f"{result.label} — {line}" for line in result.failures()]
        return lines
