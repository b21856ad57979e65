"""Two players in lockstep for side-by-side comparison (sides ``A`` = 0 and ``B`` = 1).

Sync strategy
-------------
Each side is a separate libmpv core (:class:`player.controller.Player`) rendering off
screen through :class:`player.frame_source.MpvFrameSource`; two cores stepped and seeked
together stay frame-identical on this libmpv (PLATFORM.md). Media playlists play as mpv EDL
timelines, so every seek is exact (``hr-seek``) anywhere in a rung.

* **Time base.** A side's *position* is mpv's ``time-pos``: the presentation timestamp
  (PTS, seconds) of the frame on screen. The pair's *time* is side A's position minus A's
  offset; side X is in lockstep when ``pts_X - offset_X / fps_X`` equals the pair time
  within half a frame. With both offsets at 0 the sides show the same PTS.
* **Offsets** are whole frames per side (``set_offset``): side X shows the frame
  ``offset_X`` frames after the pair time, for sources that start differently.
* **Commands** go to both cores at once: exact seeks (``seek``/``seek_frame``) to the PTS
  of a frame (targets are snapped to side A's frame grid), mpv's ``frame-step`` for +1
  frame (fast: no re-decode from the keyframe), an exact seek to the previous frame's PTS
  for -1 frame. Each side reaches a PTS on its own (``_Side.go_to``): a seek cannot land on
  the last frames of an fMP4 segment whose PTS lie past the segment's EXTINF end (B-frame
  composition offset: mpv opens the next segment), so a seek that lands past the goal is
  retried one frame earlier and the side then frame-steps forward to the goal (at most
  :data:`MAX_GOAL_MOVES` commands).
* **Settling.** After a command each side waits for its evidence (a restart after a seek,
  a new position after a step, the pause flag after a pause), then for 60 ms without a new
  position or frame, and after a seek for at least 250 ms after the restart (mpv reports
  the target first; the real frame's PTS can follow ~130 ms later, :data:`_SEEK_SETTLE_S`).
  When both sides have settled the pair compares their normalised PTS; if they differ (a
  frame step skipped a frame on one side, different segment layouts of v1 and a rung), B
  goes to A's PTS (then A to B's, alternately), at most :data:`MAX_ALIGN_ROUNDS` rounds.
  Then :attr:`synced` fires.
* **Frame-locked playback** (the default, :attr:`frame_locked`): both cores stay paused
  and the pair frame-steps them together, the next step once both show their new frame
  and no sooner than one frame duration after the last (real time when decoding keeps up,
  slower otherwise, never apart). A step that leaves the sides out of lockstep (one side
  skipped a frame) stops playback and re-aligns, as a pause does; a step that cannot move
  (the end) stops playback.
* **Free playback** (``frame_locked = False``) runs both cores on their own clocks. Every
  250 ms the pair compares the positions and nudges side B's speed (±5 % at most) to close
  a drift above one frame, and re-seeks B when it is more than a second off. Pausing
  re-aligns both sides exactly.

Both sides render at the taller side's video size (``render_size``): a 360p rung compared
with 720p is upscaled by mpv's scaler, as a spot-check scales a rung to the reference.

Limits: in free playback the sides can be a frame or two apart (two clocks, no shared
decoder); they are frame-exact once paused (after :attr:`synced`) and at every frame of
frame-locked playback, which may run below real time. Sources with
different frame rates are aligned by time, so their frame counters advance differently.
Multivariant (ABR) sources cannot seek outside their cache on libmpv 0.35 and are refused.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QSize, QTimer, Signal, Slot

from player.controller import Player
from player.frame_source import MpvFrameSource
from services.playback import PlaybackSource

__all__ = ["DEFAULT_FPS", "MAX_ALIGN_ROUNDS", "SideState", "SyncedPair"]

log = logging.getLogger(__name__)

#: Frames per second assumed until mpv reports the rate (fps of the usual sports feeds).
DEFAULT_FPS = 25.0
#: How many corrective seeks the pair tries before reporting that it cannot align.
MAX_ALIGN_ROUNDS = 4
#: Commands one side may use to reach a PTS (seeks back to a reachable frame + steps).
MAX_GOAL_MOVES = 8
_QUIET_S = 0.06  # seconds without a new position or frame before a side counts as settled
#: Seconds a side waits after a seek's restart before it may settle: mpv first reports the
#: seek target as the position, and when the frame there is only reachable in the next
#: segment (see the module docstring) the real frame and its PTS come one frame render
#: later: 133 ms after the restart was measured on an idle machine.
_SEEK_SETTLE_S = 0.25
_STEP_TIMEOUT_S = 2.0  # a step that cannot move (first/last frame) settles after this
_SEEK_TIMEOUT_S = 8.0  # a seek/load that never restarts settles after this (and reports)
_LOAD_PTS_WAIT_S = 0.3  # seconds to wait for the first frame's PTS after a load
_POLL_MS = 20
_DRIFT_INTERVAL_MS = 250
_MAX_SPEED_NUDGE = 0.05  # fraction of real time
_RESEEK_DRIFT_S = 1.0
_LOCKED_POLL_MS = 4  # how often frame-locked playback checks that both sides stepped


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


class _Side:
    """Book-keeping of one side: its player, frame source, offset and settle evidence."""

    def __init__(self, index: int, player: Player, source: MpvFrameSource) -> None:
        self.index = index
        self.player = player
        self.source = source
        self.offset = 0
        self.first_pts = 0.0
        self.fps_hint: float | None = None
        self.waiting: str | None = None  # "load", "restart", "move", "pause" or None
        self.evidence = False
        self.restarted_at: float | None = None
        self.start_pos = 0.0
        self.deadline = 0.0
        self.last_event = 0.0
        self.loaded = False
        self.goal: float | None = None  # normalised PTS (s) this side is being moved to
        self.goal_moves = 0
        self.goal_back = 0

    @property
    def fps(self) -> float:
        rate = self.player.frame_rate or self.fps_hint
        return float(rate) if rate and rate > 0 else DEFAULT_FPS

    @property
    def frame_duration(self) -> float:
        return 1.0 / self.fps

    def normalised(self) -> float:
        """Position minus offset (seconds): equal on both sides when in lockstep."""
        return self.player.position - self.offset * self.frame_duration

    def frame_index(self) -> int:
        return round((self.player.position - self.first_pts) * self.fps)

    def state(self) -> SideState:
        return SideState(self.index, self.player.position, self.frame_index(), self.fps,
                         self.offset)  # fmt: skip

    def arm(self, waiting: str, timeout: float) -> None:
        now = time.monotonic()
        self.waiting = waiting
        self.evidence = False
        self.restarted_at = None
        self.start_pos = self.player.position
        self.deadline = now + timeout
        self.last_event = now

    def go_to(self, goal: float) -> None:
        """Start moving to normalised PTS ``goal`` (seconds, on the frame grid)."""
        self.goal, self.goal_moves, self.goal_back = goal, 0, 0
        self._seek(goal)

    def _seek(self, normalised: float) -> None:
        self.player.pause()
        self.player.seek(normalised + self.offset * self.frame_duration)
        self.arm("restart", _SEEK_TIMEOUT_S)

    def pursue(self) -> bool:
        """After settling: one more command towards :attr:`goal`; ``False`` when there (or
        out of moves). A seek that lands past the goal (a frame only reachable by stepping,
        see the module docstring) restarts one frame earlier; one that lands before it
        steps forward frame by frame."""
        if self.goal is None:
            return False
        position, duration = self.normalised(), self.frame_duration
        if abs(position - self.goal) < 0.5 * duration or self.goal_moves >= MAX_GOAL_MOVES:
            self.goal = None
            return False
        self.goal_moves += 1
        log.debug("side %d at %.4f s, goal %.4f s, move %d", self.index, position, self.goal,
                  self.goal_moves)
        if position > self.goal:
            self.goal_back += 1
            self._seek(self.goal - self.goal_back * duration)
        else:
            self.player.frame_step()
            self.arm("move", _STEP_TIMEOUT_S)
        return True

    def settled(self, now: float) -> bool | None:
        """True when settled, None when it timed out, False while still waiting."""
        if self.waiting is None:
            return True
        if self.waiting == "move" and abs(self.player.position - self.start_pos) > 1e-6:
            self.evidence = True
        if self.waiting == "pause" and self.player.paused:
            self.evidence = True
        if self.waiting == "load" and self.restarted_at is not None:
            # mpv sends the first frame's PTS some time after the restart, and not at all
            # when it equals the value it sent last: wait for it, but not for ever.
            moved = abs(self.player.position - self.start_pos) > 1e-6
            self.evidence = moved or now - self.restarted_at >= _LOAD_PTS_WAIT_S
        early = (
            self.waiting == "restart"
            and self.restarted_at is not None
            and now - self.restarted_at < _SEEK_SETTLE_S
        )
        if self.evidence and not early and now - self.last_event >= _QUIET_S:
            self.waiting = None
            return True
        if now >= self.deadline:
            self.waiting = None
            return None
        return False


class SyncedPair(QObject):
    """Two :class:`Player` cores with off-screen frame sources, driven in lockstep.

    Construct after the ``QApplication``; ``player_options`` go to both ``Player``
    constructors (e.g. ``media_cache_bytes``). :attr:`players` and :attr:`sources` are
    ``(A, B)`` tuples. Call :meth:`shutdown` when done (also on application quit).

    Signals (GUI thread):
        loaded(): both sources are open and positioned (after the first :attr:`synced`).
        side_changed(object): a :class:`SideState` whenever a side's position changes.
        frame_ready(int): side 0/1 rendered a new frame (get it from ``sources[side]``).
        synced(float): both sides settled, paused, in lockstep; the pair time in seconds.
        busy_changed(bool): ``True`` while a command is being carried out.
        playing_changed(bool): ``True`` while playing.
        locked_frame(float): frame-locked playback shows its next frame on both sides, in
            lockstep; the pair time in seconds.
        duration_changed(float): side A's duration in seconds.
        error(str): a readable sentence (a side failed to load, could not be aligned...).

    Errors: the constructor raises ``PlayerNotAvailable`` when libmpv cannot be loaded;
    playback problems are reported through :attr:`error`, never raised.
    """

    loaded = Signal()
    side_changed = Signal(object)
    frame_ready = Signal(int)
    synced = Signal(float)
    busy_changed = Signal(bool)
    playing_changed = Signal(bool)
    locked_frame = Signal(float)
    duration_changed = Signal(float)
    error = Signal(str)

    def __init__(self, parent: QObject | None = None, **player_options: Any) -> None:
        super().__init__(parent)
        sides = []
        for index in (0, 1):
            player = Player(self, **player_options)
            source = MpvFrameSource(player, self)
            sides.append(_Side(index, player, source))
        self._sides: tuple[_Side, _Side] = (sides[0], sides[1])
        self._busy = False
        self._playing = False
        self._phase = "idle"  # idle, load, op, align
        self._align_rounds = 0
        self._pending: tuple[str, Any] | None = None
        self._target_frame = 0
        self._emit_loaded = False
        self._shut_down = False
        for side in self._sides:
            self._connect(side)
        self._poll = QTimer(self)
        self._poll.setInterval(_POLL_MS)
        self._poll.timeout.connect(self._check_settled)
        self._drift = QTimer(self)
        self._drift.setInterval(_DRIFT_INTERVAL_MS)
        self._drift.timeout.connect(self._correct_drift)
        self.frame_locked = True
        """Play by stepping both sides together (exact) rather than on two clocks."""
        self.locked_frames = 0
        """Frames shown by the current (or last) frame-locked playback."""
        self._locked_started = 0.0
        self._locked_step_at = 0.0
        self._locked = QTimer(self)
        self._locked.setInterval(_LOCKED_POLL_MS)
        self._locked.timeout.connect(self._locked_tick)

    def _connect(self, side: _Side) -> None:
        label = "AB"[side.index]
        player = side.player

        def on_position(_seconds: float) -> None:
            side.last_event = time.monotonic()
            self.side_changed.emit(side.state())

        def on_restart() -> None:
            side.last_event = side.restarted_at = time.monotonic()
            if side.waiting in ("restart", "move"):
                side.evidence = True

        def on_frame(_count: int) -> None:
            side.last_event = time.monotonic()
            self.frame_ready.emit(side.index)

        def on_error(message: str) -> None:
            self.error.emit(f"{label}: {message}")

        def on_loaded(_title: str) -> None:
            side.loaded = True

        def on_ended() -> None:
            if self._playing and side.index == 0:
                self.pause()

        player.position_changed.connect(on_position)
        player.seek_completed.connect(on_restart)
        player.error.connect(on_error)
        player.loaded.connect(on_loaded)
        player.ended.connect(on_ended)
        player.video_size_changed.connect(self._match_render_sizes)
        side.source.frame_ready.connect(on_frame)
        if side.index == 0:
            player.duration_changed.connect(self.duration_changed.emit)

    # ------------------------------------------------------------------ state
    @property
    def players(self) -> tuple[Player, Player]:
        """``(A, B)`` players."""
        return (self._sides[0].player, self._sides[1].player)

    @property
    def sources(self) -> tuple[MpvFrameSource, MpvFrameSource]:
        """``(A, B)`` off-screen frame sources."""
        return (self._sides[0].source, self._sides[1].source)

    @property
    def busy(self) -> bool:
        """``True`` while a command is being carried out (sides not settled)."""
        return self._busy

    @property
    def playing(self) -> bool:
        """``True`` while both sides play."""
        return self._playing

    @property
    def locked_fps(self) -> float:
        """Frames per second reached by the current frame-locked playback (0.0 before
        its second frame): below the source's rate when decoding cannot keep up."""
        elapsed = time.monotonic() - self._locked_started
        return self.locked_frames / elapsed if self.locked_frames > 1 and elapsed > 0 else 0.0

    @property
    def duration(self) -> float:
        """Side A's duration in seconds (0.0 before a load)."""
        return self._sides[0].player.duration

    @property
    def time(self) -> float:
        """The pair time in seconds: side A's PTS minus A's offset."""
        return self._sides[0].normalised()

    def state(self, side: int) -> SideState:
        """What side ``side`` (0 = A, 1 = B) shows now."""
        return self._sides[side].state()

    def offset(self, side: int) -> int:
        """Offset of ``side`` in frames."""
        return self._sides[side].offset

    def in_lockstep(self) -> bool:
        """``True`` when both sides' normalised PTS agree within half a frame."""
        a, b = self._sides
        tolerance = 0.5 * min(a.frame_duration, b.frame_duration)
        return abs(a.normalised() - b.normalised()) < tolerance

    # ------------------------------------------------------------------ commands
    def load(
        self,
        source_a: PlaybackSource,
        source_b: PlaybackSource,
        frame: int = 0,
        fps_hints: tuple[float | None, float | None] = (None, None),
    ) -> None:
        """Open both sources paused, then show frame ``frame`` of side A (0-based) with
        side B aligned. ``fps_hints`` are frames/s to use until mpv reports the rate.
        :attr:`loaded` then :attr:`synced` follow; failures arrive as :attr:`error`.
        Raises ``ValueError`` for a multivariant source (not seekable on libmpv 0.35).
        """
        for source in (source_a, source_b):
            if source.kind != "media":
                raise ValueError(
                    f"{source.title} is an adaptive (multivariant) playlist: compare single "
                    "renditions (rungs or v1)."
                )
        self._pending = None
        self._set_playing(False)
        self._target_frame = max(0, int(frame))
        self._phase = "load"
        for side, source, hint in zip(self._sides, (source_a, source_b), fps_hints, strict=True):
            side.loaded = False
            side.fps_hint = hint
            side.first_pts = 0.0
            side.player.pause()
            side.player.load(source)
            side.arm("load", _SEEK_TIMEOUT_S)
        self._start_waiting()

    def seek(self, seconds: float) -> None:
        """Exact seek of both sides to the frame on screen at pair time ``seconds`` (each
        side adds its offset)."""
        self._run("seek", float(seconds))

    def seek_frame(self, frame: int) -> None:
        """Go to pair frame ``frame`` (0-based from side A's first frame): side X then
        shows its frame ``frame + offset_X``, at the same normalised PTS as the other."""
        a = self._sides[0]
        self.seek(a.first_pts + int(frame) * a.frame_duration)

    def step(self, frames: int = 1) -> None:
        """One frame forward (``frames`` > 0) or back (< 0) on both sides; pauses."""
        if frames:
            self._run("step", 1 if frames > 0 else -1)

    def play(self) -> None:
        """Play both sides from where they are."""
        self._run("play", None)

    def pause(self) -> None:
        """Pause both sides and align them exactly (then :attr:`synced`)."""
        self._run("pause", None)

    def toggle_pause(self) -> None:
        """Pause when playing, else play."""
        if self._playing:
            self.pause()
        else:
            self.play()

    def set_offset(self, side: int, frames: int) -> None:
        """Offset of ``side`` (0 = A, 1 = B) in frames; re-aligns at once when paused."""
        target = self.time
        self._sides[side].offset = int(frames)
        if any(s.loaded for s in self._sides) and not self._playing:
            self._run("seek", target)

    def first_frame_offset(self) -> int:
        """B's offset (frames) that puts both sides' first frames together: sources that
        start differently (an MP4 source whose first frame has PTS 0 against HLS rungs
        whose first frame has PTS 2/24 s after B-frame reordering) then show the same
        frame numbers. Known once both sides are loaded."""
        a, b = self._sides
        return a.offset + round((b.first_pts - a.first_pts) * b.fps)

    def align_first_frames(self) -> int:
        """Set B's offset to :meth:`first_frame_offset` (re-aligns at once); returns it."""
        frames = self.first_frame_offset()
        self.set_offset(1, frames)
        return frames

    def shutdown(self) -> None:
        """Stop timers and terminate both cores (idempotent)."""
        if self._shut_down:
            return
        self._shut_down = True
        self._poll.stop()
        self._drift.stop()
        for side in self._sides:
            side.player.shutdown()

    # ------------------------------------------------------------------ internals
    def _run(self, name: str, argument: Any) -> None:
        if self._shut_down or not all(s.loaded for s in self._sides):
            return
        if self._busy:
            self._pending = (name, argument)  # the latest request wins
            return
        if name == "play":
            self._set_playing(True)
            if self.frame_locked:
                self.locked_frames = 0
                self._locked_started = time.monotonic()
                self._locked_step()
                return
            for side in self._sides:
                side.player.set_speed(1.0)
                side.player.play()
            return
        self._phase = "op"
        self._align_rounds = 0
        if name == "pause":
            self._set_playing(False)
            for side in self._sides:
                side.player.pause()
                side.arm("pause", _STEP_TIMEOUT_S)
        elif name == "seek":
            self._set_playing(False)
            self._seek_sides(self._on_frame_grid(argument))
            return
        elif name == "step" and argument > 0:
            self._set_playing(False)
            for side in self._sides:
                side.player.frame_step()
                side.arm("move", _STEP_TIMEOUT_S)
        elif name == "step":
            self._set_playing(False)
            self._seek_sides(self._on_frame_grid(self.time) - self._sides[0].frame_duration)
            return
        self._start_waiting()

    def _seek_sides(self, pair_time: float) -> None:
        for side in self._sides:
            side.go_to(pair_time)
        self._start_waiting()

    def _on_frame_grid(self, seconds: float) -> float:
        """The PTS of side A's frame on screen at pair time ``seconds``: mpv reports the
        seek target itself as ``time-pos`` after an exact seek between two frames."""
        a = self._sides[0]
        index = math.floor((seconds - a.first_pts) * a.fps + 1e-6)
        return a.first_pts + max(0, index) * a.frame_duration

    def _start_waiting(self) -> None:
        if not self._busy:
            self._busy = True
            self.busy_changed.emit(True)
        self._poll.start()

    def _set_playing(self, playing: bool) -> None:
        if playing == self._playing:
            return
        self._playing = playing
        if playing and not self.frame_locked:
            self._drift.start()
        elif not playing:
            self._drift.stop()
            self._locked.stop()
            for side in self._sides:
                side.player.set_speed(1.0)
        self.playing_changed.emit(playing)

    @Slot()
    def _check_settled(self) -> None:
        now = time.monotonic()
        results = []
        for side in self._sides:
            result = side.settled(now)
            if result is not False and side.pursue():
                result = False
            results.append(result)
        if any(r is False for r in results):
            return
        self._poll.stop()
        if any(r is None for r in results) and self._phase != "op":
            log.info("a side did not confirm its %s in time", self._phase)
        if self._phase == "load":
            self._after_load()
        else:
            self._align()

    def _after_load(self) -> None:
        if not all(s.loaded for s in self._sides):
            self._finish(aligned=False)
            return
        for side in self._sides:
            side.first_pts = side.player.position
        self._phase = "op"
        self._align_rounds = 0
        a = self._sides[0]
        self._emit_loaded = True
        self._seek_sides(a.first_pts + self._target_frame * a.frame_duration)

    def _align(self) -> None:
        a, b = self._sides
        if self.in_lockstep():
            self._finish(aligned=True)
            return
        if self._align_rounds >= MAX_ALIGN_ROUNDS:
            self.error.emit(
                f"The sides could not be aligned: A shows {a.player.position:.3f} s, "
                f"B {b.player.position:.3f} s (offsets {a.offset}, {b.offset} frames)."
            )
            self._finish(aligned=False)
            return
        self._align_rounds += 1
        self._phase = "align"
        # B follows A; should B be unable to show that PTS, A follows B the next round.
        leader, follower = (a, b) if self._align_rounds % 2 else (b, a)
        follower.go_to(leader.normalised())
        self._start_waiting()

    def _finish(self, *, aligned: bool) -> None:
        self._phase = "idle"
        if self._emit_loaded:
            self._emit_loaded = False
            self.loaded.emit()
        for side in self._sides:
            self.side_changed.emit(side.state())
        if aligned:
            self.synced.emit(self.time)
        pending, self._pending = self._pending, None
        self._busy = False
        if pending is not None:
            self._run(*pending)
        if not self._busy:
            self.busy_changed.emit(False)

    @Slot()
    def _match_render_sizes(self) -> None:
        """Render both sides at the taller side's video size, so a lower rung is scaled
        by mpv to the reference's size before it is compared (as a spot-check does)."""
        sizes = [s.player.video_size for s in self._sides if all(s.player.video_size)]
        if not sizes:
            return
        width, height = max(sizes, key=lambda size: (size[1], size[0]))
        for side in self._sides:
            side.source.set_render_size(QSize(width, height))

    def render_size(self) -> QSize:
        """The size (pixels) both sides' frames are rendered at."""
        return self._sides[0].source.render_size()

    def _locked_step(self) -> None:
        """Frame-locked playback: step both sides one frame, then wait (``_locked_tick``)."""
        self._locked_step_at = time.monotonic()
        for side in self._sides:
            side.player.frame_step()
            side.arm("move", _STEP_TIMEOUT_S)
        self._locked.start()

    @Slot()
    def _locked_tick(self) -> None:
        if not self._playing or self._busy:
            self._locked.stop()
            return
        now = time.monotonic()
        moved = [abs(s.player.position - s.start_pos) > 1e-6 for s in self._sides]
        if not all(moved):
            if now >= self._sides[0].deadline:  # the end, or a side that cannot step
                self._locked.stop()
                self._run("pause", None)
            return
        if now - self._locked_step_at < self._sides[0].frame_duration:
            return  # real time at most
        self._locked.stop()
        for side in self._sides:
            side.waiting = None
        self.locked_frames += 1
        if not self.in_lockstep():
            log.info("frame-locked playback left lockstep at %.3f s: re-aligning", self.time)
            self._run("pause", None)
            return
        self.locked_frame.emit(self.time)
        self._locked_step()

    @Slot()
    def _correct_drift(self) -> None:
        if not self._playing or self._busy:
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

