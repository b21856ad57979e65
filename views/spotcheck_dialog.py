"""Where a spot-check runs, asked when the profile has a Ray cluster: the games (or the
sample drawn, with its seed) and "This machine" / "Ray cluster at ADDRESS". Spot-checks
only read the store (reports are kept with the job), so nothing else is asked."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from views.target_choice import TargetChoice


class SpotcheckDialog(QDialog):
    """Shows the games to check (``note``: how they were chosen, e.g. the sample's seed)
    and asks where. Read ``on_cluster`` after ``exec``."""

    def __init__(
        self,
        games: list[str],
        *,
        note: str = "",
        cluster_address: str = "",
        no_cluster_reason: str = "",
        cluster_note: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.games = list(games)
        self.setWindowTitle("Spot-check: where")
        self.setMinimumWidth(520)
        self.note = note
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.listing = QPlainTextEdit(readOnly=True)
        self.listing.setPlainText("\n".join(f"check {g}" for g in self.games))
        self.target = TargetChoice(
            cluster_address, no_cluster_reason, cluster_note=cluster_note, parent=self
        )
        self.target.changed.connect(self._show)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.listing, 1)
        layout.addWidget(self.target)
        layout.addWidget(self.buttons)
        self._show()

    @property
    def on_cluster(self) -> bool:
        return self.target.on_cluster

    def _show(self) -> None:
        self.heading.setText(
            f"<b>Spot-check {len(self.games)} game(s)</b>{self.note} {self.target.where()}: "
            "integrity, fidelity, quality and HLS structure; the report is kept with the job."
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Start on the cluster" if self.on_cluster else "Start spot-check")
        ok.setEnabled(bool(self.games))
