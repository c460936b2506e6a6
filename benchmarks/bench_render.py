"""Median slice-change time in the real view (offscreen Qt), 512^2, CT plus both overlays.

    python benchmarks/bench_render.py [--slices 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

from livseg_gui.io.volume import Metadata, make_volume  # noqa: E402
from livseg_gui.planes import Plane  # noqa: E402
from livseg_gui.ui.slice_view import SliceView  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=200)
    args = ap.parse_args()
    app = QtWidgets.QApplication([])
    rng = np.random.default_rng(0)
    shape = (512, 512, args.slices)
    ct = np.asfortranarray(rng.integers(-1000, 1000, size=shape, dtype=np.int16))  # as loaded
    labels = np.zeros(shape, np.uint8, order="F")
    labels[100:400, 120:380, :] = 1
    labels[200:260, 200:260, :] = 2
    vol = make_volume(ct, np.diag([-0.7, -0.7, 1.5, 1.0]), Metadata())
    for plane in (Plane.AXIAL, Plane.CORONAL):
        for outline in (False, True):
            view = SliceView(plane)
            view.resize(800, 800)
            view.show()
            view.set_volume(vol, labels)
            view.outline = outline
            app.processEvents()
            times = []
            n = vol.shape[plane.axis]
            for i in range(120):
                t = time.perf_counter()
                view.set_index((i * 7) % n)
                app.processEvents()  # includes the repaint
                times.append((time.perf_counter() - t) * 1000)
            print(f"{plane.value:<8} {'outline' if outline else 'filled '} overlay: median {statistics.median(times):.1f} ms, "
                  f"p90 {sorted(times)[int(0.9 * len(times))]:.1f} ms per slice change")
            view.close()
    from livseg_gui.ui.app import shutdown

    shutdown(0)  # skip interpreter teardown of Qt objects (see ui.app.shutdown)


if __name__ == "__main__":
    main()
