"""Label slice -> RGBA overlay image (numpy only, so it can be timed and tested headless)."""

from __future__ import annotations

import numpy as np

from ..labels import COLOURS, LIVER, TUMOUR

OUTLINE = 128


def overlay_lut(opacity: float, show: dict[int, bool], outline: bool = False) -> np.ndarray:
    """256-entry RGBA table for a label image: the view hands Qt an indexed image, no per-pixel work.

    Entries 1 and 2 are the filled colours; 129 and 130 (label + 128) are their opaque outlines.
    """
    lut = np.zeros((256, 4), np.uint8)
    for value in (LIVER, TUMOUR):
        if show.get(value, True):
            lut[value, :3] = COLOURS[value]
            lut[value, 3] = 0 if outline else int(255 * opacity)
            lut[value + OUTLINE, :3] = COLOURS[value]
            lut[value + OUTLINE, 3] = 255
    return lut


def outline_labels(lab: np.ndarray) -> np.ndarray:
    """Mark label edges by adding OUTLINE to the label value on boundary pixels."""
    edge = np.zeros(lab.shape, bool)
    edge[1:, :] |= lab[1:, :] != lab[:-1, :]
    edge[:-1, :] |= lab[:-1, :] != lab[1:, :]
    edge[:, 1:] |= lab[:, 1:] != lab[:, :-1]
    edge[:, :-1] |= lab[:, :-1] != lab[:, 1:]
    out = lab.copy()
    out[edge & (lab > 0)] += OUTLINE
    return out
