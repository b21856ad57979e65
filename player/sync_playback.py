"""How a synchronized pair plays: frame-locked steps, or two clocks with drift correction.

:class:`PairPlayback` plays the two :class:`player.sync_side.SyncSide` objects of a
:class:`player.sync_pair.SyncedPair` and owns the timers of playback:

* **Frame-locked playback** (the pair's default): both cores stay paused and are
  frame-stepped together, the next step once both show their new frame and no sooner than
  one frame duration after the last (real time when decoding keeps up, slower otherwise,
  never apart). A step that leaves the sides out of lockstep (one side skipped a frame)
  asks the pair to stop and re-align, as a pause does; so does a step that cannot move
  (the end).
* **Free playback** runs both cores on their own clocks. Every 250 ms the positions are
  compared and side B's speed is nudged (±5 % at most) to close a drift above one frame;
  B is re-seeked when it is more than a second off. Pausing (the pair's job) re-aligns
  both sides exactly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from player.sync_side import SyncSide

__all__ = ["PairPlayback"]

log = logging.getLogger(__name__)

_LOCKED_POLL_MS = 4  # how often frame-locked playback checks that both sides stepped
_DRIFT_INTERVAL_MS = 250
_MAX_SPEED_NUDGE = 0.05  # fraction of real time
_RESEEK_DRIFT_S = 1.0


class PairPlayback(QObject):
    """Plays both sides of a pair, frame-locked or free (see the module docstring).

    ``active()`` tells whether playback may go on (the pair plays and carries out no
    command); ``in_lockstep()`` whether both sides show the same normalised PTS.

    Signals:
        frame_shown(): frame-locked playback shows its next frame on both sides, in
            lockstep.
        stop_requested(): frame-locked playback cannot go on (the end, a side that cannot
            step, or the sides left lockstep): the pair should pause and re-align.
    """

    frame_shown = Signal()
    stop_requested = Signal()

    def __init__(
        self,
        sides: tuple[SyncSide, SyncSide],
        *,
        active: Callable[[], bool],
        in_lockstep: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._sides = sides
        self._active = active
        self._in_lockstep = in_lockstep
        self.frames = 0
        """Frames shown by the current (or last) frame-locked playback."""
        self._started = 0.0
        self._step_at = 0.0
        self._locked = QTimer(self)
        self._locked.setInterval(_LOCKED_POLL_MS)
        self._locked.timeout.connect(self._locked_tick)
        self._drift = QTimer(self)
        self._drift.setInterval(_DRIFT_INTERVAL_MS)
        self._drift.timeout.connect(self._correct_drift)

    @property
    def fps(self) -> float:
        """Frames per second reached by the current frame-locked playback (0.0 before
        its second frame): below the source's rate when decoding cannot keep up."""
        elapsed = time.monotonic() - self._started
        return self.frames / elapsed if self.frames > 1 and elapsed > 0 else 0.0

    @property
    def timers_active(self) -> bool:
        """``True`` while a playback timer runs (stepping or drift correction)."""
        return self._locked.isActive() or self._drift.isActive()

    def start(self, locked: bool) -> None:
        """Start playing: frame-locked (``True``) from the next frame, or free (both
        cores at real time, drift corrected)."""
        if locked:
            self.frames = 0
            self._started = time.monotonic()
            self._locked_step()
            return
        self._drift.start()
        for side in self._sides:
            side.player.set_speed(1.0)
            side.player.play()

    def stop(self) -> None:
        """Stop stepping and drift correction; both cores back at real-time speed (the
        pair pauses them)."""
        self.halt()
        for side in self._sides:
            side.player.set_speed(1.0)

    def halt(self) -> None:
        """Stop the timers only (the cores are being shut down)."""
        self._locked.stop()
        self._drift.stop()

    def _locked_step(self) -> None:
        """Step both sides one frame, then wait for both (``_locked_tick``)."""
        self._step_at = time.monotonic()
        for side in self._sides:
            side.step()
        self._locked.start()

    @Slot()
    def _locked_tick(self) -> None:
        if not self._active():
            self._locked.stop()
            return
        now = time.monotonic()
        moved = [abs(s.player.position - s.start_pos) > 1e-6 for s in self._sides]
        if not all(moved):
            if now >= self._sides[0].deadline:  # the end, or a side that cannot step
                self._locked.stop()
                self.stop_requested.emit()
            return
        if now - self._step_at < self._sides[0].frame_duration:
            return  # real time at most
        self._locked.stop()
        for side in self._sides:
            side.waiting = None
        self.frames += 1
        if not self._in_lockstep():
            pair_time = self._sides[0].normalised()
            log.info("frame-locked playback left lockstep at %.3f s: re-aligning", pair_time)
            self.stop_requested.emit()
            return
        self.frame_shown.emit()
        self._locked_step()

    @Slot()
    def _correct_drift(self) -> None:
        if not self._active():
            return
        a, b = self._sides
        drift = b.normalised() - a.normalised()  # seconds B is ahead of A
        if abs(drift) > _RESEEK_DRIFT_S:
            b.player.seek(a.normalised() + b.offset * b.frame_duration)
            return
        if abs(drift) <= a.frame_duration:
            b.player.set_speed(1.0)
            return
        nudge = max(-_MAX_SPEED_NUDGE, min(_MAX_SPEED_NUDGE, -drift))
        b.player.set_speed(1.0 + nudge)
