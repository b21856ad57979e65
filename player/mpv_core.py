"""One libmpv core behind the thread boundary: mpv's callbacks become queued Qt signals.

Threading contract (docs/architecture.md §2): libmpv calls back on its own event thread. The
callbacks of :class:`MpvCore` only emit its signals; the owner connects them with
``Qt.QueuedConnection``, so its slots run on the GUI thread. Commands and property writes
go through ``mpv_command_node_async`` (:meth:`MpvCore.command`): the GUI thread never
waits for mpv, except in :meth:`MpvCore.terminate` (``mpv_terminate_destroy``), once.

``mpv`` is imported lazily (in the constructor), never at module import: importing it
before the ``QApplication`` exists under a non-C ``LC_NUMERIC`` segfaults (docs/platform.md).
"""

from __future__ import annotations

import locale
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication

__all__ = [
    "MEDIA_CACHE_BYTES",
    "MULTIVARIANT_CACHE_BYTES",
    "MpvCore",
    "PlayerNotAvailable",
    "core_options",
    "default_audio_output",
]

log = logging.getLogger(__name__)

MiB = 1024 * 1024
#: Demuxer cache (bytes, each direction) for a media playlist played as an EDL timeline.
#: Seeking does not depend on it (any segment can be opened); it only smooths playback.
MEDIA_CACHE_BYTES = 64 * MiB
#: Demuxer cache (bytes, each direction) for a multivariant playlist played as HLS. Seeking
#: there only works inside the cache on libmpv 0.35, hence the large value.
MULTIVARIANT_CACHE_BYTES = 512 * MiB


class PlayerNotAvailable(RuntimeError):
    """libmpv could not be loaded or initialised (missing ``libmpv2``, no QApplication)."""


def default_audio_output() -> str | None:
    """mpv's ``ao`` when none is given: ``VIDEO_OPS_AUDIO`` if set, ``"null"`` on the
    ``offscreen``/``minimal`` Qt platforms (no sound device in CI), else ``None`` (mpv
    picks)."""
    env = os.environ.get("VIDEO_OPS_AUDIO", "").strip()
    if env:
        return env
    if QGuiApplication.platformName() in ("offscreen", "minimal"):
        return "null"
    return None


