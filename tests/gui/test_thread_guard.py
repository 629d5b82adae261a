"""The conftest guard that fails a test leaving a QThread running really sees one."""
import threading

from PySide6.QtCore import QThread

from .conftest import dangling_threads


class Waiter(QThread):
    def __init__(self, gate: threading.Event):
        super().__init__()
        self.gate = gate

    def run(self) -> None:
        self.gate.wait(10)


def test_a_running_qthread_is_reported_and_a_finished_one_is_not(qtbot):
    gate = threading.Event()
    t = Waiter(gate)
    t.setObjectName("waiter")
    t.start()
    try:
        assert any("waiter" in d for d in dangling_threads())
    finally:
        gate.set()
        assert t.wait(5000)
    assert dangling_threads() == []
