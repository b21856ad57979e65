"""The jobs model: long operations (backfill, spot-check) run, tracked, persisted and
cancelled in one place, shared by the GUI (``console.jobs_controller``) and the CLI
(``console.cli_progress``). No Qt here."""

from console.jobs.model import JobRecord, JobState
from console.jobs.runner import JobRunner
from console.jobs.store import JobStore

__all__ = ["JobRecord", "JobRunner", "JobState", "JobStore"]
