"""The clip controller: in/out points on the rendition the player shows, the clip playlist
they make (``services.clips``), its preview in the player (an EDL of the stored segments
through the gateway, like every media playlist), saving it, and checking a server clip.
The player panel only calls these methods and shows the signals."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from console.gui.operation import Operations, failure_sentence
from services.catalog import Rendition
from services.clips import Clip, ClipCheck, build_clip, check_clip, fetch_clip_text
from services.errors import ServiceError
from services.hls import MediaPlaylist
from services.playback import media_source
from services.storage import Storage

__all__ = ["ClipController"]

log = logging.getLogger(__name__)


class ClipController(QObject):
    """In/out points and clips of the rendition on screen.

    Args:
        storage: reads stored playlists and listings (clip checks).
        url_for: maps a bucket key to a URL the player can fetch (the playback gateway).

    Signals (GUI thread):
        changed(str): a one-line summary of the in/out points and the clip ("" when none).
        preview_ready(object, float): a ``PlaybackSource`` of the clip and where to start
            in it: the in point, in seconds on the rendition timeline. The preview is an
            EDL of the clip's stored segments only, laid on the rendition's timeline
            (``services.playback.edl_for_segments``, ``timeline_start``): a clip of 4-12 s
            shows positions 4-12 s, and in/out marked while it plays stay correct.
        saved(str): the path a clip playlist was written to.
        checked(object): a ``services.clips.ClipCheck``.
        error(str): a readable sentence; status(str): progress for a status line.
    """

    changed = Signal(str)
    preview_ready = Signal(object, float)
    saved = Signal(str)
    checked = Signal(object)
    error = Signal(str)
    status = Signal(str)

    def __init__(
        self, storage: Storage, url_for: Callable[[str], str], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._storage = storage
        self._url_for = url_for
        self._ops = Operations(self.error.emit)
        self._game_id: str | None = None
        self._rendition: Rendition | None = None
        self._in: float | None = None
        self._out: float | None = None
        self._clip: Clip | None = None

    # ------------------------------------------------------------------ state
    @property
    def available(self) -> bool:
        """``True`` when the player shows a single stored rendition (clips possible)."""
        return self._rendition is not None

    @property
    def game_id(self) -> str | None:
        return self._game_id

    @property
    def rendition_name(self) -> str | None:
        return self._rendition.name if self._rendition else None

    @property
    def in_point(self) -> float | None:
        """In point in seconds on the rendition timeline."""
        return self._in

    @property
    def out_point(self) -> float | None:
        """Out point in seconds on the rendition timeline."""
        return self._out

    @property
    def clip(self) -> Clip | None:
        """The clip of the current in/out points (both set and valid), else ``None``."""
        return self._clip

    # ------------------------------------------------------------------ commands
    def set_rendition(self, game_id: str | None, rendition: Rendition | None) -> None:
        """The player now shows ``rendition`` of ``game_id`` (``None``: something else, e.g.
        an asset or an adaptive master: clips are off). Clears the in/out points."""
        playable = rendition is not None and isinstance(rendition.playlist, MediaPlaylist)
        self._game_id = game_id if playable else None
        self._rendition = rendition if playable else None
        self._in = self._out = None
        self._clip = None
        self._emit_changed()

    def mark_in(self, position_s: float) -> None:
        """Set the in point at the player's position ``position_s`` (seconds)."""
        self._mark("in", position_s)

    def mark_out(self, position_s: float) -> None:
        """Set the out point at the player's position ``position_s`` (seconds)."""
        self._mark("out", position_s)

    def clear(self) -> None:
        """Forget the in and out points."""
        self._in = self._out = None
        self._clip = None
        self._emit_changed()

    def preview(self) -> None:
        """Play the clip: emits :attr:`preview_ready` (or :attr:`error`)."""
        clip = self._require_clip()
        if clip is None:
            return
        title = f"{self._game_id} — {self.rendition_name} clip {clip.in_s:.3f}–{clip.out_s:.3f} s"
        segments = [
            (self._url_for(key), segment.duration)
            for key, segment in zip(clip.segment_keys, clip.segments, strict=True)
        ]
        init = self._url_for(clip.init_key) if clip.init_key else None
        source = media_source(title, init, segments, timeline_start=clip.start_s)
        self.preview_ready.emit(source, clip.in_s)
        self.status.emit(
            f"Previewing the clip: {len(clip.segments)} stored segments, "
            f"{clip.start_s:.3f}–{clip.end_s:.3f} s"
        )

    def save(self, path: str | Path) -> bool:
        """Write the clip playlist to ``path`` (UTF-8); emits :attr:`saved` or :attr:`error`.
        Place it beside the rendition's playlist: its URIs are relative to that directory."""
        clip = self._require_clip()
        if clip is None:
            return False
        try:
            Path(path).write_text(clip.text, encoding="utf-8")
        except OSError as exc:
            self.error.emit(f"Could not save the clip to {path}: {exc.strerror or exc}.")
            return False
        self.saved.emit(str(path))
        self.status.emit(f"Clip saved to {path} (place it beside {clip.playlist_key}).")
        return True

    def check(
        self, location: str, game_id: str | None = None, rendition: str | None = None
    ) -> None:
        """Check a server clip (an http(s) URL or a file path) against the stored rendition
        (default: the one on screen). Emits :attr:`checked` or :attr:`error`."""
        game = game_id or self._game_id
        name = rendition or self.rendition_name
        if not game or not name:
            self.error.emit("Open a game's single rendition first (or name the game and rung).")
            return
        self._ops.run(
            self._check(location.strip(), game, name),
            failure=lambda exc: self.error.emit(self._check_failure(location.strip(), exc)),
        )

    def shutdown(self) -> None:
        self._ops.cancel_all()

    # ------------------------------------------------------------------ internals
    def _mark(self, which: str, position_s: float) -> None:
        if self._rendition is None:
            self.error.emit("Clips need a single rendition (v1 or a rung) in the player.")
            return
        seconds = max(0.0, float(position_s))
        if which == "in":
            self._in = seconds
        else:
            self._out = seconds
        self._rebuild()

    def _rebuild(self) -> None:
        self._clip = None
        rendition = self._rendition
        if rendition is not None and self._in is not None and self._out is not None:
            assert isinstance(rendition.playlist, MediaPlaylist)
            try:
                self._clip = build_clip(
                    rendition.playlist_key, rendition.playlist, self._in, self._out
                )
            except ServiceError as exc:
                self.error.emit(str(exc))
        self._emit_changed()

    def _require_clip(self) -> Clip | None:
        if self._clip is None:
            self.error.emit("Set an in point ([) and an out point (]) first.")
        return self._clip

    def _emit_changed(self) -> None:
        if self._rendition is None:
            self.changed.emit("")
            return
        parts = [
            f"In {self._in:.3f} s" if self._in is not None else "In —",
            f"Out {self._out:.3f} s" if self._out is not None else "Out —",
        ]
        clip = self._clip
        if clip is not None:
            parts.append(
                f"clip {len(clip.segments)} segments, {clip.start_s:.3f}–{clip.end_s:.3f} s"
            )
        self.changed.emit(" · ".join(parts))

    @staticmethod
    def _check_failure(location: str, exc: BaseException) -> str:
        if isinstance(exc, OSError):
            return f"Could not read {location}: {exc.strerror or exc}."
        return failure_sentence(exc)

    async def _check(self, location: str, game_id: str, rendition: str) -> None:
        self.status.emit(f"Checking {location} against {game_id} {rendition}…")
        if location.startswith(("http://", "https://")):
            text: str | bytes = await fetch_clip_text(location)
        else:
            text = Path(location).expanduser().read_bytes()
        result: ClipCheck = await check_clip(
            self._storage, text, game_id, rendition, clip_location=location
        )
        self.checked.emit(result)
        self.status.emit(result.summary())
