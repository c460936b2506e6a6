"""Live re-measurement after a brush stroke (target <= 200 ms at 512x512x200) and undo memory.

    python benchmarks/bench_measure.py
"""

from __future__ import annotations

import time

import numpy as np

from livseg_gui.edit import tools
from livseg_gui.edit.document import Document
from livseg_gui.io.volume import Metadata, make_volume


def main() -> None:
    shape, sp = (512, 512, 200), (0.7, 0.7, 1.5)
    vol = make_volume(np.zeros(shape, np.int16), np.diag([-sp[0], -sp[1], sp[2], 1.0]), Metadata())
    g = np.ogrid[: shape[0], : shape[1], : shape[2]]
    liver = ((g[0] - 200) * sp[0]) ** 2 / 90**2 + ((g[1] - 256) * sp[1]) ** 2 / 80**2 + ((g[2] - 100) * sp[2]) ** 2 / 70**2 < 1
    labels = liver.astype(np.uint8)
    for c in ((180, 240, 90), (230, 280, 110), (150, 220, 60)):
        ball = ((g[0] - c[0]) * sp[0]) ** 2 + ((g[1] - c[1]) * sp[1]) ** 2 + ((g[2] - c[2]) * sp[2]) ** 2 < 12**2
        labels[ball] = 2
    s = Document(vol, labels)
    t = time.perf_counter()
    s.analysis()
    first = time.perf_counter() - t
    times = []
    for i in range(10):
        tools.brush(s.labels, (200 + i, 250, 100), 5.0, sp, 2)  # a tumour stroke: the common edit
        t = time.perf_counter()
        a = s.analysis()
        times.append(time.perf_counter() - t)
    liver_times = []
    for i in range(3):
        tools.brush(s.labels, (328 + 3 * i, 256, 100), 5.0, sp, 1)  # grows the liver: geometry recomputed
        t = time.perf_counter()
        s.analysis()
        liver_times.append(time.perf_counter() - t)
    print(f"512x512x200, {len(a.lesions)} lesions: first analysis {first * 1000:.0f} ms; after a tumour stroke "
          f"median {np.median(times) * 1000:.0f} ms; after a liver stroke median {np.median(liver_times) * 1000:.0f} ms")
    lm = s.labels
    rng = np.random.default_rng(0)
    for _ in range(200):
        tools.brush(lm, rng.integers([50, 50, 0], [460, 460, 200]), float(rng.uniform(3, 15)), sp,
                    int(rng.integers(1, 3)))
    print(f"undo data after {len(lm.undo_stack)} strokes: {lm.undo_bytes() / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
