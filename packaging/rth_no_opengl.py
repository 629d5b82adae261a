# PyInstaller runtime hook (layerlab.spec): Qt's OpenGL bindings, PySide6.QtOpenGL (8.5 MB), are left
# out of the bundle. pyqtgraph imports that module when it loads (PlotCurveItem, PColorMeshItem,
# OpenGLHelpers) but uses it only to draw with OpenGL, which LayerLab never turns on. This stand-in
# answers the import; touching any name in it raises an AttributeError that says why.
import sys
import types


class _LeftOut(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"PySide6.QtOpenGL.{name}: Qt's OpenGL bindings are not part of the LayerLab app "
                             "(pyqtgraph's OpenGL drawing is off); run LayerLab from a Python install to use them")


sys.modules.setdefault("PySide6.QtOpenGL", _LeftOut("PySide6.QtOpenGL"))