def core_options(
    *,
    audio_output: str | None,
    cache_bytes: int,
    network_timeout: float,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The options of an embedded core: ``vo=libmpv`` (a render context draws), no
    config, scripts, OSC or default key bindings, idle with ``keep-open`` (the last frame
    stays), exact seeks, a demuxer cache of ``cache_bytes`` each way, ``network_timeout``
    seconds; ``audio_output`` (``None``: :func:`default_audio_output`); ``extra`` last."""
    options: dict[str, Any] = {
        "vo": "libmpv",
        "ao": audio_output or default_audio_output(),
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
        "demuxer_max_bytes": cache_bytes,
        "demuxer_max_back_bytes": cache_bytes,
        "network_timeout": network_timeout,
    }
    if not options["ao"]:
        del options["ao"]
    options.update(extra or {})
    return options


class MpvCore(QObject):
    """An ``mpv.MPV`` core whose callbacks are re-emitted as Qt signals.

    Signals (emitted on **mpv's event thread**: connect them queued):
        property_changed(str, object): an observed property's name and new value.
        event(str, object): ``"start-file"``, ``"file-loaded"``, ``"playback-restart"``
            (data ``{}``) or ``"end-file"`` (data: the event as a dict, e.g. ``reason``,
            ``file_error``).
        log_line(str, str, str): mpv log level, module prefix and text.
        command_failed(str, str): an async command's name and mpv's error text.

    Raises (constructor): :class:`PlayerNotAvailable` when libmpv cannot be imported or
    initialised.
    """

    property_changed = Signal(str, object)
    event = Signal(str, object)
    log_line = Signal(str, str, str)
    command_failed = Signal(str, str)

    def __init__(self, options: Mapping[str, Any], parent: QObject | None = None) -> None:
        """Create the core with ``options`` (python-mpv keyword names, e.g.
        :func:`core_options`). Sets ``LC_NUMERIC`` to ``"C"`` first (libmpv requirement).
        Events and properties are reported once :meth:`observe` was called."""
        super().__init__(parent)
        locale.setlocale(locale.LC_NUMERIC, "C")
        try:
            import mpv as mpv_module
        except (ImportError, OSError) as exc:
            raise PlayerNotAvailable(f"libmpv is not available: {exc}") from exc
        self._module = mpv_module
        try:
            self._mpv: Any = mpv_module.MPV(
                log_handler=self.log_line.emit, loglevel="warn", **options
            )
        except Exception as exc:  # libmpv raises plain ValueError/RuntimeError
            raise PlayerNotAvailable(f"libmpv failed to initialise: {exc}") from exc
        ids = mpv_module.MpvEventID
        self._simple_events = {
            ids.START_FILE: "start-file",
            ids.FILE_LOADED: "file-loaded",
            ids.PLAYBACK_RESTART: "playback-restart",
        }
        self._end_file = ids.END_FILE

    def observe(self, names: Iterable[str]) -> None:
        """Start reporting events (:attr:`event`) and the properties ``names``
        (:attr:`property_changed`; mpv sends each current value first). Connect the
        signals before calling it."""
        if self._mpv is None:
            return
        self._mpv.register_event_callback(self._on_event_thread)
        for name in names:
            self._mpv.observe_property(name, self.property_changed.emit)

    @property
    def alive(self) -> bool:
        """``False`` once :meth:`terminate` ran."""
        return self._mpv is not None

    @property
    def mpv_version(self) -> str:
        """The libmpv version string (e.g. ``"mpv 0.35.1"``); empty after terminate."""
        return self._mpv.mpv_version if self._mpv is not None else ""

    def command(self, name: str, *args: str) -> None:
        """Queue mpv command ``name`` with ``args`` (asynchronous; a failure arrives as
        :attr:`command_failed`). A no-op after :meth:`terminate`."""
        core = self._mpv
        if core is None:
            return

        def done(err: BaseException | None, _result: Any) -> None:  # mpv event thread
            if err is not None:
                self.command_failed.emit(name, str(err))

        try:
            core.command_async(name, *args, callback=done)
        except Exception as exc:  # core shutting down
            log.debug("mpv command %s failed to queue: %s", name, exc)

    def loadfile(self, url: str, *, cache_bytes: int, start: float = 0.0) -> None:
        """``loadfile url replace`` (asynchronous) with a demuxer cache of ``cache_bytes``
        each way for this file, starting at ``start`` seconds when > 0, in the argument
        layout of this libmpv (0.38 added an index argument)."""
        if self._mpv is None:
            return
        options = {
            "demuxer-max-bytes": str(cache_bytes),
            "demuxer-max-back-bytes": str(cache_bytes),
        }
        if start > 0:
            options["start"] = repr(float(start))
        opt_text = ",".join(f"{k}={v}" for k, v in options.items())
        if getattr(self._mpv, "mpv_version_tuple", (0, 0, 0)) >= (0, 38, 0):
            self.command("loadfile", url, "replace", "-1", opt_text)
        else:
            self.command("loadfile", url, "replace", opt_text)

    def render_context(self, api_type: str, **params: Any) -> Any:
        """A new ``mpv.MpvRenderContext`` (``api_type`` ``"opengl"`` or ``"sw"``).

        Raises:
            PlayerNotAvailable: after :meth:`terminate`.
            ValueError / RuntimeError: libmpv refused to create the context.
        """
        if self._mpv is None:
            raise PlayerNotAvailable("the player is shut down")
        return self._module.MpvRenderContext(self._mpv, api_type, **params)

    def terminate(self) -> None:
        """Destroy the core (blocks until mpv's threads end). Idempotent."""
        core, self._mpv = self._mpv, None
        if core is not None:
            core.terminate()

    def _on_event_thread(self, event: Any) -> None:  # mpv event thread: re-emit only
        eid = event.event_id.value
        if eid == self._end_file:
            data = event.as_dict(decoder=self._module.lazy_decoder)
            self.event.emit("end-file", dict(data))
        elif (name := self._simple_events.get(eid)) is not None:
            self.event.emit(name, {})
