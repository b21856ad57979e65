"""Migration audits for the GUI and the CLI alike (issue 15): which games a request covers,
where reports and the baseline are kept, and the job operation
(``services.audit.game_audit.MigrationAudit`` wired to this session's storage, viewer side
and ladder file).

Selection: ``--game ID…`` audits exactly those games; ``--league L`` every game of the
league, or with ``--sample N [--seed S]`` N of them drawn with Python's
``random.Random(seed)`` over the league's games sorted by id (any state: a v1 game reports
criterion 1 as "not migrated", which is itself an answer to "may v1 be retired?"). The
seed also draws the clip intervals, so a seed repeats an audit exactly.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from pathlib import Path

from console.context import AppContext
from console.ops.backfill import ladder_path
from console.paths import data_dir
from services.audit.baseline import Baseline
from services.audit.game_audit import MigrationAudit
from services.audit.gate_client import GateClient
from services.catalog import GameSummary
from services.errors import BadConfig, ServiceError
from services.ladder import Ladder, load_ladder

KIND = "audit"


def report_root() -> Path:
    """Where audit reports are kept: ``<data dir>/reports/{job_id}/``."""
    return data_dir() / "reports"


def baseline_for(profile: str) -> Baseline:
    """The profile's baseline of pre-migration URLs: ``<data dir>/audit/baseline-{p}.json``."""
    return Baseline(data_dir() / "audit" / f"baseline-{profile}.json")


def new_seed() -> int:
    """A seed when none was given (printed, so the audit can be redone)."""
    return secrets.randbelow(1_000_000)


@dataclass(frozen=True)
class AuditPlan:
    """The games to audit, how they were chosen (``league``, ``sample``, ``seed``) and how
    many games the league holds (``eligible``)."""

    games: tuple[GameSummary, ...]
    seed: int
    league: str | None = None
    sample: int | None = None
    eligible: int = 0

    def selection(self) -> dict:
        """The report's ``selection``."""
        return {
            "games": [g.id for g in self.games],
            "league": self.league,
            "sample": self.sample,
            "seed": self.seed,
        }

    def title(self) -> str:
        """The job's title: ``Audit NFL (sample 3 of 12, seed 7)`` or ``Audit game-a``."""
        if self.league is None:
            names = ", ".join(g.id for g in self.games[:3])
            more = f" +{len(self.games) - 3}" if len(self.games) > 3 else ""
            return f"Audit {names}{more}"
        which = f"sample {len(self.games)} of {self.eligible}" if self.sample else "all games"
        return f"Audit {self.league} ({which}, seed {self.seed})"

    def target(self) -> str:
        """The job's target: the league, or the first game's id."""
        if self.league is not None:
            return f"league:{self.league}"
        return self.games[0].id if len(self.games) == 1 else f"games:{self.games[0].id}+"


def plan_league(
    games: list[GameSummary], league: str, sample: int | None, seed: int | None
) -> AuditPlan:
    """The league's games (``games``: the listed catalog), all or a seeded sample."""
    chosen_seed = new_seed() if seed is None else seed
    eligible = sorted((g for g in games if g.league == league), key=lambda g: g.id)
    chosen = eligible
    if sample:
        chosen = random.Random(chosen_seed).sample(eligible, min(sample, len(eligible)))
    return AuditPlan(tuple(chosen), chosen_seed, league, sample, len(eligible))


def plan_games(games: list[GameSummary], ids: list[str], seed: int | None) -> AuditPlan:
    """The named games, with their catalog rows when listed (league, title, state)."""
    known = {g.id: g for g in games}
    chosen = tuple(known.get(i, GameSummary(i)) for i in ids)
    return AuditPlan(chosen, new_seed() if seed is None else seed)


class AuditJobs:
    """Builds audit operations for one session (``context``). Raises ``BadConfig`` when
    the profile has no viewer side (``context.viewer_problem`` says why)."""

    def __init__(self, context: AppContext, ladder: Ladder | None = None) -> None:
        if context.viewer is None:
            raise BadConfig(f"The migration audit is not available: {context.viewer_problem}.")
        self.context = context
        self.viewer = context.viewer
        self.ladder = ladder or load_ladder(ladder_path())
        self.baseline = baseline_for(context.profile.name)

    def operation(self, plan: AuditPlan, catalog: list[GameSummary]) -> MigrationAudit:
        """The job operation auditing ``plan`` (``await op(reporter)``); ``catalog`` is every
        listed game (cost extrapolation, the other game of the auth matrix)."""
        return MigrationAudit(
            self.context.storage,
            self.viewer,
            self.ladder,
            self.baseline,
            report_root(),
            list(plan.games),
            catalog=catalog,
            seed=plan.seed,
            selection=plan.selection(),
        )


async def record_baseline(context: AppContext, game_id: str) -> str:
    """Record ``game_id``'s current playback URL as its pre-migration one (the backfill's
    first step, docs/contracts.md §1.5); returns a log line. Never raises: a profile with
    no viewer side, or a playback API that cannot answer, is said in the line."""
    if context.viewer is None:
        return f"audit baseline not recorded: {context.viewer_problem}"
    client = GateClient(context.viewer)
    try:
        url, _token = await client.playback(game_id)
    except ServiceError as exc:
        return f"audit baseline not recorded: {exc}"
    finally:
        await client.aclose()
    try:
        entry = baseline_for(context.profile.name).record(game_id, url, "backfill")
    except OSError as exc:
        return f"audit baseline not recorded: {exc}"
    return f"audit baseline: playback URL {entry.url} (recorded {entry.recorded_at})"
