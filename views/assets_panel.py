"""Assets panel: failed (or any) video assets with filters, lazy paging, multi-select and a
confirmed bulk retry. It receives the assets controller and only connects to its signals."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QModelIndex, Qt, QTimer, SignalInstance
from PySide6.QtCore import Signal as QtSignal
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from services.assets_model import RETRYABLE, Asset, AssetFilter, AssetStatus
from views.row_table_model import RowTableModel

COLUMNS = ("Status", "Post", "Error code", "Message", "Tries", "Updated")
COLUMN_WIDTHS = {0: 72, 1: 108, 2: 150, 4: 42, 5: 92}
STATUS_COLOURS = {
    AssetStatus.QUEUED: QColor("#5b7083"),
    AssetStatus.PROCESSING: QColor("#2f6fab"),
    AssetStatus.RETRYING: QColor("#d08c00"),
    AssetStatus.COMPLETED: QColor("#1a8f3c"),
    AssetStatus.FAILED: QColor("#c62828"),
}
ALL = "All statuses"
ANY_CODE = "Any error code"
TIME_RANGES = {
    "Any time": None,
    "Last 24 h": 86400,
    "Last 7 days": 7 * 86400,
    "Last 30 days": 30 * 86400,
}
_SORT_KEYS = (
    lambda a: (a.status.value, a.post_id),
    lambda a: a.post_id,
    lambda a: (a.error_code or "", a.post_id),
    lambda a: (a.error_message or "", a.post_id),
    lambda a: (a.attempts, a.post_id),
    lambda a: (a.updated_at, a.post_id),
)


def short_time(asset_time) -> str:
    """Local time, ``YYYY-MM-DD HH:MM:SS``."""
    return asset_time.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def compact_time(asset_time) -> str:
    """Local time for a narrow column, ``MM-DD HH:MM`` (the tooltip has the full time)."""
    return asset_time.astimezone().strftime("%m-%d %H:%M")


class AssetTableModel(RowTableModel):
    """Loaded assets (page by page), updated in place by post id, sorted in Python."""

    def __init__(self, parent=None) -> None:
        super().__init__(COLUMNS, parent)
        self._rows: list[Asset] = []
        self._row_of: dict[str, int] = {}
        self._sort = (5, True)

    def asset(self, row: int) -> Asset:
        return self._rows[row]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        asset = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                asset.status.value,
                asset.post_id,
                asset.error_code or "",
                asset.error_message or "",
                str(asset.attempts),
                compact_time(asset.updated_at),
            )[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == 0:
            return STATUS_COLOURS[asset.status]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column in (2, 3):
                return asset.error_message or ""
            if column == 5:
                return f"updated {short_time(asset.updated_at)}"
        if role == Qt.ItemDataRole.UserRole:
            return asset.post_id
        return None

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._row_of.clear()
        self.endResetModel()

    def add_assets(self, assets: list[Asset]) -> None:
        fresh = [a for a in assets if a.post_id not in self._row_of]
        if not fresh:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        for offset, asset in enumerate(fresh):
            self._row_of[asset.post_id] = first + offset
            self._rows.append(asset)
        self.endInsertRows()

    def update_asset(self, asset: Asset) -> None:
        row = self._row_of.get(asset.post_id)
        if row is None:
            return
        self._rows[row] = asset
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        self._sort = (column, order == Qt.SortOrder.DescendingOrder)
        self.layoutAboutToBeChanged.emit()
        old = {i: self._rows[i.row()].post_id for i in self.persistentIndexList()}
        self._rows.sort(key=_SORT_KEYS[column], reverse=self._sort[1])
        self._row_of = {a.post_id: r for r, a in enumerate(self._rows)}
        self.changePersistentIndexList(
            list(old), [self.index(self._row_of[p], i.column()) for i, p in old.items()]
        )
        self.layoutChanged.emit()


class AssetsFeed(Protocol):
    """What the Failed assets panel shows and asks of
    (``console.gui.assets_controller.AssetsController``): pages of ``Asset`` rows
    (``page_loaded(list, bool)``: a page and whether more exist), newer versions of rows
    (``asset_updated``), and the calls ``load(filter)``, ``fetch_more()``, ``retry(ids)``.
    ``available``/``problem`` say whether the profile has an assets API and why not;
    ``target_label`` names where a retry would go (for the confirmation)."""

    listing_started: SignalInstance
    page_loaded: SignalInstance
    asset_updated: SignalInstance
    available: bool
    problem: str
    target_label: str

    def load(self, asset_filter: AssetFilter | None = None) -> None: ...
    def fetch_more(self) -> None: ...
    def retry(self, post_ids: list[str]) -> None: ...


class AssetsPanel(QWidget):
    """Filters + table + retry. Emits ``asset_selected(str)`` (post id)."""

    asset_selected = QtSignal(str)

    def __init__(self, controller: AssetsFeed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.model = AssetTableModel(self)
        self._has_more = False

        self.status_box = QComboBox()
        self.status_box.addItems([ALL, *[s.value for s in AssetStatus]])
        self.status_box.setCurrentText(AssetStatus.FAILED.value)
        self.code_box = QComboBox(editable=True)
        self.code_box.addItem(ANY_CODE)
        self.code_box.setMinimumContentsLength(16)
        self.range_box = QComboBox()
        self.range_box.addItems(list(TIME_RANGES))
        self.text_edit = QLineEdit(placeholderText="Search post, owner, message…")
        self.text_edit.setClearButtonEnabled(True)
        refresh = QPushButton("Refresh")
        self.retry_button = QPushButton("Retry selected…")
        self.retry_button.setEnabled(False)
        self.retry_button.setToolTip("Retry the selected assets (asks first)")
        self.count_label = QLabel("")
        self.count_label.setObjectName("muted")
        self.notice = QLabel("")
        self.notice.setWordWrap(True)
        self.notice.setObjectName("muted")

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)

        filters = QHBoxLayout()
        for widget in (self.status_box, self.code_box, self.range_box):
            filters.addWidget(widget)
        filters.addWidget(self.text_edit, 1)
        filters.addWidget(refresh)
        actions = QHBoxLayout()
        actions.addWidget(self.count_label, 1)
        actions.addWidget(self.retry_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.notice)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)

        self._search_delay = QTimer(self, singleShot=True, interval=400)
        self._search_delay.timeout.connect(self.apply_filters)
        self.text_edit.textChanged.connect(self._search_delay.start)
        for box in (self.status_box, self.range_box):
            box.currentTextChanged.connect(self.apply_filters)
        self.code_box.activated.connect(self.apply_filters)
        self.code_box.lineEdit().returnPressed.connect(self.apply_filters)
        refresh.clicked.connect(self.apply_filters)
        self.retry_button.clicked.connect(self.request_retry)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.table.verticalScrollBar().valueChanged.connect(self._maybe_fetch_more)

        controller.listing_started.connect(self.model.clear)
        controller.page_loaded.connect(self._on_page)
        controller.asset_updated.connect(self.model.update_asset)
        self.notice.setVisible(not controller.available)
        if not controller.available:
            self.notice.setText(controller.problem)
            self.setEnabled(False)

    def current_filter(self):
        """The ``AssetFilter`` the widgets describe."""
        status = self.status_box.currentText()
        code = self.code_box.currentText().strip()
        return AssetFilter(
            status=None if status == ALL else status,
            error_code=None if code in ("", ANY_CODE) else code,
            text=self.text_edit.text(),
            within_s=TIME_RANGES[self.range_box.currentText()],
        )

    def apply_filters(self) -> None:
        self.controller.load(self.current_filter())

    def _on_page(self, assets: list[Asset], has_more: bool) -> None:
        self._has_more = has_more
        self.model.add_assets(assets)
        for code in sorted({a.error_code for a in assets if a.error_code}):
            if self.code_box.findText(code) < 0:
                self.code_box.addItem(code)
        more = " — scroll down for more" if has_more else ""
        self.count_label.setText(f"{self.model.rowCount()} assets loaded{more}")
        self._maybe_fetch_more()

    def _maybe_fetch_more(self, *_args) -> None:
        bar = self.table.verticalScrollBar()
        if self._has_more and bar.value() >= bar.maximum() - 5:
            self.controller.fetch_more()

    def selected_post_ids(self) -> list[str]:
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.model.asset(r).post_id for r in rows]

    def _on_selection(self, *_args) -> None:
        count = len(self.table.selectionModel().selectedRows())
        self.retry_button.setEnabled(count > 0)
        self.retry_button.setText(f"Retry {count} selected…" if count > 1 else "Retry selected…")

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.asset_selected.emit(self.model.asset(current.row()).post_id)

    def request_retry(self) -> None:
        """Ask once, listing what will be retried, then hand the post ids to the controller."""
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        assets = [self.model.asset(r) for r in rows]
        if assets and self.confirm_retry(assets):
            self.controller.retry([a.post_id for a in assets])

    def confirm_retry(self, assets: list[Asset]) -> bool:
        """The confirmation dialog (tests replace this method)."""
        not_retryable = [a for a in assets if a.status not in RETRYABLE]
        lines = [
            f"{a.post_id}  ({a.status.value}, {a.error_code or 'no error'})" for a in assets[:30]
        ]
        if len(assets) > 30:
            lines.append(f"… and {len(assets) - 30} more")
        text = f"Retry {len(assets)} asset(s) on {self.controller.target_label}?"
        if not_retryable:
            text += (
                f"\n{len(not_retryable)} are not 'failed' as last loaded: the server "
                "will refuse them (409) unless they failed again meanwhile."
            )
        box = QMessageBox(
            QMessageBox.Icon.Question, "Retry assets", text, QMessageBox.StandardButton.Cancel, self
        )
        box.setDetailedText("\n".join(lines))
        retry = box.addButton(f"Retry {len(assets)}", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is retry

    def copy_selected_ids(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(self.selected_post_ids()))
