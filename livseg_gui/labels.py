"""The label convention (LiTS): 0 background, 1 liver, 2 tumour; names and display colours."""

from __future__ import annotations

BACKGROUND, LIVER, TUMOUR = 0, 1, 2
NAMES = {LIVER: "Liver", TUMOUR: "Tumour"}
# Recommended display colours (RGB), also written into DICOM SEG.
COLOURS = {LIVER: (221, 130, 101), TUMOUR: (80, 200, 255)}


def bounding_box(mask, margin=0) -> tuple[slice, slice, slice] | None:
    """Bounding box of a 3-D boolean mask, or None if it is empty; ``margin`` voxels wider on each side (one
    number, or one per axis), clipped to the array.

    Faster than ``ndimage.find_objects`` on large volumes: it narrows to the occupied slices first.
    """
    import numpy as np

    zs = np.flatnonzero(mask.any(axis=(0, 1)))
    if zs.size == 0:
        return None
    slab = mask[:, :, zs[0] : zs[-1] + 1]
    xs = np.flatnonzero(slab.any(axis=(1, 2)))
    ys = np.flatnonzero(slab[xs[0] : xs[-1] + 1].any(axis=(0, 2)))
    pad = np.broadcast_to(np.asarray(margin, int), (3,))
    return tuple(slice(max(0, int(lo) - int(p)), min(n, int(hi) + 1 + int(p)))
                 for lo, hi, p, n in zip((xs[0], ys[0], zs[0]), (xs[-1], ys[-1], zs[-1]), pad, mask.shape))
