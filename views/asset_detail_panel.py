"""One asset: its fields (copyable), outputs (play the manifest), the processing-event
timeline with durations between events and pretty-printed payloads, and retry outcomes."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from services.assets_model import Asset, ProcessingEvent, RetryResult
from views.assets_panel import STATUS_COLOURS, short_time
from views.formatting import human_duration

OUTCOME_COLOURS = {"retried": "#1a8f3c", "conflict": "#d08c00"}
FIELDS = (
    "post_id",
    "id",
    "owner_id",
    "source_url",
    "provider_job_id",
    "manifest_url",
    "fallback_url",
    "poster_url",
)


def since(previous, current) -> str:
    """``+12.3 s`` / ``+4 min 05 s`` between two event times."""
    seconds = (current - previous).total_seconds()
    if seconds < 60:
        return f"+{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"+{minutes} min {secs:02d} s"
    return f"+{minutes // 60} h {minutes % 60:02d} min"


class AssetDetailPanel(QWidget):
    """Shows one asset. Emits ``play_requested(Asset)`` for its manifest."""

    play_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.asset: Asset | None = None
        self.events: tuple[ProcessingEvent, ...] = ()
        self.header = QLabel("Select an asset")
        self.header.setObjectName("title")
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.play_button = QPushButton("▶ Play manifest")
        self.play_button.setEnabled(False)
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.fields = QFormLayout()
        self.field_labels: dict[str, QLabel] = {}
        for name in FIELDS:
            label = QLabel("")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            label.customContextMenuRequested.connect(
                lambda pos, lab=label: self._copy_menu(lab, pos)
            )
            self.field_labels[name] = label
            self.fields.addRow(name.replace("_", " ") + ":", label)
        fields_box = QWidget()
        fields_box.setLayout(self.fields)

        self.timeline = QTreeWidget()
        self.timeline.setHeaderLabels(["Time", "Since previous", "Event", "Transition", "Payload"])
        self.timeline.setAlternatingRowColors(True)
        for column, width in enumerate((158, 115, 130, 170)):
            self.timeline.setColumnWidth(column, width)
        self.results = QListWidget()
        self.results.setToolTip("Outcome of the last retry, per asset")
        self.results.setVisible(False)

        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.play_button)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(fields_box)
        splitter.addWidget(self.timeline)
        splitter.addWidget(self.results)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([190, 400, 110])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.error_label)
        layout.addWidget(splitter, 1)
        self.play_button.clicked.connect(
            lambda: self.asset and self.play_requested.emit(self.asset)
        )

    def show_asset(self, asset: Asset, events: tuple[ProcessingEvent, ...]) -> None:
        self.asset, self.events = asset, events
        colour = STATUS_COLOURS[asset.status].name()
        parts = [
            asset.post_id,
            f"<span style='color:{colour}'>{asset.status.value}</span>",
            f"attempt {asset.attempts}",
        ]
        if asset.width and asset.height:
            parts.append(f"{asset.width}x{asset.height}")
        if asset.duration_sec:
            parts.append(human_duration(asset.duration_sec))
        self.header.setText(" · ".join(parts))
        self.error_label.setText(
            f"<b>{asset.error_code}</b>: {asset.error_message or ''}" if asset.error_code else ""
        )
        for name, label in self.field_labels.items():
            label.setText(str(getattr(asset, name) or "—"))
        self.play_button.setEnabled(bool(asset.manifest_url))
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.timeline.clear()
        previous = None
        for event in events:
            transition = ""
            if event.from_status or event.to_status:
                transition = f"{event.from_status or '∅'} → {event.to_status or '∅'}"
            compact = json.dumps(event.payload, sort_keys=True) if event.payload else ""
            row = QTreeWidgetItem(
                [
                    short_time(event.created_at),
                    since(previous, event.created_at) if previous else "",
                    event.type,
                    transition,
                    compact,
                ]
            )
            if event.payload:  # expand a row to read its payload pretty-printed
                pretty = json.dumps(event.payload, indent=2, sort_keys=True)
                row.setToolTip(4, pretty)
                child = QTreeWidgetItem(["", "", "", "", pretty])
                child.setFont(4, mono)
                row.addChild(child)
            self.timeline.addTopLevelItem(row)
            previous = event.created_at
        if self.timeline.topLevelItemCount():
            self.timeline.scrollToItem(
                self.timeline.topLevelItem(self.timeline.topLevelItemCount() - 1)
            )

    def clear_results(self) -> None:
        self.results.clear()
        self.results.setVisible(True)

    def add_result(self, result: RetryResult) -> None:
        """One retry outcome: retried, conflict (status changed to X), not found, forbidden."""
        text = f"{result.post_id}: {result.outcome} — {result.message}"
        item = QListWidgetItem(text)
        item.setForeground(QColor(OUTCOME_COLOURS.get(result.outcome, "#c62828")))
        self.results.addItem(item)

    def _copy_menu(self, label: QLabel, pos) -> None:
        menu = QMenu(self)
        menu.addAction("Copy", lambda: QGuiApplication.clipboard().setText(label.text()))
        menu.exec(label.mapToGlobal(pos))
