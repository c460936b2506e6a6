"""A simulated user correcting the automatic result with clicks (the interactive-segmentation protocol).

    python benchmarks/bench_clicks.py [--models DIR] [--click-net DIR|none] [--cases a,b] [--data DIR]
                                      [--scratch | --synthetic N | --via-refine] [--thin-slices N | --slice-mm MM] [--cold] [--verbose]

Per true lesion >= 10 mm (equivalent-sphere diameter), starting from the cascade's result: click at the
deepest point (largest distance to its border) of the largest error region near the lesion -- positive in
missed tumour, negative in false tumour -- until the lesion's local Dice >= 0.80 or 5 clicks. Then the
liver: up to 5 clicks to reach Dice >= 0.95. Prints clicks per lesion, Dice after 1/3/5 clicks and the
latency of each click. Use validation cases (never trained on) for honest figures.

With ``--scratch``, each case starts from its true labels with every lesion taken back to liver (no cascade,
no tumour probability, no click net: the classical tools are not trained, so every labelled case is fair
game, e.g. ``--cases ircadb-17,lits-117-roi,radct-1720,radct-2022``): the same protocol from nothing, on more
real lesions.

With ``--via-refine``, every click goes through a `livseg refine` process instead (the CLI's code path on the
files; each call replays all clicks so far, so its click memory matches a GUI session's); latencies then include
each process's start and the CT's load.

With ``--synthetic N``, N synthetic lesions (``train.synth_tumour``: hypo-, hyperdense or rim-enhancing,
15-40 mm) are pasted into each case's liver first and the cascade runs on that CT: more lesions of known
extent for the protocol, reported apart from the real ones (the nets learned from the same generator, on
other cases' livers).

With ``--thin-slices N``, each case's slices are first split into N (the CT interpolated linearly, the labels
repeated): the same lesions on the thin-slice grid of a modern scanner (ircadb-17's 1.6 mm slices become 0.8 mm,
512x512x238), for the tools' latency there and whether they find what they find on the original slices. With
``--slice-mm MM``, the same to slices of MM (ircadb-17 at ``--slice-mm 1.0``: 512x512x190).

Before the first click on each case, the CT is smoothed within the liver as the window does after a segmentation
or a loaded mask (``workflow.smooth_liver_in_background``), and that pass runs again, untimed, before every later
click, as the window runs it half a second after each edit; unless ``--cold``: then each click smooths what it looks
at and has not been smoothed yet (as ``livseg refine`` does).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from livseg_gui.edit import LabelMap
from livseg_gui.measure.metrics import Overlap
from livseg_gui.memory import prefer_small_pages
from livseg_gui.segment import Cascade
from livseg_gui.segment.models import Models, load_click_net
from livseg_gui.train.datasets import find_cases, load_case
from livseg_gui.train.synth_tumour import paste_tumour
from livseg_gui.workflow import apply_click, prepare_clicks_in_background, save_tumour_probability, smooth_liver_in_background

ROOT = Path(__file__).resolve().parent.parent
MAX_CLICKS = 5
VERBOSE = False


def deepest_point(mask: np.ndarray, spacing) -> np.ndarray:
    """The voxel of the largest component of ``mask`` farthest from its border."""
    comp, n = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
    biggest = comp == (int(np.argmax(np.bincount(comp.ravel())[1:])) + 1)
    d = ndimage.distance_transform_edt(np.pad(biggest, 1), sampling=spacing)[1:-1, 1:-1, 1:-1]
    return np.array(np.unravel_index(int(np.argmax(d)), d.shape)), int(biggest.sum())


class RefineCommand:
    """The clicks through `livseg refine` instead of in-process: one call per click, each replaying every click so
    far on the starting labels (a call's clicks share its click memory, as a GUI session's do)."""

    def __init__(self, ct: Path, vol, start_labels: np.ndarray, folder: Path, models: str, probability=None):
        from livseg_gui.io.nifti import save_labels_nifti

        self.ct, self.models, self.clicks = ct, models, []
        self.start, self.out = folder / "start.nii.gz", folder / "out.nii.gz"
        save_labels_nifti(start_labels, vol, self.start)
        self.extra = []  # the cascade's probabilities, as `livseg segment --probability` writes them
        if probability is not None:
            save_tumour_probability(probability, vol, folder / "probability.nii.gz")
            self.extra = ["--probability", str(folder / "probability.nii.gz")]

    def __call__(self, lm: LabelMap, vol, voxel, target: str, positive: bool, *_):
        import subprocess
        import sys

        import nibabel as nib

        src = np.linalg.inv(vol.source.affine) @ vol.affine @ np.array([*map(float, voxel), 1.0])
        i, j, k = (int(v) for v in np.round(src[:3]))
        self.clicks.append(f"{i},{j},{k}:{target}{'+' if positive else '-'}")
        cmd = [sys.executable, "-m", "livseg_gui", "refine", str(self.ct), "--labels", str(self.start), "-o", str(self.out),
               "--models", self.models, *self.extra] + [a for c in self.clicks for a in ("--click", c)]
        subprocess.run(cmd, check=True, capture_output=True)
        new = vol.labels_from_source(np.asarray(nib.load(self.out).dataobj))
        return lm.apply("refine", tuple(slice(0, n) for n in new.shape), new)


def correct(lm: LabelMap, vol, truth: np.ndarray, region, value_of, target: str, goal: float, prob, click_net=None,
            learned_first: bool | None = None, apply=apply_click, ignore: np.ndarray | None = None,
            between=None) -> dict:
    """Click until Dice(value_of(labels), truth) >= goal inside ``region`` or MAX_CLICKS. Voxels of ``ignore``
    (over ``region``: other true lesions beside this one) count neither way and are never clicked. ``between()``
    runs before each click, untimed (what the window does while the user looks at the last click's result)."""
    keep = ~ignore if ignore is not None else np.ones(truth[region].shape, bool)

    def predicted():
        return value_of(lm.data[region]) & keep

    dices, latencies = [], []
    dice = Overlap.of(predicted(), truth[region]).dice
    dices.append(dice)
    clicks = 0
    while dice < goal and clicks < MAX_CLICKS:
        pred = predicted()
        fn, fp = truth[region] & ~pred, pred & ~truth[region]
        if not fn.any() and not fp.any():
            break
        (p_fn, n_fn) = deepest_point(fn, vol.spacing) if fn.any() else (None, 0)
        (p_fp, n_fp) = deepest_point(fp, vol.spacing) if fp.any() else (None, 0)
        positive = n_fn >= n_fp
        local = p_fn if positive else p_fp
        voxel = local + [s.start for s in region]
        if between is not None:
            between()
        t = time.perf_counter()
        change = apply(lm, vol, voxel, target, positive, prob, click_net, learned_first)
        latencies.append(time.perf_counter() - t)
        clicks += 1
        dice = Overlap.of(predicted(), truth[region]).dice
        dices.append(dice)
        if VERBOSE:
            after = predicted()
            flipped = after != pred
            print(f"    {'+' if positive else '-'} at {tuple(int(v) for v in voxel)}: "
                  f"{change.name + f', {change.values.size} voxels' if change else 'nothing'} "
                  f"({int(flipped.sum())} in the lesion's region, {int((flipped & (after == truth[region])).sum())} "
                  f"of them right) -> Dice {dice:.2f}")
    return {"clicks": clicks if dice >= goal else None, "dices": dices, "latencies": latencies}


def with_synthetic_lesions(case, count: int, rng: np.random.Generator):
    """(case, volume, synthetic mask) with ``count`` synthetic lesions pasted into the liver, apart from each other."""
    hu = case.volume.array.astype(np.float32)
    labels = case.labels.copy()
    sp = case.volume.spacing
    for _ in range(count):
        free = (labels == 1) & (ndimage.distance_transform_edt(labels != 2, sampling=sp) > 25.0)
        idx = np.flatnonzero(free)  # centres in the liver, away from any lesion (real or pasted)
        for _try in range(20):
            if idx.size and paste_tumour(hu, labels, sp, float(rng.uniform(15.0, 40.0)), rng,
                                         center=np.unravel_index(idx[rng.integers(idx.size)], labels.shape)):
                break
    synthetic = (labels == 2) & (case.labels != 2)
    vol = dataclasses.replace(case.volume, array=np.asfortranarray(np.round(hu).astype(np.int16)))
    return dataclasses.replace(case, volume=vol, labels=labels, tumour_labelled=True), vol, synthetic


def with_thinner_slices(case, n: float):
    """(case, volume) with every slice split into ``n`` (``n`` need not be whole: 1.6 mm slices into 1.0 mm ones is
    1.6): the CT linearly interpolated at the new slices' centres, the labels of the old slice each new centre lies
    in (for a whole ``n``, each repeated ``n`` times)."""
    vol = case.volume
    # Pixel centres kept in place (grid_mode); beyond the first and last old centres, their HU (nearest).
    hu = ndimage.zoom(vol.array.astype(np.float32), (1, 1, n), order=1, grid_mode=True, mode="nearest")
    labels = ndimage.zoom(case.labels, (1, 1, n), order=0, grid_mode=True, mode="nearest")
    ratio = vol.shape[2] / hu.shape[2]  # old slices per new one (1 / n, up to rounding the slice count)
    new_to_old = np.diag([1.0, 1.0, ratio, 1.0])
    new_to_old[2, 3] = (ratio - 1) / 2  # new slice j's centre at old index (j + 0.5) * ratio - 0.5
    vol = dataclasses.replace(vol, array=np.asfortranarray(np.round(hu).astype(np.int16)), affine=vol.affine @ new_to_old)
    return dataclasses.replace(case, volume=vol, labels=labels), vol


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "cases"))
    ap.add_argument("--models", default=str(ROOT / "models"))
    ap.add_argument("--cases", default="radct-1720,ts-example-dicom")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--learned-first", action="store_true", help="positive lesion clicks try the click net first")
    ap.add_argument("--synthetic", type=int, default=0, help="paste this many synthetic lesions into each case's liver")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--click-net", default=None,
                    help="models folder whose card has the click net (default: --models); 'none' for the classical tools only")
    ap.add_argument("--verbose", action="store_true", help="print each click: where, which tool, how much it changed")
    ap.add_argument("--via-refine", action="store_true",
                    help="click through `livseg refine` processes (real cases only; latency then includes each process)")
    ap.add_argument("--cold", action="store_true",
                    help="no smoothing of the liver ahead of the clicks (as `livseg refine`, not the window)")
    ap.add_argument("--thin-slices", type=int, default=1, help="split every slice into this many first")
    ap.add_argument("--slice-mm", type=float, default=None,
                    help="resample every case to slices this thick first (thinner than its own: e.g. 1.0)")
    ap.add_argument("--scratch", action="store_true",
                    help="start from the true labels with the lesions taken back to liver (classical tools only)")
    args = ap.parse_args()
    prefer_small_pages()  # as `livseg` does (the window's process): see livseg_gui/memory.py
    global VERBOSE
    VERBOSE = args.verbose
    names = args.cases.split(",")
    cascade = None if args.scratch else Cascade(args.models, threads=args.threads)
    models = None if args.click_net == "none" or args.scratch else Models(args.click_net or args.models, args.threads)
    prepare_clicks_in_background(models).result()  # as the window does once a scan opens
    click_net = models.click_net() if models is not None else None
    order = "click net first, classical where it adds nothing" if args.learned_first else "classical first, click net where it adds nothing"
    print(f"lesion clicks: {order if click_net else 'classical tools only'}")
    lesion_runs, liver_runs = [], []
    tmp = tempfile.TemporaryDirectory()
    for n_case, ref in enumerate(r for r in find_cases(args.data) if r.name in names):
        case = load_case(ref)
        vol = case.volume
        split = args.thin_slices if args.slice_mm is None else vol.spacing[2] / args.slice_mm
        if split > 1:
            if args.via_refine:
                ap.error("--via-refine needs the CT on disk: not with --thin-slices or --slice-mm")
            case, vol = with_thinner_slices(case, split)
        synthetic = np.zeros(vol.shape, bool)
        if args.synthetic:
            case, vol, synthetic = with_synthetic_lesions(case, args.synthetic, np.random.default_rng(args.seed + n_case))
        # The label map (and the CT) in Fortran order, as the app keeps them (Volume.new_labels): a C-ordered copy
        # timed the clicks on a memory layout the window never has.
        if args.scratch:
            lm, prob = LabelMap(np.asfortranarray(np.where(case.labels == 2, 1, case.labels).astype(np.uint8))), None
        else:
            res = cascade.run(vol)
            lm, prob = LabelMap(np.array(res.labels, order="F")), res.tumour_probability
        between, passes = None, []
        if not (args.cold or args.via_refine):
            t = time.perf_counter()
            smooth_liver_in_background(vol, lm.data)[0].result()  # as the window does once the labels are in
            if VERBOSE:
                print(f"{ref.name}: liver smoothed ahead of the clicks in {time.perf_counter() - t:.1f} s")

            def between(lm=lm, vol=vol, passes=passes):  # and again half a second after each edit
                t = time.perf_counter()
                smooth_liver_in_background(vol, lm.data)[0].result()
                passes.append(time.perf_counter() - t)
        apply = apply_click
        if args.via_refine:
            if args.synthetic:
                ap.error("--via-refine needs the CT on disk: not with --synthetic")
            net_folder = args.click_net or args.models
            if args.click_net == "none":  # `livseg refine --models` has no "none": a folder without a click net then
                if load_click_net(args.models) is not None:
                    ap.error("--via-refine --click-net none needs --models without a click net (e.g. a training run)")
                net_folder = args.models
            apply = RefineCommand(ref.ct, vol, lm.data.copy(), Path(tmp.name), net_folder, prob)
        if case.tumour_labelled:
            gt = case.labels == 2
            comp, n = ndimage.label(gt, structure=np.ones((3, 3, 3), bool))
            for i, sl in enumerate(ndimage.find_objects(comp), start=1):
                lesion = comp == i
                if np.cbrt(6 * lesion.sum() * np.prod(vol.spacing) / np.pi) < 10:
                    continue
                margin = np.ceil(10.0 / np.array(vol.spacing)).astype(int)
                region = tuple(slice(max(0, s.start - m), min(d, s.stop + m)) for s, m, d in zip(sl, margin, vol.shape))
                # Another true lesion within the margin is neither this lesion's false tumour nor its miss (the
                # user would not erase a real lesion to fix this one): its voxels are left out of this Dice.
                r = correct(lm, vol, lesion, region, lambda a: a == 2, "tumour", 0.80, prob, click_net, args.learned_first,
                            apply, ignore=(gt & ~lesion)[region], between=between)
                r["case"] = ref.name
                r["synthetic"] = bool(synthetic[lesion].mean() > 0.5)
                lesion_runs.append(r)
                kind = "synthetic lesion" if r["synthetic"] else "lesion"
                ring = ndimage.binary_dilation(lesion[region], iterations=3) & ~lesion[region] & (case.labels[region] == 1)
                contrast = np.median(vol.array[lesion]) - (np.median(vol.array[region][ring]) if ring.any() else np.nan)
                print(f"{ref.name} {kind} {i} ({lesion.sum() * vol.voxel_volume_ml:.1f} mL, {contrast:+.0f} HU): "
                      f"Dice {' -> '.join(f'{d:.2f}' for d in r['dices'])}; "
                      f"clicks to 0.80: {r['clicks'] if r['clicks'] is not None else '>5'}; "
                      f"latency {', '.join(f'{1000 * t:.0f}' for t in r['latencies']) or '-'} ms")
        if VERBOSE and passes:
            print(f"{ref.name}: liver smoothing redone before each lesion click (the window's pass after an edit): "
                  f"median {statistics.median(passes):.2f} s, max {max(passes):.2f} s")
        if args.scratch:
            continue  # the liver is the true one
        whole = tuple(slice(0, n) for n in vol.shape)
        r = correct(lm, vol, case.labels >= 1, whole, lambda a: a >= 1, "liver", 0.95, None, apply=apply, between=between)
        liver_runs.append(r)
        print(f"{ref.name} liver: Dice {' -> '.join(f'{d:.3f}' for d in r['dices'])}; "
              f"clicks to 0.95: {r['clicks'] if r['clicks'] is not None else '>5'}; "
              f"latency {', '.join(f'{1000 * t:.0f}' for t in r['latencies']) or '-'} ms")

    def after(runs, k):
        return statistics.mean(r["dices"][min(k, len(r["dices"]) - 1)] for r in runs)

    for label, runs in (("real lesions", [r for r in lesion_runs if not r["synthetic"]]),
                        ("synthetic lesions", [r for r in lesion_runs if r["synthetic"]])):
        if not runs:
            continue
        reached = [r["clicks"] for r in runs if r["clicks"] is not None]
        lat = [t for r in runs for t in r["latencies"]]
        print(f"{label} >= 10 mm: {len(runs)}; reached Dice 0.80 within 5 clicks: {len(reached)}; mean clicks "
              f"(of those) {statistics.mean(reached) if reached else float('nan'):.1f}; mean Dice after 0/1/3/5 clicks "
              f"{after(runs, 0):.2f} / {after(runs, 1):.2f} / {after(runs, 3):.2f} / "
              f"{after(runs, 5):.2f}; latency per click median {1000 * statistics.median(lat) if lat else 0:.0f} ms,"
              f" max {1000 * max(lat) if lat else 0:.0f} ms")
    if not liver_runs:
        return
    lat = [t for r in liver_runs for t in r["latencies"]]
    print(f"liver: reached Dice 0.95 in {sum(r['clicks'] is not None for r in liver_runs)}/{len(liver_runs)} cases; "
          f"mean Dice after 0/1/3 clicks {after(liver_runs, 0):.3f} / {after(liver_runs, 1):.3f} / {after(liver_runs, 3):.3f};"
          f" latency max {1000 * max(lat) if lat else 0:.0f} ms")


if __name__ == "__main__":
    main()
