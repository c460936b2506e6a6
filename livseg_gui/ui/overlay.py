"""Label slice -> RGBA overlay image (numpy only, so it can be timed and tested headless)."""

from __future__ import annotations

import numpy as np

from ..labels import COLOURS, LIVER, TUMOUR

OUTLINE = 128
CANDIDATE = 3  # display-only value for a below-threshold tumour candidate (never in a label map)
CANDIDATE_COLOUR = (255, 214, 0)
SELECTED = 4  # display-only: the outline of the lesion selected in the lesion panel
SELECTED_COLOUR = (255, 255, 255)


def overlay_lut(opacity: float, show: dict[int, bool], outline: bool = False) -> np.ndarray:
    """256-entry RGBA table for a label image: the view hands Qt an indexed image, no per-pixel work.

    Entries 1 and 2 are the filled colours; 129 and 130 (label + 128) are their opaque outlines.
    """
    lut = np.zeros((256, 4), np.uint8)
    lut[CANDIDATE, :3] = lut[CANDIDATE + OUTLINE, :3] = CANDIDATE_COLOUR
    lut[CANDIDATE, 3], lut[CANDIDATE + OUTLINE, 3] = 40, 255
    lut[SELECTED + OUTLINE, :3] = SELECTED_COLOUR
    lut[SELECTED + OUTLINE, 3] = 255
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


def mark_candidates(lab: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """Draw candidate regions (bool slice) on a label slice: a faint fill with an opaque outline."""
    if not marks.any():
        return lab
    out = lab.copy()
    inside = marks & (lab % OUTLINE != TUMOUR)
    edge = inside & ~np.pad(inside, 1)[:-2, 1:-1] | inside & ~np.pad(inside, 1)[2:, 1:-1]
    edge |= inside & ~np.pad(inside, 1)[1:-1, :-2] | inside & ~np.pad(inside, 1)[1:-1, 2:]
    out[inside] = CANDIDATE
    out[edge] = CANDIDATE + OUTLINE
    return out


def outline_selected(lab: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """Draw a white outline around the selected lesion (bool slice); its inside keeps its own colour."""
    if not selected.any():
        return lab
    inside = selected & ~(np.pad(selected, 1)[:-2, 1:-1] & np.pad(selected, 1)[2:, 1:-1]
                          & np.pad(selected, 1)[1:-1, :-2] & np.pad(selected, 1)[1:-1, 2:])
    out = lab.copy()
    out[inside] = SELECTED + OUTLINE
    return out
