"""The spot-check report view: one game's verdict table per rung, the checks of the
selected rung with their reasons (or, for a check that passed, what it measured: how close
the rung came to the threshold) and the next step (a failure that follows from another
names it instead: issue 18), and per-frame PSNR / SSIM / VMAF plots (pyqtgraph), one
curve per rung. Clicking a plot picks the frame under the cursor and the rung whose curve
is nearest, and emits ``compare_requested(game_id, rung, reference, frame)`` so the
compare view can open both renditions at that frame.

It receives the ``GameReport`` objects it shows (``services.spotcheck``); it reads nothing.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from services.spotcheck.checks import GameReport, RungReport, Verdict

#: (attribute of FrameSeries / pooled key, plot title, unit)
METRICS = (("psnr_db", "PSNR", "dB"), ("ssim", "SSIM", ""), ("vmaf", "VMAF", ""))
RUNG_COLOURS = ("#4e9bff", "#f0a030", "#5cc46b", "#d35fd3", "#e05050")
VERDICT_COLOURS = {Verdict.PASS: "#2e8b57", Verdict.FAIL: "#c0392b", Verdict.SKIP: "#808080"}
TABLE_COLUMNS = ("Rung", "Verdict", "Failed checks", "PSNR dB", "SSIM", "VMAF", "Frames")


def _fmt(value: float | None, digits: int) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f}"


class SpotcheckReportView(QWidget):
    """Shows ``games`` (the report of job ``job_id``); a game box appears when there is
    more than one. ``compare_requested(str, str, str, int)``: game id, rung, reference
    (``source`` or ``v1``), reference frame number (0-based)."""

    compare_requested = Signal(str, str, str, int)

    def __init__(
        self, games: list[GameReport], job_id: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.games = games
        self.job_id = job_id
        self.game: GameReport | None = None
        self.setWindowTitle(f"Spot-check report {job_id}".strip())
        self.game_box = QComboBox()
        self.game_box.addItems([f"{g.game_id} — {g.verdict.value.upper()}" for g in games])
        self.game_box.setVisible(len(games) > 1)
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)

        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.checks = QTreeWidget()
        self.checks.setHeaderLabels(["Check", "Verdict", "Reasons / measured", "Next step"])
        self.checks.setRootIsDecorated(False)
        self.checks.header().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)

        pg.setConfigOptions(antialias=True)
        self.plots: dict[str, pg.PlotWidget] = {}
        self.marker_lines: dict[str, pg.InfiniteLine] = {}
        plots_box = QWidget()
        plots_layout = QVBoxLayout(plots_box)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        for key, title, unit in METRICS:
            plot = pg.PlotWidget()
            plot.setBackground("w")
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setLabel("left", title, units=unit or None)
            plot.addLegend(
                offset=(-10, -10),
                brush=pg.mkBrush(255, 255, 255, 215),
                pen=pg.mkPen("#bbb"),
                labelTextColor="#222",
            )
            plot.setMouseEnabled(x=True, y=False)
            if self.plots:
                plot.setXLink(next(iter(self.plots.values())))
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#444", width=1))
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            plot.scene().sigMouseClicked.connect(
                lambda event, k=key, p=plot: self._on_plot_click(k, p, event)
            )
            self.plots[key] = plot
            self.marker_lines[key] = line
            plots_layout.addWidget(plot, 1)
        self.plots["vmaf"].setLabel("bottom", "frame (reference)")
        self.hint = QLabel("Click a plot to compare that rung with the reference at that frame.")
        self.hint.setObjectName("muted")
        plots_layout.addWidget(self.hint)

        top = QSplitter(Qt.Orientation.Vertical)
        top.addWidget(self.table)
        top.addWidget(self.checks)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(top)
        splitter.addWidget(plots_box)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([600, 900])
        layout = QVBoxLayout(self)
        layout.addWidget(self.game_box)
        layout.addWidget(self.header)
        layout.addWidget(splitter, 1)

        self.game_box.currentIndexChanged.connect(self.show_game)
        self.table.itemSelectionChanged.connect(self._on_rung_selected)
        if games:
            self.show_game(0)

    # --- content -------------------------------------------------------------------------

    def show_game(self, index: int) -> None:
        game = self.games[index]
        self.game = game
        ref = game.reference
        colour = VERDICT_COLOURS[game.verdict]
        reference = (
            f"reference: {ref.kind} <code>{ref.key}</code> {ref.width}x{ref.height}, "
            f"{ref.frames} frames, {ref.duration_s:.2f} s"
            if ref
            else "no reference"
        )
        game_failures = [
            f"{c.name}: {c.reasons[0]}" + (f"<br>&nbsp;&nbsp;next: {c.action}" if c.action else "")
            for c in game.checks
            if c.failed
        ]
        self.header.setText(
            f"<b>{game.game_id}</b> &nbsp; <span style='color:{colour}'><b>"
            f"{game.verdict.value.upper()}</b></span> &nbsp; {game.ladder} &nbsp; {reference}"
            + "".join(f"<br><span style='color:#c0392b'>{line}</span>" for line in game_failures)
        )
        self.table.setRowCount(len(game.rungs))
        for row, rung in enumerate(game.rungs):
            causes = [c.name for c in rung.checks if c.failed and not c.consequence]
            following = sum(c.consequence for c in rung.checks)
            cells = (
                rung.rung,
                rung.verdict.value.upper(),
                (", ".join(causes) or "—") + (f" (+{following} following)" if following else ""),
                *(
                    _fmt(rung.pooled[k].mean if k in rung.pooled else None, d)
                    for k, d in (("psnr_db", 2), ("ssim", 4), ("vmaf", 2))
                ),
                str(rung.measures.get("frames", "—")),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 1:
                    item.setForeground(QBrush(QColor(VERDICT_COLOURS[rung.verdict])))
                if column >= 3:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(row, column, item)
        for column in (0, 1, 3, 4, 5, 6):
            self.table.resizeColumnToContents(column)
        self._plot(game)
        if game.rungs:
            self.table.selectRow(0)

    def _plot(self, game: GameReport) -> None:
        for key, plot in self.plots.items():
            for item in list(plot.listDataItems()):
                plot.removeItem(item)
            for index, rung in enumerate(game.rungs):
                if rung.frames is None:
                    continue
                values = getattr(rung.frames, key)
                colour = RUNG_COLOURS[index % len(RUNG_COLOURS)]
                plot.plot(
                    list(range(len(values))),
                    list(values),
                    name=rung.rung,
                    pen=pg.mkPen(colour, width=1.5),
                    connect="finite",
                )

    def _on_rung_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        self.checks.clear()
        if not rows or self.game is None:
            return
        rung: RungReport = self.game.rungs[rows[0].row()]
        for check in rung.checks:
            shown = "; ".join(check.reasons or check.measured)
            step = f"follows from {check.cause}" if check.consequence else check.action
            verdict = "fail (follows)" if check.consequence else check.verdict.value
            item = QTreeWidgetItem([check.name, verdict, shown, step])
            colour = "#b9770e" if check.consequence else VERDICT_COLOURS[check.verdict]
            item.setForeground(1, QBrush(QColor(colour)))
            measured = ["Measured:", *check.measured] if check.measured else []
            item.setToolTip(2, "\n".join([*check.reasons, *measured]))
            item.setToolTip(3, check.action)
            self.checks.addTopLevelItem(item)
        self.checks.resizeColumnToContents(0)
        self.checks.resizeColumnToContents(1)

    # --- picking -------------------------------------------------------------------------

    def _on_plot_click(self, key: str, plot: pg.PlotWidget, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        view = plot.getPlotItem().vb
        if not view.sceneBoundingRect().contains(event.scenePos()):
            return
        point = view.mapSceneToView(event.scenePos())
        self.pick(key, point.x(), point.y())

    def pick(self, key: str, x: float, y: float) -> tuple[str, int] | None:
        """The plot point nearest ``(x, y)`` in ``key``'s plot (x: frame, y: value): marks
        that frame on every plot and emits ``compare_requested``; returns ``(rung, frame)``
        or None when nothing is plotted there."""
        game = self.game
        if game is None:
            return None
        frame = round(x)
        best: tuple[float, RungReport] | None = None
        for rung in game.rungs:
            values = getattr(rung.frames, key) if rung.frames is not None else ()
            if 0 <= frame < len(values) and not math.isnan(values[frame]):
                distance = abs(values[frame] - y)
                if best is None or distance < best[0]:
                    best = (distance, rung)
        if best is None:
            return None
        rung = best[1]
        for line in self.marker_lines.values():
            line.setValue(frame)
            line.show()
        reference = game.reference.kind if game.reference else "v1"
        self.hint.setText(
            f"{rung.rung} vs {reference} at frame {frame}: "
            + "  ".join(
                f"{title} {_fmt(getattr(rung.frames, k)[frame], 3)}" for k, title, _ in METRICS
            )
        )
        self.compare_requested.emit(game.game_id, rung.rung, reference, frame)
        return rung.rung, frame
