"""Pixel compositions of two compared frames (``QImage``, same size) done by Qt's raster
engine: the amplified difference picture, and the pixel size of a picture fitted in a box.
No I/O."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSizeF
from PySide6.QtGui import QColor, QImage, QPainter

__all__ = ["DIFFERENCE_GAINS", "difference_image", "fit_rect"]

#: Amplifications offered for the difference picture (powers of two: each doubling is one
#: saturating ``Plus`` composition of the picture onto itself).
DIFFERENCE_GAINS = (1, 2, 4, 8, 16)


def difference_image(a: QImage, b: QImage, gain: int = 4) -> QImage:
    """``min(255, gain * |a - b|)`` per RGB channel, as an opaque ``Format_RGB32`` image.

    ``a`` and ``b`` should have the same size; ``b`` is drawn at the top-left corner of
    ``a`` otherwise (the rest shows ``a`` itself). ``gain`` is rounded down to a power of
    two (1..16). Identical pictures give a black image. Returns a null image if ``a`` is.
    """
    if a.isNull():
        return QImage()
    out = a.convertToFormat(QImage.Format.Format_RGB32)
    if b.isNull():
        out.fill(QColor(0, 0, 0))
        return out
    painter = QPainter(out)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Difference)
    painter.drawImage(0, 0, b.convertToFormat(QImage.Format.Format_RGB32))
    painter.end()
    doublings = max(0, min(4, int(gain).bit_length() - 1))
    for _ in range(doublings):
        copy = out.copy()
        painter = QPainter(out)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Plus)
        painter.drawImage(0, 0, copy)
        painter.end()
    return out


def fit_rect(
    picture: QSizeF, box: QRectF, zoom: float = 1.0, pan: tuple[float, float] = (0, 0)
) -> QRectF:
    """Where a picture of size ``picture`` is drawn in ``box``: fitted keeping its aspect
    ratio, centred, scaled by ``zoom`` around the box centre, moved by ``pan`` (pixels of
    the box). An empty rectangle for an empty picture."""
    if picture.isEmpty() or box.isEmpty():
        return QRectF()
    scale = min(box.width() / picture.width(), box.height() / picture.height()) * zoom
    width, height = picture.width() * scale, picture.height() * scale
    centre = box.center()
    return QRectF(centre.x() - width / 2 + pan[0], centre.y() - height / 2 + pan[1], width, height)
