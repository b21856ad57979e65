"""Catalog panel: filterable, sortable table of games with a coloured state column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import (
    QModelIndex,
    Qt,
    QTimer,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from services.catalog import GameSummary
from views.game_table_model import (  # noqa: F401 - STATE_COLOURS/STATE_HELP re-exported
    ALL_LEAGUES,
    COLUMN_WIDTHS,
    RESORT_INTERVAL_MS,
    STATE_COLOURS,
    STATE_HELP,
    GameTableModel,
)


class CatalogFeed(Protocol):
    """What the catalog panel shows (``console.gui.catalog_controller.CatalogController``):
    ``listing_started()``, ``games_added(list[GameSummary])`` a listing page not probed yet,
    ``games_probed(list[GameSummary])`` a batch with meta and state, ``game_probed(GameSummary)``
    one game re-read."""

    listing_started: SignalInstance
    games_added: SignalInstance
    games_probed: SignalInstance
    game_probed: SignalInstance


class CatalogPanel(QWidget):
    """Filter bar + table. Emits ``game_selected(str)`` (game id), ``refresh_requested`` and
    ``backfill_requested(list, bool)``.

    It receives the catalog controller and only connects to its signals.
    """

    game_selected = Signal(str)
    refresh_requested = Signal()
    spotcheck_requested = Signal(list, int)
    """``(games, sample)``: GameSummary rows to spot-check; ``sample`` > 0 asks for a random
    sample of that many v1.5 games among them (0: check exactly these games)."""
    audit_requested = Signal(list, list, int)
    """``(games, catalog, sample)``: GameSummary rows to audit, every listed game (the
    catalog the cost is extrapolated to), and ``sample`` > 0 for a random sample of that
    many among ``games`` (0: exactly these games)."""
    backfill_requested = Signal(list, bool)
    """``(games, explicit)``: GameSummary rows to backfill; ``explicit`` when the operator
    picked that game (else it is every shown game, filtered by the batch rule)."""

    def __init__(self, controller: CatalogFeed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = GameTableModel(self)

        self.filter_edit = QLineEdit(placeholderText="Filter games (id, title, team)…  Ctrl+F")
        self.filter_edit.setClearButtonEnabled(True)
        self.league_box = QComboBox()
        self.league_box.addItem(ALL_LEAGUES)
        self.league_box.setMinimumContentsLength(10)
        refresh = QPushButton("Refresh")
        refresh.setToolTip("List the catalog again (F5)")
        backfill = _menu_button(
            "Backfill…",
            "Encode the ABR ladder for the selected game (Ctrl+B) or for every shown "
            "v1/partial game (Ctrl+Shift+B)",
            [
                ("Selected game…", self.request_backfill_selected),
                ("All shown games…", self.request_backfill_shown),
            ],
        )
        spotcheck = _menu_button(
            "Spot-check…",
            "Check the selected game's ladder (Ctrl+K): checksums, fidelity, PSNR/SSIM/VMAF, "
            "HLS rules; or a random sample of the shown games",
            [
                ("Selected game", self.request_spotcheck_selected),
                ("Random sample of shown games…", self.request_spotcheck_sample),
            ],
        )
        self.audit_button = _menu_button(
            "Audit…",
            "Migration audit through the real gate: the five v1 → v1.5 success criteria for "
            "the selected game, the shown games (e.g. one league) or a random sample of them",
            [
                ("Selected game", self.request_audit_selected),
                ("All shown games", self.request_audit_shown),
                ("Random sample of shown games…", self.request_audit_sample),
            ],
        )
        self.count_label = QLabel("")
        self.count_label.setObjectName("muted")

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        # fixed widths: resize-to-contents re-measures rows through Python on every change
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        header.setStretchLastSection(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self._resort = QTimer(self, singleShot=True, interval=RESORT_INTERVAL_MS)
        self._resort.timeout.connect(self.model.rebuild)

        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.league_box)
        bar.addWidget(refresh)
        bar.addWidget(backfill)
        bar.addWidget(spotcheck)
        bar.addWidget(self.audit_button)
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
        QShortcut(QKeySequence("Ctrl+B"), self, self.request_backfill_selected)
        QShortcut(QKeySequence("Ctrl+Shift+B"), self, self.request_backfill_shown)
        QShortcut(QKeySequence("Ctrl+K"), self, self.request_spotcheck_selected)

        controller.listing_started.connect(self.model.clear)
        controller.games_added.connect(self._on_games_added)
        controller.games_probed.connect(self._on_probed_batch)
        controller.game_probed.connect(lambda game: self._on_probed_batch([game]))

    def _on_games_added(self, games: list[GameSummary]) -> None:
        first_page = self.model.total == 0
        self.model.add_games(games)
        if first_page:
            self.model.rebuild()  # the first page shows in order at once
        else:
            self._schedule_sort()
        self._update_count()

    def _on_probed_batch(self, games: list[GameSummary]) -> None:
        if self.model.update_games(games):
            self.model.rebuild()
        for league in sorted({g.league for g in games if g.league}):
            if self.league_box.findText(league) < 0:
                self.league_box.addItem(league)
        self._schedule_sort()
        self._update_count()

    def _schedule_sort(self) -> None:
        if not self._resort.isActive():
            self._resort.start()

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), self.model.total
        text = f"{shown} of {total} games" if shown != total else f"{total} games"
        self.count_label.setText(text)

    def _on_filter(self, text: str) -> None:
        self.model.set_filter(text=text)
        self._update_count()

    def _on_league(self, league: str) -> None:
        self.model.set_filter(league=league)
        self._update_count()

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.game_selected.emit(self.model.data(current, Qt.ItemDataRole.UserRole))

    def selected_game_id(self) -> str | None:
        index = self.table.currentIndex()
        return self.model.data(index, Qt.ItemDataRole.UserRole) if index.isValid() else None

    def select_game(self, game_id: str) -> bool:
        """Show and select ``game_id`` (clearing the filters when they hide it)."""
        if self.model.row_of(game_id) is None and self.model.has_game(game_id):
            self.filter_edit.clear()
            self.league_box.setCurrentIndex(0)
        row = self.model.row_of(game_id)
        if row is None:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def shown_games(self) -> list[GameSummary]:
        """The games the table shows now (filtered and sorted)."""
        return [self.model.game(row) for row in range(self.model.rowCount())]

    def request_backfill_selected(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.backfill_requested.emit([self.model.game(index.row())], True)

    def request_backfill_shown(self) -> None:
        games = self.shown_games()
        if games:
            self.backfill_requested.emit(games, False)

    def request_spotcheck_selected(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.spotcheck_requested.emit([self.model.game(index.row())], 0)

    def request_spotcheck_sample(self) -> None:
        games = self.shown_games()
        if not games:
            return
        size = self.ask_sample_size(len(games))
        if size:
            self.spotcheck_requested.emit(games, size)

    def request_audit_selected(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.audit_requested.emit([self.model.game(index.row())], self.model.all_games(), 0)

    def request_audit_shown(self, sample: int = 0) -> None:
        games = self.shown_games()
        if games:
            self.audit_requested.emit(games, self.model.all_games(), sample)

    def request_audit_sample(self) -> None:
        size = self.ask_audit_sample(len(self.shown_games())) if self.shown_games() else 0
        if size:
            self.request_audit_shown(size)

    def ask_audit_sample(self, shown: int) -> int:
        """How many of the shown games to audit (0: cancelled); tests replace this method."""
        size, ok = QInputDialog.getInt(
            self,
            "Audit a sample",
            f"Random sample of the shown games, any state ({shown} shown): how many?",
            min(3, shown),
            1,
            shown,
        )
        return size if ok else 0

    def ask_sample_size(self, shown: int) -> int:
        """How many games to sample (0: cancelled); tests replace this method."""
        size, ok = QInputDialog.getInt(
            self,
            "Spot-check a sample",
            f"Random sample of the shown v1.5 games ({shown} shown): how many?",
            min(3, shown),
            1,
            shown,
        )
        return size if ok else 0

    def _context_menu(self, pos) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        game_id = self.model.data(index, Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction("Copy game ID", lambda: QGuiApplication.clipboard().setText(game_id))
        menu.addAction(
            "Copy prefix", lambda: QGuiApplication.clipboard().setText(f"games/{game_id}/")
        )
        menu.addSeparator()
        game = self.model.game(index.row())
        menu.addAction("Backfill this game…", lambda: self.backfill_requested.emit([game], True))
        menu.addAction("Backfill all shown games…", self.request_backfill_shown)
        menu.addAction("Spot-check this game", lambda: self.spotcheck_requested.emit([game], 0))
        if self.audit_button.isEnabled():
            menu.addAction(
                "Audit this game",
                lambda: self.audit_requested.emit([game], self.model.all_games(), 0),
            )
        menu.exec(self.table.viewport().mapToGlobal(pos))


def _menu_button(text: str, tip: str, actions: list[tuple[str, Callable[[], None]]]) -> QPushButton:
    """A push button with ``tip`` whose menu runs one of ``actions`` (label, slot)."""
    button = QPushButton(text)
    button.setToolTip(tip)
    menu = QMenu(button)
    for label, slot in actions:
        menu.addAction(label, slot)
    button.setMenu(menu)
    return button
