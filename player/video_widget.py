"""Video widgets drawing a :class:`player.controller.Player` through libmpv's render API.

Two implementations with the same surface (``frames_rendered``, ``frame_rendered``,
``release_render_context``):

* :class:`MpvGLWidget` - ``MpvRenderContext(..., "opengl")`` inside a ``QOpenGLWidget``.
  The production path: X11, Wayland and macOS (docs/platform.md), Mesa llvmpipe under Xvfb.
* :class:`MpvSoftwareWidget` - the ``"sw"`` render API into a 64-byte aligned ``bgra``
  buffer shown as a ``QImage``. Works everywhere, including ``QT_QPA_PLATFORM=offscreen``
  (tests, CI) where there is no OpenGL. (``bgr0`` gives black frames on libmpv 0.35.)

:func:`create_video_widget` picks one. mpv calls the update callback on its own thread;
the callback only emits a Qt signal, and the frame is rendered on the GUI thread with
``block_for_target_time=0`` so the GUI thread never waits for mpv's frame timing.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import shiboken6
from PySide6.QtCore import QRect, QSize, Qt, Signal, Slot
from PySide6.QtGui import (
    QGuiApplication,
    QImage,
    QOffscreenSurface,
    QOpenGLContext,
    QPainter,
    QPaintEvent,
    QResizeEvent,
)
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QSizePolicy, QWidget

from player.controller import Player
from player.sw_render import RenderUpdateBridge, SoftwareFrameBuffer

__all__ = [
    "MpvGLWidget",
    "MpvSoftwareWidget",
    "VideoWidget",
    "create_video_widget",
    "opengl_available",
]

log = logging.getLogger(__name__)


class MpvSoftwareWidget(QWidget):
    """Shows the player's video with libmpv's ``"sw"`` render API (CPU, no OpenGL).

    Each new frame is rendered at the widget's device-pixel size (mpv scales it keeping
    the aspect ratio, with black bars) into a 64-byte aligned buffer, then painted with
    ``QPainter`` on a black background.

    Signals:
        frame_rendered(int): a new video frame was rendered; the argument is the total
            number of frames rendered so far (:attr:`frames_rendered`).

    Raises (constructor): ``PlayerNotAvailable`` when the player is shut down, or
    ``ValueError``/``RuntimeError`` from libmpv if the render context cannot be created.
    """

    frame_rendered = Signal(int)
    render_backend = "sw"

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._player = player
        self._frames = 0
        self._frame = SoftwareFrameBuffer()
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)
        self._bridge = RenderUpdateBridge()
        self._bridge.updated.connect(self._on_mpv_update, Qt.ConnectionType.QueuedConnection)
        self._ctx: Any = player.create_render_context(self, "sw")
        self._ctx.update_cb = self._bridge.updated.emit

    @property
    def frames_rendered(self) -> int:
        """Number of new video frames rendered since the widget was created."""
        return self._frames

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """16:9, 640x360 logical pixels."""
        return QSize(640, 360)

    def release_render_context(self) -> None:
        """Free the render context (idempotent). Must run before the mpv core terminates."""
        ctx, self._ctx = self._ctx, None
        if ctx is None:
            return
        # Do not reset ctx.update_cb first: python-mpv would drop the old ctypes thunk
        # while mpv's thread may be calling it (segfault). free() stops the callbacks.
        ctx.free()
        self._player.forget_render_context(self)

    # -- rendering (GUI thread) ---------------------------------------------------
    @Slot()
    def _on_mpv_update(self) -> None:
        ctx = self._ctx
        if ctx is None:
            return
        if ctx.update() and self._render():
            self._frames += 1
            self.frame_rendered.emit(self._frames)

    def _target_size(self) -> QSize:
        ratio = self.devicePixelRatioF()
        return QSize(max(2, round(self.width() * ratio)), max(2, round(self.height() * ratio)))

    def _render(self) -> bool:
        """Render mpv's current frame into the buffer; ``False`` if mpv refused."""
        ctx = self._ctx
        if ctx is None or not self._frame.render(ctx, self._target_size()):
            return False
        assert self._frame.image is not None
        self._frame.image.setDevicePixelRatio(self.devicePixelRatioF())
        self.update()
        return True

    # -- Qt events ----------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """Re-render the current frame at the new size (not counted as a new frame)."""
        super().resizeEvent(event)
        if self._ctx is not None and self._frames:
            self._render()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Black background, then the last rendered frame scaled keeping aspect ratio."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        image = self._frame.image
        if image is not None and self._frames:
            logical = image.deviceIndependentSize().toSize()
            if logical == self.size():
                painter.drawImage(0, 0, image)
            else:  # resized since the last render: scale, keep the aspect ratio
                scaled = logical.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
                target = QRect(0, 0, scaled.width(), scaled.height())
                target.moveCenter(self.rect().center())
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                painter.drawImage(target, image)
        painter.end()

    def grab_frame(self) -> QImage:
        """A copy of the last rendered frame (device pixels); null before the first one."""
        image = self._frame.image
        return image.copy() if image is not None and self._frames else QImage()


