"""The player controller: one libmpv core behind typed Qt signals.

Threading contract (DESIGN.md §2): libmpv calls back on its own event thread. Those
callbacks only re-emit private Qt signals, which Qt queues to the GUI thread; every public
signal is emitted on the GUI thread. The GUI thread never waits for mpv: commands and
property writes go through ``mpv_command_node_async``, and everything the GUI reads
(position, duration, stats) comes from property observers cached on the GUI side.
The only blocking call is :meth:`Player.shutdown` (``mpv_terminate_destroy``), once.

``mpv`` is imported lazily (inside functions), never at module import: importing it
before the ``QApplication`` exists under a non-C ``LC_NUMERIC`` segfaults (PLATFORM.md).
"""

from __future__ import annotations

import collections
import locale
import logging
import math
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication

from services.playback import PlaybackSource

if TYPE_CHECKING:  # pragma: no cover - typing only
    import mpv

__all__ = [
    "MEDIA_CACHE_BYTES",
    "MULTIVARIANT_CACHE_BYTES",
    "PlaybackStats",
    "Player",
    "PlayerNotAvailable",
    "RenderClient",
    "VariantInfo",
]

log = logging.getLogger(__name__)
mpv_log = logging.getLogger("player.mpv")

MiB = 1024 * 1024
#: Demuxer cache (bytes, each direction) for a media playlist played as an EDL timeline.
#: Seeking does not depend on it (any segment can be opened); it only smooths playback.
MEDIA_CACHE_BYTES = 64 * MiB
#: Demuxer cache (bytes, each direction) for a multivariant playlist played as HLS. Seeking
#: there only works inside the cache on libmpv 0.35, hence the large value.
MULTIVARIANT_CACHE_BYTES = 512 * MiB
#: Period of the stats poll (milliseconds).
STATS_INTERVAL_MS = 500
#: Milliseconds to wait for mpv's log lines after a load failure (they come after events).
_FAILURE_GRACE_MS = 150
#: Seconds of tolerance when checking a multivariant seek target against the cache.
_CACHE_EDGE_TOLERANCE = 0.25

_LOG_LEVELS = {
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
}
_URL_RE = re.compile(r"\b(?:https?|edl)://\S+")
_HTTP_ERROR_RE = re.compile(r"HTTP error (\d{3})\s*(.*)")
_FAILED_OPEN_RE = re.compile(r"Failed to open (\S+?)\.?$")
_TCP_ERROR_RE = re.compile(r"Connection to \S+ failed:\s*(.*)")
_HLS_SEGMENT_RE = re.compile(r"Failed to open segment (\d+)")


class PlayerNotAvailable(RuntimeError):
    """libmpv could not be loaded or initialised (missing ``libmpv2``, no QApplication)."""


class RenderClient(Protocol):
    """A video widget that owns the core's render context (see ``player.video_widget``)."""

    def release_render_context(self) -> None:
        """Free the render context; called by :meth:`Player.shutdown` before terminating."""


@dataclass(frozen=True)
class VariantInfo:
    """The HLS variant mpv selected in a multivariant playlist.

    Attributes:
        width, height: coded size of the variant's video track (pixels), if known.
        bandwidth_bps: the variant's bitrate in bits/s when mpv exposes it (``hls-bitrate``).
        index: 1-based position of the selected video track among the variants.
        count: number of video variants mpv sees.
    """

    width: int | None
    height: int | None
    bandwidth_bps: int | None
    index: int
    count: int

    @property
    def label(self) -> str:
        """Short text such as ``"1280x720 @ 2500 kbit/s (1/4)"``."""
        size = f"{self.width}x{self.height}" if self.width and self.height else "?"
        rate = f" @ {self.bandwidth_bps / 1000:.0f} kbit/s" if self.bandwidth_bps else ""
        return f"{size}{rate} ({self.index}/{self.count})"


