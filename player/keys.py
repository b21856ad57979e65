"""mpv-like keyboard control for a :class:`player.controller.Player`, and the key tables
the one-line key help is generated from.

The player panel (``views/player_panel.py``) installs :class:`PlayerKeyHandler` as an
event filter on the widgets that should react (the video widget, the panel itself) and
connects :attr:`PlayerKeyHandler.stats_toggled` to its stats overlay.

Each :class:`KeyBinding` carries the keys that trigger it (Qt key code, Shift held), its
label and a short hint for the one-line help, and a longer description for a help dialog
or tooltips: a binding added to a table both works and shows in :func:`help_line`, with no
second edit. Tables: :data:`KEY_BINDINGS` (the player, as in mpv's default ``input.conf``),
:data:`CLIP_KEY_BINDINGS` (the panel's clip in/out points) and
``player.compare_keys.COMPARE_KEY_BINDINGS`` (the compare view).

=================  ==========================================
Space, P           play / pause
``,`` / ``.``      one frame back / forward (pauses)
Left / Right       seek -5 s / +5 s
Up / Down          seek +60 s / -60 s
Shift+Left/Right   seek -1 s / +1 s, exact
Home               seek to 0
I                  toggle the stats overlay
``[`` / ``]``      clip in / out point (player panel with clips)
=================  ==========================================

All seeks are exact (the player runs with ``hr-seek=yes``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent

from player.controller import Player

__all__ = [
    "CLIP_KEYS",
    "CLIP_KEY_BINDINGS",
    "KEY_BINDINGS",
    "PLAYER_KEYS",
    "KeyBinding",
    "KeyMap",
    "PlayerKeyHandler",
    "action_for_key",
    "help_line",
    "perform",
    "press",
]

_Key = Qt.Key
_NO_MODS = Qt.KeyboardModifier.NoModifier
_SHIFT = Qt.KeyboardModifier.ShiftModifier
_IGNORED_MODS = Qt.KeyboardModifier.KeypadModifier
#: Separator of the entries of a help line.
HELP_SEPARATOR = " · "

#: A key that triggers a binding: (Qt key code, Shift held: ``True``/``False``, or
#: ``None`` for either).
Trigger = tuple[int, bool | None]


def press(key: Qt.Key, shift: bool | None = False) -> Trigger:
    """The :data:`Trigger` of ``key`` with Shift held (``True``), not held (``False``,
    the default) or either (``None``)."""
    return (int(key), shift)


@dataclass(frozen=True)
class KeyBinding:
    """One key binding.

    Attributes:
        keys: the keys as a help dialog shows them (``"Shift+Left"``).
        action: the action name (:func:`perform`, ``PlayerKeyHandler.action_triggered``).
        description: a sentence for a help dialog or a tooltip (``"Back 1 s (exact)"``).
        label: the keys in the one-line help (``"Shift+←"``).
        hint: what they do in the one-line help (``"1 s exact"``); consecutive bindings
            with the same hint share one entry (``"Shift+←/→ 1 s exact"``).
        triggers: the key presses that run the action.
        repeat: the action runs again while the key is held (auto-repeat); otherwise
            repeats are swallowed (held Space must not toggle pause again and again).
        seconds: for a relative seek, its distance in seconds (negative: backwards).
    """

    keys: str
    action: str
    description: str
    label: str
    hint: str
    triggers: tuple[Trigger, ...]
    repeat: bool = False
    seconds: float | None = None


def _seek(
    action: str, keys: str, label: str, seconds: float, key: Qt.Key, shift: bool = False
) -> KeyBinding:
    """A relative seek by ``seconds``, exact (hr-seek); the hint is the distance."""
    distance = f"{abs(seconds):g} s"
    way = "Forward" if seconds > 0 else "Back"
    description, hint = f"{way} {distance}", distance
    if shift:
        description, hint = f"{description} (exact)", f"{hint} exact"
    return KeyBinding(
        keys, action, description, label, hint, (press(key, shift),), repeat=True, seconds=seconds
    )


KEY_BINDINGS: tuple[KeyBinding, ...] = (
    KeyBinding(
        "Space, P",
        "toggle_pause",
        "Play / pause",
        "Space/P",
        "play/pause",
        (press(_Key.Key_Space), press(_Key.Key_P)),
    ),
    KeyBinding(
        ",",
        "frame_back_step",
        "Previous frame (pauses)",
        ",",
        "frame back/forward",
        (press(_Key.Key_Comma),),
        repeat=True,
    ),
    KeyBinding(
        ".",
        "frame_step",
        "Next frame (pauses)",
        ".",
        "frame back/forward",
        (press(_Key.Key_Period),),
        repeat=True,
    ),
    _seek("seek_back_5", "Left", "←", -5.0, _Key.Key_Left),
    _seek("seek_forward_5", "Right", "→", 5.0, _Key.Key_Right),
    _seek("seek_forward_60", "Up", "↑", 60.0, _Key.Key_Up),
    _seek("seek_back_60", "Down", "↓", -60.0, _Key.Key_Down),
    _seek("seek_back_1", "Shift+Left", "Shift+←", -1.0, _Key.Key_Left, shift=True),
    _seek("seek_forward_1", "Shift+Right", "Shift+→", 1.0, _Key.Key_Right, shift=True),
    KeyBinding("Home", "seek_start", "Go to the start", "Home", "start", (press(_Key.Key_Home),)),
    KeyBinding(
        "I", "toggle_stats", "Show / hide playback statistics", "I", "stats", (press(_Key.Key_I),)
    ),
)

#: The player panel's clip keys (only with a clip controller; the panel runs them).
CLIP_KEY_BINDINGS: tuple[KeyBinding, ...] = (
    KeyBinding(
        "[",
        "clip_in",
        "Clip in point at the current position",
        "[",
        "clip in/out",
        (press(_Key.Key_BracketLeft, None),),
    ),
    KeyBinding(
        "]",
        "clip_out",
        "Clip out point at the current position",
        "]",
        "clip in/out",
        (press(_Key.Key_BracketRight, None),),
    ),
)


def _join_labels(labels: list[str]) -> str:
    """``["Shift+←", "Shift+→"]`` -> ``"Shift+←/→"``: a common modifier prefix once."""
    first = labels[0]
    prefix = first[: first.rfind("+") + 1] if "+" in first[:-1] else ""
    if prefix and all(label.startswith(prefix) and len(label) > len(prefix) for label in labels):
        return prefix + "/".join(label[len(prefix) :] for label in labels)
    return "/".join(labels)


def help_line(bindings: Iterable[KeyBinding], extra: Iterable[str] = ()) -> str:
    """The one-line key help of ``bindings``: ``"<labels> <hint>"`` entries joined by
    :data:`HELP_SEPARATOR`, consecutive bindings with the same hint in one entry, then the
    ``extra`` entries (e.g. mouse gestures)."""
    entries: list[tuple[list[str], str]] = []
    for binding in bindings:
        if entries and entries[-1][1] == binding.hint:
            entries[-1][0].append(binding.label)
        else:
            entries.append(([binding.label], binding.hint))
    parts = [f"{_join_labels(labels)} {hint}" for labels, hint in entries]
    return HELP_SEPARATOR.join([*parts, *extra])


class KeyMap:
    """A table of :class:`KeyBinding` indexed by key press.

    Raises (constructor): ``ValueError`` when two bindings share a trigger or an action.
    """

    def __init__(self, bindings: Iterable[KeyBinding]) -> None:
        self.bindings: tuple[KeyBinding, ...] = tuple(bindings)
        """The bindings, in help order."""
        self._by_trigger: dict[Trigger, KeyBinding] = {}
        self._by_action: dict[str, KeyBinding] = {}
        for binding in self.bindings:
            if binding.action in self._by_action:
                raise ValueError(f"action {binding.action!r} is bound twice")
            self._by_action[binding.action] = binding
            for key, shift in binding.triggers:
                either = [(key, s) for s in (False, True, None)] if shift is None else []
                clashes = [(key, shift), (key, None), *either]
                if any(t in self._by_trigger for t in clashes):
                    raise ValueError(f"{binding.keys!r}: key {key:#x} is already bound")
                self._by_trigger[(key, shift)] = binding

    def binding_for(self, key: int, modifiers: Qt.KeyboardModifier) -> KeyBinding | None:
        """The binding of ``key`` pressed with ``modifiers`` (the keypad flag ignored), or
        ``None``. Only no modifier or Shift alone is bound: Ctrl/Alt/Meta combinations are
        left to the application's shortcuts."""
        mods = Qt.KeyboardModifier(modifiers) & ~_IGNORED_MODS
        if mods == _NO_MODS:
            shift = False
        elif mods == _SHIFT:
            shift = True
        else:
            return None
        key = int(key)
        return self._by_trigger.get((key, shift)) or self._by_trigger.get((key, None))

    def binding(self, action: str) -> KeyBinding:
        """The binding of ``action``. Raises ``KeyError`` for an unbound action."""
        return self._by_action[action]

    def help_line(self, extra: Iterable[str] = ()) -> str:
        """:func:`help_line` of this table."""
        return help_line(self.bindings, extra)


