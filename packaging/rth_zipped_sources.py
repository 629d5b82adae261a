# PyInstaller runtime hook (layerlab.spec): the Python sources of torch that the app reads (TorchScript,
# jit._overload, the config modules, dynamo, FX, the exporters: see TORCH_SOURCE_DIRS) and of onnxscript
# (its torch_lib functions are compiled from source) ship compressed (LZMA) in _internal/sources.zip instead of
# as .py files (ZIPPED_SOURCES). They are read only through the module's
# loader: inspect / linecache ask `__loader__.get_source(name)` when the file is not on disk, and
# PyInstaller's loader answers from the .py file; this falls back to the zip.
import os
import sys


def _install():
    import pyimod02_importers
    import zipfile

    archive = os.path.join(sys._MEIPASS, "sources.zip")
    if not os.path.isfile(archive):
        return
    loader_cls = pyimod02_importers.PyiFrozenLoader
    from_file = loader_cls.get_source
    state = {}

    def get_source(self, fullname):
        source = from_file(self, fullname)
        if source is not None or fullname.split(".", 1)[0] not in ("torch", "onnxscript"):
            return source
        name = os.path.relpath(self.path, sys._MEIPASS).replace(os.sep, "/")
        zf = state.get("zip")
        if zf is None:
            zf = state["zip"] = zipfile.ZipFile(archive)
        try:
            data = zf.read(name)
        except KeyError:
            return None
        return pyimod02_importers._decode_source(data)

    loader_cls.get_source = get_source


_install()
del _install
