"""Training in the GUI: the worker thread and its controller, the metrics store, the status-bar
progress, and `install_training_ui(window)`, which adds all of it (and the set-up panels and
the dashboard) to the builder's main window."""
from .ui import TrainingUI, install_training_ui

__all__ = ["TrainingUI", "install_training_ui"]
