"""The PDF report (reportlab, A4). Content comes from ``document.build_report``."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image as RLImage
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..io.atomic import atomic_write
from ..io.volume import Volume
from ..measure.lesions import LiverAnalysis
from ..planes import Plane
from .render import render_plane

MAX_KEY_LESIONS = 8


def _rl_image(img: Image.Image, width_mm: float) -> RLImage:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    buf.seek(0)
    w, h = img.size
    return RLImage(buf, width=width_mm * mm, height=width_mm * mm * h / w)


def _overview(volume: Volume, labels: np.ndarray) -> list[Image.Image]:
    """Axial, coronal and sagittal through the liver's centre of mass (or the volume's centre)."""
    liver = np.argwhere(labels[::2, ::2, :] >= 1)
    centre = (liver.mean(axis=0) * [2, 2, 1]) if len(liver) else np.array(volume.shape) / 2
    c = np.round(centre).astype(int)
    return [render_plane(volume, labels, p, int(c[p.axis]), out_px=300) for p in Plane]


def write_pdf(report: dict, analysis: LiverAnalysis, volume: Volume, labels: np.ndarray, path: str | Path) -> Path:
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    story = []
    src = report["source"]
    story.append(Paragraph("LivSeg liver and tumour report", styles["Title"]))
    story.append(Paragraph(f"<b>{report['notice']}</b>", styles["BodyText"]))
    hdr = [
        ["Patient", src["patient_name"] or ("(anonymised)" if src["anonymised"] else "-"),
         "Patient ID", src["patient_id"] or "-"],
        ["Study date", src["study_date"] or "-", "Series", src["series_description"] or "-"],
        ["Grid", "x".join(str(s) for s in src["shape"]),
         "Spacing (mm)", " x ".join(f"{v:.2f}" for v in src["spacing_mm"])],
        ["Report generated", report["generated_at"], "Software", report["software"]],
    ]
    story.append(_table(hdr, col_widths=[28, 62, 28, 62], header=False))
    story.append(Spacer(1, 2 * mm))
    warn = styles["BodyText"].clone("warn", fontSize=9, leading=11, textColor=colors.HexColor("#8a1c00"),
                                    backColor=colors.HexColor("#fff1e6"), borderPadding=3)
    for w in report.get("warnings", []):  # at the top of page 1, where they cannot be missed
        story.append(Paragraph(f"<b>Warning:</b> {_esc(w)}", warn))
        story.append(Spacer(1, 2 * mm))
    model = report.get("model") or {}
    if model:
        story.append(Paragraph(f"Model: {_esc(model.get('version', ''))} - {_esc(model.get('summary', ''))}. "
                               f"{_esc(model.get('validation', ''))}.", small))
    story.append(Paragraph("Summary", styles["Heading2"]))
    rec = report.get("recist") or {}
    targets = ", ".join(str(n) for n in rec.get("target_lesions", [])) or "none measurable"
    story.append(_table([
        ["Liver volume (whole organ, tumour included)", f"{report['liver_volume_ml']:.1f} mL"],
        ["Tumour-free parenchyma", f"{report['parenchyma_volume_ml']:.1f} mL"],
        ["Total tumour volume", f"{report['tumour_volume_ml']:.2f} mL ({report['lesion_count']} lesion(s))"],
        ["Tumour burden", f"{report['burden_percent']:.2f} % of liver volume"],
        ["Liver extent (L-R x A-P x S-I)", " x ".join(f"{v:.0f}" for v in report["liver_extent_mm"]) + " mm"],
        ["RECIST 1.1 target lesions", f"{targets}; sum of diameters {rec.get('sum_of_diameters_mm', 0):.1f} mm"],
        *([["Unconfirmed candidates", f"{len(report['candidates'])} (not counted above; review in the viewer)"]]
          if report.get("candidates") else []),
    ], col_widths=[70, 110], header=False))

    story.append(Paragraph("Lesions", styles["Heading2"]))
    rows = [["#", "Status", "RECIST", "Vol.\n(mL)", "Long\n(mm)", "Short\n(mm)", "Location (approximate)",
             "Depth\n(mm)", "Slice\n(Inst.)", "From liver centre\nL, P, S (mm)", "Conf.\n%"]]
    cell = small.clone("cell", fontSize=7, leading=8)
    for les in report["lesions"]:
        inst = f"\n({les['instance_number']})" if les.get("instance_number") is not None else ""
        conf = "" if les.get("confidence") is None else f"{100 * les['confidence']:.0f}"
        rows.append([
            les["number"] or "-", les["status"], _recist_mark(les, rec), _f(les["volume_ml"], 2),
            _f(les["longest_diameter_mm"], 1), _f(les["short_axis_mm"], 1),
            Paragraph(_esc(les.get("location") or ""), cell), _f(les["depth_mm"], 1), f"{les['slice']}{inst}",
            ", ".join(f"{v:+.0f}" for v in les.get("from_liver_centroid_mm") or []), conf,
        ])
    if len(rows) == 1:
        rows.append(["-", Paragraph("no lesions found", cell), "", "", "", "", "", "", "", "", ""])
    story.append(_table(rows, col_widths=[7, 16, 13, 11, 11, 11, 45, 11, 12, 31, 10], header=True, font=7))
    story.append(Paragraph(
        "RECIST: T = target, NT = non-target, &lt;10 = too small to characterise. Short = RECIST short axis "
        "(longest diameter perpendicular to the long axis, inside the lesion). Location: right/left hemiliver "
        "and Couinaud segments from a geometric split of the liver's own volume, not vessel anatomy. "
        f"Depth = distance to the liver surface. {_esc(report.get('slice_note', ''))}. "
        f"{_esc(report.get('coordinate_note', ''))}.", small))

    views = _overview(volume, labels)
    story.append(KeepTogether([Paragraph("Whole-liver overview", styles["Heading2"]),
                               Table([[_rl_image(v, 56) for v in views]], colWidths=[60 * mm] * 3)]))

    # Key images: two lesions per row (axial with both RECIST axes, coronal through the centroid), up to
    # four lesions per page; the heading stays with the first row.
    shown = analysis.lesions[:MAX_KEY_LESIONS]
    blocks = []
    for les in shown:
        k = les.slice
        a, b = (np.array([*e, k], dtype=float) for e in les.diameter_endpoints)
        sa, sb = (np.array([*e, k], dtype=float) for e in les.short_axis_endpoints)
        crop = max(60.0, les.max_extent_mm * 2.5)
        centre = np.array([*((a[:2] + b[:2]) / 2), k])
        ax = render_plane(volume, labels, Plane.AXIAL, k, crop_center=centre, crop_mm=crop, lines=[(a, b), (sa, sb)],
                          out_px=240)
        c3 = np.array(les.centroid_voxel)
        co = render_plane(volume, labels, Plane.CORONAL, int(round(c3[1])), crop_center=c3, crop_mm=crop, out_px=240)
        entry = lesion_by_number(report, les.number)
        inst = f", InstanceNumber {entry['instance_number']}" if entry and entry.get("instance_number") else ""
        caption = Paragraph(
            f"<b>Lesion {les.number}</b>: {les.volume_ml:.2f} mL, {les.longest_diameter_mm:.1f} x "
            f"{les.short_axis_mm:.1f} mm on slice {k + 1}{inst}; {_esc(les.location)}", small)
        blocks.append([caption, Table([[_rl_image(ax, 43), _rl_image(co, 43)]], colWidths=[44 * mm] * 2)])
    if blocks:
        heading = Paragraph(f"Key images (largest {len(blocks)} lesion(s); yellow: long axis, magenta: short axis)",
                            styles["Heading2"])
        for i in range(0, len(blocks), 2):
            pair = blocks[i : i + 2]
            row = Table([[b for b in pair] + [""] * (2 - len(pair))], colWidths=[90 * mm] * 2)
            row.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story.append(KeepTogether(([heading] if i == 0 else []) + [row, Spacer(1, 3 * mm)]))

    return write_story(story, path, report["software"], report["notice"], "LivSeg report")


def write_story(story: list, path: str | Path, software: str, notice: str, title: str) -> Path:
    """Lay out a platypus story on A4 with the research-use footer, atomically."""
    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(15 * mm, 10 * mm, f"{software} - {notice}")
        canvas.drawRightString(195 * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    def build(tmp: Path) -> None:
        doc = SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                                topMargin=15 * mm, bottomMargin=18 * mm, title=title, author=software)
        doc.build(story, onFirstPage=footer, onLaterPages=footer)

    return atomic_write(path, build)


def lesion_by_number(report: dict, number: int) -> dict | None:
    return next((les for les in report["lesions"] if les["number"] == number), None)


def _recist_mark(les: dict, rec: dict) -> str:
    if les["number"] in rec.get("target_lesions", []):
        return "T"
    if les["number"] in rec.get("too_small_to_characterise", []):
        return "<10"
    return "NT" if les["number"] is not None else ""


def _esc(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _f(v, digits: int) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def _table(rows, col_widths, header: bool, font: int = 8) -> Table:
    t = Table(rows, colWidths=[w * mm for w in col_widths], repeatRows=1 if header else 0)
    style = [
        ("FONTSIZE", (0, 0), (-1, -1), font),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                  ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold")]
    else:
        style += [("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold")]
    t.setStyle(TableStyle(style))
    return t
