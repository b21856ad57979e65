"""Jobs panel: every job (this session's and the history) with live progress, ETA, state
filter, cancel (confirmed for running jobs), "open game", copy id, and a live log of the
selected job. A batch job (a cluster batch) shows one child row per game: its state,
progress, ETA and worker node. It receives the ``JobsController`` (and, for batches, the
feed of game rows) and only connects to their signals."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QModelIndex, Qt, QTimer, SignalInstance
from PySide6.QtCore import Signal as QtSignal
from PySide6.QtGui import QAction, QFontDatabase, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QSizePolicy,
    QSplitter,
    QToolBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from services.jobs.model import ACTIVE_STATES, JobRecord, JobState
from views.job_games import GameLine, game_report
from views.jobs_table import (
    COLUMN_WIDTHS,
    DETAIL,
    PROGRESS,
    JobsTableModel,
    ProgressDelegate,
    StateFilter,
)

#: the state filter's choices: label → states shown (None: all)
STATE_FILTERS: dict[str, frozenset[JobState] | None] = {
    "All jobs": None,
    "Active": ACTIVE_STATES,
    "Problems": frozenset({JobState.FAILED, JobState.INTERRUPTED}),
    **{state.value.capitalize(): frozenset({state}) for state in JobState},
}
#: how many lines the log view keeps (older ones scroll away)
LOG_VIEW_LINES = 5000
HISTORY_LIMIT = 500


class JobsFeed(Protocol):
    """What the Jobs panel shows and asks of (``console.gui.jobs_controller.JobsController``):
    ``job_changed(JobRecord)``, ``log_line(job_id, lines)``, ``history_loaded(list)``,
    ``log_loaded(job_id, lines)``; the calls ``cancel(job_id) -> bool``,
    ``load_history(limit)``, ``load_log(job_id)``."""

    job_changed: SignalInstance
    log_line: SignalInstance
    history_loaded: SignalInstance
    log_loaded: SignalInstance

    def cancel(self, job_id: str) -> bool: ...
    def load_history(self, limit: int = 200) -> None: ...
    def load_log(self, job_id: str) -> None: ...


class GamesFeed(Protocol):
    """The per-game rows of batch jobs (``console.gui.cluster_controller``):
    ``game_row(job_id, row)`` whenever a game of a batch changes (``row``: a
    ``views.job_games.GameLine``), and ``games_of(job_id)`` for the rows known so far."""

    game_row: SignalInstance

    def games_of(self, job_id: str) -> list: ...


class JobsPanel(QWidget):
    """Toolbar + jobs table + log. Emits ``open_target(str)`` (the job's target, a game
    id) when the operator asks to open it; the main window connects it to the catalog.
    Emits ``open_report(JobRecord)`` for a finished job that saved a report (a spot-check):
    "Open report", or a double click on it (other jobs: a double click shows the log).
    A game row of a batch is that game for "Open game" and the detail, and its batch for
    cancel, copy id and the log; a spot-checked game's report opens with
    ``open_game_report(job_id, game, path)``."""

    open_target = QtSignal(str)
    target_selected = QtSignal(str)
    """The target (game id) of the one job the operator selected, to show its detail."""
    open_report = QtSignal(object)
    open_game_report = QtSignal(str, str, str)

    def __init__(
        self,
        controller: JobsFeed,
        parent: QWidget | None = None,
        *,
        games: GamesFeed | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.games = games
        self.model = JobsTableModel(self)
        self.proxy = StateFilter(self)
        self.proxy.setSourceModel(self.model)
        self._log_job: str | None = None

        self.table = QTreeView()
        self.table.setModel(self.proxy)
        self.table.setItemDelegateForColumn(PROGRESS, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.setUniformRowHeights(True)
        self.table.setAllColumnsShowFocus(True)
        self.table.setIndentation(14)
        self.table.setExpandsOnDoubleClick(False)  # a double click opens the log/report
        header = self.table.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(DETAIL, QHeaderView.ResizeMode.Stretch)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)

        self.cancel_action = self._action(
            "Cancel…",
            self.request_cancel,
            QKeySequence.StandardKey.Delete,
            "Cancel the selected jobs (asks first for running ones)",
        )
        self.open_action = self._action(
            "Open game", self.open_selected, None, "Show the selected job's game in the catalog"
        )
        self.copy_action = self._action(
            "Copy job id",
            self.copy_selected_ids,
            QKeySequence.StandardKey.Copy,
            "Copy the selected job ids",
        )
        self.report_action = self._action(
            "Open report",
            self.open_selected_report,
            None,
            "Open the selected spot-check job's report",
        )
        self.log_action = self._action(
            "Show log", self._on_show_log, None, "Show the selected job's log below the table"
        )
        self.log_action.setCheckable(True)

        self.state_box = QComboBox()
        self.state_box.addItems(list(STATE_FILTERS))
        self.state_box.setToolTip("Show only jobs in these states")
        self.count_label = QLabel("")
        self.count_label.setObjectName("muted")
        self.toolbar = toolbar = QToolBar()
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (
            self.cancel_action,
            self.open_action,
            self.report_action,
            self.copy_action,
            self.log_action,
        ):
            toolbar.addAction(action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        toolbar.addWidget(self.count_label)
        toolbar.addWidget(QLabel(" Show: "))
        toolbar.addWidget(self.state_box)

        self.log_title = QLabel("")
        self.log_title.setObjectName("muted")
        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_view.setMaximumBlockCount(LOG_VIEW_LINES)
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log_view.setPlaceholderText("Select a job to follow its log.")
        log_box = QWidget()
        log_layout = QVBoxLayout(log_box)
        log_layout.setContentsMargins(4, 4, 0, 0)
        log_layout.addWidget(self.log_title)
        log_layout.addWidget(self.log_view, 1)
        self.log_box = log_box
        self.log_action.setChecked(True)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(log_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(toolbar)
        layout.addWidget(splitter, 1)

        self._ticker = QTimer(self, interval=1000)
        self._ticker.timeout.connect(self.model.tick)
        self._ticker.start()
        self.state_box.currentTextChanged.connect(self._on_filter)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.doubleClicked.connect(self._on_double_click)
        controller.job_changed.connect(self._on_job_changed)
        controller.log_line.connect(self._on_log_line)
        controller.history_loaded.connect(self._on_history)
        controller.log_loaded.connect(self._on_log_loaded)
        self.proxy.rowsInserted.connect(self._expand_batch)
        if games is not None:
            games.game_row.connect(self._on_game_row)

        self._on_selection()
        controller.load_history(HISTORY_LIMIT)

    def _action(self, text: str, slot, shortcut, tip: str) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        if shortcut is not None:
            action.setShortcut(shortcut)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.table.addAction(action)
        action.triggered.connect(slot)
        return action

    # --- selection -----------------------------------------------------------------------

    def _selected_sources(self) -> list[QModelIndex]:
        """The selected rows' source indexes (column 0), top to bottom."""
        indexes = [self.proxy.mapToSource(i) for i in self.table.selectionModel().selectedRows()]
        return sorted(
            (i for i in indexes if i.isValid()),
            key=lambda i: (i.parent().row(), i.row()) if i.parent().isValid() else (i.row(), -1),
        )

    def selected_records(self) -> list[JobRecord]:
        """The selected jobs, top to bottom (a selected game row stands for its batch)."""
        records: list[JobRecord] = []
        for index in self._selected_sources():
            record = self.model.job_of(index)
            if record is not None and all(r.id != record.id for r in records):
                records.append(record)
        return records

    def selected_game(self) -> tuple[JobRecord, GameLine] | None:
        """The batch job and game of the one selected row, when it is a game row."""
        sources = self._selected_sources()
        if len(sources) != 1:
            return None
        game, record = self.model.game(sources[0]), self.model.job_of(sources[0])
        return (record, game) if game is not None and record is not None else None

    def _selected_target(self) -> str:
        """The game the one selected row is about ("" for none, or a batch's own row)."""
        chosen = self.selected_game()
        if chosen is not None:
            return chosen[1].game
        records = self.selected_records()
        if len(records) != 1 or self.model.games_of(records[0].id):
            return ""
        return records[0].target

    def select_job(self, job_id: str) -> None:
        """Select (and scroll to) a job's row, if it is shown."""
        row = self.model.row_of(job_id)
        if row is None:
            return
        self._select(self.proxy.mapFromSource(self.model.index(row, 0)))

    def select_game(self, job_id: str, game: str) -> None:
        """Select (and scroll to) a batch's game row, if it is shown."""
        row = self.model.row_of(job_id)
        if row is None:
            return
        parent = self.model.index(row, 0)
        for n, shown in enumerate(self.model.games_of(job_id)):
            if shown.game == game:
                self._select(self.proxy.mapFromSource(self.model.index(n, 0, parent)))
                return

    def _select(self, index: QModelIndex) -> None:
        if index.isValid():
            self.table.setCurrentIndex(index)
            self.table.scrollTo(index)

    def _on_selection(self, *_args) -> None:
        records = self.selected_records()
        chosen = self.selected_game()
        self.cancel_action.setEnabled(any(r.active for r in records))
        self.open_action.setEnabled(bool(self._selected_target()))
        self.report_action.setEnabled(
            bool(game_report(chosen[1]))
            if chosen is not None
            else len(records) == 1 and _has_report(records[0])
        )
        self.copy_action.setEnabled(bool(records))
        self._follow(records[0] if len(records) == 1 else None)

    def _on_selection_changed(self, *_args) -> None:
        self._on_selection()
        target = self._selected_target()
        if target:
            self.target_selected.emit(target)

    def _on_filter(self, label: str) -> None:
        self.proxy.set_states(STATE_FILTERS[label])
        self._update_count()

    def _update_count(self) -> None:
        active = sum(self.model.record(r).active for r in range(self.model.rowCount()))
        shown = self.proxy.rowCount()
        text = f"{shown} shown" if shown != self.model.rowCount() else f"{shown} jobs"
        self.count_label.setText(f"{text}, {active} active " if active else f"{text} ")

    # --- controller signals --------------------------------------------------------------

    def _on_job_changed(self, record: JobRecord) -> None:
        known = self.model.row_of(record.id) is not None
        self.model.upsert(record)
        if not known and self.games is not None and not self.model.games_of(record.id):
            games = self.games.games_of(record.id)
            if games:
                self.model.set_games(record.id, games)
        self._update_count()
        if any(r.id == record.id for r in self.selected_records()):
            self._on_selection()

    def _on_game_row(self, job_id: str, game: GameLine) -> None:
        self.model.upsert_game(job_id, game)
        if any(r.id == job_id for r in self.selected_records()):
            self._on_selection()

    def _expand_batch(self, parent: QModelIndex, first: int, last: int) -> None:
        """Game rows appearing under a batch are shown (the batch's row is expanded)."""
        if parent.isValid():
            self.table.expand(parent)
        else:
            for row in range(first, last + 1):
                index = self.proxy.index(row, 0)
                if self.proxy.rowCount(index):
                    self.table.expand(index)

    def _on_history(self, records: list[JobRecord]) -> None:
        """The stored history arrived: show it, keeping jobs that changed meanwhile."""
        loaded = {r.id for r in records}
        newer = [self.model.record(row) for row in range(self.model.rowCount())]
        self.model.set_records(records)
        for record in newer:
            if record.id not in loaded:  # submitted after the read
                self.model.upsert(record)
        self._update_count()
        self._on_selection()

    def _on_log_loaded(self, job_id: str, lines: list[str]) -> None:
        if job_id != self._log_job:
            return
        self.log_view.setPlainText("\n".join(lines))
        self.log_view.verticalScrollBar().setValue(self.log_view.verticalScrollBar().maximum())

    def _on_log_line(self, job_id: str, text: str) -> None:
        if job_id != self._log_job or not self.log_action.isChecked():
            return
        bar = self.log_view.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        self.log_view.appendPlainText(text)
        if at_bottom:
            bar.setValue(bar.maximum())

    # --- log view ------------------------------------------------------------------------

    def _on_show_log(self, *_args) -> None:
        self.log_box.setVisible(self.log_action.isChecked())
        records = self.selected_records()
        self._log_job = None
        self._follow(records[0] if len(records) == 1 else None)

    def _on_double_click(self, *_args) -> None:
        records = self.selected_records()
        chosen = self.selected_game()
        if chosen is not None and game_report(chosen[1]):
            self.open_selected_report()
        elif chosen is None and len(records) == 1 and _has_report(records[0]):
            self.open_report.emit(records[0])
        else:
            self._show_log_of_current()

    def _show_log_of_current(self, *_args) -> None:
        self.log_action.setChecked(True)
        self._on_show_log()

    def _follow(self, record: JobRecord | None) -> None:
        """Show ``record``'s log (when the log is visible) and follow its new lines."""
        if not self.log_action.isChecked():
            return
        if record is None:
            self._log_job = None
            self.log_title.setText("Select one job to see its log.")
            self.log_view.clear()
            return
        if record.id == self._log_job:
            return
        self._log_job = record.id
        what = record.title if self.model.games_of(record.id) else f"{record.kind} {record.target}"
        self.log_title.setText(f"Log of {what} (job {record.id})")
        self.log_view.clear()
        self.controller.load_log(record.id)

    # --- actions -------------------------------------------------------------------------

    def request_cancel(self) -> None:
        """Cancel the selected active jobs; asks first when any of them is running."""
        records = [r for r in self.selected_records() if r.active]
        if not records:
            return
        if any(r.state is JobState.RUNNING for r in records) and not self.confirm_cancel(records):
            return
        for record in records:
            self.controller.cancel(record.id)

    def confirm_cancel(self, records: list[JobRecord]) -> bool:
        """The confirmation dialog (tests replace this method)."""
        running = [r for r in records if r.state is JobState.RUNNING]
        names = ", ".join(f"{r.kind} {r.target}" for r in running[:5])
        if len(running) > 5:
            names += f" and {len(running) - 5} more"
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Cancel jobs",
            f"Stop {names}?\nWork done so far is kept; run the job again to resume.",
            QMessageBox.StandardButton.No,
            self,
        )
        stop = box.addButton(f"Stop {len(running)} running", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.exec()
        return box.clickedButton() is stop

    def open_selected(self) -> None:
        target = self._selected_target()
        if target:
            self.open_target.emit(target)

    def open_selected_report(self) -> None:
        chosen = self.selected_game()
        if chosen is not None:
            record, game = chosen
            if game_report(game):
                self.open_game_report.emit(record.id, game.game, game_report(game))
            return
        records = self.selected_records()
        if len(records) == 1 and _has_report(records[0]):
            self.open_report.emit(records[0])

    def copy_selected_ids(self) -> None:
        ids = [r.id for r in self.selected_records()]
        if ids:
            QGuiApplication.clipboard().setText("\n".join(ids))

    def _context_menu(self, position) -> None:
        if not self.selected_records():
            return
        menu = QMenu(self)
        for action in (
            self.cancel_action,
            self.open_action,
            self.report_action,
            self.copy_action,
            self.log_action,
        ):
            menu.addAction(action)
        menu.exec(self.table.viewport().mapToGlobal(position))


def _has_report(record: JobRecord) -> bool:
    """A job that succeeded and saved a report (``result["report"]``: a spot-check)."""
    return record.state is JobState.SUCCEEDED and bool(record.result.get("report"))
