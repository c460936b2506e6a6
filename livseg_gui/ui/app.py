"""Start the GUI, and shut it down without the pyqtgraph + onnxruntime exit crash."""

from __future__ import annotations

import logging
import os
import sys

from .. import __version__
from ..resources import resource_path


def run_gui(path: str | None = None, series: str | None = None) -> int:
    from PySide6 import QtCore, QtGui, QtWidgets

    from .main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("LivSeg")
    app.setApplicationVersion(__version__)
    icon = resource_path("icons", "livseg.png")
    if icon.exists():
        app.setWindowIcon(QtGui.QIcon(str(icon)))
    win = MainWindow()
    win.show()
    if path:
        QtCore.QTimer.singleShot(0, lambda: win.open_path(path, series))
    quit_after = os.environ.get("LIVSEG_QUIT_AFTER_MS")  # smoke tests and the start-up benchmark
    if quit_after:
        QtCore.QTimer.singleShot(int(quit_after), win.close)
    code = app.exec()
    return shutdown(code)


def shutdown(code: int) -> int:
    """Leave without running interpreter finalisers.

    Destroying pyqtgraph's Qt objects during interpreter teardown, after onnxruntime has been
    imported, can abort with a refcount error (exit 134). Everything LivSeg writes is already
    fsync'd by the atomic writer, so flush the streams and logs and exit directly.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def main() -> None:
    from ..cli import main as cli_main

    raise SystemExit(cli_main(sys.argv[1:] or ["gui"]))
