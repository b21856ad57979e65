"""Two players in lockstep for side-by-side comparison (sides ``A`` = 0 and ``B`` = 1).

Sync strategy
-------------
Each side is a separate libmpv core (:class:`player.controller.Player`) rendering off
screen through :class:`player.frame_source.MpvFrameSource`; two cores stepped and seeked
together stay frame-identical on this libmpv (docs/platform.md). Media playlists play as mpv EDL
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
  for -1 frame. Each side reaches a PTS on its own (``SyncSide.go_to``, with seeks back and
  frame steps where a seek cannot land: see ``player.sync_side``).
* **Settling.** After a command each side waits for its evidence (a restart after a seek,
  a new position after a step, the pause flag after a pause), then for quiet
  (``SyncSide.settled``; the rules and their measured delays are in ``player.sync_side``).
  When both sides have settled the pair compares their normalised PTS; if they differ (a
  frame step skipped a frame on one side, different segment layouts of v1 and a rung), B
  goes to A's PTS (then A to B's, alternately), at most :data:`MAX_ALIGN_ROUNDS` rounds.
  Then :attr:`synced` fires.
* **Playback** (``player.sync_playback``) is frame-locked by default (:attr:`frame_locked`):
  both cores stay paused and are frame-stepped together, at most at real time, never
  apart; a step that leaves lockstep or cannot move (the end) pauses and re-aligns.
  Free playback (``frame_locked = False``) runs two clocks, B's speed nudged to close a
  drift; pausing re-aligns both sides exactly.

The module is split by concern: the per-side settle and PTS-reaching rules in
``player.sync_side``, playback in ``player.sync_playback``; this module keeps the pair's
commands, phases (:class:`PairPhase`) and alignment rounds, which share one state.

Both sides render at the taller side's video size (``render_size``): a 360p rung compared
with 720p is upscaled by mpv's scaler, as a spot-check scales a rung to the reference.

Limits: in free playback the sides can be a frame or two apart (two clocks, no shared
decoder); they are frame-exact once paused (after :attr:`synced`) and at every frame of
frame-locked playback, which may run below real time. Sources with
different frame rates are aligned by time, so their frame counters advance differently.
Multivariant (ABR) sources cannot seek outside their cache on libmpv 0.35 and are refused.
"""

from __future__ import annotations

import enum
import logging
import time
from typing import Any

from PySide6.QtCore import QObject, QSize, QTimer, Signal, Slot

from player.controller import Player
from player.frame_source import MpvFrameSource
from player.sync_playback import PairPlayback
from player.sync_side import DEFAULT_FPS, SideState, SyncSide
from services.playback import PlaybackSource

__all__ = [
    "DEFAULT_FPS",
    "MAX_ALIGN_ROUNDS",
    "PairCommand",
    "PairPhase",
    "SideState",
    "SyncedPair",
]

log = logging.getLogger(__name__)

#: How many corrective seeks the pair tries before reporting that it cannot align.
MAX_ALIGN_ROUNDS = 4
_POLL_MS = 20  # how often a command's progress is checked


class PairPhase(enum.Enum):
    """What the pair is doing between a command and :attr:`SyncedPair.synced`."""

    IDLE = "idle"  # settled (or playing)
    LOAD = "load"  # both sources are opening
    OP = "op"  # a seek, step or pause is being carried out
    ALIGN = "align"  # a corrective seek after the sides settled apart


