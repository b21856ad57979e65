"""The jobs table's model, state filter and progress-bar delegate (no I/O: records in,
cells out)."""

from __future__ import annotations

import time
from datetime import datetime

from PySide6.QtCore import QModelIndex, QRectF, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from services.jobs.model import JobRecord, JobState, format_seconds
from views.row_table_model import RowTableModel

COLUMNS = ("Kind", "Target", "State", "Progress", "Stage / detail", "ETA", "Started", "Duration")
KIND, TARGET, STATE, PROGRESS, DETAIL, ETA, STARTED, DURATION = range(len(COLUMNS))
COLUMN_WIDTHS = {
    KIND: 72,
    TARGET: 170,
    STATE: 80,
    PROGRESS: 100,
    ETA: 60,
    STARTED: 70,
    DURATION: 64,
}
#: the model role carrying the whole ``JobRecord`` of a row
RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_COLOURS = {
    JobState.QUEUED: QColor("#5b7083"),
    JobState.RUNNING: QColor("#2f6fab"),
    JobState.SUCCEEDED: QColor("#1a8f3c"),
    JobState.FAILED: QColor("#c62828"),
    JobState.CANCELLED: QColor("#8a6d3b"),
    JobState.INTERRUPTED: QColor("#d08c00"),
}


def started_text(epoch: float | None, now: float | None = None) -> str:
    """``HH:MM:SS`` today, ``MM-DD HH:MM`` on another day; ``""`` when not started."""
    if epoch is None:
        return ""
    when = datetime.fromtimestamp(epoch)
    today = datetime.fromtimestamp(now or time.time()).date()
    return when.strftime("%H:%M:%S" if when.date() == today else "%m-%d %H:%M")


def detail_text(record: JobRecord) -> str:
    """What the stage/detail column says: live stage and detail, or how it ended."""
    if record.state is JobState.SUCCEEDED:
        return record.summary or "done"
    if record.finished:
        return record.error
    if record.state is JobState.QUEUED:
        return f"waiting for a free {record.kind} slot"
    if record.stage and record.detail:
        return f"{record.stage}: {record.detail}"
    return record.stage or record.detail or record.title


class JobsTableModel(RowTableModel):
    """Jobs newest first, updated in place by id (``upsert``); ``tick`` refreshes the
    live columns (duration) of running jobs."""

    def __init__(self, parent=None) -> None:
        super().__init__(COLUMNS, parent)
        self._rows: list[JobRecord] = []
        self._row_of: dict[str, int] = {}

    def record(self, row: int) -> JobRecord:
        return self._rows[row]

    def row_of(self, job_id: str) -> int | None:
        return self._row_of.get(job_id)

    def set_records(self, records: list[JobRecord]) -> None:
        """Replace every row (``records`` newest first)."""
        self.beginResetModel()
        self._rows = list(records)
        self._row_of = {r.id: n for n, r in enumerate(self._rows)}
        self.endResetModel()

    def upsert(self, record: JobRecord) -> None:
        """Update the row of ``record.id`` or insert it on top (a new job)."""
        row = self._row_of.get(record.id)
        if row is not None:
            self._rows[row] = record
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
            return
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.insert(0, record)
        self._row_of = {r.id: n for n, r in enumerate(self._rows)}
        self.endInsertRows()

    def tick(self) -> None:
        for row, record in enumerate(self._rows):
            if record.state is JobState.RUNNING:
                self.dataChanged.emit(self.index(row, DURATION), self.index(row, DURATION))

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        record = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(record, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == STATE:
            return STATE_COLOURS[record.state]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(record, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (ETA, DURATION):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return record.id
        if role == RECORD_ROLE:
            return record
        return None

    def _display(self, record: JobRecord, column: int) -> str:
        if column == KIND:
            return record.kind
        if column == TARGET:
            return record.target
        if column == STATE:
            return record.state.value
        if column == PROGRESS:
            return "" if record.fraction is None else f"{record.fraction:.0%}"
        if column == DETAIL:
            return detail_text(record)
        if column == ETA:
            return format_seconds(record.eta_seconds) if record.active else ""
        if column == STARTED:
            return started_text(record.started_at)
        return format_seconds(record.duration())

    def _tooltip(self, record: JobRecord, column: int) -> str:
        if column == STARTED and record.started_at is not None:
            return datetime.fromtimestamp(record.started_at).strftime("%Y-%m-%d %H:%M:%S")
        lines = [record.title, f"job {record.id} · {record.kind} · profile {record.profile}"]
        text = detail_text(record)
        if text and text != record.title:
            lines.append(text)
        return "\n".join(lines)


class StateFilter(QSortFilterProxyModel):
    """Shows the rows whose state is in ``states`` (None: all)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._states: frozenset[JobState] | None = None

    def set_states(self, states: frozenset[JobState] | None) -> None:
        self.beginFilterChange()
        self._states = states
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802
        if self._states is None:
            return True
        return self.sourceModel().record(source_row).state in self._states


class ProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as a bar in the job's state colour with its percentage
    (``…`` while running with unknown progress, nothing while queued)."""

    def paint(self, painter: QPainter, option, index) -> None:
        record: JobRecord | None = index.data(RECORD_ROLE)
        if record is None:
            super().paint(painter, option, index)
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.color(QPalette.ColorRole.Highlight))
        bar = QRectF(option.rect).adjusted(4, 4, -4, -4)
        painter.setPen(QColor("#b8c2cb"))
        painter.setBrush(QColor("#eef1f4"))
        painter.drawRoundedRect(bar, 3, 3)
        fraction = 1.0 if record.state is JobState.SUCCEEDED else record.fraction
        chunk = QRectF(bar)
        chunk.setWidth(bar.width() * (fraction or 0.0))
        if fraction:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(STATE_COLOURS[record.state])
            painter.drawRoundedRect(chunk, 3, 3)
        if record.state is JobState.QUEUED:
            text = ""
        elif fraction is None:
            text = "…" if record.active else ""
        else:
            text = f"{fraction:.0%}"
        rest = QRectF(bar)
        rest.setLeft(chunk.right())
        for clip, colour in ((chunk, "#ffffff"), (rest, "#101418")):
            painter.setClipRect(clip)
            painter.setPen(QColor(colour))
            painter.drawText(bar, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()
