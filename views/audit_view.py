"""The migration audit view: a games × criteria table per league (a tab each, plus "All"),
cells green / red / grey for pass / fail / skip; clicking a cell shows that criterion's
evidence below: its sub-checks with their details, the evidence values, and for criterion 3
the auth matrix as a grid (credential shapes × objects, each cell the status code and
bytes, red where the gate answered anything but what it must).

It receives the report document and its ``GameAudit`` rows (``services.audit``); it reads
nothing.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from services.audit.model import CRITERIA, CRITERION_IDS, GameAudit, Verdict

VERDICT_COLOURS = {"pass": "#2e8b57", "fail": "#c0392b", "skip": "#7f8c8d"}
ALL_TAB = "All"
GAME_COLUMNS = ("Game", "League", "State")


def _brush(verdict: str) -> QBrush:
    return QBrush(QColor(VERDICT_COLOURS.get(verdict, "#555555")))


def _cell_text(result_verdict: str, summary: str) -> str:
    if result_verdict == "skip":
        return "not migrated" if summary == "not migrated" else "skip"
    return result_verdict.upper()


class AuditView(QWidget):
    """Shows one audit report. ``cell_opened(str, str)``: game id and criterion id of the
    cell whose evidence is shown."""

    cell_opened = Signal(str, str)

    def __init__(
        self,
        document: dict[str, Any],
        games: list[GameAudit],
        job_id: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.games = {g.game_id: g for g in games}
        self.setWindowTitle(f"Migration audit {job_id}".strip())
        self.header = QLabel(self._header_text())
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tables: dict[str, QTableWidget] = {}
        leagues = sorted({g.league for g in games})
        for league in (
            [ALL_TAB, *leagues] if len(leagues) > 1 else [leagues[0] if leagues else ALL_TAB]
        ):
            rows = [g for g in games if league in (ALL_TAB, g.league)]
            self.tables[league] = self._summary_table(rows)
            self.tabs.addTab(self.tables[league], league or "(no league)")
        self.evidence_title = QLabel("Click a cell to see its evidence.")
        self.evidence_title.setWordWrap(True)
        self.checks = QTreeWidget()
        self.checks.setHeaderLabels(["Check", "Verdict", "Detail"])
        self.checks.setRootIsDecorated(False)
        self.checks.header().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.matrix = QTableWidget(0, 0)
        self.matrix.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.matrix.hide()
        self.evidence = QPlainTextEdit(readOnly=True)
        self.evidence.setObjectName("evidence")
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.evidence_title)
        details = QSplitter(Qt.Orientation.Vertical)
        for widget in (self.checks, self.matrix, self.evidence):
            details.addWidget(widget)
        details.setSizes([170, 290, 140])
        lower_layout.addWidget(details, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tabs)
        splitter.addWidget(lower)
        splitter.setSizes([230, 650])
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(splitter, 1)
        self.current: tuple[str, str] | None = None

    def _header_text(self) -> str:
        doc = self.document
        verdict = doc.get("verdict", "?")
        retire = doc.get("retire_v1", {})
        colour = VERDICT_COLOURS.get(verdict, "#555")
        ready = "yes" if retire.get("ready") else "no"
        seed = doc.get("selection", {}).get("seed")
        return (
            f"<b>Audit</b> {doc.get('created_at', '')} — verdict "
            f"<b style='color:{colour}'>{verdict.upper()}</b>; seed {seed}<br>"
            f"<b>May these v1 manifests be retired?</b> {ready}: {retire.get('why', '')}<br>"
            f"Cost: {doc.get('cost', {}).get('summary', '')}"
        )

    def _summary_table(self, rows: list[GameAudit]) -> QTableWidget:
        labels = [*GAME_COLUMNS, *(label for _, label, _ in CRITERIA), "Verdict"]
        table = QTableWidget(len(rows), len(labels))
        table.setHorizontalHeaderLabels(labels)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for row, game in enumerate(rows):
            for column, text in enumerate((game.game_id, game.league, game.state)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, (game.game_id, ""))
                table.setItem(row, column, item)
            for offset, criterion in enumerate(CRITERION_IDS):
                result = game.criterion(criterion)
                verdict = result.verdict.value if result else "skip"
                item = QTableWidgetItem(_cell_text(verdict, result.summary if result else ""))
                item.setBackground(_brush(verdict))
                item.setForeground(QBrush(QColor("white")))
                item.setToolTip(result.summary if result else game.problem)
                item.setData(Qt.ItemDataRole.UserRole, (game.game_id, criterion))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                table.setItem(row, len(GAME_COLUMNS) + offset, item)
            verdict_item = QTableWidgetItem(game.verdict.value.upper())
            verdict_item.setForeground(_brush(game.verdict.value))
            verdict_item.setData(Qt.ItemDataRole.UserRole, (game.game_id, ""))
            table.setItem(row, len(labels) - 1, verdict_item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.cellClicked.connect(lambda r, c, t=table: self._on_click(t, r, c))
        return table

    def _on_click(self, table: QTableWidget, row: int, column: int) -> None:
        item = table.item(row, column)
        if item is None:
            return
        game_id, criterion = item.data(Qt.ItemDataRole.UserRole)
        self.open_cell(game_id, criterion or "abr_same_url")

    def cell_item(self, game_id: str, criterion: str, tab: str | None = None) -> QTableWidgetItem:
        """The summary cell of ``game_id`` × ``criterion`` (in ``tab``, default the first)."""
        table = self.tables[tab] if tab else self.tables[next(iter(self.tables))]
        column = len(GAME_COLUMNS) + CRITERION_IDS.index(criterion)
        for row in range(table.rowCount()):
            if table.item(row, 0).text() == game_id:
                return table.item(row, column)
        raise KeyError(game_id)

    def red_cells(self) -> list[tuple[str, str]]:
        """``(game id, criterion)`` of every failed cell."""
        return [
            (g.game_id, c.criterion)
            for g in self.games.values()
            for c in g.criteria
            if c.verdict is Verdict.FAIL
        ]

    def open_cell(self, game_id: str, criterion: str) -> None:
        """Show the evidence of ``game_id`` × ``criterion`` below the table."""
        game = self.games.get(game_id)
        result = game.criterion(criterion) if game else None
        if game is None or result is None:
            return
        self.current = (game_id, criterion)
        self.evidence_title.setText(
            f"<b>{game_id}</b> — {result.label}: "
            f"<b style='color:{VERDICT_COLOURS[result.verdict.value]}'>"
            f"{result.verdict.value.upper()}</b> — {result.summary}"
        )
        self.checks.clear()
        for check in result.checks:
            item = QTreeWidgetItem([check.name, check.verdict.value, check.detail])
            item.setForeground(1, _brush(check.verdict.value))
            item.setToolTip(2, check.detail)
            self.checks.addTopLevelItem(item)
        self.checks.resizeColumnToContents(0)
        self.evidence.setPlainText(json.dumps(result.evidence, indent=2))
        if criterion == "denied_no_media" and game.matrix:
            self._show_matrix(game.matrix)
        else:
            self.matrix.hide()
        self.cell_opened.emit(game_id, criterion)

    def _show_matrix(self, matrix: dict[str, Any]) -> None:
        rows, columns, cells = matrix["rows"], matrix["columns"], matrix["cells"]
        self.matrix.clear()
        self.matrix.setRowCount(len(rows))
        self.matrix.setColumnCount(len(columns))
        self.matrix.setHorizontalHeaderLabels([c["label"] for c in columns])
        self.matrix.setVerticalHeaderLabels(
            [f"{r['label']} ({'deny' if r['expect'] == 'deny' else 'allow'})" for r in rows]
        )
        for r, line in enumerate(cells):
            for c, cell in enumerate(line):
                text = str(cell.get("status", "—"))
                item = QTableWidgetItem(text)
                item.setBackground(_brush(cell["verdict"]))
                item.setForeground(QBrush(QColor("white")))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setToolTip(f"{cell.get('url', '')}\n{cell.get('detail', '')}")
                self.matrix.setItem(r, c, item)
        self.matrix.resizeColumnsToContents()
        self.matrix.show()