class PairCommand(enum.Enum):
    """A request to the pair; while it is busy, the latest one waits (the others drop)."""

    PLAY = "play"
    PAUSE = "pause"
    SEEK = "seek"  # argument: pair time in seconds
    STEP = "step"  # argument: +1 or -1 frame


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
            sides.append(SyncSide(index, player, source))
        self._sides: tuple[SyncSide, SyncSide] = (sides[0], sides[1])
        self._busy = False
        self._playing = False
        self._phase = PairPhase.IDLE
        self._align_rounds = 0
        self._pending: tuple[PairCommand, Any] | None = None
        self._target_frame = 0
        self._emit_loaded = False
        self._shut_down = False
        for side in self._sides:
            self._connect(side)
        self._poll = QTimer(self)
        self._poll.setInterval(_POLL_MS)
        self._poll.timeout.connect(self._check_settled)
        self._playback = PairPlayback(
            self._sides,
            active=lambda: self._playing and not self._busy,
            in_lockstep=self.in_lockstep,
            parent=self,
        )
        self._playback.frame_shown.connect(lambda: self.locked_frame.emit(self.time))
        self._playback.stop_requested.connect(self.pause)
        self.frame_locked = True
        """Play by stepping both sides together (exact) rather than on two clocks."""

    def _connect(self, side: SyncSide) -> None:
        side.wire(self.side_changed.emit, self.frame_ready.emit, self.error.emit)

        def on_ended() -> None:
            if self._playing and side.index == 0:
                self.pause()

        side.player.ended.connect(on_ended)
        side.player.video_size_changed.connect(self._match_render_sizes)
        if side.index == 0:
            side.player.duration_changed.connect(self.duration_changed.emit)

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
    def locked_frames(self) -> int:
        """Frames shown by the current (or last) frame-locked playback."""
        return self._playback.frames

    @property
    def locked_fps(self) -> float:
        """Frames per second reached by the current frame-locked playback (0.0 before
        its second frame): below the source's rate when decoding cannot keep up."""
        return self._playback.fps

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
        self._phase = PairPhase.LOAD
        for side, source, hint in zip(self._sides, (source_a, source_b), fps_hints, strict=True):
            side.load(source, hint)
        self._start_waiting()

    def seek(self, seconds: float) -> None:
        """Exact seek of both sides to the frame on screen at pair time ``seconds`` (each
        side adds its offset)."""
        self._run(PairCommand.SEEK, float(seconds))

    def seek_frame(self, frame: int) -> None:
        """Go to pair frame ``frame`` (0-based from side A's first frame): side X then
        shows its frame ``frame + offset_X``, at the same normalised PTS as the other."""
        a = self._sides[0]
        self.seek(a.first_pts + int(frame) * a.frame_duration)

    def step(self, frames: int = 1) -> None:
        """One frame forward (``frames`` > 0) or back (< 0) on both sides; pauses."""
        if frames:
            self._run(PairCommand.STEP, 1 if frames > 0 else -1)

    def play(self) -> None:
        """Play both sides from where they are."""
        self._run(PairCommand.PLAY, None)

    def pause(self) -> None:
        """Pause both sides and align them exactly (then :attr:`synced`)."""
        self._run(PairCommand.PAUSE, None)

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
            self._run(PairCommand.SEEK, target)

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
        """Stop every timer the pair owns (the settle poll, free play's drift correction,
        frame-locked play's stepping), end playback and any command silently, then
        terminate both cores. Idempotent; afterwards commands are no-ops."""
        if self._shut_down:
            return
        self._shut_down = True
        self._poll.stop()
        self._playback.halt()
        self._playing = self._busy = False
        self._pending = None
        for side in self._sides:
            side.player.shutdown()

    # ------------------------------------------------------------------ internals
    def _run(self, command: PairCommand, argument: Any) -> None:
        if self._shut_down or not all(s.loaded for s in self._sides):
            return
        if self._busy:
            self._pending = (command, argument)  # the latest request wins
            return
        if command == PairCommand.PLAY:
            self._set_playing(True)
            self._playback.start(locked=self.frame_locked)
            return
        self._phase = PairPhase.OP
        self._align_rounds = 0
        if command == PairCommand.PAUSE:
            self._set_playing(False)
            for side in self._sides:
                side.pause()
        elif command == PairCommand.SEEK:
            self._set_playing(False)
            self._seek_sides(self._sides[0].frame_pts(argument))
            return
        elif command == PairCommand.STEP and argument > 0:
            self._set_playing(False)
            for side in self._sides:
                side.step()
        elif command == PairCommand.STEP:
            self._set_playing(False)
            self._seek_sides(self._sides[0].frame_pts(self.time) - self._sides[0].frame_duration)
            return
        self._start_waiting()

    def _seek_sides(self, pair_time: float) -> None:
        for side in self._sides:
            side.go_to(pair_time)
        self._start_waiting()

    def _start_waiting(self) -> None:
        if not self._busy:
            self._busy = True
            self.busy_changed.emit(True)
        self._poll.start()

    def _set_playing(self, playing: bool) -> None:
        if playing == self._playing:
            return
        self._playing = playing
        if not playing:
            self._playback.stop()
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
        if any(r is None for r in results) and self._phase != PairPhase.OP:
            log.info("a side did not confirm its %s in time", self._phase.value)
        if self._phase == PairPhase.LOAD:
            self._after_load()
        else:
            self._align()

    def _after_load(self) -> None:
        if not all(s.loaded for s in self._sides):
            self._finish(aligned=False)
            return
        for side in self._sides:
            side.first_pts = side.player.position
        self._phase = PairPhase.OP
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
        self._phase = PairPhase.ALIGN
        # B follows A; should B be unable to show that PTS, A follows B the next round.
        leader, follower = (a, b) if self._align_rounds % 2 else (b, a)
        follower.go_to(leader.normalised())
        self._start_waiting()

    def _finish(self, *, aligned: bool) -> None:
        self._phase = PairPhase.IDLE
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
