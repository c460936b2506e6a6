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

MAX_KEY_LESIONS = 6


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
    story.append(Spacer(1, 3 * mm))
    model = report.get("model") or {}
    if model:
        story.append(Paragraph(f"Model: {model.get('version', '')} - {model.get('summary', '')}", small))
    story.append(Spacer(1, 2 * mm))
    story.append(Paragraph("Summary", styles["Heading2"]))
    story.append(_table([
        ["Liver volume", f"{report['liver_volume_ml']:.1f} mL"],
        ["Liver extent (L-R x A-P x S-I)", " x ".join(f"{v:.0f}" for v in report["liver_extent_mm"]) + " mm"],
        ["Lesions", str(report["lesion_count"])],
        ["Total tumour volume", f"{report['tumour_volume_ml']:.2f} mL"],
        ["Tumour burden", f"{report['burden_percent']:.2f} % of liver volume"],
        *([["Unconfirmed candidates", f"{len(report['candidates'])} (not counted above; review in the viewer)"]]
          if report.get("candidates") else []),
    ], col_widths=[60, 120], header=False))

    story.append(Paragraph("Lesions", styles["Heading2"]))
    rows = [["#", "Status", "Volume\n(mL)", "Longest\n(mm)", "Short\n(mm)", "Lobe", "Segment*",
             "Depth\n(mm)", "Slice", "Centroid L, P, S (mm)", "HU\nmean"]]
    for les in report["lesions"]:
        rows.append([
            les["number"] or "-", les["status"], _f(les["volume_ml"], 2), _f(les["longest_diameter_mm"], 1),
            _f(les["short_axis_mm"], 1), les["lobe"], (les["segment"] or "").replace(" (approximate)", ""),
            _f(les["depth_mm"], 1), les["slice"], ", ".join(f"{v:.0f}" for v in les["centroid_mm"] or []),
            _f(les["hu_mean"], 0),
        ])
    if len(rows) == 1:
        rows.append(["-", "no lesions found", "", "", "", "", "", "", "", "", ""])
    story.append(_table(rows, col_widths=[7, 19, 14, 14, 13, 12, 15, 13, 11, 38, 12], header=True, font=7))
    story.append(Paragraph(
        "* Lobe and Couinaud segment are approximate: a geometric split of the liver's own volume "
        "(60/40 right/left), not vessel anatomy. Depth = distance from the lesion to the liver surface. "
        f"Coordinates: {report['coordinates']}. Slices are numbered 1..N from inferior to superior.", small))

    story.append(Paragraph("Whole-liver overview", styles["Heading2"]))
    views = _overview(volume, labels)
    story.append(Table([[_rl_image(v, 56) for v in views]], colWidths=[60 * mm] * 3))

    heading = Paragraph(f"Key images (largest {min(MAX_KEY_LESIONS, len(analysis.lesions))} lesions)",
                        styles["Heading2"])
    for i, les in enumerate(analysis.lesions[:MAX_KEY_LESIONS]):
        k = les.diameter_slice
        a, b = (np.array([*e, k], dtype=float) for e in les.diameter_endpoints)
        crop = max(60.0, les.max_extent_mm * 2.5)
        centre = np.array([*((a[:2] + b[:2]) / 2), k])
        ax = render_plane(volume, labels, Plane.AXIAL, k, crop_center=centre, crop_mm=crop, line=(a, b), out_px=280)
        c3 = np.array(les.centroid_voxel)
        co = render_plane(volume, labels, Plane.CORONAL, int(round(c3[1])), crop_center=c3, crop_mm=crop, out_px=280)
        caption = Paragraph(
            f"Lesion {les.number}: {les.volume_ml:.2f} mL, {les.longest_diameter_mm:.1f} x {les.short_axis_mm:.1f} mm "
            f"(axial slice {k + 1}), {les.lobe} lobe, segment {les.segment} (approximate)", small)
        images = Table([[_rl_image(ax, 80), _rl_image(co, 80)]], colWidths=[85 * mm] * 2)
        story.append(KeepTogether(([heading] if i == 0 else []) + [caption, images]))

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(15 * mm, 10 * mm, f"{report['software']} - {report['notice']}")
        canvas.drawRightString(195 * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    def build(tmp: Path) -> None:
        doc = SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                                topMargin=15 * mm, bottomMargin=18 * mm, title="LivSeg report",
                                author=report["software"])
        doc.build(story, onFirstPage=footer, onLaterPages=footer)

    return atomic_write(path, build)


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