class _GLRenderHolder:
    """Owns the mpv OpenGL render context of one :class:`MpvGLWidget`.

    A plain Python object, so it still works while the widget's C++ part is being
    destroyed (PySide invalidates the widget wrapper before ``~QOpenGLWidget`` deletes
    the GL context and emits ``aboutToBeDestroyed``). It frees the render context with
    the widget's GL context current on a private offscreen surface.
    """

    def __init__(self, player: Player, client: Any, ctx: Any, gl_context: QOpenGLContext):
        self.player = player
        self.client = client
        self.ctx = ctx
        self.gl_context = gl_context
        # PySide invalidates the context's wrapper as soon as its destructor starts, i.e.
        # before it emits aboutToBeDestroyed: keep the address to re-wrap it then.
        self.gl_context_address = int(shiboken6.getCppPointer(gl_context)[0])
        self.surface = QOffscreenSurface()
        self.surface.setFormat(gl_context.format())
        self.surface.create()

    def free(self) -> None:
        """Free the render context (idempotent)."""
        ctx, self.ctx = self.ctx, None
        if ctx is None:
            return
        # Another widget's initializeGL may be running (it asked the player for the render
        # context): restore whatever context was current when done.
        previous = QOpenGLContext.currentContext()
        previous_surface = previous.surface() if previous is not None else None
        gl_context = self.gl_context
        if not shiboken6.isValid(gl_context):  # inside ~QOpenGLContext (still usable)
            gl_context = shiboken6.wrapInstance(self.gl_context_address, QOpenGLContext)
        current = False
        try:
            current = bool(gl_context.makeCurrent(self.surface))
        except RuntimeError as exc:
            log.warning("freeing the mpv render context without its GL context: %s", exc)
        try:
            # Do not reset ctx.update_cb first (see MpvSoftwareWidget); free() stops it.
            ctx.free()
        finally:
            if current:
                gl_context.doneCurrent()
            if previous is not None and previous_surface is not None:
                previous.makeCurrent(previous_surface)
            self.surface.destroy()
            self.player.forget_render_context(self.client)


