"""Whole `livseg segment` process on a 512x512x207 CT (.nii.gz in and out): wall time, peak RSS, stages.

    python benchmarks/bench_process.py [--threads 2] [--runs 3]

Target (issue 16): <= 5 s wall on 2 cores and <= 1.5 GB peak RSS, with the bundled models. The CT is
real anatomy: 3D-IRCADb patient 1 (512x512x129 at 1.6 mm) resampled to 207 slices, from ../shared
(not in the repository). Prints, from the same machine and run:

- the whole process (median of --runs) for the MobileUNet cascade and the plain U-Net baseline, and the ratio;
- the stages inside one process (imports, gzip load, liver net, liver post-processing, tumour stage, gzip save);
- the GUI's Segment on the same CT (offscreen), from the click to the labels on screen.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import run_measured

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "data" / "cases" / "ircadb-01" / "ct.nii.gz"


def make_ct(path: Path, slices: int = 207) -> None:
    import nibabel as nib
    import numpy as np
    from scipy import ndimage

    img = nib.load(str(SOURCE))
    data = np.asarray(img.dataobj)
    zoom = slices / data.shape[2]
    out = ndimage.zoom(data, (1, 1, zoom), order=1).astype(np.int16)
    aff = img.affine.copy()
    aff[:3, 2] *= data.shape[2] / out.shape[2]
    nib.save(nib.Nifti1Image(out, aff), str(path))


def whole_process(ct: Path, out: Path, models: str, threads: int, runs: int) -> tuple[float, float]:
    """Median wall seconds and max peak RSS (MiB) of `livseg segment` as a fresh process."""
    walls, rss = [], []
    for _ in range(runs):
        code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                f"subprocess.run([sys.executable, '-m', 'livseg_gui', 'segment', {str(ct)!r}, '-o', {str(out)!r}, "
                f"'--threads', '{threads}', '--models', {models!r}], check=True, capture_output=True); "
                "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        w, r = (float(v) for v in res.stdout.split())
        walls.append(w)
        rss.append(r)
    return statistics.median(walls), max(rss)


def stages(ct: Path, out: Path, threads: int) -> dict:
    return run_measured(f"""
import time
t0 = time.perf_counter()
from livseg_gui.io import load_volume
from livseg_gui.io.nifti import save_labels_nifti
from livseg_gui.segment import Cascade
t1 = time.perf_counter()
vol = load_volume({str(ct)!r})
t2 = time.perf_counter()
c = Cascade(threads={threads})
t3 = time.perf_counter()
r = c.run(vol)
t4 = time.perf_counter()
save_labels_nifti(r.labels, vol, {str(out)!r})
t5 = time.perf_counter()
report(imports=t1 - t0, load=t2 - t1, model_load=t3 - t2, **r.timings, save=t5 - t4)
""")


def gui_segment(ct: Path, threads: int) -> float:
    code = f"""
import os, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6 import QtWidgets
from livseg_gui.ui.main_window import MainWindow
app = QtWidgets.QApplication([])
w = MainWindow()
w.show()
w.open_path({str(ct)!r})
while w.document is None or w.worker is not None:
    app.processEvents(); time.sleep(0.005)
done = []
w.sigSegmented.connect(lambda: done.append(time.perf_counter()))
t = time.perf_counter()
w.segment()
while not done:
    app.processEvents(); time.sleep(0.005)
print(done[0] - t)
w.document.labels.mark_saved()
os._exit(0)
"""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not SOURCE.exists():
        raise SystemExit(f"needs {SOURCE} (../shared): the benchmark CT is made from it")
    with tempfile.TemporaryDirectory() as tmp:
        ct, out = Path(tmp) / "ct207.nii.gz", Path(tmp) / "mask.nii.gz"
        make_ct(ct)
        print(f"CT: 512x512x207 .nii.gz ({ct.stat().st_size / 2**20:.0f} MiB), {args.threads} threads, "
              f"{args.runs} runs each")
        mw, mr = whole_process(ct, out, str(ROOT / "models"), args.threads, args.runs)
        print(f"MobileUNet: whole `livseg segment` process {mw:.2f} s wall (median), peak RSS {mr:.0f} MiB")
        baseline = ROOT / "models" / "baseline"
        if (baseline / "model_card.json").exists():
            bw, br = whole_process(ct, out, str(baseline), args.threads, args.runs)
            print(f"plain U-Net: {bw:.2f} s wall, peak RSS {br:.0f} MiB -> MobileUNet/U-Net ratio {mw / bw:.2f}")
        s = stages(ct, out, args.threads)
        print("stages in one process: " + ", ".join(
            f"{k.removesuffix('_s')} {s[k]:.2f} s" for k in
            ("imports", "load", "model_load", "liver_s", "liver_post_s", "tumour_s", "save")))
        t = time.perf_counter()
        g = gui_segment(ct, args.threads)
        print(f"GUI Segment (click to labels and lesion table on screen): {g:.2f} s vs cascade {s['total_s']:.2f} s in "
              f"the CLI ({100 * (g / s['total_s'] - 1):+.0f} %) and the whole CLI process {mw:.2f} s "
              f"({100 * (g / mw - 1):+.0f} %); measured in {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
