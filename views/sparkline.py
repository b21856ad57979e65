"""A sparkline in a table cell: the media sequence progress of one variant over its last
reloads (a rising line is a healthy live playlist, a flat one a stalled playlist)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

SPARK_ROLE = Qt.ItemDataRole.UserRole + 1
"""The role carrying a cell's values (a tuple of numbers, oldest first)."""


class SparklineDelegate(QStyledItemDelegate):
    """Paints ``index.data(SPARK_ROLE)`` as a polyline scaled to the cell."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        values = index.data(SPARK_ROLE) or ()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        if len(values) < 2:
            return
        rect = option.rect.adjusted(3, 4, -3, -4)
        low, high = min(values), max(values)
        span = (high - low) or 1
        step = rect.width() / (len(values) - 1)
        points = QPolygonF(
            [
                QPointF(rect.left() + i * step, rect.bottom() - (v - low) / span * rect.height())
                for i, v in enumerate(values)
            ]
        )
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        flat = values[-1] == values[max(0, len(values) - 4)]
        painter.setPen(QPen(QColor("#c62828" if flat else "#2e7d32"), 1.5))
        painter.drawPolyline(points)
        painter.restore()
