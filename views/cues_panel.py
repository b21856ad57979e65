"""Cues panel (left tab): channel picker, duration presets, Start break (confirmed), End
break now, live preview, and the audit log with CSV export. It receives the cue
controller and only connects to its signals."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from views.cue_confirm_dialog import ConfirmBreakDialog

PRESETS_S = (15, 30, 60, 90, 120, 180)
AUDIT_COLUMNS = (
    "Time (UTC)",
    "Channel",
    "Action",
    "Dur.",
    "Event",
    "Verified",
    "Outcome",
    "Who",
    "Profile",
)
VERIFIED_COLUMN = 5


class CueDeskFeed(Protocol):
    """What the Cues panel shows and asks of (``console.gui.cue_controller.CueController``):
    channels, the busy flag, the audit log, and the calls that start, stop, preview and
    export. Durations are in seconds."""

    channels_loaded: SignalInstance
    busy_changed: SignalInstance
    audit_loaded: SignalInstance
    available: bool
    problem: str
    busy: bool
    is_demo: bool
    profile_name: str

    def start_break(self, channel: str, duration: float) -> bool: ...
    def stop_break(self, channel: str) -> bool: ...
    def preview(self, channel: str) -> None: ...
    def reload_audit(self) -> None: ...
    def export_audit(self, path: str) -> None: ...


class CuesPanel(QWidget):
    """Controls and audit log of manual ad breaks over a ``CueController``."""

    def __init__(self, controller: CueDeskFeed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.channel_box = QComboBox()
        self.channel_box.setMinimumContentsLength(16)
        self.duration = QSpinBox(minimum=1, maximum=600, value=30, suffix=" s")
        self.duration.setToolTip("Break duration in seconds (1 to 600)")
        presets = QHBoxLayout()
        presets.setSpacing(4)
        for seconds in PRESETS_S:
            button = QToolButton(
                text=f"{seconds}s" if seconds < 60 else f"{seconds // 60}:{seconds % 60:02d}"
            )
            button.setToolTip(f"{seconds} s")
            button.clicked.connect(lambda _=False, s=seconds: self.duration.setValue(s))
            presets.addWidget(button)
        presets.addStretch(1)
        self.start_button = QPushButton("Start break…")
        self.start_button.setObjectName("primary")
        self.stop_button = QPushButton("End break now")
        self.preview_button = QPushButton("Preview channel")
        self.preview_button.setToolTip("Play the channel's live playlist in the player")
        self.notice = QLabel("")
        self.notice.setWordWrap(True)
        self.notice.setObjectName("muted")

        form = QVBoxLayout()
        row = QHBoxLayout()
        row.addWidget(QLabel("Channel"))
        row.addWidget(self.channel_box, 1)
        row.addWidget(QLabel("Duration"))
        row.addWidget(self.duration)
        form.addLayout(row)
        form.addLayout(presets)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        buttons.addWidget(self.preview_button)
        form.addLayout(buttons)
        box = QGroupBox(f"Manual ad break — profile {controller.profile_name}")
        box.setLayout(form)

        self.audit_table = QTableWidget(0, len(AUDIT_COLUMNS))
        self.audit_table.setHorizontalHeaderLabels(AUDIT_COLUMNS)
        self.audit_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.audit_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.audit_table.verticalHeader().hide()
        self.audit_table.verticalHeader().setDefaultSectionSize(24)
        self.audit_table.setAlternatingRowColors(True)
        header = self.audit_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.export_button = QPushButton("Export CSV…")
        audit_head = QHBoxLayout()
        audit_title = QLabel("Audit log")
        audit_title.setObjectName("sectionTitle")
        audit_head.addWidget(audit_title, 1)
        audit_head.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.notice)
        layout.addWidget(box)
        layout.addLayout(audit_head)
        layout.addWidget(self.audit_table, 1)

        self.start_button.clicked.connect(self.request_start)
        self.stop_button.clicked.connect(self.request_stop)
        self.preview_button.clicked.connect(
            lambda: self.controller.preview(self.channel_box.currentText())
        )
        self.export_button.clicked.connect(self.request_export)
        controller.channels_loaded.connect(self.set_channels)
        controller.busy_changed.connect(self._on_busy)
        controller.audit_loaded.connect(self.show_audit)
        self.notice.setVisible(not controller.available)
        if not controller.available:
            self.notice.setText(controller.problem)
            box.setEnabled(False)
        self._on_busy(False)
        controller.reload_audit()

    def set_channels(self, channels: list[str]) -> None:
        current = self.channel_box.currentText()
        self.channel_box.clear()
        self.channel_box.addItems(channels)
        if current in channels:
            self.channel_box.setCurrentText(current)
        self._on_busy(self.controller.busy)

    def _on_busy(self, busy: bool) -> None:
        """No second click while a cue is in flight (the controller also ignores one)."""
        ready = not busy and self.channel_box.count() > 0
        self.start_button.setEnabled(ready)
        self.stop_button.setEnabled(ready)
        self.preview_button.setEnabled(self.channel_box.count() > 0)
        self.start_button.setText("Sending…" if busy else "Start break…")

    def request_start(self) -> None:
        channel = self.channel_box.currentText()
        duration = self.duration.value()
        if channel and self.confirm_start(channel, duration):
            self.controller.start_break(channel, duration)

    def confirm_start(self, channel: str, duration: int) -> bool:
        """The confirmation dialog (tests replace this method)."""
        dialog = ConfirmBreakDialog(
            channel,
            duration,
            self.controller.profile_name,
            typed=not self.controller.is_demo,
            parent=self,
        )
        return dialog.exec() == ConfirmBreakDialog.DialogCode.Accepted

    def request_stop(self) -> None:
        channel = self.channel_box.currentText()
        if channel:
            self.controller.stop_break(channel)

    def request_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the cue audit log", "cue-audit.csv", "CSV files (*.csv)"
        )
        if path:
            self.controller.export_audit(path)

    def show_audit(self, entries: list) -> None:
        """Fill the audit table with ``entries`` (``AuditEntry``, newest first)."""
        self.audit_table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            verdict = {None: "", True: "✓ verified", False: "✗ NOT verified"}[entry.verified]
            cells = (
                entry.at[5:].replace("T", " ").rstrip("Z"),
                entry.channel,
                entry.action,
                "" if entry.duration is None else f"{entry.duration:g} s",
                "" if entry.event_id is None else str(entry.event_id),
                verdict,
                entry.outcome,
                entry.operator,
                entry.profile,
            )
            tips = {
                0: entry.at,
                VERIFIED_COLUMN: entry.verification or verdict,
                6: f"{entry.outcome} (Idempotency-Key {entry.idempotency_key})",
            }
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tips.get(column, text))
                if column == VERIFIED_COLUMN and entry.verified is not None:
                    item.setForeground(
                        Qt.GlobalColor.darkGreen if entry.verified else Qt.GlobalColor.red
                    )
                self.audit_table.setItem(row, column, item)
