"""Autosave stall on the GUI thread after a stroke (target <= 50 ms at 512x512x200).

    python benchmarks/bench_autosave.py

Times what the GUI thread does per autosave (BackgroundSaver.request: one copy of the label map)
against the old synchronous save (compress + atomic write on the GUI thread), and how long the
background write takes to reach the disk.
"""

from __future__ import annotations

import statistics
import tempfile
import time

import numpy as np

from livseg_gui.edit import LabelMap, tools
from livseg_gui.edit.autosave import BackgroundSaver, RecoveryStore


def main() -> None:
    shape, sp = (512, 512, 200), (0.7, 0.7, 1.5)
    data = np.zeros(shape, np.uint8, order="F")
    g = np.ogrid[: shape[0], : shape[1], : shape[2]]
    data[((g[0] - 200) / 130.0) ** 2 + ((g[1] - 256) / 115.0) ** 2 + ((g[2] - 100) / 45.0) ** 2 < 1] = 1
    lm = LabelMap(data)
    with tempfile.TemporaryDirectory() as tmp:
        store = RecoveryStore(tmp)
        saver = BackgroundSaver(store)
        gui, sync, disk = [], [], []
        for i in range(10):
            tools.brush(lm, (150 + 10 * i, 250, 100), 6.0, sp, 2)
            t = time.perf_counter()
            saver.request(lm.data, "/bench/ct.nii.gz", None, lm.version)
            gui.append(time.perf_counter() - t)
            saver.flush()
            disk.append(time.perf_counter() - t)
            t = time.perf_counter()
            store.save(lm.data, "/bench/ct-sync.nii.gz", None, lm.version)
            sync.append(time.perf_counter() - t)
        assert store.find("/bench/ct.nii.gz", None).version == lm.version
    ms = lambda xs: f"median {1000 * statistics.median(xs):.1f} ms, max {1000 * max(xs):.1f} ms"
    print(f"label map {shape}, {lm.data.nbytes / 2**20:.0f} MiB, 10 strokes")
    print(f"GUI-thread stall per autosave (copy only):   {ms(gui)}")
    print(f"old synchronous save on the GUI thread:      {ms(sync)}")
    print(f"background write until on disk (not GUI):    {ms(disk)}")


if __name__ == "__main__":
    main()
