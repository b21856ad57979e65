"""The picture area of the compare view: two frames (``QImage``) shown as a wipe, side by
side, as an amplified difference, or one at a time, with zoom and pan shared by both sides.

Mouse: in wipe mode a left drag moves the split; elsewhere a left drag pans. A right or
middle drag always pans; the wheel zooms around the cursor. No I/O: frames are given.
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QPointF, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from views.frame_compose import difference_image, fit_rect

__all__ = ["MAX_ZOOM", "MIN_ZOOM", "CompareCanvas", "CompareMode"]

MIN_ZOOM = 1.0
MAX_ZOOM = 32.0
_WHEEL_STEP = 1.25  # zoom factor per wheel notch
_SPLIT_COLOUR = QColor(255, 210, 0)


class CompareMode(StrEnum):
    """How the two frames are shown."""

    WIPE = "wipe"
    SIDE_BY_SIDE = "side by side"
    DIFFERENCE = "difference"
    SINGLE = "single"


class CompareCanvas(QWidget):
    """Paints frames A and B (same size, e.g. both rendered at the reference size).

    Signals:
        wipe_moved(float): the split moved; its position as a fraction of the width (0..1).
        view_changed(float): zoom (1.0 = fitted) or pan changed; the argument is the zoom.
    """

    wipe_moved = Signal(float)
    view_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._a = QImage()
        self._b = QImage()
        self._difference: QImage | None = None
        self._labels = ("A", "B")
        self._mode = CompareMode.WIPE
        self._single = 0
        self._wipe = 0.5
        self._zoom = 1.0
        self._pan = QPointF(0.0, 0.0)
        self._gain = 4
        self._drag: str | None = None
        self._drag_origin = QPointF()
        self._pan_origin = QPointF()
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setMouseTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    # ------------------------------------------------------------------ state
    @property
    def mode(self) -> CompareMode:
        return self._mode

    @property
    def shown_side(self) -> int:
        """In :attr:`CompareMode.SINGLE`: 0 when A is shown, 1 for B."""
        return self._single

    @property
    def wipe(self) -> float:
        """Split position as a fraction of the picture area's width (0..1)."""
        return self._wipe

    @property
    def zoom(self) -> float:
        """1.0 = the whole picture fitted; up to :data:`MAX_ZOOM`."""
        return self._zoom

    @property
    def gain(self) -> int:
        """Amplification of the difference picture."""
        return self._gain

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(960, 540)

    def set_frames(self, a: QImage | None = None, b: QImage | None = None) -> None:
        """Replace frame A and/or B (``None`` keeps the current one) and repaint."""
        if a is not None:
            self._a = a
        if b is not None:
            self._b = b
        self._difference = None
        self.update()

    def frames(self) -> tuple[QImage, QImage]:
        """The frames shown, ``(A, B)``."""
        return self._a, self._b

    def set_labels(self, a: str, b: str) -> None:
        """Names drawn on each side, e.g. ``"A · 720p"``."""
        self._labels = (a, b)
        self.update()

    def set_mode(self, mode: CompareMode) -> None:
        self._mode = CompareMode(mode)
        self.update()

    def show_single(self, side: int) -> None:
        """Show only side ``side`` (0 = A, 1 = B): the A/B toggle."""
        self._single = 1 if side else 0
        self._mode = CompareMode.SINGLE
        self.update()

    def set_wipe(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, float(fraction)))
        if fraction != self._wipe:
            self._wipe = fraction
            self.wipe_moved.emit(fraction)
            self.update()

    def set_gain(self, gain: int) -> None:
        self._gain = max(1, int(gain))
        self._difference = None
        self.update()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` (clamped) keeping the picture point under ``anchor`` (widget
        coordinates; default the centre of the picture area) where it is."""
        new = min(MAX_ZOOM, max(MIN_ZOOM, float(zoom)))
        box = self._boxes()[0]
        centre = box.center()
        point = anchor if anchor is not None else centre
        ratio = new / self._zoom
        self._pan = (point - centre) - (point - centre - self._pan) * ratio
        self._zoom = new
        if new == MIN_ZOOM:
            self._pan = QPointF(0.0, 0.0)
        self.view_changed.emit(new)
        self.update()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self._zoom * factor, anchor)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the pictures by ``dx``, ``dy`` widget pixels (both sides together)."""
        self._pan += QPointF(dx, dy)
        self.view_changed.emit(self._zoom)
        self.update()

    def reset_view(self) -> None:
        """Fit the whole picture (zoom 1, no pan)."""
        self._zoom, self._pan = 1.0, QPointF(0.0, 0.0)
        self.view_changed.emit(1.0)
        self.update()

    def composed(self) -> QImage:
        """What the canvas shows now, as an image of its size (tests, screenshots)."""
        image = QImage(self.size(), QImage.Format.Format_RGB32)
        painter = QPainter(image)
        self._paint(painter)
        painter.end()
        return image

    # ------------------------------------------------------------------ painting
    def _boxes(self) -> list[QRectF]:
        area = QRectF(self.rect())
        if self._mode == CompareMode.SIDE_BY_SIDE:
            half = area.width() / 2
            top, height = area.top(), area.height()
            return [
                QRectF(area.left(), top, half - 1, height),
                QRectF(area.left() + half + 1, top, half - 1, height),
            ]
        return [area]

    def _picture_size(self) -> QSizeF:
        for image in (self._a, self._b):
            if not image.isNull():
                return QSizeF(image.size())
        return QSizeF()

    def _target(self, box: QRectF) -> QRectF:
        return fit_rect(self._picture_size(), box, self._zoom, (self._pan.x(), self._pan.y()))

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        self._paint(painter)
        painter.end()

    def _draw(
        self, painter: QPainter, image: QImage, box: QRectF, clip: QRectF | None = None
    ) -> None:
        """Draw ``image`` fitted in ``box`` (zoom and pan applied), clipped to ``clip``
        (default ``box``)."""
        if image.isNull():
            return
        target = self._target(box)
        # Pixel-peeping: above 1:1, show the pixels as blocks instead of blurring them.
        smooth = target.width() < image.width()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.save()
        painter.setClipRect(clip if clip is not None else box, Qt.ClipOperation.IntersectClip)
        painter.drawImage(target, image, QRectF(image.rect()))
        painter.restore()

    def _paint(self, painter: QPainter) -> None:
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        boxes = self._boxes()
        mode = self._mode
        if mode == CompareMode.SIDE_BY_SIDE:
            self._draw(painter, self._a, boxes[0])
            self._draw(painter, self._b, boxes[1])
            self._label(painter, self._labels[0], boxes[0], left=True)
            self._label(painter, self._labels[1], boxes[1], left=False)
        elif mode == CompareMode.DIFFERENCE:
            if self._difference is None:
                self._difference = difference_image(self._a, self._b, self._gain)
            self._draw(painter, self._difference, boxes[0])
            self._label(painter, f"|A − B| ×{self._gain}", boxes[0], left=True)
        elif mode == CompareMode.SINGLE:
            self._draw(painter, (self._a, self._b)[self._single], boxes[0])
            self._label(painter, self._labels[self._single], boxes[0], left=self._single == 0)
        else:
            box = boxes[0]
            split = box.left() + self._wipe * box.width()
            left = QRectF(box.left(), box.top(), split - box.left(), box.height())
            right = QRectF(split, box.top(), box.right() - split, box.height())
            self._draw(painter, self._a, box, left)
            self._draw(painter, self._b, box, right)
            painter.setPen(QPen(_SPLIT_COLOUR, 2))
            painter.drawLine(QPointF(split, box.top()), QPointF(split, box.bottom()))
            self._label(painter, self._labels[0], box, left=True)
            self._label(painter, self._labels[1], box, left=False)

    def _label(self, painter: QPainter, text: str, box: QRectF, *, left: bool) -> None:
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        width, height = metrics.horizontalAdvance(text) + 12, metrics.height() + 6
        x = box.left() + 8 if left else box.right() - 8 - width
        rect = QRectF(x, box.top() + 8, width, height)
        painter.fillRect(rect, QColor(0, 0, 0, 170))
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        button = event.button()
        if button == Qt.MouseButton.LeftButton and self._mode == CompareMode.WIPE:
            self._drag = "wipe"
            self._wipe_to(event.position().x())
        elif button in (
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.RightButton,
            Qt.MouseButton.MiddleButton,
        ):
            self._drag = "pan"
            self._drag_origin = event.position()
            self._pan_origin = QPointF(self._pan)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._drag == "wipe":
            self._wipe_to(event.position().x())
        elif self._drag == "pan":
            self._pan = self._pan_origin + (event.position() - self._drag_origin)
            self.view_changed.emit(self._zoom)
            self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self._drag = None
        super().mouseReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        notches = event.angleDelta().y() / 120
        if notches:
            self.zoom_by(_WHEEL_STEP**notches, event.position())
        event.accept()

    def _wipe_to(self, x: float) -> None:
        box = self._boxes()[0]
        if box.width() > 0:
            self.set_wipe((x - box.left()) / box.width())
