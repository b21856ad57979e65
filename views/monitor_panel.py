"""Monitor tab: every channel × variant of the profile's live channels, one row each, red
when an alarm is active (stale, depleted, drift, partial break, latency, late join,
unreadable), with the sequence sparkline, manifest latency p50/p95/max and the last break;
the events below (newest first), alarms also as desktop notifications. Activating a row
plays that variant live. It receives the monitor controller and only connects to it."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QModelIndex, Qt, SignalInstance
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QSystemTrayIcon,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from views.row_table_model import RowTableModel
from views.sparkline import SPARK_ROLE, SparklineDelegate

COLUMNS = (
    "Channel",
    "Variant",
    "State",
    "Newest",
    "Window",
    "Sequence",
    "p50",
    "p95",
    "max",
    "Last break",
)
SPARK_COLUMN = 5
COLUMN_WIDTHS = (105, 118, 80, 85, 65, 90, 62, 62, 62, 200)
EVENT_COLUMNS = ("Time (UTC)", "Event", "Kind", "Channel", "Variant", "Detail")
EVENT_ROWS = 500
RED = QColor("#ffcdd2")


class MonitorFeed(Protocol):
    """What the Monitor tab shows and asks of (``console.gui.monitor_controller``)."""

    updated: SignalInstance
    event: SignalInstance
    alarm: SignalInstance
    running_changed: SignalInstance
    joins_changed: SignalInstance
    available: bool
    problem: str
    running: bool

    def start(self, channels: list[str] | None = None) -> None: ...
    def stop(self) -> None: ...
    def play(self, status) -> None: ...
    def export_events(self, path: str) -> None: ...


def _ms(value: float | None) -> str:
    return f"{value:.0f} ms" if value is not None else "–"


class VariantTableModel(RowTableModel):
    """``VariantStatus`` rows (``services.monitor.model``)."""

    def __init__(self, parent=None) -> None:
        super().__init__(COLUMNS, parent)

    def set_rows(self, rows: list) -> None:
        if [(r.channel, r.variant) for r in rows] != [(r.channel, r.variant) for r in self._rows]:
            self.beginResetModel()
            self._rows = list(rows)
            self.endResetModel()
            return
        self._rows = list(rows)
        if rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))

    def row(self, index: int):
        return self._rows[index]

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        status = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(status, column)
        if role == SPARK_ROLE and column == SPARK_COLUMN:
            return status.sparkline
        if role == Qt.ItemDataRole.BackgroundRole and status.alarms:
            return QBrush(RED)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{a.kind.value}: {a.detail}" for a in status.alarms] or ["healthy"]
            return "\n".join([status.url, *lines])
        return None

    @staticmethod
    def _text(status, column: int) -> str:
        if column == 0:
            return status.channel
        if column == 1:
            return status.variant
        if column == 2:
            return ", ".join(a.kind.value for a in status.alarms) or "ok"
        if column == 3:
            return str(status.newest) if status.newest is not None else "–"
        if column == 4:
            return f"{status.window_s:.0f} s ({status.segments})"
        if column == 6:
            return _ms(status.latency_p50_ms)
        if column == 7:
            return _ms(status.latency_p95_ms)
        if column == 8:
            return _ms(status.latency_max_ms)
        if column == 9:
            return status.last_break
        return ""


class MonitorPanel(QWidget):
    """The Monitor tab over ``monitor`` (a ``MonitorFeed``)."""

    def __init__(self, monitor: MonitorFeed) -> None:
        super().__init__()
        self.monitor = monitor
        self.toggle = QPushButton("Start watching")
        self.toggle.setToolTip("Poll every variant of every channel of this profile")
        self.toggle.clicked.connect(self._toggle)
        self.export = QPushButton("Export events…")
        self.export.clicked.connect(self._export)
        self.summary = QLabel()
        self.joins = QLabel()
        top = QHBoxLayout()
        top.addWidget(self.toggle)
        top.addWidget(self.summary, 1)
        top.addWidget(self.joins)
        top.addWidget(self.export)

        self.model = VariantTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(SPARK_COLUMN, SparklineDelegate(self.table))
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # not ResizeToContents:
        for column, width in enumerate(COLUMN_WIDTHS):  # that measures every cell each second
            header.resizeSection(column, width)
        header.setSectionResizeMode(SPARK_COLUMN, QHeaderView.ResizeMode.Fixed)
        header.setStretchLastSection(True)
        self.table.activated.connect(self._play)
        self.table.doubleClicked.connect(self._play)

        self.events = QTableWidget(0, len(EVENT_COLUMNS))
        self.events.setHorizontalHeaderLabels(EVENT_COLUMNS)
        self.events.verticalHeader().hide()
        self.events.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.events.horizontalHeader().setStretchLastSection(True)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.events)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)

        self._shown = False
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(QApplication.windowIcon(), self)
            self.tray.show()
        monitor.updated.connect(self.show_rows)
        monitor.event.connect(self.add_event)
        monitor.alarm.connect(self.notify)
        monitor.running_changed.connect(self._running)
        monitor.joins_changed.connect(self.joins.setText)
        if not monitor.available:
            self.toggle.setEnabled(False)
            self.summary.setText(monitor.problem)

    def showEvent(self, event) -> None:  # noqa: N802
        """The first time the tab is shown, start watching (an ops wall watches by default)."""
        super().showEvent(event)
        if (
            self.monitor.available
            and not self.monitor.running
            and not getattr(self, "_shown", False)
        ):
            self.monitor.start()
        self._shown = True

    def _toggle(self) -> None:
        if self.monitor.running:
            self.monitor.stop()
        else:
            self.monitor.start()

    def _running(self, running: bool) -> None:
        self.toggle.setText("Stop watching" if running else "Start watching")

    def show_rows(self, rows: list) -> None:
        """Show a snapshot (``list[VariantStatus]``)."""
        self.model.set_rows(rows)
        bad = sum(1 for r in rows if r.alarms)
        channels = len({r.channel for r in rows})
        self.summary.setText(
            f"{channels} channel(s), {len(rows)} variant(s): "
            + (f"{bad} in trouble" if bad else "all healthy")
        )

    def add_event(self, event) -> None:
        """Prepend one ``MonitorEvent`` to the events table (newest first)."""
        self.events.insertRow(0)
        values = (
            f"{event.at:%H:%M:%S}",
            event.state,
            event.kind,
            event.channel,
            event.variant,
            event.detail,
        )
        for column, value in enumerate(values):
            item = QTableWidgetItem(value)
            if event.state == "raised":
                item.setBackground(QBrush(RED))
            self.events.setItem(0, column, item)
        while self.events.rowCount() > EVENT_ROWS:
            self.events.removeRow(self.events.rowCount() - 1)

    def notify(self, event) -> None:
        """An alarm as a desktop notification (when the desktop has a tray)."""
        if self.tray is not None:
            self.tray.showMessage(
                f"{event.channel} {event.variant}: {event.kind}",
                event.detail,
                QSystemTrayIcon.MessageIcon.Warning,
                8000,
            )

    def _play(self, index: QModelIndex) -> None:
        if index.isValid():
            self.monitor.play(self.model.row(index.row()))

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export monitor events", "monitor_events.csv", "CSV (*.csv)"
        )
        if path:
            self.monitor.export_events(path)
