"""Issue 11, the last faults seen on a real screen at 1366x768: the loss card's legend cut to
"train  validati", auto-layout's wrapped rows joined by edges that crossed both rows with a
loop past each end, the saliency bars' axis label cut to "…ution (x0.001)". Each test measures
what is drawn: text against the widget's real geometry in a window of that screen size, edge
paths point by point against the nodes."""
from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QFontMetrics, QTextDocument

from .training_support import open_sized

LAYERS = ["conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "logits"]   # the digits CNN's gradient legend


def _open(qtbot, size):
    win, ui = open_sized(qtbot, size)
    ui.show_dashboard()
    qtbot.waitUntil(lambda: ui.dashboard is not None and ui.dashboard.isVisible())
    return win, ui


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


WINE = ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
        "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280/od315_of_diluted_wines",
        "proline"]


def tabular_saliency(scale: float) -> dict:
    """A saliency result for a wine sample (one bar per feature), attributions ~ `scale`."""
    attr = np.linspace(-1.0, 3.0, len(WINE)) * scale
    return {"count": 40, "convs": [], "x": np.zeros(len(WINE), np.float32), "attr": attr, "method": "gradient",
            "feature_names": WINE,
            "class_names": ["a", "b", "c"], "task": "classification", "true": 1, "pred": 1, "conf": 0.9,
            "index": 0}


def test_saliency_bars_axis_label_reads_whole_without_si_scaling_at_1366x768(qtbot):
    """The bars' y axis read '…ution (x0.001)': pyqtgraph's SI scaling lengthened the label past
    the plot's height. The label is the plain word, drawn whole inside the plot widget."""
    win, ui = _open(qtbot, (1366, 768))
    try:
        card = ui.dashboard.saliency
        ui.dashboard.inspect_tabs.setCurrentWidget(card)
        card.show_result(tabular_saliency(1e-3), "")
        qtbot.waitUntil(lambda: card.bars_plot.isVisible())
        qtbot.wait(200)
        pw = card.bars_plot
        axis = pw.getAxis("left")
        assert not axis.autoSIPrefix
        assert axis.labelString().count("attribution") == 1 and "(x" not in axis.labelString()
        label = axis.label
        assert label.isVisible() and label.toPlainText().strip() == "attribution"
        m = label.document().documentMargin()       # the text item's rect has this margin around the glyphs
        glyphs = label.boundingRect().adjusted(m, m, -m, -m)
        drawn = pw.mapFromScene(label.mapRectToScene(glyphs)).boundingRect()
        assert pw.viewport().rect().contains(drawn), (pw.viewport().rect(), drawn)
        assert pw.height() > 60, pw.height()
        from .test_plot_legibility import assert_apart, drawn_labels
        names = drawn_labels(pw.getAxis("bottom"))        # the feature names under the bars: none over another
        assert len(names) >= 3, names
        assert_apart(names)
        assert "od280/od315_of_diluted_wines" in pw.toolTip()
    finally:
        _close(win)


def _edge_points(item, n: int = 120) -> list:
    path = item.path()
    return [path.pointAtPercent(i / n) for i in range(n + 1)]


def assert_wrapped_edges_read_cleanly(scene) -> int:
    """Every edge that runs back to the left onto another row stays within the nodes' extent
    (its turns reach at most 32 px past the outermost ports) and passes behind no node but
    its own two. Returns how many such edges there are."""
    bounds = scene.nodes_rect()
    allowed = bounds.adjusted(-32, 0, 32, 0)
    rects = {nid: item.sceneBoundingRect().adjusted(3, 3, -3, -3) for nid, item in scene.nodes.items()}
    wraps = 0
    for items in scene.edge_items.values():
        for item in items:
            a, b = item.path().pointAtPercent(0), item.path().pointAtPercent(1)
            src, dst = rects[item.edge.src], rects[item.edge.dst]
            if b.x() >= a.x() or not (dst.top() > src.bottom() or dst.bottom() < src.top()):
                continue
            wraps += 1
            name = f"{item.edge.src}->{item.edge.dst}"
            for p in _edge_points(item):
                assert allowed.contains(p), (name, p, bounds)
                hit = [nid for nid, r in rects.items() if r.contains(p) and nid not in (item.edge.src, item.edge.dst)]
                assert not hit, (name, "passes behind", hit, p)
    return wraps


@pytest.mark.parametrize("template", ["digits_cnn", "resnet_block", "deep_mlp"])
def test_auto_layout_wrapped_rows_read_left_to_right_with_short_edges(qtbot, template):
    """Auto-layout wraps a long network into rows; the edge from a row's end to the next row's
    start went diagonally across both rows with a loop out past each end. It now turns down
    into the gap between the rows, runs left and turns into the next row's first layer."""
    from layerlab.core import resources
    from layerlab.gui.app import create_window
    win = create_window(resources.template_path(template))
    win.resize(1366, 740)
    win.show()
    qtbot.waitExposed(win)
    try:
        win.editor.auto_layout()
        win.scene.flush_edges()
        ys = {round(n.pos[1]) for n in win.document.graph.nodes.values()}
        wraps = assert_wrapped_edges_read_cleanly(win.scene)
        if len(ys) > 1:
            assert wraps >= 1
    finally:
        win.document.undo_stack.setClean()
        win.close()
        win.deleteLater()


def test_a_wrapped_edge_runs_in_the_widest_gap_between_the_rows():
    from layerlab.gui.canvas.edge_item import free_run
    assert free_run(0, 100, []) == 50
    assert free_run(0, 100, [(0, 30), (50, 60)]) == 80         # not the 20 px between a tall column's nodes
    assert free_run(0, 100, [(-5, 120)]) == 50                 # nothing free: the middle
