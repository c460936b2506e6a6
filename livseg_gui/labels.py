"""The label convention (LiTS): 0 background, 1 liver, 2 tumour; names and display colours."""

from __future__ import annotations

BACKGROUND, LIVER, TUMOUR = 0, 1, 2
NAMES = {LIVER: "Liver", TUMOUR: "Tumour"}
# Recommended display colours (RGB), also written into DICOM SEG.
COLOURS = {LIVER: (221, 130, 101), TUMOUR: (80, 200, 255)}


def bounding_box(mask) -> tuple[slice, slice, slice] | None:
    """Tight bounding box of a 3-D boolean mask, or None if it is empty.

    Faster than ``ndimage.find_objects`` on large volumes: it narrows to the occupied slices first.
    """
    import numpy as np

    zs = np.flatnonzero(mask.any(axis=(0, 1)))
    if zs.size == 0:
        return None
    slab = mask[:, :, zs[0] : zs[-1] + 1]
    xs = np.flatnonzero(slab.any(axis=(1, 2)))
    ys = np.flatnonzero(slab[xs[0] : xs[-1] + 1].any(axis=(0, 2)))
    return slice(int(xs[0]), int(xs[-1]) + 1), slice(int(ys[0]), int(ys[-1]) + 1), slice(int(zs[0]), int(zs[-1]) + 1)
