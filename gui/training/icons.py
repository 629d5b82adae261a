"""The Train / Pause / Stop icons, drawn rather than taken from a font: ⏸ and ■ are missing
from many fonts and render as boxes."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QPolygonF


def shape_icon(shape: str, size: int = 18) -> QIcon:
    """Drawn, not a font glyph: ⏸ and ■ are missing from many fonts and render as boxes."""
    pm = QPixmap(size * 2, size * 2)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    s = size * 2
    if shape == "play":
        p.setBrush(QColor("#22c55e"))
        p.drawPolygon(QPolygonF([QPointF(s * 0.28, s * 0.2), QPointF(s * 0.82, s * 0.5), QPointF(s * 0.28, s * 0.8)]))
    elif shape == "pause":
        p.setBrush(QColor("#e3e5e8"))
        p.drawRoundedRect(QRectF(s * 0.26, s * 0.22, s * 0.16, s * 0.56), 2, 2)
        p.drawRoundedRect(QRectF(s * 0.58, s * 0.22, s * 0.16, s * 0.56), 2, 2)
    else:
        p.setBrush(QColor("#ef4444"))
        p.drawRoundedRect(QRectF(s * 0.25, s * 0.25, s * 0.5, s * 0.5), 3, 3)
    p.end()
    pm.setDevicePixelRatio(2.0)
    return QIcon(pm)
