"""The liver -> ROI -> tumour cascade on onnxruntime (CPU). No Qt; the GUI runs it in a worker.

Memory: the CT is never copied whole as float; slices are resampled in slabs, the liver
probabilities are kept at the net's resolution (size^2 x slices), and connected components
are computed there, so a 512 x 512 x 1000 CT stays well under 2 GB.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage
from threadpoolctl import threadpool_limits

from ..errors import Cancelled, InputError
from ..io.volume import Volume
from ..labels import bounding_box
from ..resources import models_dir
from .confidence import Candidate, TumourProbability
from .modelcard import ModelCard, load_card
from .preprocess import (
    PlaneBox,
    context_stride,
    fill_between,
    from_net_plane,
    nearest_from_net_plane,
    normalise,
    sample_stride,
    sampled_slices,
    slice_box,
    to_net_plane,
)
from .runner import NetRunner, sigmoid

log = logging.getLogger("livseg.segment")

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]
SlabFn = Callable[[int, int, np.ndarray], None]

SLAB = 32  # slices resampled at a time
MIN_INPLANE = 32  # voxels; smaller images cannot be a CT slice
TUMOUR_SAMPLE_MM = 2.0  # the tumour net runs on slices at most this far apart (at least its ROI pixel)
MIN_SLICES = 3  # fewer cannot give a volume, nor the nets' neighbouring-slice context


@dataclass
class SegmentationResult:
    labels: np.ndarray  # uint8, canonical grid: 0 background, 1 liver, 2 tumour
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)  # below the operating threshold: not in labels
    tumour_probability: TumourProbability | None = None


def _label(mask: np.ndarray, structure: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Connected components in uint16 when they fit (half the memory of scipy's int32 default)."""
    try:
        comp = np.empty_like(mask, dtype=np.uint16)  # same memory order as the mask: much faster
        n = ndimage.label(mask, structure=structure, output=comp)
        return comp, int(n)
    except RuntimeError:  # more than 65535 components
        return ndimage.label(mask, structure=structure)


def _source_region(mask: np.ndarray, box: PlaneBox, shape_xy: tuple[int, int]) -> tuple[slice, slice]:
    """The part of the source plane covered by ``mask`` (net resolution), with a one-pixel margin."""
    b = bounding_box(mask)
    scale = box.side / mask.shape[0]
    lo = np.array([b[0].start - 1, b[1].start - 1]) * scale + np.array(box.center) - box.side / 2
    hi = np.array([b[0].stop + 1, b[1].stop + 1]) * scale + np.array(box.center) - box.side / 2
    lo = np.clip(np.floor(lo).astype(int), 0, shape_xy)
    hi = np.clip(np.ceil(hi).astype(int) + 1, 0, shape_xy)
    return slice(int(lo[0]), int(hi[0])), slice(int(lo[1]), int(hi[1]))


def implausible_liver(vol: Volume, liver: np.ndarray) -> str | None:
    """Why a predicted liver cannot be one, or None. Cheap anatomical sanity checks on a thinned grid.

    A liver lies in the patient's right upper abdomen and never fills most of the body's cross-section.
    A uniform soft-tissue blob (e.g. a brain in a head CT) fails one or both. Situs inversus would fail
    the laterality check too; the warning then asks the user to segment by hand.
    """
    box = bounding_box(liver)
    zs = box[2]
    body = vol.array[::4, ::4, zs] > -500
    liv = liver[::4, ::4, zs]
    n_body, n_liver = int(body.sum()), int(liv.sum())
    if n_body == 0 or n_liver == 0:
        return None
    # On the 7 real cases: the liver fills 12-33 % of the body over its slices and its centre lies
    # 14-22 % of the body's width to the right of the body's centre.
    if n_liver > 0.5 * n_body:
        return f"fills {100 * n_liver / n_body:.0f} % of the body's cross-section"
    body_x = np.nonzero(body)[0]
    width = max(1, int(body_x.max() - body_x.min()))
    offset = (body_x.mean() - np.nonzero(liv)[0].mean()) / width  # > 0: on the patient's right
    if offset < 0.03:
        return "is not in the patient's right abdomen"
    return None


