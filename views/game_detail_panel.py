"""Game detail: renditions (play any), objects (copy key / presigned URL), playlist text,
and the packaging ledger (``GameDetail.ledger``, a ``services.abr.ledger.LedgerDocument``,
shown as its canonical JSON text; an unreadable one shows why)."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from services.catalog import GameDetail, GameState, Rendition
from services.hls import MediaPlaylist
from views.catalog_panel import STATE_COLOURS
from views.formatting import human_bytes, human_duration

PRESIGN_EXPIRIES = {"15 minutes": 900, "1 hour": 3600, "24 hours": 86400, "7 days": 604800}


def _item(text: str, tooltip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if tooltip:
        item.setToolTip(tooltip)
    return item


def _rendition_row(rendition: Rendition) -> list[str]:
    playlist = rendition.playlist
    resolution = bandwidth = segments = duration = ""
    if rendition.resolution:
        resolution = f"{rendition.resolution[0]}x{rendition.resolution[1]}"
    if rendition.bandwidth:
        bandwidth = f"{rendition.bandwidth / 1e6:.2f} Mb/s"
    if isinstance(playlist, MediaPlaylist):
        segments = str(len(playlist.segments))
        duration = human_duration(playlist.duration)
    if rendition.error:
        status = rendition.error
    elif rendition.missing:
        status = f"{len(rendition.missing)} missing: {rendition.missing[0].rsplit('/', 1)[-1]}"
    else:
        status = "ok"
    return [rendition.name, rendition.kind, resolution, bandwidth, segments, duration, status]


class Presigner(Protocol):
    """What the detail panel asks of its controller
    (``console.gui.catalog_controller.CatalogController``): a presigned GET URL of a key,
    valid ``expires_s`` seconds (local signing, no I/O)."""

    def presign(self, key: str, expires_s: int) -> str: ...


class GameDetailPanel(QWidget):
    """Shows one ``GameDetail``. Emits ``play_requested(Rendition)`` and
    ``compare_requested(Rendition)`` (compare it with another rendition, side by side).

    ``controller`` provides ``presign(key, expires_s) -> str`` (local signing, no I/O).
    """

    play_requested = Signal(object)
    compare_requested = Signal(object)

    def __init__(self, controller: Presigner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.detail: GameDetail | None = None
        self.header = QLabel("Select a game")
        self.header.setObjectName("title")
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_label = QLabel("")
        self.state_label.setWordWrap(True)
        self.play_button = QPushButton("▶ Play")
        self.play_button.setToolTip("Play the selected rendition (Enter)")
        self.play_button.setEnabled(False)
        self.compare_button = QPushButton("Compare…")
        self.compare_button.setToolTip(
            "Compare the selected rendition with v1 (or another rung) side by side"
        )
        self.compare_button.setEnabled(False)

        self.renditions = QTableWidget(0, 7)
        self.renditions.setHorizontalHeaderLabels(
            ["Rendition", "Kind", "Resolution", "Bandwidth", "Segments", "Duration", "Status"]
        )
        self.objects = QTableWidget(0, 4)
        self.objects.setHorizontalHeaderLabels(["Key", "Size", "ETag", "Last modified"])
        for table in (self.renditions, self.objects):
            table.verticalHeader().hide()
            table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
            table.setAlternatingRowColors(True)
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            table.horizontalHeader().setStretchLastSection(True)
        self.renditions.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.objects.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.objects.setSortingEnabled(True)

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.playlist_text = QPlainTextEdit(readOnly=True)
        self.playlist_text.setFont(mono)
        self.playlist_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.ledger_text = QPlainTextEdit(readOnly=True)
        self.ledger_text.setFont(mono)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.renditions, "Renditions")
        self.tabs.addTab(self.objects, "Objects")
        self.tabs.addTab(self.playlist_text, "master.m3u8")
        self.tabs.addTab(self.ledger_text, "Ledger")

        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.play_button)
        top.addWidget(self.compare_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.state_label)
        layout.addWidget(self.tabs, 1)

        self.play_button.clicked.connect(self._play_selected)
        self.compare_button.clicked.connect(self._compare_selected)
        self.renditions.cellDoubleClicked.connect(lambda row, _c: self._play_row(row))
        self.renditions.itemSelectionChanged.connect(self._on_rendition_selection)
        self.objects.customContextMenuRequested.connect(self._object_menu)

    def show_detail(self, detail: GameDetail) -> None:
        self.detail = detail
        summary = detail.summary
        self.header.setText(f"{summary.title}  ·  {summary.league}  ·  {summary.date}")
        if summary.state:
            colour = STATE_COLOURS[summary.state].name()
            self.state_label.setText(
                f"<b style='color:{colour}'>{summary.state.value}</b> — {summary.reason}"
                f" &nbsp; <span style='color:gray'>games/{summary.id}/</span>"
            )
        self.renditions.setRowCount(len(detail.renditions))
        for row, rendition in enumerate(detail.renditions):
            for column, text in enumerate(_rendition_row(rendition)):
                item = _item(text, rendition.playlist_key)
                if column == 6 and text != "ok":
                    item.setForeground(STATE_COLOURS[summary.state or GameState.BROKEN])
                self.renditions.setItem(row, column, item)
        self.objects.setSortingEnabled(False)
        self.objects.setRowCount(len(detail.objects))
        for row, obj in enumerate(detail.objects):
            modified = obj.last_modified.strftime("%Y-%m-%d %H:%M:%S") if obj.last_modified else ""
            size = _item(human_bytes(obj.size), f"{obj.size} bytes")
            size.setData(Qt.ItemDataRole.UserRole, obj.size)
            for column, item in enumerate((_item(obj.key), size, _item(obj.etag), _item(modified))):
                self.objects.setItem(row, column, item)
        self.objects.setSortingEnabled(True)
        self.playlist_text.setPlainText(detail.master_text or "(master.m3u8 missing)")
        if detail.ledger is not None:
            self.ledger_text.setPlainText(detail.ledger.to_text())
        elif detail.ledger_problem:
            self.ledger_text.setPlainText(f"(unreadable: {detail.ledger_problem})")
        else:
            self.ledger_text.setPlainText("(no abr/renditions.json: not backfilled)")
        playable = [i for i, r in enumerate(detail.renditions) if r.playlist and not r.missing]
        if playable:
            preferred = next(
                (i for i in playable if detail.renditions[i].kind == "media"), playable[0]
            )
            self.renditions.selectRow(preferred)
        self._on_rendition_selection()

    def selected_rendition(self) -> Rendition | None:
        rows = self.renditions.selectionModel().selectedRows()
        if not self.detail or not rows:
            return None
        return self.detail.renditions[rows[0].row()]

    def _on_rendition_selection(self) -> None:
        selected = self.selected_rendition()
        self.play_button.setEnabled(selected is not None)
        self.compare_button.setEnabled(selected is not None and selected.kind == "media")

    def _compare_selected(self) -> None:
        rendition = self.selected_rendition()
        if rendition is not None:
            self.compare_requested.emit(rendition)

    def _play_selected(self) -> None:
        rendition = self.selected_rendition()
        if rendition is not None:
            self.play_requested.emit(rendition)

    def _play_row(self, row: int) -> None:
        if self.detail and 0 <= row < len(self.detail.renditions):
            self.play_requested.emit(self.detail.renditions[row])

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._play_selected()
            return
        super().keyPressEvent(event)

    def _object_menu(self, pos) -> None:
        item = self.objects.itemAt(pos)
        if item is None:
            return
        row = item.row()
        key = self.objects.item(row, 0).text()
        etag = self.objects.item(row, 2).text()
        clipboard = QGuiApplication.clipboard()
        menu = QMenu(self)
        menu.addAction("Copy key", lambda: clipboard.setText(key))
        menu.addAction("Copy ETag", lambda: clipboard.setText(etag))
        menu.addAction("Copy presigned URL…", lambda: self._copy_presigned(key))
        menu.exec(self.objects.viewport().mapToGlobal(pos))

    def _copy_presigned(self, key: str) -> None:
        choice, ok = QInputDialog.getItem(
            self,
            "Presigned URL",
            f"Expiry of the URL for\n{key}:",
            list(PRESIGN_EXPIRIES),
            1,
            False,
        )
        if ok:
            url = self.controller.presign(key, PRESIGN_EXPIRIES[choice])
            QGuiApplication.clipboard().setText(url)
            self.state_label.setText(f"Presigned URL copied (expires in {choice}).")
