"""Issue 11, the last faults seen on a real screen at 1366x768: the loss card's legend cut to
"train  validati", auto-layout's wrapped rows joined by edges that crossed both rows with a
loop past each end, the saliency bars' axis label cut to "…ution (x0.001)". Each test measures
what is drawn: text against the widget's real geometry in a window of that screen size, edge
paths point by point against the nodes."""
from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QFontMetrics, QTextDocument

from .training_support import READY_S

LAYERS = ["conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "logits"]   # the digits CNN's gradient legend


def _open(qtbot, size):
    from layerlab.gui.app import create_window
    win = create_window()
    win.show()
    win.resize(*size)
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.training.is_ready, timeout=READY_S)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == size)
    win.training.show_dashboard()
    qtbot.waitUntil(lambda: win.training.dashboard is not None and win.training.dashboard.isVisible())
    return win, win.training


def _close(win) -> None:
    win.document.undo_stack.setClean()
    win.close()
    win.deleteLater()


def _card(dashboard, name):
    from layerlab.gui.dashboard.card import Card
    return dashboard.findChild(Card, name)


def assert_legend_whole(card) -> None:
    """Every entry of the card's legend is drawn whole inside the card: on one line the label
    is as wide as the text; wrapped, it is as tall as its lines and no entry is wider than it."""
    lab = card.key_label
    assert lab.isVisible(), f"{card.objectName()}: legend hidden"
    rect = QRect(lab.mapTo(card, QPoint(0, 0)), lab.size())
    assert card.rect().contains(rect), (card.objectName(), card.rect(), rect)
    doc = QTextDocument()
    doc.setHtml(lab.text())
    text = doc.toPlainText()
    fm = QFontMetrics(lab.font())
    room = lab.contentsRect().width()
    if lab.wordWrap():
        assert lab.height() >= lab.heightForWidth(lab.width()), (card.objectName(), lab.height())
        for entry in re.split(r"[\s\u00a0]{3}", text):   # entries are 3 spaces apart
            assert fm.horizontalAdvance(entry) <= room, (card.objectName(), entry, room)
    else:
        assert fm.horizontalAdvance(text) <= room, (card.objectName(), text, fm.horizontalAdvance(text), room)


def assert_apart_in(card, *widgets) -> None:
    rects = [QRect(w.mapTo(card, QPoint(0, 0)), w.size()) for w in widgets]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.intersects(b), (card.objectName(), a, b)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_the_live_cards_legends_read_whole(qtbot, size):
    win, ui = _open(qtbot, size)
    try:
        d = ui.dashboard
        loss, metric, grads = _card(d, "lossPlot"), _card(d, "metricPlot"), _card(d, "gradientPlot")
        from layerlab.gui.dashboard.plot_style import TRAIN, VAL, layer_color
        metric.set_key([(VAL, "accuracy", "dot"), (TRAIN, "macro F1", "dot")])   # what a classifier's run shows
        grads.set_key([(layer_color(i), n, "line") for i, n in enumerate(LAYERS)])
        qtbot.wait(200)
        text = loss.key_label.text()
        assert "train" in text and "validation" in text and "learning" in text
        for card in (loss, metric, grads):
            assert card.width() > 100, card.width()
            assert_legend_whole(card)
            assert_apart_in(card, card.key_label, card.plot_widget)     # a wrapped legend takes room, not the plot's
        assert_apart_in(grads, grads.plot_widget, grads.note)          # nor pushes the plot onto its footnote
        if size == (1920, 1080):      # where the header has room the legend stays in it
            assert not loss.key_label.wordWrap()
    finally:
        _close(win)