class Cascade:
    """Load both nets once; call :meth:`run` for each volume."""

    def __init__(self, models: str | Path | None = None, threads: int = 0, batch: int = 2,
                 min_lesion_ml: float = 0.05, lesion_threshold: float | None = None, liver_only: bool = False):
        self.card: ModelCard = load_card(models or models_dir())
        self.liver = NetRunner(self.card.net("liver"), threads)
        self.tumour = None if liver_only else NetRunner(self.card.net("tumour"), threads)
        self.batch = batch
        # A component is a lesion when it is at least this big and the net's peak probability in it reaches
        # the operating threshold chosen on validation (model card); weaker ones become candidates.
        self.min_lesion_ml = min_lesion_ml
        card_threshold = self.card.raw.get("nets", {}).get("tumour", {}).get("lesion_threshold", 0.8)
        self.lesion_threshold = float(lesion_threshold if lesion_threshold is not None else card_threshold)

    # -- stages -------------------------------------------------------------------------
    def run(self, volume: Volume, progress: ProgressFn | None = None, cancel: CancelFn | None = None,
            on_slab: SlabFn | None = None) -> SegmentationResult:
        # OpenBLAS's threads keep spinning after each resampling product and steal the cores from
        # onnxruntime's: one BLAS thread makes the whole run ~10 % faster on 2 cores (bench_process.py).
        with threadpool_limits(limits=1, user_api="blas"):
            return self._run(volume, progress, cancel, on_slab)

    def _run(self, volume: Volume, progress: ProgressFn | None, cancel: CancelFn | None,
             on_slab: SlabFn | None) -> SegmentationResult:
        progress = progress or (lambda f, s: None)
        cancel = cancel or (lambda: False)
        x, y, nz = volume.shape
        if min(x, y) < MIN_INPLANE:
            raise InputError(f"volume is too small for the nets: {x}x{y} voxels per slice (need at least {MIN_INPLANE})")
        if nz < MIN_SLICES:
            raise InputError(f"only {nz} slice{'s' if nz != 1 else ''}: segmentation needs a CT series of at least "
                             f"{MIN_SLICES} slices (a single image has no volume to measure)")
        result = SegmentationResult(labels=volume.new_labels())
        t0 = time.perf_counter()
        card = self.liver.card
        box = slice_box(volume.array, volume.spacing[:2], card.input_size, card.mm_per_px)
        progress(0.0, "liver net")
        liver_prob = self._liver_probabilities(volume, box, progress, cancel, on_slab)
        t1 = time.perf_counter()
        progress(0.6, "liver shape")
        liver = self._liver_mask(volume, box, liver_prob, result, cancel)
        del liver_prob  # free it before the tumour stage: peak memory is what limits big CTs
        t2 = time.perf_counter()
        result.labels[liver] = 1
        result.timings = {"liver_s": t1 - t0, "liver_post_s": t2 - t1}
        progress(0.7, "tumour net")
        if self.tumour is not None and liver.any():
            self._tumours(volume, liver, result, progress, cancel)
        result.timings["tumour_s"] = time.perf_counter() - t2
        result.timings["total_s"] = time.perf_counter() - t0
        progress(1.0, "done")
        return result

    def _liver_probabilities(self, vol: Volume, box: PlaneBox, progress: ProgressFn, cancel: CancelFn,
                             on_slab: SlabFn | None) -> np.ndarray:
        card = self.liver.card
        nz = vol.shape[2]
        # The net sees 2.5 mm pixels: slices closer than that add no detail, so it runs on slices about
        # one pixel apart and the ones between are interpolated (an isotropic probability grid).
        stride = sample_stride(vol.spacing[2], card.mm_per_px)
        for k0, k1, probs in self._sampled_probabilities(self.liver, vol, box, 0, nz, stride, cancel):
            if on_slab is not None:  # the streamed preview: nearest-pixel lookup, no second interpolation
                on_slab(k0, k1, nearest_from_net_plane(probs[:, :, k0:k1] > card.threshold, box, vol.shape[:2]))
            progress(0.6 * k1 / nz, "liver net")
        return probs

    def _sampled_probabilities(self, net: NetRunner, vol: Volume, box: PlaneBox, z0: int, z1: int, stride: int,
                               cancel: CancelFn) -> Iterator[tuple[int, int, np.ndarray]]:
        """Run ``net`` on every ``stride``-th slice of [z0, z1) and interpolate the rest.

        Yields (k0, k1, probs) as slabs finish: ``probs`` (size, size, n_slices) is final on [k0, k1).
        Each slice is resampled once (neighbouring slabs share their context slices).
        """
        card = net.card
        nz = vol.shape[2]
        reach = (card.context // 2) * context_stride(vol.spacing[2], card.context_step_mm)
        lo, hi = max(0, z0 - reach), min(nz, z1 + reach)
        planes = np.zeros((card.input_size, card.input_size, hi - lo), np.float32, order="F")
        probs = np.zeros((card.input_size, card.input_size, nz), np.float32)
        samples = sampled_slices(z0, z1, stride)
        resampled, ready = lo, z0
        for k0 in range(z0, z1, SLAB):
            k1 = min(z1, k0 + SLAB)
            need = min(hi, k1 + reach)
            if need > resampled:
                planes[:, :, resampled - lo : need - lo] = normalise(
                    to_net_plane(vol.array[:, :, resampled:need], box, card.input_size), card.hu_window)
                resampled = need
            ks = samples[(samples >= k0) & (samples < k1)]
            self._infer(net, planes, ks - lo, lo, nz, probs, cancel, vol.spacing[2])
            fill_between(probs, samples[(samples >= ready - 1) & (samples < k1)])
            last = int(samples[samples < k1][-1]) + 1 if k1 < z1 else z1  # later slices wait for the next sample
            if last > ready:
                yield ready, last, probs
                ready = last

    def _infer(self, net: NetRunner, planes: np.ndarray, local_ks: np.ndarray, offset: int, nz: int,
               out: np.ndarray, cancel: CancelFn, slice_mm: float) -> None:
        """Run ``net`` on slices ``local_ks`` of ``planes`` (clamping context at the volume's ends)."""
        ctx = net.card.context
        stride = context_stride(slice_mm, net.card.context_step_mm)
        steps = stride * np.arange(-(ctx // 2), ctx // 2 + 1)
        for i in range(0, len(local_ks), self.batch):
            if cancel():
                raise Cancelled("segmentation cancelled")
            ks = local_ks[i : i + self.batch]
            # Clamp neighbours to the volume, not to the slab, so slab edges see true context.
            glob = np.clip(ks[:, None] + offset + steps[None, :], 0, nz - 1) - offset
            glob = np.clip(glob, 0, planes.shape[2] - 1)
            batch = np.ascontiguousarray(np.moveaxis(planes[:, :, glob], (2, 3), (0, 1)))
            out[:, :, ks + offset] = np.moveaxis(sigmoid(net.logits(batch)), 0, 2)

    def _liver_mask(self, vol: Volume, box: PlaneBox, probs: np.ndarray, result: SegmentationResult,
                    cancel: CancelFn) -> np.ndarray:
        card = self.liver.card
        mask = probs > card.threshold
        comp, n = _label(mask)
        liver = np.zeros(vol.shape, bool, order="F")
        if n == 0:
            result.warnings.append("no liver found in this scan (is it an abdominal CT?)")
            return liver
        sizes = np.bincount(comp.ravel())[1:]
        keep = comp == (int(np.argmax(sizes)) + 1)
        del comp
        # Holes (vessels, hypodense lesions) are filled slice by slice here, at the net's resolution: a
        # structure without z-neighbours makes binary_fill_holes work in-plane in one call, and at 160^2 it
        # costs a fraction of what it does on the source grid. Filled holes upsample as liver.
        in_plane = np.zeros((3, 3, 3), bool)
        in_plane[:, :, 1] = ndimage.generate_binary_structure(2, 1)
        # Only the liver's box (one voxel wider) changes: the filters run on that, not the whole volume.
        near = bounding_box(keep, margin=1)
        part = keep[near]
        filled = ndimage.binary_fill_holes(part, structure=in_plane)
        probs[near][filled & ~part] = 1.0
        keep[near] = ndimage.binary_dilation(filled, iterations=1)
        probs *= keep
        region = _source_region(keep, box, vol.shape[:2])
        zs = np.flatnonzero(keep.any(axis=(0, 1)))
        for k0 in range(int(zs[0]), int(zs[-1]) + 1, SLAB):
            if cancel():
                raise Cancelled("segmentation cancelled")
            k1 = min(int(zs[-1]) + 1, k0 + SLAB)
            part = from_net_plane(probs[:, :, k0:k1], box, vol.shape[:2], region=region) > card.threshold
            liver[region[0], region[1], k0:k1] = part
        problem = implausible_liver(vol, liver)
        if problem:
            result.warnings.append(f"no liver reported: the region found {problem}; is this an abdominal CT?")
            liver[...] = False
            return liver
        ml = liver.sum() * vol.voxel_volume_ml
        if ml < 100:
            result.warnings.append(f"the liver found is only {ml:.0f} mL: check the scan covers the liver")
        return liver

    def _tumours(self, vol: Volume, liver: np.ndarray, result: SegmentationResult,
                 progress: ProgressFn, cancel: CancelFn) -> None:
        """Tumour net on the liver ROI; keeps confident components of a useful size inside the liver."""
        card = self.tumour.card
        sl = bounding_box(liver)
        lo = np.array([s.start for s in sl])
        hi = np.array([s.stop - 1 for s in sl])
        sx, sy, _ = vol.spacing
        box = PlaneBox.around(lo[:2], hi[:2], (sx, sy), card.roi_margin_mm or 10.0)
        z0, z1 = int(lo[2]), int(hi[2]) + 1
        # As for the liver, thin slices are sampled and the ones between interpolated, here 2 mm apart:
        # on a CT resampled to 0.8 mm that cost 0.0015 tumour Dice and found the same lesions (README, Performance).
        stride = sample_stride(vol.spacing[2], max(TUMOUR_SAMPLE_MM, box.side * float(np.mean((sx, sy))) / card.input_size))
        for step in self._sampled_probabilities(self.tumour, vol, box, z0, z1, stride, cancel):
            progress(0.7 + 0.28 * (step[1] - z0) / max(1, z1 - z0), "tumour net")
        net_probs = step[2]
        progress(0.98, "lesions")
        # Kept at the net's resolution (uint8) and brought onto the CT's grid only where it passes the
        # threshold: linear interpolation never exceeds its neighbours, so nothing outside that region can.
        prob = TumourProbability(sl, np.rint(net_probs[:, :, z0:z1] * 255).astype(np.uint8), plane=box)
        result.tumour_probability = prob
        hot = prob.prob > card.threshold * 255
        if not hot.any():
            return
        rx, ry = _source_region(hot, box, vol.shape[:2])
        zs = np.flatnonzero(hot.any(axis=(0, 1))) + z0
        region = (slice(max(rx.start, sl[0].start), min(rx.stop, sl[0].stop)),
                  slice(max(ry.start, sl[1].start), min(ry.stop, sl[1].stop)), slice(int(zs[0]), int(zs[-1]) + 1))
        p = prob.crop(region)
        crop = (p > card.threshold) & liver[region]
        comp, n = _label(crop, structure=np.ones((3, 3, 3), bool))
        if not n:
            return
        # Per-component size and peak from the component voxels only (scipy's per-label reductions sort).
        ids = comp[crop]
        sizes = np.bincount(ids, minlength=n + 1)[1:] * vol.voxel_volume_ml
        peak = np.zeros(n + 1, np.float32)
        np.maximum.at(peak, ids, p[crop])
        peaks = peak[1:]
        big = sizes >= self.min_lesion_ml
        keep = np.zeros(n + 1, bool)
        keep[1:] = big & (peaks >= self.lesion_threshold)
        objects = ndimage.find_objects(comp)
        for i in np.flatnonzero(big & (peaks < self.lesion_threshold)) + 1:
            obj = objects[i - 1]
            glob = tuple(slice(b.start + o.start, b.stop + o.start) for b, o in zip(obj, region))
            result.candidates.append(Candidate(glob, comp[obj] == i, float(peaks[i - 1]), float(sizes[i - 1])))
        result.candidates.sort(key=lambda c: -c.confidence)
        result.labels[region][keep[comp]] = 2
