"""Key images for reports: a CT plane with the label overlay, RECIST lines, orientation letters,
plane and window/level, and a scale bar; every label sits on a dark backdrop so it reads over bone.

Pure numpy + Pillow (no Qt). Pixels are resampled to square millimetres so 5 mm slices are
not squashed in coronal views.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..io.volume import Volume
from ..labels import COLOURS
from ..planes import Plane, from_voxel, plane_slice, plane_spacing

ABDOMEN_WINDOW = (400.0, 40.0)  # width, level


def window_u8(img: np.ndarray, width: float, level: float) -> np.ndarray:
    lo = level - width / 2
    out = (img.astype(np.float32) - lo) * (255.0 / width)
    return np.clip(out, 0, 255).astype(np.uint8)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def render_plane(
    volume: Volume, labels: np.ndarray | None, plane: Plane, index: int,
    window: tuple[float, float] = ABDOMEN_WINDOW, crop_center: np.ndarray | None = None,
    crop_mm: float | None = None, lines: list[tuple[np.ndarray, np.ndarray]] | None = None,
    out_px: int = 360, alpha: float = 0.35, outline: bool = True, annotate: bool = True,
) -> Image.Image:
    """Render one plane; optionally crop a square of ``crop_mm`` around voxel ``crop_center``.

    The CT is resampled bilinearly and the labels by nearest neighbour, so edges stay crisp.
    """
    ct = window_u8(plane_slice(volume.array, plane, index), *window)
    row_mm, col_mm = plane_spacing(volume.spacing, plane)
    h, w = ct.shape
    box = (0.0, 0.0, float(w), float(h))
    if crop_center is not None and crop_mm:
        _, r, c = from_voxel(plane, crop_center, volume.shape)
        half_c, half_r = crop_mm / 2 / col_mm, crop_mm / 2 / row_mm
        box = (c + 0.5 - half_c, r + 0.5 - half_r, c + 0.5 + half_c, r + 0.5 + half_r)
    width_mm = (box[2] - box[0]) * col_mm
    height_mm = (box[3] - box[1]) * row_mm
    scale = out_px / max(width_mm, height_mm)  # output px per mm
    size = (max(1, int(round(width_mm * scale))), max(1, int(round(height_mm * scale))))
    extent = Image.Transform.EXTENT
    grey = np.asarray(Image.fromarray(ct).transform(size, extent, box, resample=Image.Resampling.BILINEAR))
    rgb = np.repeat(grey[:, :, None], 3, axis=2).astype(np.float32)
    if labels is not None:
        lab = np.asarray(Image.fromarray(np.ascontiguousarray(plane_slice(labels, plane, index)))
                         .transform(size, extent, box, resample=Image.Resampling.NEAREST))
        for value, colour in COLOURS.items():
            m = lab == value
            if not m.any():
                continue
            col = np.array(colour, np.float32)
            rgb[m] = rgb[m] * (1 - alpha) + col * alpha
            if outline:
                rgb[m & ~_erode(m)] = col
    img = Image.fromarray(rgb.astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for line, colour in zip(lines or [], LINE_COLOURS):  # long axis yellow, short axis magenta
        pts = []
        for p in line:
            _, r, c = from_voxel(plane, p, volume.shape)
            pts.append(((c + 0.5 - box[0]) * col_mm * scale, (r + 0.5 - box[1]) * row_mm * scale))
        draw.line(pts, fill=colour, width=2)
        for x, y in pts:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), outline=colour)
    _scale_bar(draw, size, scale)
    if annotate and min(size) >= 100:  # a 20-slice coronal strip has no room for letters
        font = _font(12)
        left, right, top, bottom = plane.edge_letters
        w, h = size
        _label(draw, (3, h / 2 - 7), left, font)
        _label(draw, (w - 12, h / 2 - 7), right, font)
        _label(draw, (w / 2 - 4, 2), top, font)
        _label(draw, (w / 2 - 4, h - 16), bottom, font)
        small = _font(10)  # two short lines, clear of the top edge letter
        _label(draw, (3, 2), f"{plane.value} {index + 1}", small)
        _label(draw, (3, 15), f"W{window[0]:.0f} L{window[1]:.0f}", small)
    return img


LINE_COLOURS = ((255, 230, 0), (255, 80, 220))


def _label(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font) -> None:
    """White text on a black box: legible over bone, contrast and air alike."""
    x0, y0, x1, y1 = draw.textbbox(xy, text, font=font)
    draw.rectangle((x0 - 2, y0 - 1, x1 + 2, y1 + 1), fill=(0, 0, 0))
    draw.text(xy, text, fill=(255, 255, 255), font=font)


def _erode(m: np.ndarray) -> np.ndarray:
    e = m.copy()
    e[1:, :] &= m[:-1, :]
    e[:-1, :] &= m[1:, :]
    e[:, 1:] &= m[:, :-1]
    e[:, :-1] &= m[:, 1:]
    return e


def _scale_bar(draw: ImageDraw.ImageDraw, size: tuple[int, int], px_per_mm: float) -> None:
    """A bar of a round length (5/10/20/50/100 mm) near a quarter of the image width."""
    target = size[0] / 4 / px_per_mm
    length = min((5, 10, 20, 50, 100), key=lambda v: abs(v - target))
    x1, y = size[0] - 10, size[1] - 12
    x0 = x1 - length * px_per_mm
    draw.rectangle((x0 - 3, y - 3, x1 + 3, y + 3), fill=(0, 0, 0))
    draw.line([(x0, y), (x1, y)], fill=(255, 255, 255), width=3)
    _label(draw, (x0, y - 18), f"{length} mm", _font(12))
