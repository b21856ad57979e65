"""GUI side of spot-check jobs: submits them to the shared jobs model and loads a finished
job's saved report (off the GUI thread) for the report view."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from console.context import AppContext
from console.gui.jobs_controller import JobsController
from console.gui.operation import Operations
from console.ops.spotcheck import KIND, SpotcheckJobs, new_seed, sample_games
from services.catalog import GameSummary
from services.jobs.model import JobRecord, JobState
from services.spotcheck.report import read_report


def has_report(record: JobRecord) -> bool:
    """A finished spot-check job whose report was saved."""
    return (
        record.kind == KIND
        and record.state is JobState.SUCCEEDED
        and bool(record.result.get("report"))
    )


class SpotcheckController(QObject):
    """Signals (GUI thread): ``report_loaded(str, list)`` a job id and its ``GameReport``
    list; ``status(str)``; ``error(str)`` when a report cannot be read."""

    report_loaded = Signal(str, list)
    status = Signal(str)
    error = Signal(str)

    def __init__(
        self, context: AppContext, jobs: JobsController, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.jobs = jobs
        self.spotchecks = SpotcheckJobs(context)
        self._ops = Operations(self.error.emit)

    def submit(self, games: list[GameSummary], sample: int = 0) -> list[JobRecord]:
        """One job per game; with ``sample`` > 0, a random sample of that many of the v1.5
        games among ``games`` (the seed is shown so the sample can be redone in the CLI)."""
        return self.submit_games(*self.choose(games, sample))

    def choose(self, games: list[GameSummary], sample: int = 0) -> tuple[list[GameSummary], str]:
        """The games a request checks and how they were chosen (``""``, or the sample's
        size and seed): ``games`` as given, or with ``sample`` > 0 a random sample."""
        if sample <= 0:
            return list(games), ""
        plan = sample_games(games, sample, new_seed())
        return list(plan.games), f" (sample of {plan.eligible} v1.5 games, seed {plan.seed})"

    def submit_games(self, chosen: list[GameSummary], note: str = "") -> list[JobRecord]:
        """One job per game of ``chosen`` on this machine (``note`` ends the status)."""
        records = [
            self.jobs.submit(
                KIND,
                game.id,
                self.spotchecks.title(game.id),
                self.spotchecks.operation(game.id),
                profile=self.context.profile.name,
            )
            for game in chosen
        ]
        self.status.emit(f"{len(records)} spot-check job(s) queued{note} (Jobs tab, Ctrl+3).")
        return records

    def open_report(self, record: JobRecord) -> None:
        """Read ``record``'s report in a worker thread; emits ``report_loaded``."""
        if record.kind != KIND:  # another job's report (an audit's): its own controller
            return
        if not has_report(record):
            self.status.emit(f"Job {record.id} has no spot-check report.")
            return
        self._ops.run(
            asyncio.to_thread(read_report, Path(record.result["report"])),
            success=lambda games: self.report_loaded.emit(record.id, games),
        )

    def open_report_file(self, job_id: str, path: str) -> None:
        """Read one game's saved report (a cluster batch keeps one per game) in a worker
        thread; emits ``report_loaded`` with ``job_id``."""
        self._ops.run(
            asyncio.to_thread(read_report, Path(path)),
            success=lambda games: self.report_loaded.emit(job_id, games),
            what=f"Reading the report {path}",
        )

    def shutdown(self) -> None:
        """Stop reading reports (the jobs themselves belong to the jobs model)."""
        self._ops.cancel_all()
