"""Label slice -> RGBA overlay image (numpy only, so it can be timed and tested headless)."""

from __future__ import annotations

import numpy as np

from ..labels import COLOURS, LIVER, TUMOUR


def overlay_rgba(labels2d: np.ndarray, opacity: float, show: dict[int, bool], outline: bool) -> np.ndarray:
    lut = np.zeros((256, 4), np.uint8)
    for value in (LIVER, TUMOUR):
        if show.get(value, True):
            lut[value, :3] = COLOURS[value]
            lut[value, 3] = int(255 * opacity)
    if outline:
        lab = labels2d
        edge = np.zeros(lab.shape, bool)
        edge[1:, :] |= lab[1:, :] != lab[:-1, :]
        edge[:-1, :] |= lab[:-1, :] != lab[1:, :]
        edge[:, 1:] |= lab[:, 1:] != lab[:, :-1]
        edge[:, :-1] |= lab[:, :-1] != lab[:, 1:]
        shown = np.where(edge, lab, 0)
        rgba = lut[shown]
        rgba[edge & (shown > 0), 3] = 255
        return rgba
    return lut[labels2d]
