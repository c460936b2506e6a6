"""Whole-cascade time, peak RSS and per-stage time; MobileUNet vs the plain U-Net baseline; slices/s per batch.

    python benchmarks/bench_segment.py [CT] [--threads 2]

CT defaults to ../shared/data/cases/ircadb-17/ct.nii.gz (512x512x119) when present, else the sample.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _util import run_measured

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CT = ROOT.parent / "shared" / "data" / "cases" / "ircadb-17" / "ct.nii.gz"


def cascade_run(ct: str, models: str, threads: int) -> dict:
    return run_measured(f"""
import time
from livseg_gui.io import load_volume
from livseg_gui.segment import Cascade
vol = load_volume({ct!r})
c = Cascade({models!r}, threads={threads})
c.run(vol)  # warm-up: first-run allocations are not what a user waits for twice
t = time.perf_counter()
r = c.run(vol)
report(seconds=time.perf_counter() - t, timings=r.timings, shape=list(vol.shape),
       liver_vox=int((r.labels >= 1).sum()), tumour_vox=int((r.labels == 2).sum()))
""")


def throughput(models: str, net: str, threads: int) -> dict:
    return run_measured(f"""
import time, numpy as np
from livseg_gui.segment.modelcard import load_card
from livseg_gui.segment.runner import NetRunner
card = load_card({models!r}).net({net!r})
r = NetRunner(card, {threads})
out = {{}}
for b in (1, 8, 32):
    x = np.random.rand(b, card.context, card.input_size, card.input_size).astype(np.float32)
    r.logits(x)
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < 3.0:
        r.logits(x)
        n += b
    out[b] = n / (time.perf_counter() - t)
report(slices_per_s=out, size=card.input_size)
""")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ct", nargs="?", default=str(DEFAULT_CT if DEFAULT_CT.exists() else
                                                 ROOT / "resources" / "sample" / "ts-example-ct"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    mobile = str(ROOT / "models")
    baseline = ROOT / "models" / "baseline"
    print(f"CT: {args.ct}, {args.threads} threads")
    m = cascade_run(args.ct, mobile, args.threads)
    t = m["timings"]
    print(f"MobileUNet cascade on {m['shape']}: {m['seconds']:.2f} s wall, peak RSS {m['peak_rss_mib']:.0f} MiB "
          f"(liver {t['liver_s']:.2f} s, liver post {t['liver_post_s']:.2f} s, tumour {t['tumour_s']:.2f} s)")
    if (baseline / "model_card.json").exists():
        b = cascade_run(args.ct, str(baseline), args.threads)
        print(f"plain U-Net cascade:            {b['seconds']:.2f} s wall, peak RSS {b['peak_rss_mib']:.0f} MiB "
              f"-> MobileUNet/U-Net time ratio {m['seconds'] / b['seconds']:.2f}")
    for net in ("liver", "tumour"):
        tp = throughput(mobile, net, args.threads)
        sps = ", ".join(f"batch {k}: {v:.0f}" for k, v in tp["slices_per_s"].items())
        print(f"{net} net ({tp['size']}^2) slices/s: {sps}")
        if (baseline / "model_card.json").exists():
            tb = throughput(str(baseline), net, args.threads) if net in _nets(baseline) else None
            if tb:
                print(f"  plain U-Net {net}: " + ", ".join(f"batch {k}: {v:.0f}" for k, v in tb["slices_per_s"].items()))


def _nets(folder: Path) -> set[str]:
    import json

    return set(json.loads((folder / "model_card.json").read_text()).get("nets", {}))


if __name__ == "__main__":
    main()
