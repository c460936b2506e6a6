"""Key images for reports: a CT plane with the label overlay, a diameter line and a scale bar.

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
    crop_mm: float | None = None, line: tuple[np.ndarray, np.ndarray] | None = None,
    out_px: int = 360, alpha: float = 0.35, outline: bool = True,
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
    if line is not None:
        pts = []
        for p in line:
            _, r, c = from_voxel(plane, p, volume.shape)
            pts.append(((c + 0.5 - box[0]) * col_mm * scale, (r + 0.5 - box[1]) * row_mm * scale))
        draw.line(pts, fill=(255, 230, 0), width=2)
        for x, y in pts:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), outline=(255, 230, 0))
    _scale_bar(draw, size, scale)
    return img


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
    draw.line([(x0, y), (x1, y)], fill=(255, 255, 255), width=3)
    draw.text((x0, y - 16), f"{length} mm", fill=(255, 255, 255), font=_font(12))
