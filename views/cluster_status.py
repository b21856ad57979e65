"""The status bar's cluster part: "Ray 127.0.0.1:8265 · 1 node · 2 of 2 CPUs free", or "no
cluster" (the tooltip says why, with the command that fixes it), and a "Cluster" button:
a click opens the Ray dashboard in the browser, its menu also copies the address.

It receives the cluster controller (``console.gui.cluster_controller``) and only connects
to its ``status_changed`` signal; opening the browser is Qt's ``QDesktopServices``."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QUrl, SignalInstance
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QToolButton, QWidget

from views.target_choice import short_address


class ClusterStatusLike(Protocol):
    """One poll of the cluster: ``address`` ("" when the profile has none),
    ``dashboard_url``, ``nodes``, ``cpus_total``/``cpus_free`` (logical CPUs, None until
    read) and ``problem`` ("" when the cluster answered)."""

    address: str
    dashboard_url: str
    nodes: int | None
    cpus_total: float | None
    cpus_free: float | None
    problem: str


class ClusterFeed(Protocol):
    """``status_changed(status)`` after every poll; ``last_status`` the latest one."""

    status_changed: SignalInstance
    last_status: ClusterStatusLike


def status_text(status: ClusterStatusLike) -> str:
    """The label's text for one poll."""
    if not status.address:
        return "no cluster"
    where = f"Ray {short_address(status.address)}"
    if status.problem:
        return f"{where} · not answering"
    if status.nodes is None or status.cpus_total is None or status.cpus_free is None:
        return f"{where} · …"
    nodes = f"{status.nodes} node" + ("" if status.nodes == 1 else "s")
    return f"{where} · {nodes} · {status.cpus_free:g} of {status.cpus_total:g} CPUs free"


class ClusterStatusBar(QWidget):
    """Label + "Cluster" button for the main window's status bar."""

    def __init__(self, feed: ClusterFeed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status: ClusterStatusLike = feed.last_status
        self.label = QLabel()
        self.label.setObjectName("muted")
        self.open_action = QAction("Open the Ray dashboard", self)
        self.open_action.triggered.connect(self.open_dashboard)
        self.copy_action = QAction("Copy the cluster address", self)
        self.copy_action.triggered.connect(self.copy_address)
        menu = QMenu(self)
        menu.addAction(self.open_action)
        menu.addAction(self.copy_action)
        self.button = QToolButton(text="Cluster")
        self.button.setAutoRaise(True)
        self.button.setMenu(menu)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.button.clicked.connect(self.open_dashboard)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.setSpacing(2)
        layout.addWidget(self.label)
        layout.addWidget(self.button)
        feed.status_changed.connect(self.show_status)
        self.show_status(feed.last_status)

    def show_status(self, status: ClusterStatusLike) -> None:
        self.status = status
        self.label.setText(status_text(status))
        if status.address:
            tip = f"Ray Jobs API at {status.address}"
            if status.problem:
                tip += f"\nLast poll: {status.problem}"
        else:
            tip = f"No Ray cluster: {status.problem}" if status.problem else "No Ray cluster"
        self.label.setToolTip(tip)
        has = bool(status.address)
        self.button.setEnabled(has)
        self.open_action.setEnabled(has)
        self.copy_action.setEnabled(has)
        self.button.setToolTip(
            f"Open the Ray dashboard ({status.dashboard_url}); the menu copies the address"
            if has
            else tip
        )

    def open_dashboard(self) -> None:
        """Open the cluster's dashboard page in the desktop's browser."""
        if self.status.address and self.status.dashboard_url:
            QDesktopServices.openUrl(QUrl(self.status.dashboard_url))

    def copy_address(self) -> None:
        """Put the cluster's Jobs API address on the clipboard."""
        if self.status.address:
            QGuiApplication.clipboard().setText(self.status.address)
