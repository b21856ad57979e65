"""Catalog panel: filterable, sortable table of games with a coloured state column."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from services.catalog import GameState, GameSummary

COLUMNS = ("State", "Game", "League", "Date", "ID")
ID_COLUMN_WIDTH = 200
STATE_COLOURS = {
    GameState.V1: QColor("#5b7083"),
    GameState.PARTIAL: QColor("#d08c00"),
    GameState.V15: QColor("#1a8f3c"),
    GameState.BROKEN: QColor("#c62828"),
}
STATE_HELP = {
    GameState.V1: "v1: single-rendition media playlist",
    GameState.PARTIAL: "partial: rung objects exist but master.m3u8 is still v1",
    GameState.V15: "v1.5: multivariant master + master.v1 anchor + ledger",
    GameState.BROKEN: "broken: something referenced is missing or inconsistent",
}
ALL_LEAGUES = "All leagues"


class GameTableModel(QAbstractTableModel):
    """Rows of ``GameSummary``; appended page by page, updated in place when probed."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._games: list[GameSummary] = []
        self._row_of: dict[str, int] = {}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008,N802
        return 0 if parent.isValid() else len(self._games)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008,N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def game(self, row: int) -> GameSummary:
        return self._games[row]

    def leagues(self) -> list[str]:
        return sorted({g.league for g in self._games if g.league})

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        game = self._games[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if column == 0:
                return game.state.value if game.state else "…"
            return (None, game.title, game.league, game.date, game.id)[column]
        if role == Qt.ItemDataRole.ToolTipRole and column in (1, 4):
            return f"{game.title}\n{game.id}"
        if role == Qt.ItemDataRole.ForegroundRole and column == 0 and game.state:
            return STATE_COLOURS[game.state]
        if role == Qt.ItemDataRole.ToolTipRole:
            if game.state:
                return f"{STATE_HELP[game.state]}\n{game.reason}"
            return "state not read yet"
        if role == Qt.ItemDataRole.UserRole:
            return game.id
        return None

    def clear(self) -> None:
        self.beginResetModel()
        self._games.clear()
        self._row_of.clear()
        self.endResetModel()

    def add_games(self, games: list[GameSummary]) -> None:
        fresh = [g for g in games if g.id not in self._row_of]
        if not fresh:
            return
        first = len(self._games)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        for offset, game in enumerate(fresh):
            self._row_of[game.id] = first + offset
            self._games.append(game)
        self.endInsertRows()

    def update_game(self, game: GameSummary) -> None:
        row = self._row_of.get(game.id)
        if row is None:
            self.add_games([game])
            return
        self._games[row] = game
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))


class GameFilter(QSortFilterProxyModel):
    """Text (id, title, teams) and league filter over ``GameTableModel``."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._text = ""
        self._league = ""
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._text = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_league(self, league: str) -> None:
        self.beginFilterChange()
        self._league = "" if league == ALL_LEAGUES else league
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent) -> bool:  # noqa: N802
        game = self.sourceModel().game(row)
        if self._league and game.league != self._league:
            return False
        if not self._text:
            return True
        hay = f"{game.id} {game.title} {game.home} {game.away} {game.league}".lower()
        return self._text in hay


class CatalogPanel(QWidget):
    """Filter bar + table. Emits ``game_selected(str)`` (game id) and ``refresh_requested``.

    It receives the catalog controller and only connects to its signals.
    """

    game_selected = Signal(str)
    refresh_requested = Signal()

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = GameTableModel(self)
        self.proxy = GameFilter(self)
        self.proxy.setSourceModel(self.model)

        self.filter_edit = QLineEdit(placeholderText="Filter games (id, title, team)…  Ctrl+F")
        self.filter_edit.setClearButtonEnabled(True)
        self.league_box = QComboBox()
        self.league_box.addItem(ALL_LEAGUES)
        self.league_box.setMinimumContentsLength(10)
        refresh = QPushButton("Refresh")
        refresh.setToolTip("List the catalog again (F5)")
        self.count_label = QLabel("")
        self.count_label.setObjectName("muted")

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(4, ID_COLUMN_WIDTH)
        header.setStretchLastSection(False)

        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.league_box)
        bar.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)

        self.filter_edit.textChanged.connect(self._on_filter)
        self.league_box.currentTextChanged.connect(self._on_league)
        refresh.clicked.connect(self.refresh_requested)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.table.customContextMenuRequested.connect(self._context_menu)
        QShortcut(QKeySequence.StandardKey.Find, self, self.filter_edit.setFocus)
        QShortcut(QKeySequence(Qt.Key.Key_F5), self, self.refresh_requested.emit)

        controller.listing_started.connect(self.model.clear)
        controller.games_added.connect(self._on_games_added)
        controller.game_probed.connect(self._on_probed)

    def _on_games_added(self, games: list[GameSummary]) -> None:
        self.model.add_games(games)
        self._update_count()

    def _on_probed(self, game: GameSummary) -> None:
        self.model.update_game(game)
        if game.league and self.league_box.findText(game.league) < 0:
            self.league_box.addItem(game.league)
        self._update_count()

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        text = f"{shown} of {total} games" if shown != total else f"{total} games"
        self.count_label.setText(text)

    def _on_filter(self, text: str) -> None:
        self.proxy.set_text(text)
        self._update_count()

    def _on_league(self, league: str) -> None:
        self.proxy.set_league(league)
        self._update_count()

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.game_selected.emit(self.proxy.data(current, Qt.ItemDataRole.UserRole))

    def selected_game_id(self) -> str | None:
        index = self.table.currentIndex()
        return self.proxy.data(index, Qt.ItemDataRole.UserRole) if index.isValid() else None

    def select_first(self) -> None:
        if self.proxy.rowCount():
            self.table.selectRow(0)

    def _context_menu(self, pos) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        game_id = self.proxy.data(index, Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction("Copy game ID", lambda: QGuiApplication.clipboard().setText(game_id))
        menu.addAction(
            "Copy prefix", lambda: QGuiApplication.clipboard().setText(f"games/{game_id}/")
        )
        menu.exec(self.table.viewport().mapToGlobal(pos))