#: :data:`KEY_BINDINGS` by key press.
PLAYER_KEYS = KeyMap(KEY_BINDINGS)
#: :data:`CLIP_KEY_BINDINGS` by key press.
CLIP_KEYS = KeyMap(CLIP_KEY_BINDINGS)


def action_for_key(key: int, modifiers: Qt.KeyboardModifier) -> str | None:
    """The action of :data:`KEY_BINDINGS` bound to ``key`` with ``modifiers`` (keypad flag
    ignored), or ``None``. Only no modifier or Shift alone is bound; Ctrl/Alt/Meta
    combinations are left to the application's shortcuts."""
    binding = PLAYER_KEYS.binding_for(key, modifiers)
    return binding.action if binding is not None else None


def perform(player: Player, action: str) -> bool:
    """Run ``action`` (a :class:`KeyBinding` action name) on ``player``.

    ``"toggle_stats"`` is not a player action and returns ``False``; so does an unknown
    name. Returns ``True`` when the player was told to do something.
    """
    try:
        seconds = PLAYER_KEYS.binding(action).seconds
    except KeyError:
        return False
    if seconds is not None:
        player.seek_relative(seconds, exact=True)
    elif action == "toggle_pause":
        player.toggle_pause()
    elif action == "frame_step":
        player.frame_step()
    elif action == "frame_back_step":
        player.frame_back_step()
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
        binding = PLAYER_KEYS.binding_for(event.key(), event.modifiers())
        if binding is None:
            return False
        action = binding.action
        if event.isAutoRepeat() and not binding.repeat:
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
