"""The compare view's key table (``views/compare_view.py`` runs the actions).

The transport keys are the player's (:data:`player.keys.KEY_BINDINGS`, on both sides at
once) except ``I``; the compare view adds its own. Letter keys work with or without
Shift. The view's one-line help is ``help_line(COMPARE_KEY_BINDINGS, COMPARE_MOUSE_HELP)``.

=================  ==========================================
L                  frame-locked play on / off
W / S / D          wipe / side by side / difference
A / B              show only side A / B
Tab, T             swap the side shown (A/B mode)
``+`` / ``-``      zoom in / out (``=`` zooms in too); ``0`` fits
M                  PSNR/SSIM of the frame on screen
=================  ==========================================
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from player.keys import KEY_BINDINGS, KeyBinding, KeyMap, press

__all__ = ["COMPARE_KEYS", "COMPARE_KEY_BINDINGS", "COMPARE_MOUSE_HELP"]

_Key = Qt.Key


def _letter(letter: str, action: str, description: str, hint: str) -> KeyBinding:
    """A binding of one letter key, with or without Shift."""
    key = getattr(_Key, f"Key_{letter}")
    return KeyBinding(letter, action, description, letter, hint, (press(key, None),))


_TRANSPORT = tuple(b for b in KEY_BINDINGS if b.action != "toggle_stats")

COMPARE_KEY_BINDINGS: tuple[KeyBinding, ...] = (
    _TRANSPORT[0],  # play/pause
    _letter(
        "L",
        "toggle_frame_locked",
        "Frame-locked play (both sides step together) on / off",
        "frame-locked play",
    ),
    *_TRANSPORT[1:],
    _letter("W", "mode_wipe", "Wipe: drag the split", "wipe"),
    _letter("S", "mode_side_by_side", "Side by side", "side by side"),
    _letter("D", "mode_difference", "Amplified difference |A − B|", "difference"),
    _letter("A", "show_a", "Show only side A", "show one side"),
    _letter("B", "show_b", "Show only side B", "show one side"),
    KeyBinding(
        "Tab, T",
        "swap_sides",
        "Show the other side (A/B mode)",
        "Tab/T",
        "swap A/B",
        (press(_Key.Key_Tab, None), press(_Key.Key_Backtab, None), press(_Key.Key_T, None)),
    ),
    KeyBinding(
        "+",
        "zoom_in",
        "Zoom in",
        "+",
        "zoom",
        (press(_Key.Key_Plus, None), press(_Key.Key_Equal, None)),
        repeat=True,
    ),
    KeyBinding(
        "-", "zoom_out", "Zoom out", "−", "zoom", (press(_Key.Key_Minus, None),), repeat=True
    ),
    KeyBinding("0", "zoom_fit", "Reset zoom and pan", "0", "fit", (press(_Key.Key_0, None),)),
    _letter("M", "measure", "PSNR/SSIM of B against A on the frame on screen", "PSNR/SSIM"),
)

#: Mouse gestures, appended to the compare view's help line.
COMPARE_MOUSE_HELP = ("drag: split (wipe) or pan", "wheel: zoom")

#: :data:`COMPARE_KEY_BINDINGS` by key press.
COMPARE_KEYS = KeyMap(COMPARE_KEY_BINDINGS)
