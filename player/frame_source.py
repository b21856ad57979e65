"""Off-screen video frames of a :class:`player.controller.Player` as ``QImage`` objects.

:class:`MpvFrameSource` owns the player's render context (libmpv ``"sw"`` API, works under
``QT_QPA_PLATFORM=offscreen``) and renders each new frame at a fixed size chosen by its
user, not at a widget's size. The compare view composes two of them (wipe, side by side,
difference) and measures PSNR/SSIM on exactly the pixels it shows.

By default the render size follows the video's display size (``Player.video_size``), so a
frame is rendered 1:1; :meth:`MpvFrameSource.set_render_size` fixes another size (e.g. the
reference's size, so a 360p rung is upscaled by mpv to 1280x720 before comparison).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, Signal, Slot
from PySide6.QtGui import QImage

from player.controller import Player
from player.sw_render import RenderUpdateBridge, SoftwareFrameBuffer

__all__ = ["DEFAULT_RENDER_SIZE", "MpvFrameSource"]

#: Render size (pixels) until the video's size is known.
DEFAULT_RENDER_SIZE = QSize(1280, 720)


class MpvFrameSource(QObject):
    """Renders ``player``'s frames off screen into a ``QImage``.

    Signals:
        frame_ready(int): a new frame was rendered; the argument is the total number of
            frames rendered so far (:attr:`frames_rendered`). Re-renders after a size
            change are emitted too (the picture changed), and counted.

    Raises (constructor): ``PlayerNotAvailable`` when the player is shut down, or
    ``ValueError``/``RuntimeError`` from libmpv if the render context cannot be created.
    """

    frame_ready = Signal(int)
    render_backend = "sw"

    def __init__(self, player: Player, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._player = player
        self._frames = 0
        self._buffer = SoftwareFrameBuffer()
        self._fixed_size: QSize | None = None
        self._bridge = RenderUpdateBridge()
        self._bridge.updated.connect(self._on_mpv_update, Qt.ConnectionType.QueuedConnection)
        self._ctx: Any = player.create_render_context(self, "sw")
        self._ctx.update_cb = self._bridge.updated.emit
        player.video_size_changed.connect(self._on_video_size)

    @property
    def player(self) -> Player:
        """The player whose frames this source renders."""
        return self._player

    @property
    def frames_rendered(self) -> int:
        """Frames rendered since the source was created."""
        return self._frames

    def render_size(self) -> QSize:
        """The size (pixels) frames are rendered at: the fixed one, else the video's
        display size, else :data:`DEFAULT_RENDER_SIZE`."""
        if self._fixed_size is not None:
            return QSize(self._fixed_size)
        width, height = self._player.video_size
        return QSize(width, height) if width and height else QSize(DEFAULT_RENDER_SIZE)

    def set_render_size(self, size: QSize | None) -> None:
        """Render at ``size`` (pixels; mpv scales keeping the aspect ratio, black bars), or
        follow the video's own size again with ``None``. Re-renders the current frame."""
        self._fixed_size = QSize(size) if size is not None else None
        self._rerender()

    def image(self) -> QImage:
        """A copy of the last rendered frame (``Format_RGB32``); null before the first."""
        image = self._buffer.image
        return image.copy() if image is not None and self._frames else QImage()

    def release_render_context(self) -> None:
        """Free the render context (idempotent). Must run before the mpv core terminates."""
        ctx, self._ctx = self._ctx, None
        if ctx is None:
            return
        # Do not reset ctx.update_cb first (see MpvSoftwareWidget); free() stops it.
        ctx.free()
        self._player.forget_render_context(self)

    @Slot()
    def _on_mpv_update(self) -> None:
        ctx = self._ctx
        if ctx is not None and ctx.update() and self._buffer.render(ctx, self.render_size()):
            self._count()

    @Slot(int, int)
    def _on_video_size(self, _width: int, _height: int) -> None:
        if self._fixed_size is None:
            self._rerender()

    def _rerender(self) -> None:
        if (
            self._ctx is not None
            and self._frames
            and self._buffer.render(self._ctx, self.render_size())
        ):
            self._count()

    def _count(self) -> None:
        self._frames += 1
        self.frame_ready.emit(self._frames)
