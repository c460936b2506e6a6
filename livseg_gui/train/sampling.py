"""Turn labelled cases into augmented 2.5D training pairs, using the app's own pre-processing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..labels import bounding_box
from ..segment.preprocess import AIR_HU, PlaneBox, context_indices, context_stride, normalise, plane_matrix, slice_box
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
    mm_per_px: float | None = None  # liver net: fixed physical scale (see preprocess.slice_box)
    context_step_mm: float | None = None  # neighbouring channels this far apart (see preprocess.context_stride)

    def box(self, case: Case) -> PlaneBox | None:
        """The plane box this net sees for ``case`` (None: the tumour net has no liver there)."""
        vol, lab = case.volume, case.labels
        if self.task == "liver":
            return slice_box(vol.array, vol.spacing[:2], self.size, self.mm_per_px)
        bb = liver_bbox(lab)
        if bb is None:
            return None
        return PlaneBox.around(bb[0][:2], bb[1][:2], vol.spacing[:2], self.roi_margin_mm)

    def stride(self, case: Case) -> int:
        return context_stride(case.volume.spacing[2], self.context_step_mm)


@dataclass
class Augment:
    """Augmentations that stand in for the scanners, phases and patients the nine cases lack."""

    rotate_deg: float = 15.0
    scale: tuple[float, float] = (0.75, 1.25)
    shift_frac: float = 0.06
    elastic_px: float = 3.0
    flip: bool = False  # left-right flips would teach the liver net that the liver may sit on the left
    hu_shift: float = 20.0
    hu_scale: tuple[float, float] = (0.93, 1.07)
    noise_hu: float = 15.0
    phase_p: float = 0.0  # contrast-phase remap of soft tissue (see phase_remap)
    blur_p: float = 0.0  # in-plane Gaussian blur (soft reconstruction kernels)
    thick_p: float = 0.0  # thicker slices: each channel the mean of three neighbours
    synth_tumour_p: float = 0.0
    perfusion_p: float = 0.0  # smooth label-free darkening of the liver (see synth_tumour.perfusion_field)


def phase_remap(hu: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random monotone piecewise-linear HU map that moves enhancing soft tissue, in place.

    Non-contrast, arterial and portal-venous scans differ mainly in how bright the parenchyma
    (liver ~50-150 HU) and the vessels (~150-300 HU) are; air, fat and bone barely change.
    """
    liver_to = 60.0 + rng.uniform(-15.0, 80.0)  # the 60 HU knot (typical liver) lands at 45-140 HU
    vessel_to = max(liver_to + 40.0, 200.0 + rng.uniform(-70.0, 120.0))
    xs = np.array([-1100.0, -120.0, 0.0, 60.0, 200.0, 500.0, 4000.0])
    ys = np.array([-1100.0, -120.0, rng.uniform(-15.0, 20.0), liver_to, vessel_to, max(500.0, vessel_to + 50), 4000.0])
    hu[...] = np.interp(hu, xs, ys).astype(hu.dtype, copy=False)
    return hu


def random_similarity(aug: Augment, rng: np.random.Generator) -> np.ndarray:
    """A random in-plane rotation and scale (and flips when allowed), as a 2x2 matrix for ``plane_matrix``."""
    ang = np.deg2rad(rng.uniform(-aug.rotate_deg, aug.rotate_deg))
    scl = rng.uniform(*aug.scale)
    a = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]]) / scl
    if aug.flip:
        a = a @ np.diag([rng.choice([-1, 1]), rng.choice([-1, 1])])
    return a


def intensity_augment(planes: np.ndarray, aug: Augment, rng: np.random.Generator) -> np.ndarray:
    """Blur (soft kernels), HU scale and shift (calibration), noise (dose) on (channels, S, S) HU planes."""
    if rng.random() < aug.blur_p:
        planes = ndimage.gaussian_filter(planes, sigma=(0, *[rng.uniform(0.4, 1.2)] * 2))
    planes = planes * rng.uniform(*aug.hu_scale) + rng.uniform(-aug.hu_shift, aug.hu_shift)
    if aug.noise_hu > 0:
        planes += rng.standard_normal(planes.shape).astype(np.float32) * rng.uniform(0, aug.noise_hu)
    return planes


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
            if spec.task == "tumour" and not case.tumour_labelled:
                continue  # its "liver" holds unlabelled tumours: it would teach that they are liver
            lab = case.labels
            per_slice_liver = (lab >= 1).any(axis=(0, 1))
            per_slice_tumour = (lab == 2).any(axis=(0, 1))
            box = spec.box(case)
            if box is None:
                continue
            if spec.task == "liver":
                slices = np.arange(lab.shape[2])
                weights = np.where(per_slice_liver, 3.0, 1.0)
            else:
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

    def example(self, case: Case, k: int, box: PlaneBox) -> tuple[np.ndarray, np.ndarray]:
        spec, aug, rng = self.spec, self.aug, self.rng
        vol = case.volume
        nz = vol.shape[2]
        ks = context_indices(k, nz, spec.context, spec.stride(case))
        if rng.random() < aug.thick_p and nz > 2:
            slab = sum(vol.array[:, :, np.clip(ks + d, 0, nz - 1)].astype(np.float32) for d in (-1, 0, 1)) / 3.0
        else:
            slab = vol.array[:, :, ks].astype(np.float32)
        if rng.random() < aug.phase_p:
            phase_remap(slab, rng)
        lab = case.labels[:, :, ks]
        if spec.task == "tumour" and rng.random() < aug.perfusion_p:
            perfusion_field(slab, lab, rng)
        if spec.task == "tumour" and rng.random() < aug.synth_tumour_p:
            lab = lab.copy()
            paste_random_tumours(slab, lab, vol.spacing, rng)
        centre = lab[:, :, spec.context // 2]
        target = (centre >= 1) if spec.task == "liver" else (centre == 2)
        a = random_similarity(aug, rng)
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
        out = intensity_augment(out, aug, rng)
        return normalise(out.astype(np.float32), spec.window), tgt.reshape(spec.size, spec.size)
