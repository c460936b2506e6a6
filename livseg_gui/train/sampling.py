"""Turn labelled cases into augmented 2.5D training pairs, using the app's own pre-processing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..labels import bounding_box
from ..segment.preprocess import AIR_HU, PlaneBox, context_indices, normalise, plane_matrix
from .datasets import Case
from .synth_tumour import paste_random_tumours, perfusion_field


@dataclass(frozen=True)
class NetSpec:
    """What a net sees: which task, input size, HU window and 2.5D context."""

    task: str  # "liver" or "tumour"
    size: int
    window: tuple[float, float]
    context: int = 3
    roi_margin_mm: float = 10.0


@dataclass
class Augment:
    rotate_deg: float = 15.0
    scale: tuple[float, float] = (0.85, 1.15)
    shift_frac: float = 0.06
    elastic_px: float = 3.0
    flip: bool = False  # left-right flips would teach the liver net that the liver may sit on the left
    hu_shift: float = 20.0
    hu_scale: tuple[float, float] = (0.93, 1.07)
    noise_hu: float = 12.0
    synth_tumour_p: float = 0.0
    perfusion_p: float = 0.0  # smooth label-free darkening of the liver (see synth_tumour.perfusion_field)


def liver_bbox(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Inclusive index bounds of label >= 1, or None."""
    box = bounding_box(labels >= 1)
    if box is None:
        return None
    return np.array([b.start for b in box]), np.array([b.stop - 1 for b in box])


class Sampler:
    """Draws (input, target) batches: input (B, context, S, S) float32, target (B, 1, S, S)."""

    def __init__(self, cases: list[Case], spec: NetSpec, aug: Augment, seed: int = 0):
        self.spec, self.aug = spec, aug
        self.rng = np.random.default_rng(seed)
        self.items: list[tuple[Case, np.ndarray, np.ndarray, PlaneBox | None]] = []
        for case in cases:
            lab = case.labels
            per_slice_liver = (lab >= 1).any(axis=(0, 1))
            per_slice_tumour = (lab == 2).any(axis=(0, 1))
            if spec.task == "liver":
                slices = np.arange(lab.shape[2])
                weights = np.where(per_slice_liver, 3.0, 1.0)
                box = None
            else:
                bb = liver_bbox(lab)
                if bb is None:
                    continue
                sx, sy, _ = case.volume.spacing
                box = PlaneBox.around(bb[0][:2], bb[1][:2], (sx, sy), spec.roi_margin_mm)
                slices = np.flatnonzero(per_slice_liver)
                weights = np.where(per_slice_tumour[slices], 4.0, 1.0)
            self.items.append((case, slices, weights / weights.sum(), box))
        if not self.items:
            raise ValueError(f"no usable cases for the {spec.task} net")
        # Small cases still get airtime: pick cases by the square root of their slice count.
        w = np.sqrt([len(it[1]) for it in self.items])
        self.case_p = w / w.sum()

    def sample(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        s, c = self.spec.size, self.spec.context
        x = np.empty((batch, c, s, s), np.float32)
        y = np.empty((batch, 1, s, s), np.float32)
        for b in range(batch):
            case, slices, p, box = self.items[self.rng.choice(len(self.items), p=self.case_p)]
            k = int(self.rng.choice(slices, p=p))
            x[b], y[b, 0] = self.example(case, k, box)
        return x, y

    def example(self, case: Case, k: int, box: PlaneBox | None) -> tuple[np.ndarray, np.ndarray]:
        spec, aug, rng = self.spec, self.aug, self.rng
        vol = case.volume
        ks = context_indices(k, vol.shape[2], spec.context)
        slab = vol.array[:, :, ks].astype(np.float32)
        lab = case.labels[:, :, ks]
        if spec.task == "tumour" and rng.random() < aug.perfusion_p:
            perfusion_field(slab, lab, rng)
        if spec.task == "tumour" and rng.random() < aug.synth_tumour_p:
            lab = lab.copy()
            paste_random_tumours(slab, lab, vol.spacing, rng)
        centre = lab[:, :, spec.context // 2]
        target = (centre >= 1) if spec.task == "liver" else (centre == 2)
        if box is None:
            box = PlaneBox.whole_slice(slab.shape[:2])
        ang = np.deg2rad(rng.uniform(-aug.rotate_deg, aug.rotate_deg))
        scl = rng.uniform(*aug.scale)
        a = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]]) / scl
        if aug.flip:
            a = a @ np.diag([rng.choice([-1, 1]), rng.choice([-1, 1])])
        shift = rng.uniform(-aug.shift_frac, aug.shift_frac, 2) * box.side
        m, off = plane_matrix(box, spec.size, aug=a, shift=shift)
        uv = np.mgrid[0 : spec.size, 0 : spec.size].reshape(2, -1).astype(np.float64)
        coords = m @ uv + off[:, None]
        if aug.elastic_px > 0:
            scale = box.side / spec.size
            for d in range(2):
                field = ndimage.gaussian_filter(rng.standard_normal((spec.size, spec.size)), sigma=spec.size / 12)
                field *= aug.elastic_px * scale / max(float(np.abs(field).max()), 1e-6)
                coords[d] += field.ravel()
        out = np.empty((spec.context, spec.size, spec.size), np.float32)
        for ch in range(spec.context):
            out[ch] = ndimage.map_coordinates(
                slab[:, :, ch], coords, order=1, mode="constant", cval=AIR_HU, prefilter=False
            ).reshape(spec.size, spec.size)
        tgt = ndimage.map_coordinates(target.astype(np.float32), coords, order=0, mode="constant", cval=0.0)
        out = out * rng.uniform(*aug.hu_scale) + rng.uniform(-aug.hu_shift, aug.hu_shift)
        if aug.noise_hu > 0:
            out += rng.standard_normal(out.shape).astype(np.float32) * rng.uniform(0, aug.noise_hu)
        return normalise(out.astype(np.float32), spec.window), tgt.reshape(spec.size, spec.size)
