"""mpv-like keyboard control for a :class:`player.controller.Player`.

The player panel (``views/player_panel.py``) installs :class:`PlayerKeyHandler` as an
event filter on the widgets that should react (the video widget, the panel itself) and
connects :attr:`PlayerKeyHandler.stats_toggled` to its stats overlay. :data:`KEY_BINDINGS`
lists the bindings for a help dialog or tooltips.

Bindings (as in mpv's default ``input.conf``):

=================  ==========================================
Space, P           play / pause
``.`` / ``,``      one frame forward / back (pauses)
Left / Right       seek -5 s / +5 s
Up / Down          seek +60 s / -60 s
Shift+Left/Right   seek -1 s / +1 s, exact
Home               seek to 0
I                  toggle the stats overlay
=================  ==========================================

All seeks are exact (the player runs with ``hr-seek=yes``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent

from player.controller import Player

__all__ = ["KEY_BINDINGS", "KeyBinding", "PlayerKeyHandler", "action_for_key", "perform"]

_Key = Qt.Key
_NO_MODS = Qt.KeyboardModifier.NoModifier
_SHIFT = Qt.KeyboardModifier.ShiftModifier
_IGNORED_MODS = Qt.KeyboardModifier.KeypadModifier


@dataclass(frozen=True)
class KeyBinding:
    """One key binding: ``keys`` as shown to the operator, ``action`` name, description."""

    keys: str
    action: str
    description: str


KEY_BINDINGS: tuple[KeyBinding, ...] = (
    KeyBinding("Space, P", "toggle_pause", "Play / pause"),
    KeyBinding(".", "frame_step", "Next frame (pauses)"),
    KeyBinding(",", "frame_back_step", "Previous frame (pauses)"),
    KeyBinding("Left", "seek_back_5", "Back 5 s"),
    KeyBinding("Right", "seek_forward_5", "Forward 5 s"),
    KeyBinding("Up", "seek_forward_60", "Forward 60 s"),
    KeyBinding("Down", "seek_back_60", "Back 60 s"),
    KeyBinding("Shift+Left", "seek_back_1", "Back 1 s (exact)"),
    KeyBinding("Shift+Right", "seek_forward_1", "Forward 1 s (exact)"),
    KeyBinding("Home", "seek_start", "Go to the start"),
    KeyBinding("I", "toggle_stats", "Show / hide playback statistics"),
)

# (key, shift held) -> action
_KEYMAP: dict[tuple[int, bool], str] = {
    (int(_Key.Key_Space), False): "toggle_pause",
    (int(_Key.Key_P), False): "toggle_pause",
    (int(_Key.Key_Period), False): "frame_step",
    (int(_Key.Key_Comma), False): "frame_back_step",
    (int(_Key.Key_Left), False): "seek_back_5",
    (int(_Key.Key_Right), False): "seek_forward_5",
    (int(_Key.Key_Up), False): "seek_forward_60",
    (int(_Key.Key_Down), False): "seek_back_60",
    (int(_Key.Key_Left), True): "seek_back_1",
    (int(_Key.Key_Right), True): "seek_forward_1",
    (int(_Key.Key_Home), False): "seek_start",
    (int(_Key.Key_I), False): "toggle_stats",
}

# Actions that make sense when a key is held down (auto-repeat).
_REPEATABLE = frozenset(
    {
        "frame_step",
        "frame_back_step",
        "seek_back_5",
        "seek_forward_5",
        "seek_forward_60",
        "seek_back_60",
        "seek_back_1",
        "seek_forward_1",
    }
)

_RELATIVE_SEEKS: dict[str, float] = {  # seconds
    "seek_back_5": -5.0,
    "seek_forward_5": 5.0,
    "seek_forward_60": 60.0,
    "seek_back_60": -60.0,
    "seek_back_1": -1.0,
    "seek_forward_1": 1.0,
}


def action_for_key(key: int, modifiers: Qt.KeyboardModifier) -> str | None:
    """The action bound to ``key`` with ``modifiers`` (keypad flag ignored), or ``None``.

    Only no modifier or Shift alone is bound; Ctrl/Alt/Meta combinations are left to the
    application's shortcuts.
    """
    mods = Qt.KeyboardModifier(modifiers) & ~_IGNORED_MODS
    if mods == _NO_MODS:
        shift = False
    elif mods == _SHIFT:
        shift = True
    else:
        return None
    return _KEYMAP.get((int(key), shift))


def perform(player: Player, action: str) -> bool:
    """Run ``action`` (a :class:`KeyBinding` action name) on ``player``.

    ``"toggle_stats"`` is not a player action and returns ``False``; so does an unknown
    name. Returns ``True`` when the player was told to do something.
    """
    if action == "toggle_pause":
        player.toggle_pause()
    elif action == "frame_step":
        player.frame_step()
    elif action == "frame_back_step":
        player.frame_back_step()
    elif action in _RELATIVE_SEEKS:
        player.seek_relative(_RELATIVE_SEEKS[action], exact=True)
    elif action == "seek_start":
        player.seek(0.0)
    else:
        return False
    return True


class PlayerKeyHandler(QObject):
    """Event filter mapping mpv-like keys to :class:`Player` calls.

    Install it on each widget that should react: ``widget.installEventFilter(handler)``.
    Handled key presses are consumed (the filter returns ``True``); everything else passes.

    Signals:
        stats_toggled(): the ``I`` key was pressed; show or hide the stats overlay.
        action_triggered(str): any handled action, by name (for status-bar feedback).
    """

    stats_toggled = Signal()
    action_triggered = Signal(str)

    def __init__(
        self,
        player: Player,
        parent: QObject | None = None,
        on_toggle_stats: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._player = player
        if on_toggle_stats is not None:
            self.stats_toggled.connect(on_toggle_stats)

    def handle_key_event(self, event: QKeyEvent) -> bool:
        """Handle one key press; ``True`` if it was bound (and acted on)."""
        action = action_for_key(event.key(), event.modifiers())
        if action is None:
            return False
        if event.isAutoRepeat() and action not in _REPEATABLE:
            return True  # held Space must not toggle pause repeatedly
        if action == "toggle_stats":
            self.stats_toggled.emit()
        elif self._player.is_shut_down or not perform(self._player, action):
            return False
        self.action_triggered.emit(action)
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """Consume bound key presses; also claim them in ``ShortcutOverride``."""
        etype = event.type()
        if etype == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            return self.handle_key_event(event)
        if etype == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if action_for_key(event.key(), event.modifiers()) is not None:
                event.accept()  # our binding wins over a QShortcut on the same key
                return True
        return super().eventFilter(watched, event)
