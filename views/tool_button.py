"""The flat transport button the player panel and the compare view share."""

from __future__ import annotations

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QToolButton


def tool_button(face: QIcon | str, tip: str, slot) -> QToolButton:
    """An auto-raised ``QToolButton`` showing ``face`` (an icon, or text), with ``tip`` as
    tooltip, calling ``slot`` when clicked."""
    button = QToolButton()
    if isinstance(face, QIcon):
        button.setIcon(face)
    else:
        button.setText(face)
    button.setToolTip(tip)
    button.setAutoRaise(True)
    button.clicked.connect(slot)
    return button
