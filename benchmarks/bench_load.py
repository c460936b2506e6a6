"""Load time and peak memory: a 512x512x300 NIfTI and a 300-file DICOM series (targets: <= 1.5 s, <= 2x int16).

    python benchmarks/bench_load.py [--slices 300]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _util import SYNTH_CT, run_measured


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=300)
    args = ap.parse_args()
    n = args.slices
    int16_mib = 512 * 512 * n * 2 / 2**20
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run_measured(SYNTH_CT + f"""
import numpy as np, nibabel as nib, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from tests.factory import write_series
vol = synth_ct((512, 512, {n}))
nib.save(nib.Nifti1Image(vol, np.diag([-0.7, -0.7, 1.5, 1.0])), {str(tmp / 'ct.nii')!r})
nib.save(nib.Nifti1Image(vol, np.diag([-0.7, -0.7, 1.5, 1.0])), {str(tmp / 'ct.nii.gz')!r})
from pathlib import Path
write_series(Path({str(tmp / 'dcm')!r}), vol, spacing=(0.7, 0.7, 1.5))
""")
        print(f"volume: 512 x 512 x {n} int16 = {int16_mib:.0f} MiB")
        for label, path in (("NIfTI .nii", tmp / "ct.nii"), ("NIfTI .nii.gz", tmp / "ct.nii.gz"),
                            (f"DICOM {n} files", tmp / "dcm")):
            base = run_measured("import livseg_gui.io\nreport()")["peak_rss_mib"]
            r = run_measured(f"""
import time
from livseg_gui.io import load_volume
t = time.perf_counter()
v = load_volume({str(path)!r})
report(seconds=time.perf_counter() - t, shape=list(v.shape))
""")
            extra = r["peak_rss_mib"] - base
            print(f"{label:<18} load {r['seconds']:.2f} s   peak RSS {r['peak_rss_mib']:.0f} MiB "
                  f"(+{extra:.0f} MiB over the imports = {extra / int16_mib:.2f}x the int16 volume)")


if __name__ == "__main__":
    main()
