"""Drive the real GUI under an X server (e.g. Xvfb) and save screenshots of the whole screen.

    xvfb-run -s "-screen 0 1280x720x24" python benchmarks/screenshot_gui.py OUT_DIR [CT_PATH]

The window is maximised on whatever screen the X server has (1280x720, 1920x1080, ...). Shots:
00_start.png (the empty start screen and its hint), 01_loaded.png (axial/coronal/sagittal of the CT),
02_segmented.png (overlays, warnings banner and the lesion table with a lesion selected),
03_editing.png (a tumour brush stroke with the brush cursor visible), 04_tooltip.png (a tooltip).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from livseg_gui.planes import Plane
from livseg_gui.resources import sample_ct_path
from livseg_gui.ui.main_window import MainWindow


def wait(app, cond, timeout=300.0):
    t0 = time.time()
    while not cond():
        app.processEvents()
        time.sleep(0.02)
        if time.time() - t0 > timeout:
            raise TimeoutError("GUI did not finish in time")


def shot(app, path: Path) -> None:
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    app.primaryScreen().grabWindow(0).save(str(path))
    print("wrote", path)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    ct = sys.argv[2] if len(sys.argv) > 2 else str(sample_ct_path())
    app = QtWidgets.QApplication(sys.argv[:1])
    win = MainWindow()
    win.showMaximized()
    shot(app, out / "00_start.png")
    win.open_path(ct)
    wait(app, lambda: win.document is not None and win.worker is None)
    win.set_window(400, 40)
    shot(app, out / "01_loaded.png")
    win.segment()
    wait(app, lambda: win.worker is None)
    analysis = win.document.analysis()
    if analysis.lesions:
        win.lesion_panel.table.selectRow(0)
    shot(app, out / "02_segmented.png")
    # A correction in progress: paint tumour with a 6 mm brush near the cursor, cursor visible.
    win.tool_panel.set_tool("paint")
    win.tool_panel.radius.setValue(6.0)
    view = win.views[Plane.AXIAL]
    c = win.view_state.cursor.copy()
    for dx in np.linspace(-10, 10, 9):
        v = c + np.array([dx, 15, 0])
        win._pointer(Plane.AXIAL, v, "move")
    row_mm, col_mm = view.volume.spacing[1], view.volume.spacing[0]
    view._move_brush((c[0] + 14) * col_mm, (c[1] + 15) * row_mm)
    pos = view.vb.mapViewToScene(QtCore.QPointF((c[0] + 14) * col_mm, (c[1] + 15) * row_mm))
    QtGui.QCursor.setPos(view.graphics.mapToGlobal(view.graphics.mapFromScene(pos)))
    shot(app, out / "03_editing.png")
    button = win.segment_button
    QtWidgets.QToolTip.showText(button.mapToGlobal(button.rect().center()), button.toolTip(), button)
    shot(app, out / "04_tooltip.png")
    win.document.labels.mark_saved()
    win.close()
    return 0


if __name__ == "__main__":
    from livseg_gui.ui.app import shutdown

    shutdown(main())  # leave as the app does: interpreter finalisation can abort in Qt / pyqtgraph destructors
