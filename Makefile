# `make run` opens the app on the example project (layerlab gui --example); `make test` runs the whole suite.
# Both create .venv and install the pinned dependencies on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
CONSTR  := packaging/constraints.txt

.PHONY: run test bench reliability install clean package

$(STAMP): pyproject.toml $(CONSTR)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(CONSTR) -e ".[test,export]"
	@touch $(STAMP)

install: $(STAMP)

# the example directly; a plain `layerlab gui` reopens the last project or shows the start page
run: $(STAMP)
	$(BIN)/layerlab gui --example

# GUI tests start their own Xvfb and run on the real xcb platform (tests/gui/display.py);
# offscreen only when no X server can be had. QT_QPA_PLATFORM=offscreen make test forces it.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(CONSTR) -e ".[test,export,bench]"
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.bench

reliability: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.bench bench_reliability bench_hostile

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# A PyInstaller one-folder app in dist/LayerLab (with the export extra: ONNX export is a feature of
# the app), then a smoke test, offscreen: validate the example, render the window with it, train it
# one epoch, export the run in every format (ONNX, int8 / fp16 ONNX, pt2, source, native, model card,
# training script), import the ONNX back, run lr-find, explore-init, calibrate, repeat and a one-trial
# sweep, train on a CSV, an image folder and text (then generate), train in the GUI's training process
# and ask it for saliency maps; it prints the bundle's size as {"name": "package_size_mb", ...}.
# Needs icu-devtools (icupkg, genccode) for the slim ICU data library (else ICU ships whole: +23 MB).
PKGVENV := build/pkgvenv
package:
	@test -x $(PKGVENV)/bin/python || $(PY) -m venv $(PKGVENV)
	$(PKGVENV)/bin/python -m pip install --quiet --disable-pip-version-check -c $(CONSTR) ".[export]" pyinstaller
	cd packaging && ../$(PKGVENV)/bin/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath ../dist --workpath ../build/pyinstaller layerlab.spec
	QT_QPA_PLATFORM=offscreen $(PKGVENV)/bin/python packaging/smoke_test.py dist/LayerLab/LayerLab
