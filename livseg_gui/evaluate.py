"""`livseg evaluate`: the full cascade on labelled cases, with the paper's metrics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

import numpy as np

from .measure.metrics import Overlap, lesion_detection
from .segment import Cascade


def evaluate_cases(data: str | Path, models: str | Path | None, names: list[str], threads: int = 0,
                   out: TextIO | None = None) -> dict:
    # The LiTS/MSD/case-folder discovery lives with the trainer but needs no torch.
    from .train.datasets import find_cases, load_case

    refs = [r for r in find_cases(data) if not names or r.name in names]
    cascade = Cascade(models, threads=threads)
    rows, liver_sum, tumour_sum = [], None, None
    hit_total = [0, 0]
    header = (f"{'case':<20} {'liver Dice':>10} {'Acc':>7} {'Sens':>7} {'Spec':>7} {'Eff':>7} | "
              f"{'tum Dice':>8} {'Sens':>7} {'found>=10mm':>11} {'precision':>9} {'FP mL':>7} {'cand':>4} {'s':>6}")
    if out:
        print(header, file=out)
    for ref in refs:
        case = load_case(ref)
        t0 = time.perf_counter()
        res = cascade.run(case.volume)
        secs = time.perf_counter() - t0
        lo = Overlap.of(res.labels >= 1, case.labels >= 1)
        liver_sum = lo if liver_sum is None else liver_sum + lo
        row = {"case": ref.name, "liver": lo.as_dict(), "seconds": secs, "tumour_labelled": case.tumour_labelled,
               "has_tumour": case.tumour_labelled and bool((case.labels == 2).any()), "candidates": len(res.candidates)}
        tum = f"{'n/a':>8} {'n/a':>7} {'n/a':>11} {'n/a':>9} {'n/a':>7}"
        if case.tumour_labelled:  # a liver-only label says nothing about tumours: no tumour figures at all
            to = Overlap.of(res.labels == 2, case.labels == 2)
            det = lesion_detection(res.labels == 2, case.labels == 2, case.volume.spacing)
            fp_ml = to.fp * case.volume.voxel_volume_ml
            tumour_sum = to if tumour_sum is None else tumour_sum + to
            hit_total[0] += det.found
            hit_total[1] += det.total
            row.update({"tumour": to.as_dict(), "lesions_detected": det.found, "lesions_total": det.total,
                        "lesion_precision": det.precision, "predicted_lesions": det.predicted, "tumour_fp_ml": fp_ml})
            prec = "n/a" if det.precision is None else f"{det.precision:.2f}"
            dice = f"{to.dice:8.3f} {to.sensitivity:7.3f}" if row["has_tumour"] else f"{'n/a':>8} {'n/a':>7}"
            tum = f"{dice} {f'{det.found}/{det.total}':>11} {prec:>9} {fp_ml:7.2f}"
        rows.append(row)
        if out:
            print(f"{ref.name:<20} {lo.dice:10.4f} {lo.accuracy:7.4f} {lo.sensitivity:7.4f} {lo.specificity:7.4f} "
                  f"{lo.efficiency:7.4f} | {tum} {len(res.candidates):4d} {secs:6.2f}", file=out)

    def mean(key: str, part: str, only_tumour: bool = False) -> float:
        vals = [r[part][key] for r in rows if (r["has_tumour"] or not only_tumour) and part in r]
        return float(np.mean(vals)) if vals else float("nan")

    summary = {
        "cases": rows,
        "mean": {
            "liver": {k: mean(k, "liver") for k in ("accuracy", "dice", "sensitivity", "specificity", "efficiency")},
            "tumour": {k: mean(k, "tumour", True) for k in ("accuracy", "dice", "sensitivity", "specificity", "efficiency")},
        },
        "global_dice": {"liver": liver_sum.dice if liver_sum else None, "tumour": tumour_sum.dice if tumour_sum else None},
        "lesion_recall_10mm": (hit_total[0] / hit_total[1]) if hit_total[1] else None,
        "lesions_10mm": hit_total,
        "models": str(cascade.card.folder),
    }
    if out:
        m = summary["mean"]
        print(f"{'mean':<20} {m['liver']['dice']:10.4f} {m['liver']['accuracy']:7.4f} {m['liver']['sensitivity']:7.4f} "
              f"{m['liver']['specificity']:7.4f} {m['liver']['efficiency']:7.4f} | {m['tumour']['dice']:8.3f}", file=out)
        tumour_dice = summary["global_dice"]["tumour"]
        print(f"global Dice: liver {summary['global_dice']['liver']:.4f}, tumour "
              f"{'n/a' if tumour_dice is None else f'{tumour_dice:.4f}'}; lesions >= 10 mm found "
              f"(>= 25 % covered): {hit_total[0]}/{hit_total[1]}", file=out)
    return summary


THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)


def sweep_lesion_threshold(data: str | Path, models: str | Path | None, names: list[str], threads: int = 0,
                           out: TextIO | None = None) -> dict:
    """Choose the operating threshold on lesion confidence (peak probability) from validation cases.

    Every predicted component is kept (threshold 0.5), then each candidate threshold is scored: lesions
    >= 10 mm found (>= 25 % covered), false-positive tumour mL, and false lesions on tumour-free cases.
    The choice: the highest recall, then the least false tumour; ties go to the higher threshold.
    """
    from scipy import ndimage

    from .train.datasets import find_cases, load_case

    refs = [r for r in find_cases(data) if (not names or r.name in names) and r.tumour_labelled]
    cascade = Cascade(models, threads=threads, lesion_threshold=0.5)
    rows = {t: {"found": 0, "total": 0, "fp_ml": 0.0, "false_lesions": 0} for t in THRESHOLDS}
    for ref in refs:
        case = load_case(ref)
        res = cascade.run(case.volume)
        pred = res.labels == 2
        gt = case.labels == 2
        comp, n = ndimage.label(pred, structure=np.ones((3, 3, 3), bool))
        prob = res.tumour_probability
        conf = np.zeros(n + 1)
        for i, sl in enumerate(ndimage.find_objects(comp), start=1):
            box = tuple(slice(s.start, s.stop) for s in sl)
            conf[i] = (prob.peak(box, comp[sl] == i) or 0.0) if prob else 1.0
        for t in THRESHOLDS:
            kept = (conf >= t)[comp] & pred
            det = lesion_detection(kept, gt, case.volume.spacing)
            r = rows[t]
            r["found"] += det.found
            r["total"] += det.total
            r["fp_ml"] += float((kept & ~gt).sum()) * case.volume.voxel_volume_ml
            r["false_lesions"] += det.predicted - det.predicted_true
    best = max(THRESHOLDS, key=lambda t: (rows[t]["found"], -round(rows[t]["fp_ml"], 1), t))
    if out:
        print(f"{'threshold':>9} {'found>=10mm':>11} {'FP mL':>8} {'false lesions':>13}", file=out)
        for t in THRESHOLDS:
            r = rows[t]
            mark = "  <- chosen" if t == best else ""
            print(f"{t:9.2f} {r['found']:>5}/{r['total']:<5} {r['fp_ml']:8.2f} {r['false_lesions']:13d}{mark}", file=out)
    return {"cases": [r.name for r in refs], "table": {str(t): rows[t] for t in THRESHOLDS}, "chosen": best}