class MpvGLWidget(QOpenGLWidget):
    """Shows the player's video with libmpv's OpenGL render API in a ``QOpenGLWidget``.

    The render context is created in ``initializeGL`` (function pointers come from the
    widget's current ``QOpenGLContext``) and mpv renders into ``defaultFramebufferObject()``
    at the device-pixel size, ``flip_y`` set. It is freed when the GL context goes away
    (``aboutToBeDestroyed``) or when the player shuts down, whichever comes first.

    Signals:
        frame_rendered(int): a new video frame was drawn; the argument is the total
            (:attr:`frames_rendered`).
    """

    frame_rendered = Signal(int)
    render_backend = "gl"

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._player = player
        self._ctx: Any = None
        self._holder: _GLRenderHolder | None = None
        self._frames = 0
        self._pending = False
        self._proc_fn: Any = None
        self._init_error: str | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)
        self._bridge = RenderUpdateBridge()
        self._bridge.updated.connect(self._on_mpv_update, Qt.ConnectionType.QueuedConnection)
        self.frameSwapped.connect(self._on_frame_swapped)

    @property
    def frames_rendered(self) -> int:
        """Number of new video frames drawn since the widget was created."""
        return self._frames

    @property
    def init_error(self) -> str | None:
        """Why the render context could not be created (``None`` if it was, or not yet)."""
        return self._init_error

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """16:9, 640x360 logical pixels."""
        return QSize(640, 360)

    @staticmethod
    def _get_proc_address(_ctx: Any, name: bytes) -> int:
        context = QOpenGLContext.currentContext()
        if context is None:
            return 0
        return int(context.getProcAddress(name) or 0)

    def initializeGL(self) -> None:  # noqa: N802 - Qt override
        """Create the mpv render context with the widget's current GL context."""
        import mpv

        if self._player.is_shut_down:
            return
        self._proc_fn = mpv.MpvGlGetProcAddressFn(self._get_proc_address)
        try:
            self._ctx = self._player.create_render_context(
                self, "opengl", opengl_init_params={"get_proc_address": self._proc_fn}
            )
        except Exception as exc:
            self._init_error = str(exc)
            log.error("mpv OpenGL render context failed: %s", exc)
            return
        self._ctx.update_cb = self._bridge.updated.emit
        holder = _GLRenderHolder(self._player, self, self._ctx, self.context())
        self._holder = holder
        # A lambda (held strongly by the connection), not a method of this widget: the
        # signal fires while the widget is being destroyed.
        self.context().aboutToBeDestroyed.connect(
            lambda: holder.free(), Qt.ConnectionType.DirectConnection
        )

    def paintGL(self) -> None:  # noqa: N802 - Qt override
        """Render mpv's current frame into the widget's framebuffer."""
        ctx = self._ctx
        if ctx is None:
            return
        ratio = self.devicePixelRatioF()
        width = max(1, round(self.width() * ratio))
        height = max(1, round(self.height() * ratio))
        ctx.render(
            flip_y=True,
            opengl_fbo={"w": width, "h": height, "fbo": self.defaultFramebufferObject()},
            block_for_target_time=False,
        )
        if self._pending:
            self._pending = False
            self._frames += 1
            self.frame_rendered.emit(self._frames)

    @Slot()
    def _on_mpv_update(self) -> None:
        ctx = self._ctx
        if ctx is None:
            return
        if ctx.update():
            self._pending = True
            self.update()

    @Slot()
    def _on_frame_swapped(self) -> None:
        if self._ctx is not None:
            self._ctx.report_swap()

    def release_render_context(self) -> None:
        """Free the render context with the GL context current (idempotent)."""
        self._ctx = None
        holder, self._holder = self._holder, None
        if holder is not None:
            holder.free()


VideoWidget = MpvGLWidget | MpvSoftwareWidget


def opengl_available() -> bool:
    """``True`` if an OpenGL context can be created and made current on this display."""
    if QGuiApplication.platformName() in ("offscreen", "minimal"):
        return False
    context = QOpenGLContext()
    if not context.create():
        return False
    surface = QOffscreenSurface()
    surface.setFormat(context.format())
    surface.create()
    try:
        ok = surface.isValid() and context.makeCurrent(surface)
        if ok:
            context.doneCurrent()
        return bool(ok)
    finally:
        surface.destroy()


def create_video_widget(player: Player, parent: QWidget | None = None) -> VideoWidget:
    """The video widget for this machine: OpenGL unless unavailable.

    ``VIDEO_OPS_RENDER=gl|sw`` forces a backend. Without it, the software widget is used on
    the ``offscreen``/``minimal`` Qt platforms or when no OpenGL context can be created.
    Create it before :meth:`Player.load` so the core has a render context.

    Raises:
        ValueError: ``VIDEO_OPS_RENDER`` has another value.
    """
    forced = os.environ.get("VIDEO_OPS_RENDER", "").strip().lower()
    if forced not in ("", "gl", "sw"):
        raise ValueError(f"VIDEO_OPS_RENDER must be 'gl' or 'sw', not {forced!r}")
    use_gl = forced == "gl" or (forced == "" and opengl_available())
    if use_gl:
        return MpvGLWidget(player, parent)
    return MpvSoftwareWidget(player, parent)
