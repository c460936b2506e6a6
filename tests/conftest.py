"""Shared fixtures. Tests never need ../shared: they use tests/data, resources/ and what they write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "resources" / "sample" / "ts-example-ct"
DCMQI = ROOT / "tests" / "data" / "dcmqi-ct3slice"
MODELS = Path(os.environ.get("LIVSEG_MODELS_DIR") or ROOT / "models")  # a developer may test retrained models


def have_models() -> bool:
    return (MODELS / "liver.onnx").exists() and (MODELS / "tumour.onnx").exists() and (MODELS / "model_card.json").exists()


needs_models = pytest.mark.skipif(not have_models(), reason="bundled models not built yet (models/*.onnx)")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Recovery files, logs and QSettings go to a temp folder, never the developer's home."""
    data = tmp_path_factory.mktemp("userdata")
    monkeypatch.setenv("LIVSEG_DATA_DIR", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(data / "config"))
    yield


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test():
    """Once a window has turned automatic collection off (``ui.workers.collect_garbage_in_gui_thread``), collect
    between tests in the main thread, as the window's timer would: later tests run no event loop to drive it."""
    yield
    import gc

    if not gc.isenabled():
        gc.collect()


@pytest.fixture(scope="session")
def sample_volume():
    from livseg_gui.io import load_volume

    return load_volume(SAMPLE)


@pytest.fixture(scope="session")
def cascade():
    from livseg_gui.segment import Cascade

    if not have_models():
        pytest.skip("bundled models not built yet")
    return Cascade(MODELS, threads=2)


@pytest.fixture(scope="session")
def sample_result(sample_volume, cascade):
    return cascade.run(sample_volume)


_EXIT_STATUS = 0


def pytest_sessionfinish(session, exitstatus):
    global _EXIT_STATUS
    _EXIT_STATUS = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Leave like the app does (``ui.app.shutdown``): after many Qt windows and onnxruntime in one process,
    interpreter finalisation can abort in pyqtgraph/Qt destructors (exit 134) after every test has passed.
    Everything is reported and flushed by now, so exit with pytest's own status."""
    import sys

    if "PySide6.QtWidgets" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS)
