"""Where a batch runs, as the confirmation dialogs ask it: "This machine" or "Ray cluster
at ADDRESS" (one task per game on the profile's cluster). Without a cluster the second
choice is disabled and says why (with the command that fixes it)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QGroupBox, QLabel, QRadioButton, QVBoxLayout, QWidget


def short_address(address: str) -> str:
    """``http://127.0.0.1:8265/`` → ``127.0.0.1:8265`` (what the texts show)."""
    text = address.strip().rstrip("/")
    for scheme in ("http://", "https://"):
        if text.startswith(scheme):
            return text[len(scheme) :]
    return text


class TargetChoice(QGroupBox):
    """Two radio buttons; ``on_cluster`` says which is checked, ``changed`` when it
    changes. ``cluster_address`` is the profile's cluster ("" when it has none: the
    choice is disabled and ``no_cluster_reason`` shown); ``cluster_note`` a warning about
    it (e.g. it did not answer the last status poll)."""

    changed = Signal()

    def __init__(
        self,
        cluster_address: str,
        no_cluster_reason: str = "",
        *,
        cluster_note: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Run on", parent)
        self.cluster_address = cluster_address
        self.local_button = QRadioButton("This machine")
        self.local_button.setToolTip("Run the jobs in this console, one game at a time")
        label = (
            f"Ray cluster at {short_address(cluster_address)}"
            if cluster_address
            else "Ray cluster (none)"
        )
        self.cluster_button = QRadioButton(label)
        self.cluster_button.setEnabled(bool(cluster_address))
        self.cluster_button.setToolTip(
            "One console job; the cluster runs one task per game, in parallel as its CPUs allow"
            if cluster_address
            else f"No cluster: {no_cluster_reason}"
        )
        self.group = QButtonGroup(self)
        self.group.addButton(self.local_button)
        self.group.addButton(self.cluster_button)
        self.local_button.setChecked(True)
        if cluster_address:
            note = cluster_note
        else:
            note = f"No cluster: {no_cluster_reason}" if no_cluster_reason else ""
        self.note = QLabel(note)
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.local_button)
        layout.addWidget(self.cluster_button)
        layout.addWidget(self.note)
        # only once it has a parent: a parentless widget shown is a window of its own
        self.note.setVisible(bool(note))
        self.cluster_button.toggled.connect(lambda _checked: self.changed.emit())

    @property
    def on_cluster(self) -> bool:
        return self.cluster_button.isEnabled() and self.cluster_button.isChecked()

    def set_on_cluster(self, on_cluster: bool) -> None:
        """Check the cluster (when offered) or this machine."""
        (
            self.cluster_button if on_cluster and self.cluster_address else self.local_button
        ).setChecked(True)

    def where(self) -> str:
        """The chosen target as the confirmation text names it."""
        if self.on_cluster:
            return (
                f"on the Ray cluster at {short_address(self.cluster_address)} (one task per game)"
            )
        return "on this machine"
