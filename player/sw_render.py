"""libmpv's ``"sw"`` render API into a ``QImage``: the part shared by every CPU renderer.

:class:`SoftwareFrameBuffer` owns a 64-byte aligned ``bgra`` buffer wrapped by a
``QImage`` (``Format_RGB32``, alpha ignored) and renders mpv's current frame into it with
``mpv_render_context_render``. mpv scales the frame to the buffer size keeping the aspect
ratio (black bars). Users: ``player.video_widget.MpvSoftwareWidget`` (the on-screen
fallback) and ``player.frame_source.MpvFrameSource`` (off-screen frames for comparison).

``bgr0`` gives black frames on libmpv 0.35 (docs/platform.md), hence ``bgra``. Rendering runs on
the GUI thread with ``block_for_target_time=0``: it never waits for mpv's frame timing.
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any

from PySide6.QtCore import QObject, QSize, Signal
from PySide6.QtGui import QColor, QImage

__all__ = ["RenderUpdateBridge", "SoftwareFrameBuffer", "render_param_array"]

log = logging.getLogger(__name__)

# libmpv render.h parameter ids that python-mpv 1.0.8 does not map (sw render API).
_PARAM_INVALID = 0
_PARAM_BLOCK_FOR_TARGET_TIME = 12
_PARAM_SW_SIZE = 17
_PARAM_SW_FORMAT = 18
_PARAM_SW_STRIDE = 19
_PARAM_SW_POINTER = 20
_SW_ALIGN = 64  # bytes; mpv's sw renderer is fastest with 64-byte aligned rows
_SW_FORMAT = b"bgra"  # little-endian bytes B,G,R,A == QImage.Format_RGB32 (alpha ignored)


class RenderUpdateBridge(QObject):
    """Carries mpv's render-update callback (mpv's thread) to the GUI thread as ``updated``.

    A separate, parentless QObject: if its user is deleted before mpv stops calling back,
    the emit still has a live sender and Qt simply drops the queued call.
    """

    updated = Signal()


def render_param_array(entries: list[tuple[int, int | None]]) -> Any:
    """A ``mpv_render_param[]`` (terminated by INVALID) from ``(type id, pointer)`` pairs."""
    import mpv

    array = (mpv.MpvRenderParam * (len(entries) + 1))()
    for index, (type_id, pointer) in enumerate(entries):
        array[index].type_id = type_id
        array[index].data = pointer
    array[len(entries)].type_id = _PARAM_INVALID
    array[len(entries)].data = None
    return array


class SoftwareFrameBuffer:
    """A ``QImage`` that libmpv's sw render API draws into.

    ``image`` is valid after the first :meth:`render`; it points into the buffer this object
    keeps alive, so callers that keep a frame must ``copy()`` it.
    """

    def __init__(self) -> None:
        self._buffer: Any = None
        self._address = 0
        self._stride = 0
        self._size = QSize()
        self.image: QImage | None = None

    @property
    def size(self) -> QSize:
        """Current buffer size in device pixels (empty before the first render)."""
        return QSize(self._size)

    def _ensure(self, size: QSize) -> None:
        if size == self._size and self.image is not None:
            return
        width, height = size.width(), size.height()
        stride = (width * 4 + _SW_ALIGN - 1) // _SW_ALIGN * _SW_ALIGN
        buffer = ctypes.create_string_buffer(stride * height + _SW_ALIGN)
        address = ctypes.addressof(buffer)
        offset = (-address) % _SW_ALIGN
        view = memoryview(buffer).cast("B")[offset : offset + stride * height]
        image = QImage(view, width, height, stride, QImage.Format.Format_RGB32)
        image.fill(QColor(0, 0, 0))
        # Keep the buffer alive as long as the QImage that points into it.
        self._buffer, self.image = buffer, image
        self._address = address + offset
        self._stride = stride
        self._size = QSize(size)

    def render(self, ctx: Any, size: QSize) -> bool:
        """Render mpv's current frame at ``size`` (device pixels, each side >= 2).

        Returns ``False`` (and logs) when libmpv refuses, e.g. an unsupported format.
        """
        import mpv

        self._ensure(QSize(max(2, size.width()), max(2, size.height())))
        width = ctypes.c_int * 2
        dims = width(self._size.width(), self._size.height())
        fmt = ctypes.c_char_p(_SW_FORMAT)
        stride = ctypes.c_size_t(self._stride)
        block = ctypes.c_int(0)
        params = render_param_array(
            [
                (_PARAM_SW_SIZE, ctypes.addressof(dims)),
                (_PARAM_SW_FORMAT, ctypes.cast(fmt, ctypes.c_void_p).value),
                (_PARAM_SW_STRIDE, ctypes.addressof(stride)),
                (_PARAM_SW_POINTER, self._address),
                (_PARAM_BLOCK_FOR_TARGET_TIME, ctypes.addressof(block)),
            ]
        )
        try:
            mpv._mpv_render_context_render(ctx.handle, params)
        except Exception as exc:  # mpv error code (e.g. unsupported format)
            log.warning("mpv sw render failed: %s", exc)
            return False
        return True
