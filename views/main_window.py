"""The main window: catalog on the left, player over game detail on the right, an error
banner and a status bar that names the profile (DEMO shown plainly)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

ERROR_REPEAT_S = 10.0


class ErrorBanner(QWidget):
    """A dismissable red line at the top of the window; the same text is shown once."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(text="✕", autoRaise=True, toolTip="Dismiss (Esc)")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self._last: tuple[str, float] = ("", 0.0)
        self.hide()

    def show_message(self, message: str) -> bool:
        """Show ``message``; returns False when it repeats the one shown just before."""
        text, when = self._last
        now = time.monotonic()
        if message == text and now - when < ERROR_REPEAT_S and self.isVisible():
            return False
        self._last = (message, now)
        self.label.setText(message)
        self.show()
        return True


class MainWindow(QMainWindow):
    """Composes the panels it is given; owns no services."""

    def __init__(
        self,
        *,
        title: str,
        is_demo: bool,
        catalog_panel: QWidget,
        detail_panel: QWidget,
        player_panel: QWidget,
        assets_panel: QWidget,
        asset_detail_panel: QWidget,
        jobs_panel: QWidget,
        about_text: str,
        cues_panel: QWidget | None = None,
        cue_status_panel: QWidget | None = None,
        monitor_panel: QWidget | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.about_text = about_text
        self.banner = ErrorBanner()
        self.catalog_panel = catalog_panel
        self.detail_panel = detail_panel
        self.player_panel = player_panel
        self.assets_panel = assets_panel
        self.asset_detail_panel = asset_detail_panel
        self.jobs_panel = jobs_panel
        self.cues_panel = cues_panel
        self.cue_status_panel = cue_status_panel

        # left: what to browse; right: the shared player over the matching detail
        self.sections = QTabWidget()
        self.details = QStackedWidget()
        self._detail_of: list[QWidget] = []
        self.add_section("Catalog", catalog_panel, detail_panel)
        self.add_section("Failed assets", assets_panel, asset_detail_panel)
        self.add_section("Jobs", jobs_panel, detail_panel)
        if cues_panel is not None:
            self.add_section("Cues", cues_panel, cue_status_panel or QWidget())
        self.monitor_panel = monitor_panel
        if monitor_panel is not None:
            self.add_section("Monitor", monitor_panel, cue_status_panel or QWidget())
        self.sections.currentChanged.connect(self._on_section)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(player_panel)
        right.addWidget(self.details)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.sections)
        main.addWidget(right)
        main.setStretchFactor(0, 2)
        main.setStretchFactor(1, 3)
        main.setSizes([640, 800])
        self.main_splitter = main
        # each section keeps its own split; the jobs table needs a wider left side
        self._split_of: dict[int, list[int]] = {self.sections.indexOf(jobs_panel): [920, 520]}
        if monitor_panel is not None:  # the wall of variants needs the room too
            self._split_of[self.sections.indexOf(monitor_panel)] = [1000, 440]
        self._current_section = 0

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addWidget(self.banner)
        layout.addWidget(main, 1)
        self.setCentralWidget(central)

        self.profile_label = QLabel()
        self.profile_label.setObjectName("demoBadge" if is_demo else "profileBadge")
        self.profile_label.setText(" DEMO " if is_demo else f" {title} ")
        self.profile_label.setToolTip(
            "Embedded local demo stack (loopback only): nothing here touches production."
            if is_demo
            else "Connected profile"
        )
        self.statusBar().addPermanentWidget(self.profile_label)
        self._build_menu()

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        for index in range(self.sections.count()):
            name = "&" + self.sections.tabText(index)
            action = QAction(name, self, shortcut=QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _=False, i=index: self.sections.setCurrentIndex(i))
            view_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About", self)
        about.triggered.connect(lambda: QMessageBox.about(self, "About", self.about_text))
        help_menu.addAction(about)

    def add_section(self, title: str, panel: QWidget, detail: QWidget) -> None:
        """A left-hand tab; ``detail`` shows under the player while it is current (one
        detail widget may serve several sections)."""
        self.sections.addTab(panel, title)
        if self.details.indexOf(detail) < 0:
            self.details.addWidget(detail)
        self._detail_of.append(detail)

    def _on_section(self, index: int) -> None:
        """Show the section's detail, and restore the split the operator left it with."""
        self._split_of[self._current_section] = self.main_splitter.sizes()
        self._current_section = index
        self.details.setCurrentWidget(self._detail_of[index])
        total = sum(self.main_splitter.sizes())
        wanted = self._split_of.get(index)
        if wanted and total > 0:
            left = round(total * wanted[0] / sum(wanted))
            self.main_splitter.setSizes([left, total - left])

    def show_section(self, panel: QWidget) -> None:
        """Bring the tab holding ``panel`` to the front."""
        self.sections.setCurrentWidget(panel)

    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    def show_error(self, message: str) -> None:
        """Errors appear once in the banner (readable, selectable) and in the status bar."""
        if self.banner.show_message(message):
            self.statusBar().showMessage(message.split(". ")[0], 8000)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and self.banner.isVisible():
            self.banner.hide()
            return
        super().keyPressEvent(event)
