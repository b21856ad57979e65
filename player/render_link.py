"""Which client owns a core's render context, and keeping video on when it changes hands.

One libmpv core has one render context, made for one client: a video widget from
``player.video_widget`` or an off-screen ``player.frame_source.MpvFrameSource``.
:class:`RenderLink` is the :class:`player.controller.Player`'s record of it, with two
libmpv 0.35 behaviours handled:

* libmpv disables video (``vid=no``) when the render context it used is freed, or when a
  file starts without one. After a new context is made, the video track is selected again
  (``vid=no`` then ``vid=auto``: setting ``auto`` alone is a no-op when the option already
  says ``auto``), and once more if the core only disables it after that (the ``vid``
  property turns ``False``): once per context, so there is no retry loop.
* At shutdown the context must be freed before the core terminates; the client frees it,
  and when it cannot (its window is gone) the link frees it itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from player.mpv_core import MpvCore, PlayerNotAvailable

__all__ = ["RenderClient", "RenderLink"]

log = logging.getLogger(__name__)


class RenderClient(Protocol):
    """A video widget that owns the core's render context (see ``player.video_widget``)."""

    def release_render_context(self) -> None:
        """Free the render context; called by ``Player.shutdown`` before terminating."""


class RenderLink:
    """The render context of ``core`` and the client it was made for (GUI thread only)."""

    def __init__(self, core: MpvCore) -> None:
        self._core = core
        self._client: RenderClient | None = None
        self._context: Any = None
        self._rearm = False

    @property
    def client(self) -> RenderClient | None:
        """The client owning the render context, ``None`` when there is none."""
        return self._client

    def attach(
        self, client: RenderClient, api_type: str, *, has_source: bool, **params: Any
    ) -> Any:
        """Make the render context for ``client`` (``api_type`` ``"opengl"`` or ``"sw"``,
        python-mpv render ``params``); a previous client is asked to release its context
        first. ``has_source``: a file is loaded, so its video track is selected again.

        Raises:
            PlayerNotAvailable: the core is terminated.
            ValueError / RuntimeError: libmpv refused to create the context.
        """
        if not self._core.alive:
            raise PlayerNotAvailable("the player is shut down")
        if self._client is not None and self._client is not client:
            self._client.release_render_context()
        context = self._core.render_context(api_type, **params)
        self._client, self._context = client, context
        if has_source:
            self._reselect_video()
        return context

    def detach(self, client: RenderClient, *, has_source: bool) -> None:
        """``client`` freed its context itself; the next context re-enables video once
        more if the core disables it (``has_source``: a file is loaded)."""
        if self._client is client:
            self._client = self._context = None
            self._rearm = has_source

    def new_file(self) -> None:
        """A file is being loaded: it starts with the current context, nothing to re-arm."""
        self._rearm = False

    def video_disabled(self, tracks: Sequence[Mapping[str, Any]]) -> None:
        """The core set ``vid`` to ``False``: select video again when that came from a
        context change and the file has a video track in ``tracks`` (mpv's
        ``track-list``), once per context."""
        has_video = any(track.get("type") == "video" for track in tracks)
        if self._rearm and self._context is not None and has_video:
            self._rearm = False
            self._reselect_video()

    def release(self) -> None:
        """Before the core terminates: the client frees the context (and calls
        :meth:`detach`); when it could not, the link frees it. Errors of a half-destroyed
        client are logged, never raised."""
        client = self._client
        if client is not None:
            try:
                client.release_render_context()
            except Exception:  # a half-destroyed widget must not keep mpv alive
                log.exception("video widget failed to release its render context")
            if self._context is not None:  # the client could not (its window is gone)
                try:
                    self._context.free()
                except Exception:
                    log.exception("freeing the mpv render context failed")
        self._client = self._context = None

    def _reselect_video(self) -> None:
        self._core.command("set", "vid", "no")
        self._core.command("set", "vid", "auto")
