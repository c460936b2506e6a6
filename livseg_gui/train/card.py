"""Write the model card: JSON for the app, Markdown for people. Reading it is ``segment.modelcard``."""

from __future__ import annotations

import json
from pathlib import Path

from ..io.atomic import atomic_write_text

CARD_JSON = "model_card.json"
CARD_MD = "MODEL_CARD.md"

# Provenance and terms of the cases in ../shared/data/cases (from its README).
CASE_ORIGINS = {
    "ircadb-17": ("3D-IRCADb-01 patient 17, manual labels (IRCAD)", "IRCAD terms: non-commercial research, no redistribution"),
    "radct-1720": ("de-identified course data (RadCTTACEomics), manual DICOM SEG", "internal use only; origin unverified"),
    "radct-2022": ("de-identified course data (RadCTTACEomics), manual DICOM SEG, one tiny tumour",
                   "internal use only; origin unverified"),
    "lits-117-roi": ("LiTS case 117, resampled liver crop (liver-ct-segmentation-package 1.6.0, MIT)", "LiTS terms"),
    "ts-example-3mm": ("TotalSegmentator test file, liver label is TotalSegmentator output", "Apache-2.0"),
    "ts-example-dicom": ("TotalSegmentator example DICOM (the bundled sample), liver label is model output",
                         "Apache-2.0"),
    "dcmqi-3slice": ("QIICR/dcmqi 3-slice GE liver CT, manual liver label", "BSD-3"),
    "ircadb-01": ("3D-IRCADb-01 patient 1; manual liver label that includes its tumours (case.json "
                  "tumour_labelled false: liver net only)", "IRCAD terms: non-commercial research, no redistribution"),
    "lits-resized64": ("a LiTS volume downsampled to 64x64x33 (spacing estimated), from a public repository's MIT test data",
                       "LiTS terms (CC BY-NC-SA 4.0)"),
}
TERMS = ("The bundled weights are for research use only, non-commercial, because they were trained on data under "
         "the IRCAD and LiTS terms. Not a medical device; not for diagnosis.")


def load_card_json(folder: str | Path) -> dict:
    p = Path(folder) / CARD_JSON
    return json.loads(p.read_text()) if p.exists() else {"nets": {}}


def save_card(folder: str | Path, card: dict) -> dict:
    folder = Path(folder)
    card.setdefault("terms", TERMS)
    atomic_write_text(folder / CARD_JSON, json.dumps(card, indent=2) + "\n")
    atomic_write_text(folder / CARD_MD, render_markdown(card))
    return card


def update_card(folder: str | Path, name: str, entry: dict) -> dict:
    card = load_card_json(folder)
    card.setdefault("nets", {})[name] = entry
    return save_card(folder, card)


def add_validation(folder: str | Path, summary: dict) -> dict:
    """Store `livseg evaluate` figures (full cascade, source grid) in the card."""
    card = load_card_json(folder)
    card["validation"] = {
        "method": "full cascade (livseg evaluate) on the source grid; cases never used for training",
        "cases": {r["case"]: _case_entry(r) for r in summary["cases"]},
        "criteria": "a lesion >= 10 mm (equivalent-sphere diameter) is found when predicted tumour covers >= 25 % "
                    "of its voxels; precision = predicted lesions touching a true lesion / predicted lesions; "
                    "FP mL = predicted tumour outside true tumour; cases with tumour_labelled false have no tumour figures",
        "mean": {k: _short(v) for k, v in summary["mean"].items()},
        "global_dice": {k: (round(v, 4) if v is not None else None) for k, v in summary["global_dice"].items()},
    }
    return save_card(folder, card)


def set_lesion_threshold(folder: str | Path, sweep: dict) -> dict:
    """Store the operating threshold chosen by ``evaluate --sweep-threshold`` (and its table) in the card."""
    card = load_card_json(folder)
    card["nets"]["tumour"]["lesion_threshold"] = sweep["chosen"]
    card["operating_point"] = sweep
    return save_card(folder, card)


def _case_entry(r: dict) -> dict:
    entry = {"liver": _short(r["liver"]), "tumour": _short(r["tumour"]) if r["has_tumour"] else None,
             "seconds": round(r["seconds"], 2), "candidates": r.get("candidates", 0),
             "tumour_labelled": r.get("tumour_labelled", True)}
    if r.get("tumour_labelled", True):
        precision = r.get("lesion_precision")
        entry.update({"lesions_10mm": [r["lesions_detected"], r["lesions_total"]],
                      "lesion_precision": None if precision is None else round(precision, 3),
                      "predicted_lesions": r.get("predicted_lesions"), "tumour_fp_ml": round(r["tumour_fp_ml"], 2)})
    return entry


def _short(m: dict) -> dict:
    keys = ("dice", "accuracy", "sensitivity", "specificity", "efficiency")
    return {k: round(float(m[k]), 4) for k in keys if k in m}


def _val_columns(entry: dict) -> list[str]:
    """The validation figures an entry's history holds: per case, or one pooled figure (the click net)."""
    history = entry.get("history") or []
    return list(history[-1]["val_dice"]) if history and history[-1].get("val_dice") else entry.get("val_cases", [])


