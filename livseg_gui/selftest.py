"""`livseg --selftest`: segment the bundled sample CT and check the result is sane."""

from __future__ import annotations

import time

import numpy as np


def selftest_report() -> str:
    """Run the self-test and describe it in a few lines (also shown in the About dialog)."""
    from .io import load_volume
    from .resources import sample_ct_path
    from .segment import Cascade

    t0 = time.perf_counter()
    vol = load_volume(sample_ct_path())
    t1 = time.perf_counter()
    res = Cascade().run(vol)
    t2 = time.perf_counter()
    liver_ml = float((res.labels >= 1).sum()) * vol.voxel_volume_ml
    ok = res.labels.shape == vol.shape and liver_ml > 50 and set(np.unique(res.labels)) <= {0, 1, 2}
    mapped = vol.to_source(res.labels)
    ok = ok and mapped.shape == vol.source.shape
    return (f"self-test {'PASSED' if ok else 'FAILED'}: sample {vol.shape}, liver {liver_ml:.0f} mL, "
            f"tumour {float((res.labels == 2).sum()) * vol.voxel_volume_ml:.1f} mL; "
            f"load {t1 - t0:.2f} s, segment {t2 - t1:.2f} s")


def run_selftest() -> int:
    text = selftest_report()
    print(text)
    return 0 if "PASSED" in text else 1
