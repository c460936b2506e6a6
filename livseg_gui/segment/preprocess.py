"""Pre-processing shared by training and inference, so the two can never drift apart.

Slices are taken in canonical LPS order (``array[:, :, k]``, see ``io.volume``). A square box
in the slice plane (the whole slice for the liver net, the liver ROI for the tumour net) is
resampled to the net's ``size x size`` input with one affine map; the same map, inverted,
brings probabilities back onto the source grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

AIR_HU = -1024.0


@dataclass(frozen=True)
class PlaneBox:
    """A square region of the slice plane, in voxel index coordinates (centre and side)."""

    center: tuple[float, float]
    side: float  # voxels; the box is padded with air where it leaves the image

    @classmethod
    def whole_slice(cls, shape_xy: tuple[int, int]) -> PlaneBox:
        x, y = shape_xy
        return cls(center=((x - 1) / 2.0, (y - 1) / 2.0), side=float(max(x, y)))

    @classmethod
    def around(cls, lo: np.ndarray, hi: np.ndarray, spacing_xy: tuple[float, float], margin_mm: float) -> PlaneBox:
        """Square box around the index range [lo, hi] (inclusive) plus a margin in mm."""
        lo = np.asarray(lo, dtype=np.float64)
        hi = np.asarray(hi, dtype=np.float64)
        margin = margin_mm / np.asarray(spacing_xy, dtype=np.float64)
        side = float(np.max(hi - lo + 1 + 2 * margin))
        center = (lo + hi) / 2.0
        return cls(center=(float(center[0]), float(center[1])), side=side)


def plane_matrix(box: PlaneBox, size: int, aug: np.ndarray | None = None, shift: np.ndarray | None = None):
    """2x2 matrix and offset mapping output pixel (u, v) to input index (x, y): in = M @ out + off."""
    scale = box.side / size
    a = np.eye(2) if aug is None else np.asarray(aug, dtype=np.float64)
    m = scale * a
    c_out = np.array([(size - 1) / 2.0, (size - 1) / 2.0])
    off = np.asarray(box.center) - m @ c_out
    if shift is not None:
        off = off + np.asarray(shift, dtype=np.float64)
    return m, off


def _linear_taps(n_out: int, n_in: int, scale: float, offset: float):
    """The two input indices and weights of each output sample for in = scale * out + offset.

    Samples outside the input get no weight (their share belongs to the constant outside value).
    """
    x = scale * np.arange(n_out, dtype=np.float64) + offset
    i0 = np.floor(x).astype(np.int64)
    w1 = x - i0
    taps = []
    for idx, w in ((i0, 1.0 - w1), (i0 + 1, w1)):
        ok = (idx >= 0) & (idx < n_in)
        taps.append((np.clip(idx, 0, n_in - 1), np.where(ok, w, 0.0).astype(np.float32)))
    return taps


def resample_planes(slab: np.ndarray, scale: tuple[float, float], offset: tuple[float, float],
                    out_xy: tuple[int, int], cval: float) -> np.ndarray:
    """Linear in-plane resampling of every slice of ``slab`` (X, Y, n): out[u, v] = slab[scale*(u, v) + offset].

    The map is a scale and shift per axis, so it separates into two passes of two taps each: a
    gather and a multiply-add per output sample, with no float copy of the source slab (a 512^2
    slice shrinks to 160 columns before anything is converted). Outside the slab counts as
    ``cval``. Returns a Fortran-ordered (ox, oy, n) float32 array.
    """
    (x0, wx0), (x1, wx1) = _linear_taps(out_xy[0], slab.shape[0], scale[0], offset[0])
    (y0, wy0), (y1, wy1) = _linear_taps(out_xy[1], slab.shape[1], scale[1], offset[1])
    # Only the columns the taps read: a liver ROI spans ~40 % of the slice's width.
    lo, hi = int(min(x0.min(), x1.min())), int(max(x0.max(), x1.max())) + 1
    x0, x1 = x0 - lo, x1 - lo
    c = slab.T[:, :, lo:hi]  # C-ordered (n, Y, X) view of the usual Fortran-ordered slab
    # Rows (whole contiguous X lines) first: gathering rows is a block copy, gathering columns is not.
    t = c[:, y0, :] * wy0[:, None]  # (n, oy, X) float32
    t += c[:, y1, :] * wy1[:, None]
    out = t[:, :, x0] * wx0  # (n, oy, ox)
    out += t[:, :, x1] * wx1
    if cval != 0.0:
        out += cval * (1.0 - np.outer(wy0 + wy1, wx0 + wx1))[None]
    return out.T  # (ox, oy, n), Fortran-ordered view


def to_net_plane(slab: np.ndarray, box: PlaneBox, size: int, order: int = 1, cval: float = AIR_HU) -> np.ndarray:
    """Resample a slab (X, Y, n) to (size, size, n) float32 inside ``box`` (order 1: linear, 0: nearest)."""
    m2, off2 = plane_matrix(box, size)
    if order == 1:
        return resample_planes(slab, (m2[0, 0], m2[1, 1]), (off2[0], off2[1]), (size, size), cval)
    m = np.eye(3)
    m[:2, :2] = m2
    off = np.array([off2[0], off2[1], 0.0])
    out_shape = (size, size, slab.shape[2])
    return ndimage.affine_transform(
        slab.astype(np.float32, copy=False), m, offset=off, output_shape=out_shape,
        order=order, mode="constant", cval=cval, prefilter=False,
    )


def from_net_plane(planes: np.ndarray, box: PlaneBox, shape_xy: tuple[int, int], cval: float = 0.0,
                   region: tuple[slice, slice] | None = None) -> np.ndarray:
    """Inverse of :func:`to_net_plane`: (size, size, n) probabilities back to (X, Y, n) float32.

    With ``region`` (two slices of the source plane) only that part is computed, which is much
    cheaper when the organ covers a fraction of the slice.
    """
    size = planes.shape[0]
    m2, off2 = plane_matrix(box, size)
    inv = np.linalg.inv(m2)
    rx, ry = region or (slice(0, shape_xy[0]), slice(0, shape_xy[1]))
    start = np.array([rx.start, ry.start], dtype=np.float64)
    off = inv @ (start - off2)
    out_xy = (rx.stop - rx.start, ry.stop - ry.start)
    return resample_planes(planes, (inv[0, 0], inv[1, 1]), (off[0], off[1]), out_xy, cval)


def nearest_from_net_plane(mask: np.ndarray, box: PlaneBox, shape_xy: tuple[int, int]) -> np.ndarray:
    """A net-resolution mask (S, S, n) on the source plane by nearest-pixel lookup (uint8 0/1, zero outside box).

    For the live preview while the net runs: an order of magnitude cheaper than :func:`from_net_plane`.
    """
    size = mask.shape[0]
    scale = box.side / size
    ux, uy = (np.floor((np.arange(n) - (c - box.side / 2)) / scale).astype(np.int64) for n, c in zip(shape_xy, box.center))
    inside_x, inside_y = (ux >= 0) & (ux < size), (uy >= 0) & (uy < size)
    out = np.zeros((*shape_xy, mask.shape[2]), np.uint8)
    out[np.ix_(inside_x, inside_y)] = mask[np.ix_(ux[inside_x], uy[inside_y])]
    return out


def normalise(hu: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Clip to the HU window and scale to [0, 1] float32 (in place when already float32)."""
    lo, hi = float(window[0]), float(window[1])
    out = hu if hu.dtype == np.float32 else hu.astype(np.float32)
    np.clip(out, lo, hi, out=out)
    out -= lo
    out *= 1.0 / (hi - lo)
    return out


