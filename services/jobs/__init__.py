"""The jobs model: long operations (backfill, spot-check) run, tracked, persisted and
cancelled in one place, shared by the GUI (``console.gui.jobs_controller``) and the CLI
(``console.cli.progress``). No Qt here."""

from services.jobs.model import JobRecord, JobState
from services.jobs.runner import JobRunner
from services.jobs.store import JobStore

__all__ = ["JobRecord", "JobRunner", "JobState", "JobStore"]
