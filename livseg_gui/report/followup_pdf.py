"""The follow-up comparison PDF: response, the target sums, a lesion table, paired key images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table

from ..io.volume import Volume
from ..measure.followup import Comparison
from ..measure.lesions import Lesion
from ..planes import Plane
from .document import NOTICE
from .pdf import _esc, _rl_image, _table, write_story
from .render import render_plane

MAX_PAIRS = 6


def _key(volume: Volume, labels: np.ndarray, les: Lesion, crop_mm: float):
    k = les.slice
    a, b = (np.array([*e, k], dtype=float) for e in les.diameter_endpoints)
    sa, sb = (np.array([*e, k], dtype=float) for e in les.short_axis_endpoints)
    centre = np.array([*((a[:2] + b[:2]) / 2), k])
    return render_plane(volume, labels, Plane.AXIAL, k, crop_center=centre, crop_mm=crop_mm,
                        lines=[(a, b), (sa, sb)], out_px=240)


def write_followup_pdf(result: dict, cmp: Comparison, prior: tuple[Volume, np.ndarray], current: tuple[Volume, np.ndarray],
                       path: str | Path, software: str) -> Path:
    """``result``: the comparison JSON dict; ``prior``/``current``: (volume, labels)."""
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    rec = result["recist"]
    story = [Paragraph("LivSeg follow-up comparison", styles["Title"]),
             Paragraph(f"<b>{NOTICE}</b>", styles["BodyText"]), Spacer(1, 3 * mm)]
    for w in result.get("warnings", []):
        story.append(Paragraph(f"<b>Warning:</b> {_esc(w)}", small))
    pct = "n/a" if rec["change_percent"] is None else f"{rec['change_percent']:+.1f} %"
    vol = result["tumour_volume_ml"]
    vpct = "n/a" if vol["change_percent"] is None else f"{vol['change_percent']:+.1f} %"
    cell = small.clone("cell", fontSize=8, leading=9)
    rows = [
        ["Prior study", Path(result["prior"]["source"]).name, "Current study", Path(result["current"]["source"]).name],
        ["RECIST 1.1 response", f"<b>{rec['category']}</b> ({_esc(rec['reason'])})", "Target lesions (prior #)",
         ", ".join(map(str, rec["baseline_targets"])) or "none measurable"],
        ["Sum of target diameters", f"{rec['baseline_sum_mm']:.1f} -> {rec['current_sum_mm']:.1f} mm ({pct})",
         "Total tumour volume", f"{vol['prior']:.2f} -> {vol['current']:.2f} mL ({vpct})"],
        ["Lesions", f"{len(result['matched'])} matched, {len(result['new'])} new, {len(result['resolved'])} resolved",
         "Alignment (L, P, S)", ", ".join(f"{v:+.1f}" for v in result["alignment"]["shift_mm_lps"]) + " mm"],
    ]
    story.append(_table([[Paragraph(_esc(c) if i % 2 == 0 or "<b>" not in str(c) else str(c), cell)
                          for i, c in enumerate(r)] for r in rows], col_widths=[34, 56, 34, 56], header=False))
    story.append(Paragraph(_esc(rec["rule"]) + ". " + _esc(result["alignment"]["method"]) + ".", small))

    story.append(Paragraph("Lesions", styles["Heading2"]))
    rows = [["Prior #", "Current #", "Status", "Volume (mL)", "Change", "Longest (mm)", "Change", "Target"]]
    for m in result["matched"]:
        p, c = m["prior"], m["current"]
        rows.append([p["number"], c["number"], "matched", f"{p['volume_ml']:.2f} -> {c['volume_ml']:.2f}",
                     _pct(m["volume_change_percent"]), f"{p['longest_diameter_mm']:.1f} -> {c['longest_diameter_mm']:.1f}",
                     _pct(m["diameter_change_percent"]), "T" if m["target"] else ""])
    for les in result["resolved"]:
        rows.append([les["number"], "-", "resolved", f"{les['volume_ml']:.2f} -> 0", "-100 %",
                     f"{les['longest_diameter_mm']:.1f} -> 0", "", "T" if les["number"] in rec["baseline_targets"] else ""])
    for les in result["new"]:
        rows.append(["-", les["number"], "new", f"-> {les['volume_ml']:.2f}", "", f"-> {les['longest_diameter_mm']:.1f}",
                     "", ""])
    if len(rows) == 1:
        rows.append(["-", "-", "none", "", "", "", "", ""])  # no lesion in either study (the status column is narrow)
    story.append(_table(rows, col_widths=[16, 18, 20, 32, 18, 32, 18, 14], header=True, font=7))

    pairs = [(m.prior, m.current) for m in cmp.matched][:MAX_PAIRS]
    pairs += [(les, None) for les in cmp.resolved][: max(0, MAX_PAIRS - len(pairs))]
    pairs += [(None, les) for les in cmp.new][: max(0, MAX_PAIRS - len(pairs))]
    heading = Paragraph("Paired key images (prior | current; axial, where each lesion is measured)", styles["Heading2"])
    for i, (p, c) in enumerate(pairs):
        crop = max(60.0, 2.5 * max(x.max_extent_mm for x in (p, c) if x is not None))
        cells, captions = [], []
        for les, (vol_, lab_), when in ((p, prior, "prior"), (c, current, "current")):
            if les is None:
                cells.append(Paragraph(f"({'resolved' if when == 'current' else 'new'}: no lesion)", small))
                captions.append("")
                continue
            cells.append(_rl_image(_key(vol_, lab_, les, crop), 80))
            captions.append(Paragraph(f"{when} #{les.number}: {les.longest_diameter_mm:.1f} x {les.short_axis_mm:.1f} mm, "
                                      f"{les.volume_ml:.2f} mL, slice {les.slice + 1}", small))
        block = [Table([captions, cells], colWidths=[88 * mm] * 2), Spacer(1, 3 * mm)]
        story.append(KeepTogether(([heading] if i == 0 else []) + block))
    return write_story(story, path, software, NOTICE, "LivSeg follow-up comparison")


def _pct(v) -> str:
    return "" if v is None else f"{v:+.0f} %"

