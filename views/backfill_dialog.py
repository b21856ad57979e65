"""Confirmation before a backfill: what will run, what is skipped and why, where it writes.

A non-demo profile (production) also asks to type the profile's name: the job writes rung
objects, ``master.v1.m3u8`` and, last, ``master.m3u8`` in that bucket. Where it runs is
chosen here too: this machine, or the profile's Ray cluster (``views.target_choice``).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from views.target_choice import TargetChoice

Plan = tuple[list[str], list[tuple[str, str]]]
"""``(game ids to run, [(game id, reason skipped)])``."""


class BackfillDialog(QDialog):
    """Shows the plan and asks. ``plans`` maps force (re-encode v1.5 games) to its plan;
    the "force" box switches between them. ``cluster_address`` is the profile's Ray
    cluster ("" when none: that choice is disabled with ``no_cluster_reason``). Read
    ``force``, ``games`` and ``on_cluster`` after ``exec``.
    """

    def __init__(
        self,
        plans: dict[bool, Plan],
        *,
        profile: str,
        bucket: str,
        is_demo: bool,
        ladder: str,
        cluster_address: str = "",
        no_cluster_reason: str = "",
        cluster_note: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.plans = plans
        self.setWindowTitle("Backfill: confirm")
        self.setMinimumWidth(560)
        self.profile = profile
        where = "the embedded DEMO stack" if is_demo else f"profile {profile!r} (bucket {bucket!r})"
        self.heading = QLabel()
        self._where = f"with the {ladder} ladder on {where}"
        notes = QLabel(
            "Writes rung objects under abr/, the ledger, master.v1.m3u8 (only if absent) and, "
            "last, master.m3u8 (only if unchanged since the job started). v1 objects are never "
            "touched; a cancelled or failed job leaves the game playing v1."
        )
        notes.setWordWrap(True)
        self.heading.setWordWrap(True)
        self.listing = QPlainTextEdit(readOnly=True)
        self.force_box = QCheckBox("Re-encode games that are already v1.5 (force)")
        self.force_box.toggled.connect(self._show_plan)
        self.target = TargetChoice(
            cluster_address, no_cluster_reason, cluster_note=cluster_note, parent=self
        )
        self.target.changed.connect(self._show_plan)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start backfill")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(notes)
        layout.addWidget(self.listing, 1)
        layout.addWidget(self.force_box)
        layout.addWidget(self.target)
        self.typed: QLineEdit | None = None
        if not is_demo:
            self.typed = QLineEdit(placeholderText=profile)
            self.typed.textChanged.connect(self._check_typed)
            layout.addWidget(QLabel(f"This writes to production. Type <b>{profile}</b> to go on:"))
            layout.addWidget(self.typed)
        layout.addWidget(self.buttons)
        self._show_plan()

    @property
    def force(self) -> bool:
        return self.force_box.isChecked()

    @property
    def on_cluster(self) -> bool:
        """Run as one batch on the profile's Ray cluster (else on this machine)."""
        return self.target.on_cluster

    @property
    def games(self) -> list[str]:
        """The game ids the current plan runs."""
        return self.plans[self.force][0]

    def _show_plan(self) -> None:
        games, skipped = self.plans[self.force]
        self.heading.setText(
            f"<b>Backfill {len(games)} game(s)</b> {self._where}, {self.target.where()}."
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Start on the cluster" if self.on_cluster else "Start backfill")
        lines = [f"run   {g}" for g in games] + [f"skip  {g}: {why}" for g, why in skipped]
        self.listing.setPlainText("\n".join(lines))
        self._check_typed(self.typed.text() if self.typed else "")

    def _check_typed(self, text: str) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        typed_ok = self.typed is None or text.strip() == self.profile
        ok.setEnabled(typed_ok and bool(self.games))
