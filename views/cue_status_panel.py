"""The live status of the current ad break (right side of the Cues tab): event, times, a
countdown to the planned end, and one row per variant (waiting / marker seen after N s /
returned / verified / stale), from the cue controller's signals."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QTimer, SignalInstance
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from services.clock import utc_now

COLUMNS = ("Variant", "Bandwidth", "Status", "Marker", "SCTE-35", "CUE-IN drift", "After")
PHASE_TEXT = {
    "waiting": "waiting for marker",
    "marker": "marker seen",
    "returned": "returned to content",
    "verified": "verified ✓",
    "stale": "STALE ✗",
    "missed": "MISSED ✗",
    "failed": "FAILED ✗",
}
PHASE_COLOUR = {
    "waiting": QColor("#5b7083"),
    "marker": QColor("#2f6fab"),
    "returned": QColor("#2f6fab"),
    "verified": QColor("#1a8f3c"),
    "stale": QColor("#c62828"),
    "missed": QColor("#c62828"),
    "failed": QColor("#c62828"),
}


class CueProgressFeed(Protocol):
    """The live verification the status panel follows
    (``console.gui.cue_controller.CueController``): ``break_started(AdBreak)``,
    ``break_updated(AdBreak)``, ``variant_updated(VariantReport)``,
    ``verification_finished(Verification)``."""

    break_started: SignalInstance
    break_updated: SignalInstance
    variant_updated: SignalInstance
    verification_finished: SignalInstance


class CueStatusPanel(QWidget):
    """Shows the break the controller started and its per-variant verification."""

    def __init__(self, controller: CueProgressFeed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.ad_break = None
        self.title = QLabel("No ad break started in this session")
        self.title.setObjectName("sectionTitle")
        self.times = QLabel("")
        self.times.setObjectName("muted")
        self.countdown = QLabel("")
        self.countdown.setObjectName("countdown")
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.times)
        layout.addWidget(self.countdown)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.verdict)
        self._rows: dict[str, int] = {}
        self._timer = QTimer(self, interval=250)
        self._timer.timeout.connect(self._tick)
        controller.break_started.connect(self.show_break)
        controller.break_updated.connect(self.update_break)
        controller.variant_updated.connect(self.update_variant)
        controller.verification_finished.connect(self.show_verification)

    def show_break(self, ad_break) -> None:
        self.ad_break = ad_break
        self._rows.clear()
        self.table.setRowCount(0)
        self.verdict.setText("Verifying every variant of the live playlist…")
        self.verdict.setStyleSheet("")
        self.title.setText(f"Ad break {ad_break.event_id} on {ad_break.channel_id}")
        self.update_break(ad_break)
        self._timer.start()

    def update_break(self, ad_break) -> None:
        self.ad_break = ad_break
        ended = " (ended early)" if ad_break.stopped_at is not None else ""
        self.times.setText(
            f"{ad_break.start_time:%H:%M:%S} → {ad_break.end_time:%H:%M:%S} UTC, "
            f"{ad_break.duration:g} s{ended} · pod {ad_break.pod_id} "
            f"({len(ad_break.items)} ad{'s' if len(ad_break.items) != 1 else ''})"
        )
        self._tick()

    def _tick(self) -> None:
        if self.ad_break is None:
            return
        now = utc_now()
        to_start = (self.ad_break.start_time - now).total_seconds()
        to_end = (self.ad_break.end_time - now).total_seconds()
        if to_start > 0:
            self.countdown.setText(f"Break starts in {to_start:.1f} s")
        elif to_end > 0:
            self.countdown.setText(f"Planned end in {to_end:.1f} s")
        else:
            self.countdown.setText(f"Planned end passed {-to_end:.0f} s ago")

    def update_variant(self, report) -> None:
        row = self._rows.get(report.url)
        if row is None:
            row = self._rows[report.url] = self.table.rowCount()
            self.table.insertRow(row)
        phase = report.phase.value
        status = PHASE_TEXT.get(phase, phase)
        if report.detail:
            status += f" — {report.detail}"
        splice = report.splice.splice_insert if report.splice is not None else None
        cells = (
            report.name,
            f"{report.bandwidth / 1e6:.2f} Mb/s" if report.bandwidth else "",
            status,
            f"after {report.marker_after_s:.1f} s" if report.marker_after_s is not None else "",
            (
                f"event {splice.event_id}, {splice.duration.seconds:g} s"
                if splice is not None and splice.duration
                else ""
            ),
            f"{report.cue_in_drift_s:+.1f} s" if report.cue_in_drift_s is not None else "",
            (f"{report.segments_after_return} seg" if phase in ("returned", "verified") else ""),
        )
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(report.describe())
            if column == 2:
                item.setForeground(PHASE_COLOUR.get(phase, QColor("#000000")))
            self.table.setItem(row, column, item)

    def show_verification(self, verification) -> None:
        for report in verification.variants:
            self.update_variant(report)
        colour = "#1a8f3c" if verification.ok else "#c62828"
        self.verdict.setText(f"<b>{verification.summary()}</b>")
        self.verdict.setStyleSheet(f"color: {colour};")
        self._timer.stop()
        self._tick()

    def phase_of(self, name: str) -> str:
        """The status text of the variant named ``name`` (for checks and tests)."""
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == name:
                return self.table.item(row, 2).text()
        return ""
