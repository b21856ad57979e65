"""Backfill jobs for the GUI and the CLI alike: which games a request covers, and the
operation each job runs (``services.backfill.GameBackfill`` wired to this session's
storage, playback gateway, ladder file and work folder).

Batch rule: a league or filter request covers the games whose state is ``v1`` or
``partial`` (an interrupted backfill resumes); ``v1.5`` games only when forced, and
``broken`` games never (their v1 is incomplete or inconsistent: spot-check them first).
A request naming games explicitly runs each of them: the job itself verifies a v1.5 game
instead of re-encoding it, and refuses a broken one with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from console.context import AppContext
from console.paths import data_dir, resources_dir
from services.backfill.game_backfill import Checkpoint, GameBackfill, no_checkpoint
from services.catalog import GameState, GameSummary
from services.job_reporting import JobOutcome, JobReporter, Operation
from services.ladder import Ladder, load_ladder

KIND = "backfill"
LADDER_FILE = "abr.toml"


def ladder_path() -> Path:
    """The shipped ladder file, ``resources/ladders/abr.toml``."""
    return resources_dir() / "ladders" / LADDER_FILE


def work_root() -> Path:
    """Where encodes write before upload: ``<data dir>/backfill-work`` (one subfolder per
    job, removed when it ends; leftovers of killed jobs are removed by the next run)."""
    return data_dir() / "backfill-work"


@dataclass(frozen=True)
class BackfillPlan:
    """What a request will do: ``games`` to run (in order) and ``skipped`` ones with the
    reason, for the confirmation and the CLI's summary."""

    games: tuple[GameSummary, ...]
    skipped: tuple[tuple[GameSummary, str], ...]


def plan_batch(
    games: Iterable[GameSummary], *, force: bool = False, limit: int | None = None
) -> BackfillPlan:
    """Apply the batch rule (module docstring) to probed ``games``; at most ``limit`` run."""
    chosen: list[GameSummary] = []
    skipped: list[tuple[GameSummary, str]] = []
    for game in games:
        if game.state in (GameState.V1, GameState.PARTIAL) or (
            force and game.state is GameState.V15
        ):
            if limit is None or len(chosen) < limit:
                chosen.append(game)
            continue
        if game.state is GameState.V15:
            skipped.append((game, "already v1.5 (use force to re-encode)"))
        elif game.state is GameState.BROKEN:
            skipped.append((game, f"broken: {game.reason}"))
        else:
            skipped.append((game, "state unknown (not probed)"))
    return BackfillPlan(tuple(chosen), tuple(skipped))


class BackfillJobs:
    """Builds backfill operations for one session (``context``); the ladder file is read
    once (raises ``BadConfig`` when it is invalid)."""

    def __init__(self, context: AppContext, ladder: Ladder | None = None) -> None:
        self.context = context
        self.ladder = ladder or load_ladder(ladder_path())

    def title(self, game_id: str) -> str:
        return f"Backfill {game_id} ({self.ladder.label})"

    def operation(
        self, game_id: str, *, force: bool = False, checkpoint: Checkpoint = no_checkpoint
    ) -> Operation:
        """The job operation backfilling ``game_id`` (``await op(reporter)``). When the
        profile has a viewer side, its first step records the game's playback URL as the
        migration audit's pre-migration baseline (``console.ops.audit.record_baseline``,
        kept once, never replaced)."""
        backfill = self._backfill(game_id, force=force, checkpoint=checkpoint)
        if self.context.viewer is None:
            return backfill
        context = self.context

        async def with_baseline(reporter: JobReporter) -> JobOutcome:
            from console.ops.audit import record_baseline

            reporter.log(await record_baseline(context, game_id))
            return await backfill(reporter)

        return with_baseline

    def _backfill(self, game_id: str, *, force: bool, checkpoint: Checkpoint) -> GameBackfill:
        return GameBackfill(
            self.context.storage,
            self.context.gateway.url_for,
            self.ladder,
            work_root(),
            game_id,
            force=force,
            checkpoint=checkpoint,
        )
