"""Training pairs for the click net: simulated clicks on real and synthetic lesions.

Each example is one slice of one lesion, seen as :class:`~livseg_gui.segment.click_net.ClickNet`
sees it during propagation: the clicks (a positive one at the lesion's deepest point or anywhere
inside it, sometimes a second positive and a negative one near it), and a prior mask that is the
lesion on the neighbouring slice toward the click, made imperfect (eroded, dilated, dropped) the
way a propagated result is. Slices just beyond the lesion teach the net to stop (empty target).
Real lesions come from the tumour-labelled cases; synthetic ones are pasted into every liver,
including cases whose tumours are not labelled (only the pasted lesion is the target).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..segment.click_net import ClickSpec, click_box, click_map
from ..segment.preprocess import AIR_HU, context_indices, context_stride, normalise, plane_matrix
from .datasets import Case
from .sampling import Augment, intensity_augment, phase_remap, random_similarity
from .synth_tumour import paste_tumour

MIN_LESION_MM = 5.0


def real_lesions(case: Case) -> list[tuple[np.ndarray, int, tuple[slice, slice, slice]]]:
    """(components, index, box) of each labelled lesion at least MIN_LESION_MM across (equivalent sphere)."""
    if not case.tumour_labelled:
        return []
    comp, n = ndimage.label(case.labels == 2, structure=np.ones((3, 3, 3), bool))
    voxel_mm3 = float(np.prod(case.volume.spacing))
    keep = []
    for i, sl in enumerate(ndimage.find_objects(comp), start=1):
        size = float((comp[sl] == i).sum()) * voxel_mm3
        if (6 * size / np.pi) ** (1 / 3) >= MIN_LESION_MM:  # equivalent-sphere diameter
            keep.append((i, sl))
    return [(comp, i, sl) for i, sl in keep]


class ClickSampler:
    """Draws (input, target): input (B, channels, S, S) float32, target (B, 1, S, S)."""

    def __init__(self, cases: list[Case], spec: ClickSpec, aug: Augment, seed: int = 0, synthetic_p: float = 0.6):
        self.spec, self.aug, self.synthetic_p = spec, aug, synthetic_p
        self.rng = np.random.default_rng(seed)
        self.cases = [c for c in cases if (c.labels >= 1).sum() > 1000]
        self.liver_voxels = [np.flatnonzero(c.labels >= 1) for c in self.cases]
        # Real lesions by case, so one case's many fragments do not crowd out the others.
        self.real = [(c, found) for c in self.cases if (found := real_lesions(c))]
        if not self.cases:
            raise ValueError("no cases with a liver for the click net")

    def sample(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        s = self.spec.size
        x = np.empty((batch, self.spec.channels, s, s), np.float32)
        y = np.empty((batch, 1, s, s), np.float32)
        for b in range(batch):
            while True:
                ex = self.example()
                if ex is not None:
                    break
            x[b], y[b, 0] = ex
        return x, y

    # -- one example ----------------------------------------------------------------------
    def _lesion(self):
        """(case volume slab float32, lesion mask, liver mask, spacing): a real or a freshly pasted lesion,
        cropped to the region the net can see around it (with slices for context)."""
        rng = self.rng
        if self.real and rng.random() >= self.synthetic_p:
            case, lesions = self.real[rng.integers(len(self.real))]
            comp, i, sl = lesions[rng.integers(len(lesions))]
            centre = [(s.start + s.stop) // 2 for s in sl]
            crop = self._crop(case, centre)
            hu = case.volume.array[crop].astype(np.float32)
            return hu, comp[crop] == i, case.labels[crop] >= 1, case.volume.spacing
        i = rng.integers(len(self.cases))
        case, liver = self.cases[i], self.liver_voxels[i]
        centre = np.unravel_index(liver[rng.integers(liver.size)], case.labels.shape)
        crop = self._crop(case, centre)
        hu = case.volume.array[crop].astype(np.float32)
        lab = case.labels[crop].copy()
        lab[lab == 2] = 1  # only the pasted lesion is the target
        local = tuple(int(c - s.start) for c, s in zip(centre, crop))
        d = float(np.exp(rng.uniform(np.log(6.0), np.log(60.0))))
        if not paste_tumour(hu, lab, case.volume.spacing, d, rng, center=local):
            return None
        lesion = lab == 2
        if not lesion[local]:
            return None
        return hu, lesion, lab >= 1, case.volume.spacing

    def _crop(self, case: Case, centre) -> tuple[slice, slice, slice]:
        sp = np.asarray(case.volume.spacing, float)
        half = np.ceil(np.array([80.0, 80.0, 45.0]) / sp).astype(int)  # the net's 128 mm square, rotated
        return tuple(slice(max(0, c - h), min(n, c + h + 1)) for c, h, n in zip(centre, half, case.labels.shape))

    def example(self) -> tuple[np.ndarray, np.ndarray] | None:
        spec, aug, rng = self.spec, self.aug, self.rng
        got = self._lesion()
        if got is None:
            return None
        hu, lesion, liver, spacing = got
        sp = np.asarray(spacing, float)
        nz = hu.shape[2]
        # The first click: the lesion's deepest point (the benchmark's user), or anywhere inside it.
        inside = np.argwhere(lesion)
        if rng.random() < 0.5:
            lo, hi = inside.min(axis=0), inside.max(axis=0) + 1
            part = lesion[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
            depth = ndimage.distance_transform_edt(np.pad(part, 1), sampling=sp)[1:-1, 1:-1, 1:-1]
            click = np.array(np.unravel_index(int(np.argmax(depth)), part.shape)) + lo
        else:
            click = inside[rng.integers(len(inside))]
        positives = [click]
        if rng.random() < 0.25:
            positives.append(inside[rng.integers(len(inside))])
        zs = np.flatnonzero(lesion.any(axis=(0, 1)))
        # The slice: the clicked one, or any slice of the lesion, or one just past its ends (learn to stop).
        r = rng.random()
        if r < 0.3:
            k = int(click[2])
        elif r < 0.85:
            k = int(rng.integers(zs[0], zs[-1] + 1))
        else:
            k = int(zs[0] - 1 - rng.integers(0, 2)) if rng.random() < 0.5 else int(zs[-1] + 1 + rng.integers(0, 2))
        if not 0 <= k < nz:
            return None
        toward = k - int(np.sign(k - click[2]))
        if k == click[2]:
            prior_src = lesion[:, :, k] if rng.random() < 0.4 else np.zeros_like(lesion[:, :, k])
        else:
            prior_src = lesion[:, :, toward]
        negatives = []
        if rng.random() < 0.3:
            near = ndimage.binary_dilation(lesion[:, :, k], iterations=int(max(2, 15 / sp[0]))) & liver[:, :, k] & ~lesion[:, :, k]
            pts = np.argwhere(near)
            if len(pts):
                p = pts[rng.integers(len(pts))]
                negatives.append(np.array([p[0], p[1], k]))
        # Geometry: the net's square centred on the first click, rotated and scaled like the tumour net's.
        box = click_box(click[:2], sp[:2], spec)
        m, off = plane_matrix(box, spec.size, aug=random_similarity(aug, rng))
        uv = np.mgrid[0 : spec.size, 0 : spec.size].reshape(2, -1).astype(np.float64)
        coords = m @ uv + off[:, None]
        ks = context_indices(k, nz, spec.context, context_stride(sp[2], spec.context_step_mm))
        slab = hu[:, :, ks]
        if rng.random() < aug.phase_p:
            phase_remap(slab, rng)
        x = np.empty((spec.channels, spec.size, spec.size), np.float32)
        for ch in range(spec.context):
            x[ch] = ndimage.map_coordinates(slab[:, :, ch], coords, order=1, mode="constant", cval=AIR_HU,
                                            prefilter=False).reshape(spec.size, spec.size)
        x[: spec.context] = normalise(intensity_augment(x[: spec.context], aug, rng), spec.window)
        z = k * sp[2]
        x[spec.context] = click_map(coords, z, np.array(positives), sp).reshape(spec.size, spec.size)
        x[spec.context + 1] = (click_map(coords, z, np.array(negatives), sp).reshape(spec.size, spec.size)
                               if negatives else 0.0)
        prior = ndimage.map_coordinates(prior_src.astype(np.float32), coords, order=0, mode="constant", cval=0.0)
        x[spec.context + 2] = self._imperfect(prior.reshape(spec.size, spec.size) > 0.5)
        target = ndimage.map_coordinates(lesion[:, :, k].astype(np.float32), coords, order=0, mode="constant", cval=0.0)
        return x, target.reshape(spec.size, spec.size)

    def _imperfect(self, mask: np.ndarray) -> np.ndarray:
        """A propagated prior is never exact: grow, shrink, shift or drop it."""
        rng = self.rng
        r = rng.random()
        if r < 0.1:
            return np.zeros(mask.shape, np.float32)
        if r < 0.35 and mask.any():
            mask = ndimage.binary_erosion(mask, iterations=int(rng.integers(1, 4)))
        elif r < 0.6:
            mask = ndimage.binary_dilation(mask, iterations=int(rng.integers(1, 4)))
        elif r < 0.75:
            mask = np.roll(mask, tuple(rng.integers(-3, 4, 2)), axis=(0, 1))
        return mask.astype(np.float32)
