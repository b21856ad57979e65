"""Per-file playback bookkeeping from mpv's events and property values (no Qt, no mpv).

mpv reports asynchronously. After a ``loadfile`` command, the events and property values
of the file being replaced keep arriving until the new file's ``start-file`` event:
:class:`FileTimeline` counts the loads whose ``start-file`` has not arrived (values seen
meanwhile are ignored) and numbers the loads, so that a delayed report about an older
load can be dropped. It keeps position, duration and end of file with the rules mpv's
notifications need: mpv only notifies changes, so when a file has loaded its position is
set to the start explicitly (``time-pos`` is not re-sent when it equals the last value
sent, e.g. a rendition switch restarting at the same second), and an ``eof-reached`` seen
before the file loaded is not an end.

:class:`player.controller.Player` feeds it on the GUI thread and passes the callbacks
that emit its ``position_changed``, ``duration_changed`` and ``ended`` signals. Nothing
here raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from player.playback_stats import number

__all__ = ["FileTimeline"]


class FileTimeline:
    """Position, duration (seconds) and end of the current file.

    ``on_position(seconds)``, ``on_duration(seconds)`` and ``on_ended()`` are called when
    the position, the duration or the end changes.
    """

    def __init__(
        self,
        on_position: Callable[[float], Any],
        on_duration: Callable[[float], Any],
        on_ended: Callable[[], Any],
    ) -> None:
        self._on_position = on_position
        self._on_duration = on_duration
        self._on_ended = on_ended
        self.position = 0.0
        """Last known playback position in seconds."""
        self.duration = 0.0
        """Duration in seconds (0.0 while unknown)."""
        self.eof = False
        """``True`` once playback reached the end (until a seek or a new file)."""
        self.file_loaded = False
        """``True`` between the file's ``file-loaded`` event and its end or failure."""
        self.generation = 0
        """Number of the current load (incremented by :meth:`begin_load`, :meth:`unload`)."""
        self._pending = 0
        self._start = 0.0

    @property
    def replacing(self) -> bool:
        """``True`` while a load's ``start-file`` is awaited: what arrives meanwhile
        belongs to the file being replaced."""
        return self._pending > 0

    def reset(self) -> None:
        """Nothing known about the file any more (position and duration 0, no signal)."""
        self.position = 0.0
        self.duration = 0.0
        self.eof = False
        self.file_loaded = False

    def begin_load(self, start: float) -> None:
        """A ``loadfile`` was sent; playback is to start at ``start`` seconds."""
        self.reset()
        self._pending += 1
        self.generation += 1
        self._start = max(0.0, float(start))

    def unload(self) -> None:
        """The file was stopped: reports about it are stale."""
        self.generation += 1
        self.reset()

    def start_file(self) -> None:
        """mpv's ``start-file`` event: one pending load has started."""
        self._pending = max(0, self._pending - 1)

    def load_refused(self) -> None:
        """mpv refused a ``loadfile``: no ``start-file`` will come for it."""
        self._pending = max(0, self._pending - 1)

    def observe(self, name: str, value: Any) -> None:
        """A value of mpv's ``time-pos``, ``duration`` (seconds) or ``eof-reached``
        property; other names, and every value while :attr:`replacing`, are ignored."""
        if self.replacing:
            return
        if name == "time-pos":
            seconds = number(value)
            if seconds is not None and seconds != self.position:
                self.position = seconds
                self._on_position(seconds)
        elif name == "duration":
            self.set_duration(number(value))
        elif name == "eof-reached":
            if not value:
                self.eof = False
            elif self.file_loaded:
                self.end_of_file()

    def set_duration(self, seconds: float | None) -> None:
        """A duration in seconds (``None`` or <= 0: unknown, ignored)."""
        if seconds is not None and seconds > 0 and abs(seconds - self.duration) > 1e-6:
            self.duration = seconds
            self._on_duration(seconds)

    def loaded(self, duration: Any) -> None:
        """mpv's ``file-loaded`` event, with the last ``duration`` value mpv sent (it is
        not re-sent when equal to the previous file's): the position becomes the start."""
        self.file_loaded = True
        self.set_duration(number(duration))
        if self.position != self._start:
            self.position = self._start
            self._on_position(self._start)

    def failed(self) -> None:
        """The file ended with an error."""
        self.file_loaded = False

    def end_of_file(self) -> None:
        """Playback reached the end (``eof-reached`` or an ``end-file`` with reason
        ``eof``); ``on_ended`` is called once per end."""
        if not self.eof:
            self.eof = True
            self._on_ended()
