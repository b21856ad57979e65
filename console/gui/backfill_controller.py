"""GUI side of backfill jobs: submits them to the shared jobs model and says which game
changed when one finishes, so the catalog can re-read that game's state."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from console.context import AppContext
from console.gui.jobs_controller import JobsController
from console.ops.backfill import KIND, BackfillJobs, BackfillPlan, plan_batch
from services.catalog import GameSummary
from services.jobs.model import JobRecord


class BackfillController(QObject):
    """Signals (GUI thread): ``game_changed(str)`` a game id whose backfill job ended
    (succeeded, failed or cancelled: its state may differ either way); ``status(str)``."""

    game_changed = Signal(str)
    status = Signal(str)

    def __init__(
        self, context: AppContext, jobs: JobsController, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.jobs = jobs
        self.backfills = BackfillJobs(context)
        jobs.job_changed.connect(self._on_job)

    @property
    def ladder_label(self) -> str:
        return self.backfills.ladder.label

    def plan(
        self, games: list[GameSummary], *, explicit: bool, force: bool = False
    ) -> BackfillPlan:
        """Games the operator picked one by one run as asked (the job verifies a v1.5 game
        instead of re-encoding it); a batch follows ``plan_batch``'s rule."""
        if explicit:
            return BackfillPlan(tuple(games), ())
        return plan_batch(games, force=force)

    def submit(self, plan: BackfillPlan, *, force: bool = False) -> list[JobRecord]:
        """Queue one job per game of ``plan`` (a game already queued or running keeps its
        job: a double click never starts two)."""
        records = [
            self.jobs.submit(
                KIND,
                game.id,
                self.backfills.title(game.id),
                self.backfills.operation(game.id, force=force),
                profile=self.context.profile.name,
            )
            for game in plan.games
        ]
        self.status.emit(f"{len(records)} backfill job(s) queued (Jobs tab, Ctrl+3).")
        return records

    def _on_job(self, record: JobRecord) -> None:
        if record.kind == KIND and record.finished:
            self.game_changed.emit(record.target)