@dataclass(frozen=True)
class PlaybackStats:
    """A snapshot of what is playing, emitted by :attr:`Player.stats_changed`.

    Attributes:
        width, height: decoded picture size in pixels (``None`` before the first frame).
        video_codec: short codec name, e.g. ``"h264"``.
        fps: frames per second (container rate, else mpv's estimate).
        video_bitrate_bps: measured video bitrate in bits/s (``None`` until mpv has
            measured one, which takes two keyframes).
        dropped_frames: frames dropped by the decoder plus by the video output.
        variant: the selected HLS variant for a multivariant source, else ``None``.
        cache_seconds: seconds of media buffered ahead of the playback position.
    """

    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    fps: float | None = None
    video_bitrate_bps: float | None = None
    dropped_frames: int = 0
    variant: VariantInfo | None = None
    cache_seconds: float | None = None


def _short_url(url: str) -> str:
    """A URL reduced to its last path components (gateway session tokens stay out)."""
    if url.startswith("edl://"):
        return "EDL timeline"
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    tail = "/".join(segments[-3:])
    return f".../{tail}" if len(segments) > 3 else f"/{tail}"


def _redact(text: str) -> str:
    return _URL_RE.sub(lambda m: _short_url(m.group(0).rstrip(".,)")), text)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


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

    # Private bridge signals: emitted on mpv's event thread, delivered queued on the GUI.
    _mpv_property = Signal(str, object)
    _mpv_event = Signal(str, object)
    _mpv_log = Signal(str, str, str)
    _mpv_command_failed = Signal(str, str)

    _OBSERVED = (
        "time-pos",
        "duration",
        "pause",
        "eof-reached",
        "video-params",
        "video-format",
        "container-fps",
        "estimated-vf-fps",
        "video-bitrate",
        "frame-drop-count",
        "decoder-frame-drop-count",
        "track-list",
        "demuxer-cache-state",
        "vid",
    )

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
        locale.setlocale(locale.LC_NUMERIC, "C")
        try:
            import mpv as mpv_module
        except (ImportError, OSError) as exc:
            raise PlayerNotAvailable(f"libmpv is not available: {exc}") from exc
        self._mpv_module = mpv_module

        self._media_cache_bytes = int(media_cache_bytes)
        self._multivariant_cache_bytes = int(multivariant_cache_bytes)
        options: dict[str, Any] = {
            "vo": "libmpv",
            "ao": audio_output or self._default_audio_output(),
            "ytdl": False,
            "config": False,
            "load_scripts": False,
            "osc": False,
            "input_default_bindings": False,
            "input_vo_keyboard": False,
            "idle": "yes",
            "keep_open": "yes",
            "hr_seek": "yes",
            "cache": "yes",
            "demuxer_max_bytes": self._media_cache_bytes,
            "demuxer_max_back_bytes": self._media_cache_bytes,
            "network_timeout": network_timeout,
        }
        if not options["ao"]:
            del options["ao"]
        options.update(extra_options or {})
        try:
            self._mpv: mpv.MPV | None = mpv_module.MPV(
                log_handler=self._on_mpv_log_thread, loglevel="warn", **options
            )
        except Exception as exc:  # libmpv raises plain ValueError/RuntimeError
            raise PlayerNotAvailable(f"libmpv failed to initialise: {exc}") from exc

        self._source: PlaybackSource | None = None
        self._position = 0.0
        self._duration = 0.0
        self._paused = False
        self._eof = False
        self._file_loaded = False
        self._props: dict[str, Any] = {}
        self._stats = PlaybackStats()
        self._recent_logs: collections.deque[tuple[str, str, str]] = collections.deque(maxlen=60)
        self._reported: set[str] = set()
        self._render_client: RenderClient | None = None
        self._render_context: Any = None
        self._video_rearm = False
        self._load_started: float | None = None
        # load() calls whose start-file event has not arrived yet: events and property
        # values seen meanwhile belong to the previous file and are ignored.
        self._loads_pending = 0
        self._generation = 0  # incremented by each load()
        self._start = 0.0
        self._video_size = (0, 0)
        self._shut_down = False

        self._mpv_property.connect(self._on_property, Qt.ConnectionType.QueuedConnection)
        self._mpv_event.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        self._mpv_log.connect(self._on_log, Qt.ConnectionType.QueuedConnection)
        self._mpv_command_failed.connect(
            self._on_command_failed, Qt.ConnectionType.QueuedConnection
        )

        self._stats_timer = QTimer(self)
        self._stats_timer.setInterval(STATS_INTERVAL_MS)
        self._stats_timer.timeout.connect(self._poll_stats)

        self._mpv.register_event_callback(self._on_mpv_event_thread)
        for name in self._OBSERVED:
            self._mpv.observe_property(name, self._on_mpv_property_thread)
        app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ properties
    @property
    def position(self) -> float:
        """Last known playback position in seconds (0.0 when nothing is loaded)."""
        return self._position

    @property
    def duration(self) -> float:
        """Duration of the loaded source in seconds (0.0 when unknown or nothing loaded)."""
        return self._duration

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
        return (
            _num(self._props.get("container-fps"))
            or _num(self._props.get("estimated-vf-fps"))
            or self._stats.fps
        )

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
        return self._mpv.mpv_version if self._mpv is not None else ""

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
        if self._mpv is None:
            raise PlayerNotAvailable("the player is shut down")
        if self._render_client is not None and self._render_client is not client:
            self._render_client.release_render_context()
        ctx = self._mpv_module.MpvRenderContext(self._mpv, api_type, **params)
        self._render_client = client
        self._render_context = ctx
        # libmpv disables video (vid=no) when the render context it used is freed, or when
        # a file starts without one: re-select the video track now, and once more if the
        # core only disables it after this call (see _on_property "vid").
        if self._source is not None:
            self._reselect_video()
        return ctx

    def _reselect_video(self) -> None:
        # Setting "auto" alone is a no-op when the option already says "auto".
        self._command("set", "vid", "no")
        self._command("set", "vid", "auto")

    def forget_render_context(self, client: RenderClient) -> None:
        """Called by a widget after it freed its render context itself."""
        if self._render_client is client:
            self._render_client = None
            self._render_context = None
            self._video_rearm = self._source is not None

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
        if self._mpv is None:
            return
        if self._render_client is None:
            log.warning("Player.load() without a video widget: video will be disabled")
        self._source = source
        self._reset_state()
        self._video_rearm = False
        self._load_started = time.monotonic()
        self._loads_pending += 1
        self._generation += 1
        self._start = max(0.0, float(start))
        cache = (
            self._multivariant_cache_bytes
            if source.kind == "multivariant"
            else self._media_cache_bytes
        )
        options = {
            "demuxer-max-bytes": str(cache),
            "demuxer-max-back-bytes": str(cache),
        }
        if start and start > 0:
            options["start"] = repr(float(start))
        opt_text = ",".join(f"{k}={v}" for k, v in options.items())
        if getattr(self._mpv, "mpv_version_tuple", (0, 0, 0)) >= (0, 38, 0):
            self._command("loadfile", source.url, "replace", "-1", opt_text)
        else:
            self._command("loadfile", source.url, "replace", opt_text)
        if source.duration:
            self._set_duration(float(source.duration))

    def play(self) -> None:
        """Resume playback; at the end of the source, restart from the beginning."""
        if self._mpv is None:
            return
        if self._eof and self._source is not None:
            if self._seek_allowed(0.0, report=False):
                self.seek(0.0)
            else:  # multivariant: the start left the cache; reopen instead
                self.load(self._source)
        self._command("set", "pause", "no")

    def pause(self) -> None:
        """Pause playback (the current frame stays on screen)."""
        self._command("set", "pause", "yes")

    def toggle_pause(self) -> None:
        """Pause when playing, play when paused."""
        if self._paused or self._eof:
            self.play()
        else:
            self.pause()

    def seek(self, seconds: float, exact: bool = True) -> bool:
        """Seek to ``seconds`` (absolute, clamped to [0, duration]).

        ``exact`` decodes up to the exact frame (hr-seek); ``False`` lands on a keyframe.
        Returns ``False`` (and emits :attr:`error`) when the target is outside the
        buffered ranges of a multivariant source, where libmpv 0.35 cannot seek.
        """
        if self._mpv is None or self._source is None:
            return False
        target = max(0.0, float(seconds))
        if self._duration > 0:
            target = min(target, self._duration)
        if not self._seek_allowed(target):
            return False
        self._eof = False
        mode = "absolute+exact" if exact else "absolute+keyframes"
        self._command("seek", repr(target), mode)
        return True

    def seek_relative(self, seconds: float, exact: bool = True) -> bool:
        """Seek by ``seconds`` (negative = backwards) from the current position."""
        return self.seek(self._position + float(seconds), exact=exact)

    def seek_fraction(self, fraction: float, exact: bool = True) -> bool:
        """Seek to ``fraction`` (0..1, clamped) of the duration; no-op while it is unknown."""
        if self._duration <= 0:
            return False
        f = min(1.0, max(0.0, float(fraction)))
        return self.seek(f * self._duration, exact=exact)

    def frame_step(self) -> None:
        """Pause and show the next frame (one frame duration later, e.g. 1/24 s)."""
        self._command("frame-step")

    def set_speed(self, factor: float) -> None:
        """Playback speed (1.0 = real time; clamped to 0.01..100, mpv's range)."""
        self._command("set", "speed", repr(min(100.0, max(0.01, float(factor)))))

    def frame_back_step(self) -> None:
        """Pause and show the previous frame (mpv seeks back and decodes forward)."""
        if self._source is not None and self._source.kind == "multivariant":
            if not self._seek_allowed(max(0.0, self._position - 1.0)):
                return
        self._eof = False
        self._command("frame-back-step")

    def stop(self) -> None:
        """Unload the source; the player goes idle (position and duration become 0)."""
        if self._mpv is None:
            return
        self._command("stop")
        self._source = None
        self._generation += 1
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
        core, self._mpv = self._mpv, None
        client = self._render_client
        if client is not None:
            try:
                client.release_render_context()
            except Exception:  # a half-destroyed widget must not keep mpv alive
                log.exception("video widget failed to release its render context")
            if self._render_context is not None:
                # The widget could not free it (its window is gone): free it here.
                try:
                    self._render_context.free()
                except Exception:
                    log.exception("freeing the mpv render context failed")
        self._render_client = None
        self._render_context = None
        if core is not None:
            core.terminate()
        try:
            app = QCoreApplication.instance()
            if app is not None:
                app.aboutToQuit.disconnect(self.shutdown)
        except (RuntimeError, TypeError):
            pass

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _default_audio_output() -> str | None:
        env = os.environ.get("VIDEO_OPS_AUDIO", "").strip()
        if env:
            return env
        if QGuiApplication.platformName() in ("offscreen", "minimal"):
            return "null"
        return None

    def _reset_state(self) -> None:
        self._stats_timer.stop()
        self._position = 0.0
        self._duration = 0.0
        self._eof = False
        self._file_loaded = False
        self._recent_logs.clear()
        self._reported.clear()
        self._stats = PlaybackStats()

    def _command(self, name: str, *args: str) -> None:
        core = self._mpv
        if core is None:
            return

        def done(err: BaseException | None, _result: Any) -> None:  # mpv event thread
            if err is not None:
                self._mpv_command_failed.emit(name, str(err))

        try:
            core.command_async(name, *args, callback=done)
        except Exception as exc:  # core shutting down
            log.debug("mpv command %s failed to queue: %s", name, exc)

    def _set_duration(self, seconds: float) -> None:
        if abs(seconds - self._duration) > 1e-6:
            self._duration = seconds
            self.duration_changed.emit(seconds)

    def _seek_allowed(self, target: float, report: bool = True) -> bool:
        if self._source is None or self._source.kind != "multivariant":
            return True
        state = self._props.get("demuxer-cache-state") or {}
        for span in state.get("seekable-ranges") or []:
            start, end = _num(span.get("start")), _num(span.get("end"))
            if start is None or end is None:
                continue
            if start - _CACHE_EDGE_TOLERANCE <= target <= end + _CACHE_EDGE_TOLERANCE:
                return True
        if not report:
            return False
        self.error.emit(
            f"Cannot seek to {_clock(target)} in the adaptive stream: that part is not "
            "buffered yet (libmpv cannot seek outside its cache in fMP4 HLS). "
            "Open a single rendition to seek anywhere."
        )
        return False

    # -- mpv event thread: re-emit only ------------------------------------------
    def _on_mpv_property_thread(self, name: str, value: Any) -> None:
        self._mpv_property.emit(name, value)

    def _on_mpv_event_thread(self, event: Any) -> None:
        mpv_module = self._mpv_module
        eid = event.event_id.value
        ids = mpv_module.MpvEventID
        if eid == ids.END_FILE:
            data = event.as_dict(decoder=mpv_module.lazy_decoder)
            self._mpv_event.emit("end-file", dict(data))
        elif eid == ids.START_FILE:
            self._mpv_event.emit("start-file", {})
        elif eid == ids.FILE_LOADED:
            self._mpv_event.emit("file-loaded", {})
        elif eid == ids.PLAYBACK_RESTART:
            self._mpv_event.emit("playback-restart", {})

    def _on_mpv_log_thread(self, level: str, prefix: str, text: str) -> None:
        self._mpv_log.emit(level, prefix, text)

    # -- GUI thread -------------------------------------------------------------
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
            if value is False and self._video_rearm and self._render_context is not None:
                tracks = self._props.get("track-list") or []
                if self._source is not None and any(t.get("type") == "video" for t in tracks):
                    self._video_rearm = False  # once per render context: no retry loop
                    self._reselect_video()
        elif not self._loads_pending:  # else: a value of the file being replaced
            self._apply_timing(name, value)

    def _apply_timing(self, name: str, value: Any) -> None:
        if name == "time-pos":
            pos = _num(value)
            if pos is not None and pos != self._position:
                self._position = pos
                self.position_changed.emit(pos)
        elif name == "duration":
            dur = _num(value)
            if dur is not None and dur > 0:
                self._set_duration(dur)
        elif name == "eof-reached":
            eof = bool(value)
            if eof and not self._eof and self._file_loaded:
                self._eof = True
                self.ended.emit()
            elif not eof:
                self._eof = False

    @Slot(str, object)
    def _on_event(self, name: str, data: Any) -> None:
        if self._shut_down:
            return
        if name == "start-file":
            self._loads_pending = max(0, self._loads_pending - 1)
            return
        if self._loads_pending:
            return  # an event of the file that the pending load() replaces
        if name == "file-loaded":
            self._file_loaded = True
            if "duration" in self._props:
                self._apply_timing("duration", self._props["duration"])
            # time-pos is only re-sent when it differs from the last value mpv sent,
            # which is not the case when a rendition switch restarts at the same second.
            if self._position != self._start:
                self._position = self._start
                self.position_changed.emit(self._start)
            if self._load_started is not None:
                log.info(
                    "loaded %s in %.0f ms",
                    self._source.title if self._source else "?",
                    (time.monotonic() - self._load_started) * 1000,
                )
            self._stats_timer.start()
            self.loaded.emit(self._source.title if self._source else "")
        elif name == "playback-restart":
            self.seek_completed.emit()
        elif name == "end-file":
            reason = str(data.get("reason", ""))
            if reason == "error":
                self._stats_timer.stop()
                self._file_loaded = False
                # libmpv delivers queued events before queued log messages, so the log
                # lines explaining this failure may still be on their way: wait a moment.
                generation = self._generation
                file_error = str(data.get("file_error", ""))
                QTimer.singleShot(
                    _FAILURE_GRACE_MS,
                    self,
                    lambda: self._report_load_failure(generation, file_error),
                )
            elif reason == "eof" and not self._eof:
                self._eof = True
                self.ended.emit()

    @Slot(str, str, str)
    def _on_log(self, level: str, prefix: str, text: str) -> None:
        text = text.rstrip()
        mpv_log.log(_LOG_LEVELS.get(level, logging.DEBUG), "[%s] %s", prefix, _redact(text))
        if self._shut_down:
            return
        self._recent_logs.append((level, prefix, text))
        # Failures while playing: a segment that cannot be fetched. mpv keeps trying
        # (and stalls), so tell the operator once per segment.
        if prefix == "timeline" and "failed to load segment" in text:
            url = self._last_failed_url()
            self._report_once(
                f"segment:{url}",
                f"A segment of {self._title()} could not be loaded"
                f"{self._url_and_detail(url)}; playback may stall.",
            )
        elif (m := _HLS_SEGMENT_RE.search(text)) is not None:
            self._report_once(
                f"hls-segment:{m.group(1)}",
                f"Segment {m.group(1)} of {self._title()} could not be loaded"
                f"{self._url_and_detail(self._last_failed_url())}; playback skips it.",
            )

    @Slot(str, str)
    def _on_command_failed(self, name: str, message: str) -> None:
        if self._shut_down:
            return
        if name == "loadfile":
            self._loads_pending = max(0, self._loads_pending - 1)
            self.error.emit(f"Could not open {self._title()}: mpv refused it ({message}).")
        else:
            log.debug("mpv command %s failed: %s", name, message)

    def _title(self) -> str:
        return f"“{self._source.title}”" if self._source and self._source.title else "the video"

    def _report_once(self, key: str, message: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self.error.emit(message)

    def _last_failed_url(self) -> str | None:
        for _level, _prefix, text in reversed(self._recent_logs):
            m = _FAILED_OPEN_RE.search(text)
            if m:
                return m.group(1)
        return None

    def _network_detail(self) -> str | None:
        for _level, _prefix, text in reversed(self._recent_logs):
            m = _HTTP_ERROR_RE.search(text)
            if m:
                phrase = m.group(2).strip()
                return f"HTTP {m.group(1)}" + (f" {phrase}" if phrase else "")
            m = _TCP_ERROR_RE.search(text)
            if m:
                return m.group(1).strip().rstrip(".").lower() or "connection failed"
            if "timed out" in text.lower() or "timeout" in text.lower():
                return "timed out"
        return None

    def _url_and_detail(self, url: str | None) -> str:
        detail = self._network_detail()
        where = f" ({_short_url(url)}" if url else ""
        if where and detail:
            return f"{where}: {detail})"
        if where:
            return f"{where})"
        return f" ({detail})" if detail else ""

    def _report_load_failure(self, generation: int, file_error: str) -> None:
        if not self._shut_down and generation == self._generation:
            self.error.emit(self._describe_load_failure(file_error))

    def _describe_load_failure(self, file_error: str) -> str:
        texts = [text for _l, _p, text in self._recent_logs]
        url = self._last_failed_url()
        if url is not None:
            what = "its init segment" if any("init fragment" in t for t in texts) else "it"
            return (
                f"Could not open {self._title()}: {what} could not be fetched"
                f"{self._url_and_detail(url)}."
            )
        if any("Failed to recognize file format" in t for t in texts) or (
            file_error == "unrecognized file format"
        ):
            return f"Could not open {self._title()}: not a playable video (unknown format)."
        if any("EDL" in t for t in texts):
            return f"Could not open {self._title()}: the segment list is invalid."
        if file_error == "no audio or video data played":
            return f"Could not play {self._title()}: it has no playable audio or video."
        reason = file_error or "unknown error"
        return f"Could not open {self._title()}: {reason}."

    @Slot()
    def _poll_stats(self) -> None:
        if self._shut_down or not self._file_loaded:
            return
        props = self._props
        params = props.get("video-params") or {}
        # container-fps is absent for EDL timelines and mpv's estimate disappears while
        # paused: keep the last known value for the loaded file.
        fps = (
            _num(props.get("container-fps"))
            or _num(props.get("estimated-vf-fps"))
            or self._stats.fps
        )
        drops = int(_num(props.get("frame-drop-count")) or 0) + int(
            _num(props.get("decoder-frame-drop-count")) or 0
        )
        cache = props.get("demuxer-cache-state") or {}
        stats = PlaybackStats(
            width=int(params["w"]) if params.get("w") else None,
            height=int(params["h"]) if params.get("h") else None,
            video_codec=props.get("video-format") or None,
            fps=round(fps, 3) if fps else None,
            video_bitrate_bps=_num(props.get("video-bitrate")),
            dropped_frames=drops,
            variant=self._variant(props.get("track-list") or []),
            cache_seconds=_num(cache.get("cache-duration")),
        )
        if stats != self._stats:
            self._stats = stats
            self.stats_changed.emit(stats)

    def _variant(self, tracks: list[Mapping[str, Any]]) -> VariantInfo | None:
        if self._source is None or self._source.kind != "multivariant":
            return None
        videos = [t for t in tracks if t.get("type") == "video"]
        for index, track in enumerate(videos, start=1):
            if track.get("selected"):
                bitrate = _num(track.get("hls-bitrate"))
                return VariantInfo(
                    width=track.get("demux-w"),
                    height=track.get("demux-h"),
                    bandwidth_bps=int(bitrate) if bitrate else None,
                    index=index,
                    count=len(videos),
                )
        return None


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
