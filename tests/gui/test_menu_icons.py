"""Issue 18 item 10, first half: menu icons are drawn whole, clear of the menu's left border (the
theme's item padding left them on the border, their left edge cut off)."""
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QApplication

PROBE = QColor(255, 0, 255)


def test_file_menu_icons_are_whole_and_clear_of_the_left_border(window, qtbot):
    menu = window.menuBar().actions()[0].menu()
    assert menu.title() == "&File"
    pm = QPixmap(64, 64)
    pm.fill(PROBE)
    probe = menu.addAction(QIcon(pm), "Probe")    # a solid icon: every pixel of it shows where it lands
    try:
        menu.popup(window.menuBar().mapToGlobal(QPoint(0, window.menuBar().height())))
        qtbot.waitExposed(menu)
        img = menu.grab().toImage()
        xs = [x for y in range(img.height()) for x in range(img.width()) if img.pixelColor(x, y) == PROBE]
        size = QApplication.style().pixelMetric(QApplication.style().PixelMetric.PM_SmallIconSize)
        assert xs, "the probe icon was not drawn"
        assert max(xs) - min(xs) + 1 == size * img.devicePixelRatio()    # whole, not cut
        assert min(xs) >= 4 * img.devicePixelRatio()                     # clear of the 1 px border
    finally:
        menu.close()
        menu.removeAction(probe)
