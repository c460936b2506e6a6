"""The one-click benchmark's sets, as the README reports them: each a run of bench_clicks.py, then the latency of
every lesion click and every liver click of the sets together (against their aims: 300 ms and 1 s).

    python benchmarks/bench_click_sets.py [--runs DIR] [--sets held,syn0,...] [--out DIR] [-- BENCH_CLICKS_ARGS]

Sets (see README, "One-click tools"):

- ``held``: run A's held-out cascade (trained without radct-1720 and ts-example-dicom) on those two cases, with the
  bundled click net (it never saw them); ``syn0`` / ``syn7``: the same with three synthetic lesions pasted into each
  liver (seeds 0 and 7), ``syn3`` / ``syn11`` the unseen seeds;
- ``f17``: fold F17 (trained without ircadb-17) on ircadb-17, classical tools only (the click net saw ircadb-17);
- ``scr``: every labelled lesion of ircadb-17, lits-117-roi, radct-1720 and radct-2022 from nothing (true liver,
  lesions taken back to liver), classical tools only; ``scrsyn1``: five cases with three synthetic lesions each
  (seed 1), ``scrsyn2`` / ``scrsyn3`` / ``scrsyn4`` the unseen seeds.

Run A and fold F17 are trained with the model card's "Reproduce" commands into ``--runs`` (``A/`` and ``F17/``); a
set whose run is missing is skipped. Arguments after ``--`` go to every bench_clicks.py run (``--slice-mm 1.0``,
``--verbose``, ``--cold``). Each set's whole output goes to ``--out`` when given. A fixed workload timed before and
after the sets (:func:`reference_ms`) tells how fast this host ran them; the cores it may use are printed too (one
core: ``taskset -c 0 python benchmarks/bench_click_sets.py ...``).
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELD = "radct-1720,ts-example-dicom"
SCRATCH = "ircadb-17,lits-117-roi,radct-1720,radct-2022"
SCRATCH_SYNTHETIC = "ircadb-17,radct-1720,radct-2022,ts-example-dicom,ts-example-3mm"


def set_args(name: str, runs: Path) -> tuple[list[str], Path | None] | None:
    """bench_clicks.py's arguments for set ``name`` and the run folder it needs (None: none)."""
    bundled = str(ROOT / "models")
    if name == "held" or (m := re.fullmatch(r"syn(\d+)", name)):
        extra = [] if name == "held" else ["--synthetic", "3", "--seed", m.group(1)]
        return ["--models", str(runs / "A"), "--click-net", bundled, "--cases", HELD, *extra], runs / "A"
    if name == "f17":
        return ["--models", str(runs / "F17"), "--click-net", "none", "--cases", "ircadb-17"], runs / "F17"
    if name == "scr":
        return ["--scratch", "--cases", SCRATCH], None
    if m := re.fullmatch(r"scrsyn(\d+)", name):
        return ["--scratch", "--synthetic", "3", "--seed", m.group(1), "--cases", SCRATCH_SYNTHETIC], None
    return None


def latencies_ms(output: str, target: str) -> list[float]:
    """Every lesion (``target`` "lesion") or liver click's latency in bench_clicks.py's output."""
    goal = "0.80" if target == "lesion" else "0.95"
    found = re.findall(rf"clicks to {goal}: [^;]*; latency ([0-9, ]+) ms", output)
    return [float(v) for group in found for v in group.split(",") if v.strip()]


def reference_ms(repeats: int = 5) -> float:
    """Median user CPU time (ms) of a fixed workload of a click's kind, single-threaded: a 1 mm click's 162x162x121
    box smoothed, a distance map and a labelling over it, and a random walk on a 60x60x60 grid. It tells this host's
    speed at the hour: the same code's clicks took 25-40 % longer on some hours than on others (their wall time is
    their user CPU time), and figures from different runs compare only alongside it. User time, not wall time: this
    host's first touch of fresh memory costs system time that varies far more (a distance map's 4k page faults
    took 0.03-0.9 s), and clicks, which reuse their process's memory, pay little of it."""
    import numpy as np
    from scipy import ndimage

    from livseg_gui.edit.random_walk import random_walk

    rng = np.random.default_rng(0)
    box = rng.normal(80.0, 20.0, (162, 162, 121)).astype(np.float32)
    mask = ndimage.gaussian_filter(rng.normal(size=(81, 81, 61)), 3).repeat(2, 0).repeat(2, 1).repeat(2, 2)[:162, :162, :121] > 0
    img = ndimage.gaussian_filter(rng.normal(80.0, 20.0, (60, 60, 60)), 1.0)
    seeds = np.zeros(img.shape, np.int8)
    seeds[25:35, 25:35, 25:35], seeds[:3], seeds[-3:] = 1, 2, 2
    times = []
    for _ in range(repeats):
        start = resource.getrusage(resource.RUSAGE_SELF).ru_utime
        ndimage.gaussian_filter(box, 2.0)
        ndimage.distance_transform_edt(mask)
        ndimage.label(mask)
        random_walk(img, np.ones(img.shape, bool), seeds, np.ones(3))
        times.append(resource.getrusage(resource.RUSAGE_SELF).ru_utime - start)
    return 1000.0 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default=str(ROOT / "runs"), help="folder with the held-out runs A/ and F17/")
    ap.add_argument("--sets", default="held,syn0,syn7,f17,scr,scrsyn1")
    ap.add_argument("--out", default=None, help="write each set's whole output here")
    ap.add_argument("passed", nargs="*", help="after --: arguments for every bench_clicks.py run")
    args = ap.parse_args()
    runs = Path(args.runs)
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    every = {"lesion": [], "liver": []}
    before = reference_ms()
    for name in args.sets.split(","):
        found = set_args(name, runs)
        if found is None:
            ap.error(f"unknown set {name!r}")
        bench_args, needs = found
        if needs is not None and not (needs / "model_card.json").is_file():
            print(f"{name}: skipped ({needs} has no trained run)")
            continue
        cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_clicks.py"), "--threads", "1", *bench_args, *args.passed]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if out:
            (out / f"{name}.txt").write_text(run.stdout + run.stderr)
        if run.returncode != 0:
            print(f"{name}: failed ({run.stderr.strip().splitlines()[-1] if run.stderr.strip() else run.returncode})")
            continue
        for target, times in every.items():
            times += latencies_ms(run.stdout, target)
        for line in run.stdout.splitlines():
            if re.match(r"(real lesions|synthetic lesions|liver:)", line):
                print(f"{name}: {line}")
    for target, aim in (("lesion", 300), ("liver", 1000)):
        times = sorted(every[target])
        if times:
            p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
            print(f"all sets, {target} clicks: {len(times)}, latency median {statistics.median(times):.0f} ms, 90th "
                  f"percentile {p90:.0f} ms, max {times[-1]:.0f} ms, {sum(t > aim for t in times)} over {aim} ms")
    print(f"host reference workload (reference_ms): {before:.0f} ms before the sets, {reference_ms():.0f} ms after")
    from livseg_gui.edit.clicks.common import _cores

    print(f"cores this process may run on: {_cores()} (a lesion click computes a drawn lesion's extension, or a faint "
          "click's edge, on a second one)")


if __name__ == "__main__":
    main()
