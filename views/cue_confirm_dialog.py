"""The confirmation before an ad break: names the channel, duration and profile; on a
production profile the operator must type the channel name before the break can start."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)


class ConfirmBreakDialog(QDialog):
    """``channel`` (``org/name``), ``duration`` in seconds, ``profile`` name; ``typed``
    requires typing ``channel`` exactly (production profiles). ``accept_button`` is enabled
    only when the confirmation is complete."""

    def __init__(
        self,
        channel: str,
        duration: float,
        profile: str,
        *,
        typed: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.channel = channel
        self.setWindowTitle("Start an ad break")
        where = "the DEMO stack" if not typed else f"profile {profile} (PRODUCTION)"
        self.message = QLabel(
            f"Start a <b>{duration:g} s</b> ad break on <b>{channel}</b>, on {where}?<br>"
            "Viewers of every variant will see the ad pod until the break ends."
        )
        self.message.setWordWrap(True)
        self.typed_edit = QLineEdit(placeholderText=channel)
        self.typed_edit.setVisible(typed)
        prompt = QLabel(f"Type the channel name <b>{channel}</b> to confirm:")
        prompt.setVisible(typed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.accept_button = buttons.addButton(
            f"Start {duration:g} s break", QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(prompt)
        layout.addWidget(self.typed_edit)
        layout.addWidget(buttons)
        self._typed = typed
        self.typed_edit.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        self.accept_button.setEnabled(
            not self._typed or self.typed_edit.text().strip() == self.channel
        )
