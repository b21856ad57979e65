"""The jobs table's model, state filter and progress-bar delegate (no I/O: records in,
cells out).

The model is a two-level tree: one top-level row per job, and under a batch job (a
cluster batch) one child row per game (``views.job_games``): its state, progress, ETA and
worker node."""

from __future__ import annotations

import time
from datetime import datetime

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from services.cluster.batch import rows_from_result
from services.jobs.model import JobRecord, JobState, format_seconds
from views.job_games import (
    GameLine,
    game_detail,
    game_eta,
    game_fraction,
    game_state,
    game_tooltip,
)

COLUMNS = (
    "Kind",
    "Target",
    "State",
    "Progress",
    "Stage / detail",
    "ETA",
    "Started",
    "Duration",
    "Node",
)
KIND, TARGET, STATE, PROGRESS, DETAIL, ETA, STARTED, DURATION, NODE = range(len(COLUMNS))
COLUMN_WIDTHS = {
    KIND: 72,
    TARGET: 170,
    STATE: 80,
    PROGRESS: 100,
    ETA: 60,
    STARTED: 70,
    DURATION: 64,
    NODE: 120,
}
#: the model role carrying the whole ``JobRecord`` of a row (a game row: its job's)
RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
#: the model role carrying a game row's ``GameLine`` (None on a job's row)
GAME_ROLE = Qt.ItemDataRole.UserRole + 2
_TOP = 0
"""``internalId`` of a job's index; a game's index carries its job's serial (>= 1)."""
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


class JobsTableModel(QAbstractItemModel):
    """Jobs newest first, updated in place by id (``upsert``); ``tick`` refreshes the
    live columns (duration) of running jobs. A batch job's games are its child rows
    (``upsert_game``; a finished batch from the history gets them from its result)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.columns = COLUMNS
        self._rows: list[JobRecord] = []
        self._row_of: dict[str, int] = {}
        self._games: dict[str, list[GameLine]] = {}
        self._serial: dict[str, int] = {}
        self._job_of_serial: dict[int, str] = {}

    # --- jobs ----------------------------------------------------------------------------

    def record(self, row: int) -> JobRecord:
        return self._rows[row]

    def row_of(self, job_id: str) -> int | None:
        return self._row_of.get(job_id)

    def set_records(self, records: list[JobRecord]) -> None:
        """Replace every row (``records`` newest first); games already shown are kept."""
        self.beginResetModel()
        self._rows = list(records)
        self._row_of = {r.id: n for n, r in enumerate(self._rows)}
        for record in self._rows:
            self._rows_from_result(record)
        self.endResetModel()

    def upsert(self, record: JobRecord) -> None:
        """Update the row of ``record.id`` or insert it on top (a new job)."""
        row = self._row_of.get(record.id)
        if row is not None:
            self._rows[row] = record
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
            if not self._games.get(record.id) and rows_from_result(record.result):
                self.set_games(record.id, rows_from_result(record.result))
            return
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.insert(0, record)
        self._row_of = {r.id: n for n, r in enumerate(self._rows)}
        self._rows_from_result(record)
        self.endInsertRows()

    def _rows_from_result(self, record: JobRecord) -> None:
        if not self._games.get(record.id):
            games = rows_from_result(record.result)
            if games:
                self._games[record.id] = list(games)

    def tick(self) -> None:
        for row, record in enumerate(self._rows):
            if record.state is JobState.RUNNING:
                self.dataChanged.emit(self.index(row, DURATION), self.index(row, DURATION))

    # --- games of a batch job ------------------------------------------------------------

    def games_of(self, job_id: str) -> list[GameLine]:
        """The game rows shown under ``job_id`` (empty for a job of one game)."""
        return list(self._games.get(job_id, ()))

    def set_games(self, job_id: str, games: list[GameLine]) -> None:
        """Show ``games`` under the job ``job_id`` (kept until the job's row is shown)."""
        parent = self._job_index(job_id)
        old = self._games.get(job_id, [])
        if parent is not None and old:
            self.beginRemoveRows(parent, 0, len(old) - 1)
            self._games[job_id] = []
            self.endRemoveRows()
        if parent is not None and games:
            self.beginInsertRows(parent, 0, len(games) - 1)
            self._games[job_id] = list(games)
            self.endInsertRows()
        else:
            self._games[job_id] = list(games)

    def upsert_game(self, job_id: str, game: GameLine) -> None:
        """Update ``game``'s row under ``job_id`` (by ``game.game``), or append it."""
        games = self._games.setdefault(job_id, [])
        parent = self._job_index(job_id)
        for n, shown in enumerate(games):
            if shown.game == game.game:
                games[n] = game
                if parent is not None:
                    self.dataChanged.emit(
                        self.index(n, 0, parent), self.index(n, len(COLUMNS) - 1, parent)
                    )
                    self.dataChanged.emit(parent, self.index(parent.row(), len(COLUMNS) - 1))
                return
        if parent is None:
            games.append(game)
            return
        self.beginInsertRows(parent, len(games), len(games))
        games.append(game)
        self.endInsertRows()

    def game(self, index: QModelIndex | QPersistentModelIndex) -> GameLine | None:
        """The game of a child row's index, None for a job's row."""
        job_id = self._job_of_serial.get(index.internalId()) if index.isValid() else None
        if job_id is None:
            return None
        games = self._games.get(job_id, [])
        return games[index.row()] if 0 <= index.row() < len(games) else None

    def job_of(self, index: QModelIndex | QPersistentModelIndex) -> JobRecord | None:
        """The job of a row: its own, or for a game row its batch's."""
        if not index.isValid():
            return None
        if index.internalId() == _TOP:
            return self._rows[index.row()] if index.row() < len(self._rows) else None
        job_id = self._job_of_serial.get(index.internalId())
        row = self._row_of.get(job_id) if job_id is not None else None
        return None if row is None else self._rows[row]

    def _job_index(self, job_id: str) -> QModelIndex | None:
        row = self._row_of.get(job_id)
        return None if row is None else self.index(row, 0)

    def _serial_of(self, job_id: str) -> int:
        serial = self._serial.get(job_id)
        if serial is None:
            serial = self._serial[job_id] = len(self._serial) + 1
            self._job_of_serial[serial] = job_id
        return serial

    # --- QAbstractItemModel --------------------------------------------------------------

    def index(self, row, column, parent=QModelIndex()):  # noqa: B008
        if column < 0 or column >= len(COLUMNS) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, _TOP) if row < len(self._rows) else QModelIndex()
        if parent.internalId() != _TOP or parent.row() >= len(self._rows):
            return QModelIndex()
        job_id = self._rows[parent.row()].id
        if row >= len(self._games.get(job_id, ())):
            return QModelIndex()
        return self.createIndex(row, column, self._serial_of(job_id))

    def parent(self, index=QModelIndex()):  # noqa: B008
        if not index.isValid() or index.internalId() == _TOP:
            return QModelIndex()
        job_id = self._job_of_serial.get(index.internalId())
        row = self._row_of.get(job_id) if job_id is not None else None
        return QModelIndex() if row is None else self.createIndex(row, 0, _TOP)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008,N802
        if not parent.isValid():
            return len(self._rows)
        if parent.internalId() != _TOP or parent.column() != 0:
            return 0
        if parent.row() >= len(self._rows):
            return 0
        return len(self._games.get(self._rows[parent.row()].id, ()))

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008,N802
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if index.internalId() != _TOP:
            return self._game_data(index, role)
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

    def _game_data(self, index, role):
        game = self.game(index)
        if game is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._game_display(game, column)
        state = game_state(game)
        if role == Qt.ItemDataRole.ForegroundRole and column == STATE and state is not None:
            return STATE_COLOURS[state]
        if role == Qt.ItemDataRole.ForegroundRole and column == KIND:
            return QColor("#5b7083")
        if role == Qt.ItemDataRole.ToolTipRole:
            return game_tooltip(game)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (ETA, DURATION):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            record = self.job_of(index)
            return record.id if record is not None else None
        if role == GAME_ROLE:
            return game
        return None

    def _game_display(self, game: GameLine, column: int) -> str:
        if column == KIND:
            return "game"
        if column == TARGET:
            return game.game
        if column == STATE:
            return game.state
        if column == PROGRESS:
            fraction = game_fraction(game)
            return "" if fraction is None else f"{fraction:.0%}"
        if column == DETAIL:
            return game_detail(game)
        if column == ETA:
            return game_eta(game)
        if column == NODE:
            return game.node
        return ""

    def _display(self, record: JobRecord, column: int) -> str:
        if column == KIND:
            return record.kind
        if column == TARGET:
            return record.title if self._games.get(record.id) else record.target
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
        if column == NODE:
            return self._nodes_of(record.id)
        return format_seconds(record.duration())

    def _nodes_of(self, job_id: str) -> str:
        """The worker nodes a batch's running games use (else every node it used)."""
        games = self._games.get(job_id, [])
        running = sorted({g.node for g in games if g.state == "running" and g.node})
        nodes = running or sorted({g.node for g in games if g.node})
        return ", ".join(nodes)

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
        if self._states is None or source_parent.isValid():  # a batch's games follow it
            return True
        return self.sourceModel().record(source_row).state in self._states


class ProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as a bar in the job's state colour with its percentage
    (``…`` while running with unknown progress, nothing while queued)."""

    def paint(self, painter: QPainter, option, index) -> None:
        record: JobRecord | None = index.data(RECORD_ROLE)
        game: GameLine | None = index.data(GAME_ROLE)
        if game is not None:
            state = game_state(game) or JobState.QUEUED
            fraction = game_fraction(game)
            text = "" if fraction is None else f"{fraction:.0%}"
            self._bar(painter, option, state, fraction, text)
            return
        if record is None:
            super().paint(painter, option, index)
            return
        fraction = 1.0 if record.state is JobState.SUCCEEDED else record.fraction
        if record.state is JobState.QUEUED:
            text = ""
        elif fraction is None:
            text = "…" if record.active else ""
        else:
            text = f"{fraction:.0%}"
        self._bar(painter, option, record.state, fraction, text)

    def _bar(self, painter: QPainter, option, state: JobState, fraction, text: str) -> None:
        """A rounded bar filled to ``fraction`` (None: empty) in ``state``'s colour."""
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.color(QPalette.ColorRole.Highlight))
        bar = QRectF(option.rect).adjusted(4, 4, -4, -4)
        painter.setPen(QColor("#b8c2cb"))
        painter.setBrush(QColor("#eef1f4"))
        painter.drawRoundedRect(bar, 3, 3)
        chunk = QRectF(bar)
        chunk.setWidth(bar.width() * (fraction or 0.0))
        if fraction:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(STATE_COLOURS[state])
            painter.drawRoundedRect(chunk, 3, 3)
        rest = QRectF(bar)
        rest.setLeft(chunk.right())
        for clip, colour in ((chunk, "#ffffff"), (rest, "#101418")):
            painter.setClipRect(clip)
            painter.setPen(QColor(colour))
            painter.drawText(bar, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()
