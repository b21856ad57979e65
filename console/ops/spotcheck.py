"""Spot-check jobs for the GUI and the CLI alike: which games a request covers, where
reports are kept, and the operation each job runs (``services.spotcheck.GameSpotcheck``
wired to this session's storage, playback gateway and ladder file).

Sampling rule: ``--league L --sample N [--seed S]`` picks N games at random (Python's
``random.Random(seed)``, over the league's v1.5 games sorted by id, so a seed names the
same sample again) among the league's **v1.5** games; v1, partial and broken games have no
published ladder to check (a game named explicitly is always checked: its report then says
why it fails).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from console.context import AppContext
from console.ops.backfill import ladder_path
from console.paths import data_dir
from services.catalog import GameState, GameSummary
from services.ladder import Ladder, load_ladder
from services.spotcheck.game_spotcheck import GameSpotcheck

KIND = "spotcheck"


def report_root() -> Path:
    """Where spot-check reports are kept: ``<data dir>/reports/{job_id}/``."""
    return data_dir() / "reports"


def new_seed() -> int:
    """A seed for a sample when none was given (printed, so the sample can be redone)."""
    return secrets.randbelow(1_000_000)


@dataclass(frozen=True)
class SpotcheckPlan:
    """The games to check (in order) and the seed that drew them (None: named games)."""

    games: tuple[GameSummary, ...]
    seed: int | None = None
    eligible: int = 0


def sample_games(games: Iterable[GameSummary], count: int, seed: int) -> SpotcheckPlan:
    """``count`` v1.5 games of ``games`` drawn with ``seed`` (all of them when fewer)."""
    eligible = sorted((g for g in games if g.state is GameState.V15), key=lambda g: g.id)
    chosen = random.Random(seed).sample(eligible, min(count, len(eligible)))
    return SpotcheckPlan(tuple(chosen), seed, len(eligible))


class SpotcheckJobs:
    """Builds spot-check operations for one session (``context``); the ladder file gives
    the per-rung thresholds (raises ``BadConfig`` when it is invalid). ``source_prefix``:
    where ``{game_id}.mp4`` sources live besides ``games/{id}/source.mp4`` (None: the
    profile's ``source_prefix``)."""

    def __init__(
        self, context: AppContext, ladder: Ladder | None = None, *, source_prefix: str | None = None
    ) -> None:
        self.context = context
        self.ladder = ladder or load_ladder(ladder_path())
        self.source_prefix = (
            context.profile.source_prefix if source_prefix is None else source_prefix
        )

    def title(self, game_id: str) -> str:
        return f"Spot-check {game_id} ({self.ladder.label})"

    def operation(self, game_id: str) -> GameSpotcheck:
        """The job operation checking ``game_id`` (``await op(reporter)``)."""
        return GameSpotcheck(
            self.context.storage,
            self.context.gateway.url_for,
            self.ladder,
            report_root(),
            game_id,
            source_prefix=self.source_prefix,
        )
