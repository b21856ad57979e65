"""GUI side of the migration audit: the catalog's "Audit…" submits one audit job to the
shared jobs model; a finished job's report is read off the GUI thread and shown in the
audit view (``views.audit_view``), a window of its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

from console.context import AppContext
from console.gui.jobs_controller import JobsController
from console.gui.operation import Operations
from console.ops.audit import KIND, AuditJobs, AuditPlan, new_seed
from services.audit.report import read_report
from services.catalog import GameSummary
from services.errors import BadConfig
from services.jobs.model import JobRecord, JobState


def has_audit_report(record: JobRecord) -> bool:
    """A finished audit job whose report was saved."""
    return (
        record.kind == KIND
        and record.state is JobState.SUCCEEDED
        and bool(record.result.get("report"))
    )


def plan_for(games: list[GameSummary], sample: int) -> AuditPlan:
    """The plan of a catalog request: exactly ``games``, or a seeded sample of them; named
    after their league when they all share one."""
    leagues = {g.league for g in games}
    league = next(iter(leagues)) if len(leagues) == 1 and len(games) > 1 else None
    seed = new_seed()
    chosen = list(games)
    if sample > 0:
        import random

        chosen = random.Random(seed).sample(
            sorted(games, key=lambda g: g.id), min(sample, len(games))
        )
    return AuditPlan(tuple(chosen), seed, league, sample or None, len(games))


class AuditController(QObject):
    """Signals (GUI thread): ``report_loaded(str, object, list)`` a job id, its report
    document and ``GameAudit`` rows; ``status(str)``; ``error(str)``."""

    report_loaded = Signal(str, object, list)
    status = Signal(str)
    error = Signal(str)

    def __init__(
        self, context: AppContext, jobs: JobsController, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.jobs = jobs
        self._ops = Operations(self.error.emit)
        self._audits: AuditJobs | None = None

    @property
    def available(self) -> bool:
        """Whether the profile has a viewer side to audit through."""
        return self.context.viewer is not None

    def submit(
        self, games: list[GameSummary], catalog: list[GameSummary], sample: int = 0
    ) -> JobRecord | None:
        """One audit job over ``games`` (or a sample); None when there is no viewer side."""
        if not games:
            return None
        try:
            self._audits = self._audits or AuditJobs(self.context)
        except BadConfig as exc:
            self.error.emit(str(exc))
            return None
        plan = plan_for(games, sample)
        record = self.jobs.submit(
            KIND,
            plan.target(),
            plan.title(),
            self._audits.operation(plan, catalog),
            profile=self.context.profile.name,
        )
        self.status.emit(f"{plan.title()} queued (Jobs tab, Ctrl+3).")
        return record

    def open_report(self, record: JobRecord) -> None:
        """Read ``record``'s audit report in a worker thread; emits ``report_loaded``.
        Other jobs' reports are left to their own controllers."""
        if not has_audit_report(record):
            return
        self._ops.run(
            asyncio.to_thread(read_report, Path(record.result["report"])),
            success=lambda loaded: self.report_loaded.emit(record.id, loaded[0], loaded[1]),
        )

    def shutdown(self) -> None:
        """Stop reading reports (the jobs belong to the jobs model)."""
        self._ops.cancel_all()


def wire_audit(window, catalog_panel, jobs_panel, audit: AuditController) -> list:
    """Catalog "Audit…" → an audit job (the Jobs tab comes to the front); "Open report" on a
    finished audit job → the audit view (a window per report). Returns the open views."""
    from views.audit_view import AuditView

    views: list[AuditView] = []

    def show_report(job_id: str, document: dict, games: list) -> None:
        view = AuditView(document, games, job_id, parent=window)
        view.setWindowFlag(Qt.WindowType.Window)
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view.resize(1300, 860)
        view.destroyed.connect(lambda *_: views.remove(view) if view in views else None)
        views.append(view)
        view.show()

    def submit(games: list, catalog: list, sample: int) -> None:
        if audit.submit(games, catalog, sample) is not None:
            window.show_section(jobs_panel)

    catalog_panel.audit_button.setEnabled(audit.available)
    if not audit.available:
        catalog_panel.audit_button.setToolTip(f"No audit: {audit.context.viewer_problem}")
    catalog_panel.audit_requested.connect(submit)
    jobs_panel.open_report.connect(audit.open_report)
    audit.report_loaded.connect(show_report)
    audit.status.connect(window.show_status)
    audit.error.connect(window.show_error)
    return views
