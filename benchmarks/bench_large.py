"""A 512x512x1000 int16 CT: load time, scroll speed and peak RSS of the whole cascade (target <= 2 GB).

    python benchmarks/bench_large.py [--slices 1000]

The CT is a real one tiled along z (ircadb-17 from ../shared when present, else the bundled sample),
written as NIfTI to a temp folder, so the nets see anatomy and every stage of the cascade runs.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _util import run_measured

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "data" / "cases" / "ircadb-17" / "ct.nii.gz"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    src = SOURCE if SOURCE.exists() else ROOT / "resources" / "sample" / "ts-example-ct"
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.nii"
        run_measured(f"""
import numpy as np, nibabel as nib
from livseg_gui.io import load_volume
v = load_volume({str(src)!r})
reps = -(-{args.slices} // v.shape[2])
arr = np.concatenate([v.array, v.array[:, :, ::-1]] * ((reps + 1) // 2), axis=2)[:, :, :{args.slices}]
nib.save(nib.Nifti1Image(np.asfortranarray(arr), v.affine), {str(big)!r})
report()
""")
        r = run_measured(f"""
import time
from livseg_gui.io import load_volume
t = time.perf_counter(); v = load_volume({str(big)!r}); t_load = time.perf_counter() - t
import numpy as np
from livseg_gui.planes import Plane, plane_slice
t = time.perf_counter()
for k in range(0, v.shape[2], 5):
    np.ascontiguousarray(plane_slice(v.array, Plane.AXIAL, k))
t_slice = (time.perf_counter() - t) / len(range(0, v.shape[2], 5))
report(load_s=t_load, slice_ms=t_slice * 1000, shape=list(v.shape))
""")
        print(f"{r['shape']}: load {r['load_s']:.2f} s, axial slice extraction {r['slice_ms']:.2f} ms, "
              f"peak RSS after load {r['peak_rss_mib']:.0f} MiB")
        s = run_measured(f"""
import time
from livseg_gui.io import load_volume
from livseg_gui.segment import Cascade
v = load_volume({str(big)!r})
t = time.perf_counter()
res = Cascade(threads={args.threads}).run(v)
report(seconds=time.perf_counter() - t, timings=res.timings, liver=int((res.labels >= 1).sum()))
""")
        print(f"segment: {s['seconds']:.1f} s, peak RSS {s['peak_rss_mib']:.0f} MiB "
              f"(liver {s['timings']['liver_s']:.1f} s, post {s['timings']['liver_post_s']:.1f} s, "
              f"tumour {s['timings']['tumour_s']:.1f} s)")
    print("scroll speed in the real view: see bench_render.py --slices", args.slices)


if __name__ == "__main__":
    main()
