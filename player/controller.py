"""The player controller: one libmpv core behind typed Qt signals.

Threading contract (docs/architecture.md §2): libmpv calls back on its own event thread, where
``player.mpv_core`` only re-emits the callbacks as Qt signals; :class:`Player` receives
them queued, so every public signal is emitted on the GUI thread. The GUI thread never
waits for mpv: commands are asynchronous, and what it reads (position, duration, stats)
comes from property values cached on the GUI side. The only blocking call is
:meth:`Player.shutdown` (``mpv_terminate_destroy``), once.

Its parts: ``player.mpv_core`` (the core, lazy ``import mpv``), ``player.file_timeline``
(which file's events count; position, duration, end), ``player.mpv_messages`` (operator
sentences from mpv's log), ``player.playback_stats``, ``player.seek_range`` (the
multivariant seek guard) and ``player.render_link`` (the render context's owner). What
stays here (~460 lines, just over the house's ~450) is the public surface, each signal and
method with its units, and the event handling that shares one state with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal, Slot

from player.file_timeline import FileTimeline
from player.mpv_core import (
    MEDIA_CACHE_BYTES,
    MULTIVARIANT_CACHE_BYTES,
    MpvCore,
    PlayerNotAvailable,
    core_options,
)
from player.mpv_messages import FAILURE_GRACE_MS, MpvMessages, refused_load
from player.playback_stats import (
    STATS_INTERVAL_MS,
    STATS_PROPERTIES,
    PlaybackStats,
    frame_rate,
    read_stats,
)
from player.render_link import RenderClient, RenderLink
from player.seek_range import seek_refusal
from services.playback import PlaybackSource

__all__ = ["Player"]

log = logging.getLogger(__name__)


class Player(QObject):
    """A libmpv player with typed signals (modelled on Picard's ``Player``).

    Construct it after the ``QApplication`` exists; it sets ``LC_NUMERIC`` to ``"C"``
    (libmpv requirement) and creates one ``mpv.MPV`` core with ``vo=libmpv``: pictures are
    drawn by a video widget from ``player.video_widget`` (``create_video_widget``), which
    must exist before :meth:`load` so the core has a render context when video starts.

    **Seeking anywhere in a rung.** On libmpv 0.35.1 a seek outside the demuxer cache of
    an fMP4 HLS stream ends playback with garbage (FFmpeg's HLS demuxer loses the ``moov``
    context). A media playlist is therefore loaded as an mpv EDL timeline with the
    ``!mp4_dash`` header (``services.playback.edl_for_segments``): mpv reads the init
    segment once, knows each segment's start from the summed EXTINF durations, and opens
    only the segment a seek lands in. Exact seeks then work anywhere and backwards, even
    with a tiny cache. A multivariant playlist still plays as HLS (mpv picks the variant)
    with a large cache (:data:`MULTIVARIANT_CACHE_BYTES`), and :meth:`seek` refuses targets
    outside the buffered ranges there (emitting :attr:`error`) instead of breaking playback.

    Signals (all emitted on the GUI thread):
        position_changed(float): playback position in seconds.
        duration_changed(float): duration in seconds (0.0 after :meth:`stop`).
        pause_changed(bool): ``True`` when paused.
        loaded(str): a source finished loading; the argument is its title.
        ended(): playback reached the end (the last frame stays on screen).
        error(str): a readable sentence for the operator (load failure with the reason,
            e.g. HTTP 404; a segment that cannot be fetched; a refused seek).
        stats_changed(object): a :class:`PlaybackStats`, polled every 500 ms while a
            source is loaded, emitted when it changed.
        seek_completed(): playback restarted after a seek or a load (frame decoded).
        video_size_changed(int, int): display width and height of the decoded video in
            pixels (``dw`` x ``dh`` of mpv's ``video-params``), as soon as they change.

    Errors: the constructor raises :class:`PlayerNotAvailable` when there is no
    ``QCoreApplication`` or libmpv cannot be loaded/initialised. Playback problems never
    raise; they are reported through :attr:`error`.
    """

    position_changed = Signal(float)
    duration_changed = Signal(float)
    pause_changed = Signal(bool)
    loaded = Signal(str)
    ended = Signal()
    error = Signal(str)
    stats_changed = Signal(object)
    seek_completed = Signal()
    video_size_changed = Signal(int, int)

    _OBSERVED = ("time-pos", "duration", "pause", "eof-reached", "vid", *STATS_PROPERTIES)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        audio_output: str | None = None,
        media_cache_bytes: int = MEDIA_CACHE_BYTES,
        multivariant_cache_bytes: int = MULTIVARIANT_CACHE_BYTES,
        network_timeout: float = 15.0,
        extra_options: Mapping[str, Any] | None = None,
    ) -> None:
        """Create the libmpv core.

        Args:
            parent: Qt parent.
            audio_output: mpv ``ao``; ``None`` picks ``"null"`` when ``VIDEO_OPS_AUDIO=null``
                or on the ``offscreen``/``minimal`` Qt platforms, else mpv's default.
            media_cache_bytes: demuxer cache (bytes, forward and back) for media sources.
            multivariant_cache_bytes: demuxer cache (bytes, forward and back) for
                multivariant sources.
            network_timeout: seconds before a stalled HTTP request fails.
            extra_options: more mpv options (``name=value``), applied last.

        Raises:
            PlayerNotAvailable: no ``QCoreApplication`` yet, or libmpv failed to load.
        """
        super().__init__(parent)
        app = QCoreApplication.instance()
        if app is None:
            raise PlayerNotAvailable("create the QApplication before the Player")
        self._media_cache_bytes = int(media_cache_bytes)
        self._multivariant_cache_bytes = int(multivariant_cache_bytes)
        options = core_options(
            audio_output=audio_output,
            cache_bytes=self._media_cache_bytes,
            network_timeout=network_timeout,
            extra=extra_options,
        )
        self._core = MpvCore(options, self)

        self._source: PlaybackSource | None = None
        self._file = FileTimeline(
            self.position_changed.emit, self.duration_changed.emit, self.ended.emit
        )
        self._paused = False
        self._props: dict[str, Any] = {}
        self._stats = PlaybackStats()
        self._messages = MpvMessages()
        self._render = RenderLink(self._core)
        self._load_started: float | None = None
        self._video_size = (0, 0)
        self._shut_down = False

        queued = Qt.ConnectionType.QueuedConnection
        self._core.property_changed.connect(self._on_property, queued)
        self._core.event.connect(self._on_event, queued)
        self._core.log_line.connect(self._on_log, queued)
        self._core.command_failed.connect(self._on_command_failed, queued)

        self._stats_timer = QTimer(self)
        self._stats_timer.setInterval(STATS_INTERVAL_MS)
        self._stats_timer.timeout.connect(self._poll_stats)
        self._core.observe(self._OBSERVED)
        app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ properties
    @property
    def position(self) -> float:
        """Last known playback position in seconds (0.0 when nothing is loaded)."""
        return self._file.position

    @property
    def duration(self) -> float:
        """Duration of the loaded source in seconds (0.0 when unknown or nothing loaded)."""
        return self._file.duration

    @property
    def paused(self) -> bool:
        """``True`` when playback is paused."""
        return self._paused

    @property
    def source(self) -> PlaybackSource | None:
        """The source last passed to :meth:`load` (``None`` after :meth:`stop`)."""
        return self._source

    @property
    def stats(self) -> PlaybackStats:
        """The latest :class:`PlaybackStats` snapshot."""
        return self._stats

    @property
    def frame_rate(self) -> float | None:
        """Frames per second of the loaded video: the container's rate, else mpv's estimate
        (available once a frame is decoded, also for EDL timelines), else the last known
        value; ``None`` while unknown."""
        return frame_rate(self._props, self._stats.fps)

    @property
    def video_size(self) -> tuple[int, int]:
        """Display size ``(width, height)`` in pixels of the last decoded video, else (0, 0)."""
        return self._video_size

    @property
    def is_shut_down(self) -> bool:
        """``True`` once :meth:`shutdown` ran; every other method is then a no-op."""
        return self._shut_down

    @property
    def mpv_version(self) -> str:
        """The libmpv version string (e.g. ``"mpv 0.35.1"``); empty after shutdown."""
        return self._core.mpv_version

    # ------------------------------------------------------------------ render API
    def create_render_context(self, client: RenderClient, api_type: str, **params: Any) -> Any:
        """Create the core's render context for ``client`` (a video widget).

        ``api_type`` is ``"opengl"`` or ``"sw"``; ``params`` are python-mpv render params
        (e.g. ``opengl_init_params``). One core has one render context: a previous client
        is asked to release its context first. Returns the ``mpv.MpvRenderContext``.

        Raises:
            PlayerNotAvailable: after :meth:`shutdown`.
            ValueError / RuntimeError: libmpv refused to create the context.
        """
        return self._render.attach(client, api_type, has_source=self._source is not None, **params)

    def forget_render_context(self, client: RenderClient) -> None:
        """Called by a widget after it freed its render context itself."""
        self._render.detach(client, has_source=self._source is not None)

    # ------------------------------------------------------------------ commands
    def load(self, source: PlaybackSource, start: float = 0.0) -> None:
        """Open ``source`` and start playing at ``start`` seconds (paused state is kept).

        A ``"media"`` source is an ``edl://`` timeline with the ``!mp4_dash`` header, so
        the whole rung is seekable on libmpv 0.35 (see the class docstring); a
        ``"multivariant"`` source plays as HLS with a large cache. Progress arrives as
        :attr:`duration_changed`, :attr:`loaded` and the first frame in the video widget;
        a failure arrives as :attr:`error` with the reason (e.g. HTTP 404 on the init
        segment). Never raises for playback problems.
        """
        if not self._core.alive:
            return
        if self._render.client is None:
            log.warning("Player.load() without a video widget: video will be disabled")
        self._source = source
        self._reset_state()
        self._render.new_file()
        self._load_started = time.monotonic()
        self._file.begin_load(start)
        multivariant = source.kind == "multivariant"
        cache = self._multivariant_cache_bytes if multivariant else self._media_cache_bytes
        self._core.loadfile(source.url, cache_bytes=cache, start=float(start or 0.0))
        if source.duration:
            self._file.set_duration(float(source.duration))

    def play(self) -> None:
        """Resume playback; at the end of the source, restart from the beginning."""
        if not self._core.alive:
            return
        if self._file.eof and self._source is not None:
            if self._seek_allowed(0.0, report=False):
                self.seek(0.0)
            else:  # multivariant: the start left the cache; reopen instead
                self.load(self._source)
        self._core.command("set", "pause", "no")

    def pause(self) -> None:
        """Pause playback (the current frame stays on screen)."""
        self._core.command("set", "pause", "yes")

    def toggle_pause(self) -> None:
        """Pause when playing, play when paused."""
        if self._paused or self._file.eof:
            self.play()
        else:
            self.pause()

    def seek(self, seconds: float, exact: bool = True) -> bool:
        """Seek to ``seconds`` (absolute, clamped to [0, duration]).

        ``exact`` decodes up to the exact frame (hr-seek); ``False`` lands on a keyframe.
        Returns ``False`` (and emits :attr:`error`) when the target is outside the
        buffered ranges of a multivariant source, where libmpv 0.35 cannot seek.
        """
        if not self._core.alive or self._source is None:
            return False
        target = max(0.0, float(seconds))
        if self._file.duration > 0:
            target = min(target, self._file.duration)
        if not self._seek_allowed(target):
            return False
        self._file.eof = False
        mode = "absolute+exact" if exact else "absolute+keyframes"
        self._core.command("seek", repr(target), mode)
        return True

    def seek_relative(self, seconds: float, exact: bool = True) -> bool:
        """Seek by ``seconds`` (negative = backwards) from the current position."""
        return self.seek(self._file.position + float(seconds), exact=exact)

    def seek_fraction(self, fraction: float, exact: bool = True) -> bool:
        """Seek to ``fraction`` (0..1, clamped) of the duration; no-op while it is unknown."""
        if self._file.duration <= 0:
            return False
        f = min(1.0, max(0.0, float(fraction)))
        return self.seek(f * self._file.duration, exact=exact)

    def frame_step(self) -> None:
        """Pause and show the next frame (one frame duration later, e.g. 1/24 s)."""
        self._core.command("frame-step")

    def set_speed(self, factor: float) -> None:
        """Playback speed (1.0 = real time; clamped to 0.01..100, mpv's range)."""
        self._core.command("set", "speed", repr(min(100.0, max(0.01, float(factor)))))

    def frame_back_step(self) -> None:
        """Pause and show the previous frame (mpv seeks back and decodes forward)."""
        if not self._seek_allowed(max(0.0, self._file.position - 1.0)):
            return
        self._file.eof = False
        self._core.command("frame-back-step")

    def stop(self) -> None:
        """Unload the source; the player goes idle (position and duration become 0)."""
        if not self._core.alive:
            return
        self._core.command("stop")
        self._source = None
        self._file.unload()
        self._reset_state()
        self.position_changed.emit(0.0)
        self.duration_changed.emit(0.0)

    def shutdown(self) -> None:
        """Free the render context, then terminate the libmpv core (blocks briefly).

        Idempotent; called automatically on ``QCoreApplication.aboutToQuit``. After it,
        every method is a no-op and no signal is emitted any more.
        """
        if self._shut_down:
            return
        self._shut_down = True
        self._stats_timer.stop()
        self._render.release()
        self._core.terminate()
        try:
            app = QCoreApplication.instance()
            if app is not None:
                app.aboutToQuit.disconnect(self.shutdown)
        except (RuntimeError, TypeError):
            pass

    # ------------------------------------------------------------------ internals
    def _reset_state(self) -> None:
        self._stats_timer.stop()
        self._file.reset()
        self._messages.clear()
        self._stats = PlaybackStats()

    def _seek_allowed(self, target: float, report: bool = True) -> bool:
        """``False`` for a target outside the buffered ranges of a multivariant source
        (``player.seek_range``), after emitting :attr:`error` when ``report``."""
        kind = self._source.kind if self._source is not None else None
        refusal = seek_refusal(kind, self._props.get("demuxer-cache-state"), target)
        if refusal is not None and report:
            self.error.emit(refusal)
        return refusal is None

    def _title(self) -> str | None:
        return self._source.title if self._source is not None else None

    # -- GUI thread: the core's signals, queued ----------------------------------
    @Slot(str, object)
    def _on_property(self, name: str, value: Any) -> None:
        if self._shut_down:
            return
        # Keep every value: mpv only notifies changes, so a value equal to the previous
        # file's (same duration, same codec) is never re-sent for the next file.
        self._props[name] = value
        if name == "pause":
            paused = bool(value)
            if paused != self._paused:
                self._paused = paused
                self.pause_changed.emit(paused)
        elif name == "video-params":
            params = value or {}
            size = (int(params.get("dw") or 0), int(params.get("dh") or 0))
            if all(size) and size != self._video_size:
                self._video_size = size
                self.video_size_changed.emit(*size)
        elif name == "vid":
            if value is False and self._source is not None:
                self._render.video_disabled(self._props.get("track-list") or [])
        else:  # time-pos, duration, eof-reached (ignored while a load() is pending)
            self._file.observe(name, value)

    @Slot(str, object)
    def _on_event(self, name: str, data: Any) -> None:
        if self._shut_down:
            return
        if name == "start-file":
            self._file.start_file()
            return
        if self._file.replacing:
            return  # an event of the file that the pending load() replaces
        if name == "file-loaded":
            self._on_file_loaded()
        elif name == "playback-restart":
            self.seek_completed.emit()
        elif name == "end-file":
            reason = str(data.get("reason", ""))
            if reason == "error":
                self._stats_timer.stop()
                self._file.failed()
                # libmpv delivers queued events before queued log messages, so the log
                # lines explaining this failure may still be on their way: wait a moment.
                generation = self._file.generation
                file_error = str(data.get("file_error", ""))
                QTimer.singleShot(
                    FAILURE_GRACE_MS,
                    self,
                    lambda: self._report_load_failure(generation, file_error),
                )
            elif reason == "eof":
                self._file.end_of_file()

    def _on_file_loaded(self) -> None:
        self._file.loaded(self._props.get("duration"))
        if self._load_started is not None:
            elapsed_ms = (time.monotonic() - self._load_started) * 1000
            log.info("loaded %s in %.0f ms", self._title() or "?", elapsed_ms)
        self._stats_timer.start()
        self.loaded.emit(self._title() or "")

    @Slot(str, str, str)
    def _on_log(self, level: str, prefix: str, text: str) -> None:
        message = self._messages.note(level, prefix, text, self._title())
        if message is not None and not self._shut_down:
            self.error.emit(message)

    @Slot(str, str)
    def _on_command_failed(self, name: str, message: str) -> None:
        if self._shut_down:
            return
        if name == "loadfile":
            self._file.load_refused()
            self.error.emit(refused_load(self._title(), message))
        else:
            log.debug("mpv command %s failed: %s", name, message)

    def _report_load_failure(self, generation: int, file_error: str) -> None:
        if not self._shut_down and generation == self._file.generation:
            self.error.emit(self._messages.load_failure(file_error, self._title()))

    @Slot()
    def _poll_stats(self) -> None:
        if self._shut_down or not self._file.file_loaded:
            return
        multivariant = self._source is not None and self._source.kind == "multivariant"
        stats = read_stats(self._props, multivariant=multivariant, last=self._stats)
        if stats != self._stats:
            self._stats = stats
            self.stats_changed.emit(stats)