def render_markdown(card: dict) -> str:
    lines = ["# LivSeg model card", "", f"Version: `{card.get('version', 'unversioned')}`", "", card.get("terms", TERMS), ""]
    for name, e in card.get("nets", {}).items():
        lines += [
            f"## `{name}` net ({e.get('file')})", "",
            f"- Architecture: {e.get('architecture')}, {e.get('parameters', 0):,} parameters, "
            f"{e.get('macs_per_slice', 0) / 1e6:.0f} M MACs per slice",
            f"- Input: {e.get('context')} axial slices (2.5D"
            + (f", {e['context_step_mm']} mm apart" if e.get("context_step_mm") else ", adjacent")
            + f") resampled to {e.get('input_size')}x{e.get('input_size')}"
            + (f" at {e['mm_per_px']} mm per pixel" if e.get("mm_per_px") else "")
            + f", HU window {e.get('hu_window')}" + (f", liver ROI + {e.get('roi_margin_mm')} mm margin" if e.get("roi_margin_mm") else "")
            + (f"; plus {e['channels'] - e['context']} channels: positive clicks, negative clicks, prior mask (a square "
               "centred on the click)" if e.get("channels", e.get("context")) != e.get("context") else ""),
            f"- Output: one logit per pixel; threshold {e.get('threshold')} (applied in `livseg_gui/segment`)"
            + (f"; a lesion needs a peak probability >= {e['lesion_threshold']}, weaker ones are candidates"
               if e.get("lesion_threshold") else ""),
            f"- Training: {e.get('epochs')} epochs x {e.get('steps_per_epoch')} steps x batch {e.get('batch')}, "
            f"{e.get('train_time_s', 0) / 60:.0f} min on 1 CPU thread; ONNX vs torch max |diff| {e.get('onnx_max_abs_diff', 0):.1e}",
            f"- Augmentation: {e['augmentation']}" if e.get("augmentation") else "- Augmentation: see the recipe below",
            f"- Training cases: {', '.join(e.get('train_cases', []))}",
            f"- Validation cases: {', '.join(e.get('val_cases', [])) or 'none (trained on all cases; see the held-out run)'}",
            *([f"- {e['notes']}"] if e.get("notes") else []),
            "",
            "| epoch | loss |" + "".join(f" val Dice {c} (net res.) |" for c in _val_columns(e)),
            "|---|---|" + "---|" * len(_val_columns(e)),
        ]
        for h in e.get("history", []):
            vals = "".join(f" {h['val_dice'].get(c, float('nan')):.3f} |" for c in _val_columns(e))
            lines.append(f"| {h['epoch']} | {h['loss']:.3f} |{vals}")
        lines.append("")
    val = card.get("validation")
    if val:
        lines += ["## Validation (full cascade, source grid)", "", val["method"], "", val.get("criteria", ""), "",
                  "| case | liver Dice | Acc | Sens | Spec | Eff | tumour Dice | tumour Sens | lesions >= 10 mm found "
                  "| lesion precision | tumour FP mL | candidates | s |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for case, r in val["cases"].items():
            lv, tu = r["liver"], r["tumour"]
            tum = f"{tu['dice']:.3f} | {tu['sensitivity']:.3f}" if tu else "n/a | n/a"
            if "lesions_10mm" in r:
                prec = "n/a" if r.get("lesion_precision") is None else f"{r['lesion_precision']:.2f}"
                det = f"{r['lesions_10mm'][0]}/{r['lesions_10mm'][1]} | {prec} | {r['tumour_fp_ml']}"
            else:
                det = "n/a (tumours not labelled) | n/a | n/a"
            lines.append(f"| {case} | {lv['dice']:.4f} | {lv['accuracy']:.4f} | {lv['sensitivity']:.4f} | "
                         f"{lv['specificity']:.4f} | {lv['efficiency']:.4f} | {tum} | {det} | {r.get('candidates', '')} | "
                         f"{r['seconds']} |")
        lines += ["", f"Global Dice: liver {val['global_dice']['liver']}, tumour {val['global_dice']['tumour']}", ""]
    op = card.get("operating_point")
    if op:
        lines += ["## Lesion operating threshold", "",
                  f"Chosen on {', '.join(op['cases'])} by `livseg evaluate --sweep-threshold`: a predicted lesion is "
                  f"kept when its peak probability is >= **{op['chosen']}**; weaker ones are shown as candidates.", "",
                  "| threshold | lesions >= 10 mm found | FP tumour mL | false lesions |", "|---|---|---|---|"]
        for t, r in op["table"].items():
            lines.append(f"| {t} | {r['found']}/{r['total']} | {r['fp_ml']:.2f} | {r['false_lesions']} |")
        lines.append("")
    if card.get("selection"):
        lines += ["## Model selection", "", card["selection"], ""]
    for name, run in (card.get("heldout_runs") or {}).items():
        cases = run.get("val_cases", [])
        lines += [f"### Held-out run of the `{name}` net (same recipe, trained on {', '.join(run['train_cases'])})", "",
                  "| epoch | loss | " + " | ".join(f"val Dice {c} (net res.)" for c in cases) + " |",
                  "|---|---|" + "---|" * len(cases)]
        for h in run.get("history", []):
            vals = " | ".join(f"{h['val_dice'].get(c, float('nan')):.3f}" for c in cases)
            lines.append(f"| {h['epoch']} | {h['loss']:.3f} | {vals} |")
        lines.append("")
    lines += ["![training curves](training_curve.png)", ""]
    if card.get("reproduce"):
        lines += ["## Reproduce", "", "```bash", *card["reproduce"], "```", ""]
    if card.get("limits"):
        lines += ["## Limits", "", card["limits"], ""]
    if card.get("baseline"):
        lines += ["## Plain U-Net baseline", "", card["baseline"], ""]
    lines += ["## Data", "", "| case | origin | terms |", "|---|---|---|"]
    for case, (origin, terms) in CASE_ORIGINS.items():
        lines.append(f"| {case} | {origin} | {terms} |")
    lines += ["", "Retrain with `livseg train --data DIR --net liver|tumour` (LiTS `volume-N.nii`/`segmentation-N.nii`, "
              "MSD `imagesTr/`+`labelsTr/`, or `<case>/ct.nii.gz`+`label.nii.gz`).", ""]
    return "\n".join(lines)
