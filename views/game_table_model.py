"""The catalog's table model: every listed game, filtered and sorted in plain Python, with
the state colours and help texts the catalog and the game detail show."""

from __future__ import annotations

from operator import attrgetter

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor

from services.catalog import GameState, GameSummary
from views.row_table_model import RowTableModel

COLUMNS = ("State", "Game", "League", "Date", "ID")
COLUMN_WIDTHS = {0: 70, 2: 70, 3: 95, 4: 210}
#: at most one re-sort per this many ms while pages and states stream in
RESORT_INTERVAL_MS = 1500
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


class GameTableModel(RowTableModel):
    """All listed games, shown filtered (text, league) and sorted, without a proxy model.

    Filtering and sorting are plain Python over a list (a few ms for 10,000 games); a
    ``QSortFilterProxyModel`` would call back into Python for every row and comparison
    and block the GUI thread for tens of ms on each change (benchmark P2).
    ``rowCount`` is the number of visible rows; ``total`` the number of listed games.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(COLUMNS, parent)
        self._games: dict[str, GameSummary] = {}
        self._rows: list[GameSummary] = []
        self._row_of: dict[str, int] = {}
        self._text = ""
        self._league = ""
        self._sort_column = 3
        self._descending = True

    @property
    def total(self) -> int:
        return len(self._games)

    def has_game(self, game_id: str) -> bool:
        """True when ``game_id`` is listed (shown or filtered out)."""
        return game_id in self._games

    def all_games(self) -> list[GameSummary]:
        """Every listed game (shown or filtered out), in listing order."""
        return list(self._games.values())

    def row_of(self, game_id: str) -> int | None:
        """The visible row of ``game_id``, None when filtered out or unknown."""
        return self._row_of.get(game_id)

    def game(self, row: int) -> GameSummary:
        """The game shown at visible ``row``."""
        return self._rows[row]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        game = self._rows[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if column == 0:
                return game.state.value if game.state else "…"
            return (None, game.title, game.league, game.date, game.id)[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == 0 and game.state:
            return STATE_COLOURS[game.state]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column in (1, 4):
                return f"{game.title}\n{game.id}"
            if game.state:
                return f"{STATE_HELP[game.state]}\n{game.reason}"
            return "state not read yet"
        if role == Qt.ItemDataRole.UserRole:
            return game.id
        return None

    def _accepts(self, game: GameSummary) -> bool:
        if self._league and game.league != self._league:
            return False
        if not self._text:
            return True
        hay = f"{game.id} {game.title} {game.home} {game.away} {game.league}".lower()
        return self._text in hay

    def clear(self) -> None:
        self.beginResetModel()
        self._games.clear()
        self._rows.clear()
        self._row_of.clear()
        self.endResetModel()

    def add_games(self, games: list[GameSummary]) -> None:
        """Append new games (visible ones at the end until the next ``rebuild``)."""
        fresh = [g for g in games if g.id not in self._games]
        for game in fresh:
            self._games[game.id] = game
        shown = [g for g in fresh if self._accepts(g)]
        if not shown:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(shown) - 1)
        for offset, game in enumerate(shown):
            self._row_of[game.id] = first + offset
            self._rows.append(game)
        self.endInsertRows()

    def update_games(self, games: list[GameSummary]) -> bool:
        """Replace games by id (unknown ids are added); one ``dataChanged`` per batch.
        Returns True when a game's visibility changed, so a ``rebuild`` is due."""
        rows: list[int] = []
        fresh: list[GameSummary] = []
        visibility_changed = False
        for game in games:
            if game.id not in self._games:
                fresh.append(game)
                continue
            self._games[game.id] = game
            row = self._row_of.get(game.id)
            if row is not None:
                self._rows[row] = game
                rows.append(row)
            if (row is not None) != self._accepts(game):
                visibility_changed = True
        if rows:
            last = len(COLUMNS) - 1
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), last))
        if fresh:
            self.add_games(fresh)
        return visibility_changed

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Called by the view's header: remember the order and rebuild."""
        if 0 <= column < len(COLUMNS):
            self._sort_column = column
            self._descending = order == Qt.SortOrder.DescendingOrder
            self.rebuild()

    def set_filter(self, text: str | None = None, league: str | None = None) -> None:
        """Filter by text (id, title, teams; case-insensitive) and/or league."""
        if text is not None:
            self._text = text.strip().lower()
        if league is not None:
            self._league = "" if league == ALL_LEAGUES else league
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute the visible rows (filter, then sort); the selection follows its game."""
        self.layoutAboutToBeChanged.emit()
        old_ids = {i: self._rows[i.row()].id for i in self.persistentIndexList()}
        games = self._games.values()
        if self._text or self._league:
            games = [g for g in games if self._accepts(g)]
        self._rows = sorted(games, key=_SORT_KEYS[self._sort_column], reverse=self._descending)
        self._row_of = {g.id: r for r, g in enumerate(self._rows)}
        moved_from, moved_to = [], []
        for index, game_id in old_ids.items():
            row = self._row_of.get(game_id)
            moved_from.append(index)
            moved_to.append(self.index(row, index.column()) if row is not None else QModelIndex())
        self.changePersistentIndexList(moved_from, moved_to)
        self.layoutChanged.emit()


_SORT_KEYS = (
    lambda g: (g.state.value if g.state else "~", g.id),
    lambda g: (g.title.lower(), g.id),
    attrgetter("league", "date", "id"),
    attrgetter("date", "id"),
    attrgetter("id"),
)
