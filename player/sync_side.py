"""One side of a synchronized pair: its player, frame source, offset and settle evidence.

:class:`player.sync_pair.SyncedPair` drives two :class:`SyncSide` objects. After each
command a side *waits* (:class:`SideWait`) for evidence that mpv carried it out, then for
quiet, and reports whether it has *settled* (:meth:`SyncSide.settled`):

* after a seek (``RESTART``): mpv's playback restart, then at least
  :data:`SEEK_SETTLE_S` more, because mpv first reports the seek target as the position
  and the real frame's PTS can follow about 130 ms later;
* after a frame step (``MOVE``): a new position;
* after a pause (``PAUSE``): the pause flag;
* after a load (``LOAD``): the restart, then the first frame's PTS (or
  :data:`LOAD_PTS_WAIT_S`: mpv does not re-send a PTS equal to the last one it sent);

then :data:`QUIET_S` without a new position or frame. A side that never gets its evidence
settles at its deadline (``None``: timed out).

**Reaching a PTS** (:meth:`SyncSide.go_to`, :meth:`SyncSide.pursue`): a seek cannot land
on the last frames of an fMP4 segment whose PTS lie past the segment's EXTINF end (B-frame
composition offset: mpv opens the next segment). A seek that lands past the goal is
retried one frame earlier (then two...), and a side before its goal frame-steps forward,
at most :data:`MAX_GOAL_MOVES` commands.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from player.controller import Player
from player.frame_source import MpvFrameSource
from services.playback import PlaybackSource

__all__ = [
    "DEFAULT_FPS",
    "MAX_GOAL_MOVES",
    "SEEK_TIMEOUT_S",
    "STEP_TIMEOUT_S",
    "SideState",
    "SideWait",
    "SyncSide",
]

log = logging.getLogger(__name__)

#: Frames per second assumed until mpv reports the rate (fps of the usual sports feeds).
DEFAULT_FPS = 25.0
#: Commands one side may use to reach a PTS (seeks back to a reachable frame + steps).
MAX_GOAL_MOVES = 8
#: Seconds without a new position or frame before a side counts as settled.
QUIET_S = 0.06
#: Seconds a side waits after a seek's restart before it may settle: mpv first reports the
#: seek target as the position, and when the frame there is only reachable in the next
#: segment the real frame and its PTS come one frame render later: 133 ms after the
#: restart was measured on an idle machine.
SEEK_SETTLE_S = 0.25
#: Seconds after which a step that cannot move (first/last frame) settles.
STEP_TIMEOUT_S = 2.0
#: Seconds after which a seek/load that never restarts settles (and is reported).
SEEK_TIMEOUT_S = 8.0
#: Seconds to wait for the first frame's PTS after a load's restart.
LOAD_PTS_WAIT_S = 0.3


class SideWait(enum.Enum):
    """What a side waits for after a command (see the module docstring)."""

    LOAD = "load"
    RESTART = "restart"
    MOVE = "move"
    PAUSE = "pause"


@dataclass(frozen=True)
class SideState:
    """What one side shows.

    Attributes:
        side: 0 for A, 1 for B.
        pts: presentation timestamp of the frame on screen (seconds, mpv ``time-pos``).
        frame: 0-based index of that frame in the side's own stream
            (``round((pts - first_pts) * fps)``).
        fps: frames per second used for the index (reported by mpv, else a default).
        offset: the side's offset in frames.
    """

    side: int
    pts: float
    frame: int
    fps: float
    offset: int


class SyncSide:
    """Book-keeping of one side (index 0 = A, 1 = B) of a synchronized pair.

    Attributes (read and written by the pair):
        offset: frames this side shows ahead of the pair time.
        first_pts: PTS (seconds) of the side's first frame, known after a load.
        fps_hint: frames/s to use until mpv reports the rate (``None``: the default).
        loaded: the side's player reported its source loaded.
        waiting: what the side waits for, ``None`` when settled.
        start_pos: the position (seconds) when the last command was sent.
        deadline: ``time.monotonic()`` after which the wait times out.
    """

    def __init__(self, index: int, player: Player, source: MpvFrameSource) -> None:
        self.index = index
        self.player = player
        self.source = source
        self.offset = 0
        self.first_pts = 0.0
        self.fps_hint: float | None = None
        self.loaded = False
        self.waiting: SideWait | None = None
        self.start_pos = 0.0
        self.deadline = 0.0
        self._evidence = False
        self._restarted_at: float | None = None
        self._last_event = 0.0
        self._goal: float | None = None  # normalised PTS (s) this side is being moved to
        self._goal_moves = 0
        self._goal_back = 0

    @property
    def fps(self) -> float:
        """Frames per second: mpv's rate, else the hint, else :data:`DEFAULT_FPS`."""
        rate = self.player.frame_rate or self.fps_hint
        return float(rate) if rate and rate > 0 else DEFAULT_FPS

    @property
    def frame_duration(self) -> float:
        """Seconds per frame."""
        return 1.0 / self.fps

    def normalised(self) -> float:
        """Position minus offset (seconds): equal on both sides when in lockstep."""
        return self.player.position - self.offset * self.frame_duration

    def frame_index(self) -> int:
        """0-based index of the frame on screen, counted from :attr:`first_pts`."""
        return round((self.player.position - self.first_pts) * self.fps)

    def state(self) -> SideState:
        """What the side shows now."""
        return SideState(
            self.index, self.player.position, self.frame_index(), self.fps, self.offset
        )

    def frame_pts(self, seconds: float) -> float:
        """The PTS (seconds) of this side's frame on screen at ``seconds``, on its frame
        grid from :attr:`first_pts`: mpv reports the seek target itself as ``time-pos``
        after an exact seek between two frames."""
        index = math.floor((seconds - self.first_pts) * self.fps + 1e-6)
        return self.first_pts + max(0, index) * self.frame_duration

    # -- evidence from the player's signals ------------------------------------------
    def wire(
        self,
        on_state: Callable[[SideState], None],
        on_frame: Callable[[int], None],
        on_error: Callable[[str], None],
    ) -> None:
        """Connect the player's and the frame source's signals: this side keeps the
        evidence, and passes on its :class:`SideState` when the position changes, its
        index when a frame was rendered, and errors prefixed with ``"A: "``/``"B: "``."""
        label = "AB"[self.index]

        def position_changed(_seconds: float) -> None:
            self._last_event = time.monotonic()
            on_state(self.state())

        def frame_rendered(_count: int) -> None:
            self._last_event = time.monotonic()
            on_frame(self.index)

        self.player.position_changed.connect(position_changed)
        self.player.seek_completed.connect(self._restarted)
        self.player.loaded.connect(self._loaded)
        self.player.error.connect(lambda message: on_error(f"{label}: {message}"))
        self.source.frame_ready.connect(frame_rendered)

    def _loaded(self, _title: str) -> None:
        self.loaded = True

    def _restarted(self) -> None:
        """mpv restarted playback (after a seek or a load)."""
        self._last_event = self._restarted_at = time.monotonic()
        if self.waiting in (SideWait.RESTART, SideWait.MOVE):
            self._evidence = True

    # -- commands ---------------------------------------------------------------------
    def arm(self, waiting: SideWait, timeout: float) -> None:
        """Wait for ``waiting``, at most ``timeout`` seconds from now."""
        now = time.monotonic()
        self.waiting = waiting
        self._evidence = False
        self._restarted_at = None
        self.start_pos = self.player.position
        self.deadline = now + timeout
        self._last_event = now

    def load(self, source: PlaybackSource, fps_hint: float | None) -> None:
        """Open ``source`` paused (``fps_hint``: frames/s until mpv reports the rate),
        then wait for its first frame."""
        self.loaded = False
        self.fps_hint = fps_hint
        self.first_pts = 0.0
        self.player.pause()
        self.player.load(source)
        self.arm(SideWait.LOAD, SEEK_TIMEOUT_S)

    def pause(self) -> None:
        """Pause, then wait for mpv's pause flag."""
        self.player.pause()
        self.arm(SideWait.PAUSE, STEP_TIMEOUT_S)

    def step(self) -> None:
        """One frame forward (mpv ``frame-step``), then wait for the new position."""
        self.player.frame_step()
        self.arm(SideWait.MOVE, STEP_TIMEOUT_S)

    def go_to(self, goal: float) -> None:
        """Start moving to normalised PTS ``goal`` (seconds, on the frame grid)."""
        self._goal, self._goal_moves, self._goal_back = goal, 0, 0
        self._seek(goal)

    def _seek(self, normalised: float) -> None:
        self.player.pause()
        self.player.seek(normalised + self.offset * self.frame_duration)
        self.arm(SideWait.RESTART, SEEK_TIMEOUT_S)

    def pursue(self) -> bool:
        """After settling: one more command towards the goal of :meth:`go_to`; ``False``
        when there (or out of moves). A seek that lands past the goal (a frame only
        reachable by stepping, see the module docstring) restarts one frame earlier; one
        that lands before it steps forward frame by frame."""
        if self._goal is None:
            return False
        position, duration = self.normalised(), self.frame_duration
        if abs(position - self._goal) < 0.5 * duration or self._goal_moves >= MAX_GOAL_MOVES:
            self._goal = None
            return False
        self._goal_moves += 1
        log.debug(
            "side %d at %.4f s, goal %.4f s, move %d",
            self.index,
            position,
            self._goal,
            self._goal_moves,
        )
        if position > self._goal:
            self._goal_back += 1
            self._seek(self._goal - self._goal_back * duration)
        else:
            self.step()
        return True

    def settled(self, now: float) -> bool | None:
        """``True`` when settled, ``None`` when the wait timed out, ``False`` while still
        waiting (``now``: ``time.monotonic()``)."""
        if self.waiting is None:
            return True
        moved = abs(self.player.position - self.start_pos) > 1e-6
        if self.waiting == SideWait.MOVE and moved:
            self._evidence = True
        if self.waiting == SideWait.PAUSE and self.player.paused:
            self._evidence = True
        if self.waiting == SideWait.LOAD and self._restarted_at is not None:
            # mpv sends the first frame's PTS some time after the restart, and not at all
            # when it equals the value it sent last: wait for it, but not for ever.
            self._evidence = moved or now - self._restarted_at >= LOAD_PTS_WAIT_S
        early = (
            self.waiting == SideWait.RESTART
            and self._restarted_at is not None
            and now - self._restarted_at < SEEK_SETTLE_S
        )
        if self._evidence and not early and now - self._last_event >= QUIET_S:
            self.waiting = None
            return True
        if now >= self.deadline:
            self.waiting = None
            return None
        return False