def context_indices(k: int, n_slices: int, context: int, stride: int = 1) -> np.ndarray:
    """Indices of slice k and its neighbours ``stride`` slices apart (clamped at the volume's ends)."""
    half = context // 2
    return np.clip(k + stride * np.arange(-half, half + 1), 0, n_slices - 1)


def context_stride(slice_mm: float, step_mm: float | None) -> int:
    """How many slices apart the net's neighbouring channels are, so they sit ``step_mm`` apart.

    Fixed millimetres (not a fixed slice count) make a 1 mm and a 5 mm scan show the net the same
    anatomical context. None keeps adjacent slices (the older models' convention).
    """
    if not step_mm or slice_mm <= 0:
        return 1
    return max(1, int(round(step_mm / slice_mm)))


def sample_stride(slice_mm: float, pixel_mm: float | None) -> int:
    """Run a net on every n-th slice so the slices it sees are about one of its pixels apart (at least 1)."""
    if not pixel_mm or slice_mm <= 0:
        return 1
    return max(1, int(pixel_mm / slice_mm + 1e-6))


def sampled_slices(k0: int, k1: int, stride: int) -> np.ndarray:
    """Every ``stride``-th slice of [k0, k1), always with both ends (so every slice lies between two)."""
    return np.unique(np.r_[np.arange(k0, k1, stride), k1 - 1])


def fill_between(probs: np.ndarray, samples: np.ndarray) -> None:
    """Linear interpolation along z of ``probs[:, :, k]`` between consecutive sampled slices, in place."""
    for a, b in zip(samples[:-1], samples[1:]):
        if b - a > 1:
            w = (np.arange(a + 1, b, dtype=np.float32) - a) / (b - a)
            probs[:, :, a + 1 : b] = probs[:, :, a, None] * (1 - w) + probs[:, :, b, None] * w


def stack_25d(planes: np.ndarray, ks: np.ndarray, context: int, stride: int = 1) -> np.ndarray:
    """From resampled planes (S, S, n), build net input (len(ks), context, S, S) float32."""
    n = planes.shape[2]
    idx = np.stack([context_indices(int(k), n, context, stride) for k in ks])  # (b, context)
    return np.ascontiguousarray(np.moveaxis(planes[:, :, idx], (2, 3), (0, 1)))


def body_center(hu: np.ndarray) -> tuple[float, float]:
    """In-plane centroid (x, y) of the body (HU > -500) on a thinned grid; the image centre if none."""
    step_z = max(1, hu.shape[2] // 24)
    body = np.asarray(hu[::4, ::4, ::step_z]) > -500
    if not body.any():
        return ((hu.shape[0] - 1) / 2.0, (hu.shape[1] - 1) / 2.0)
    xs, ys = np.nonzero(body.any(axis=2) if body.ndim == 3 else body)[:2]
    # Weight by how many slices show body there, so the table (thin, posterior) barely moves it.
    w = body.sum(axis=2)[xs, ys].astype(np.float64)
    return (float(np.average(xs, weights=w) * 4), float(np.average(ys, weights=w) * 4))


def slice_box(hu: np.ndarray, spacing_xy: tuple[float, float], size: int, mm_per_px: float | None) -> PlaneBox:
    """The whole-slice box the liver net sees.

    With ``mm_per_px`` the box is ``size * mm_per_px`` millimetres wide, centred on the body, so every
    scanner's field of view shows the net the same physical scale; without it, the whole slice
    (the older models' convention, still used by the baseline).
    """
    if not mm_per_px:
        return PlaneBox.whole_slice(hu.shape[:2])
    px_mm = float(np.mean(spacing_xy))
    return PlaneBox(center=body_center(hu), side=size * mm_per_px / px_mm)
