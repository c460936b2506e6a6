"""Evaluation metrics of the paper (Accuracy, Dice, Sensitivity, Specificity, Efficiency) and lesion recall."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Overlap:
    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def of(cls, pred: np.ndarray, gt: np.ndarray) -> Overlap:
        pred = pred.astype(bool, copy=False)
        gt = gt.astype(bool, copy=False)
        tp = int(np.count_nonzero(pred & gt))
        p, g = int(np.count_nonzero(pred)), int(np.count_nonzero(gt))
        return cls(tp=tp, fp=p - tp, fn=g - tp, tn=pred.size - p - g + tp)

    def __add__(self, other: Overlap) -> Overlap:
        return Overlap(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    @property
    def dice(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 1.0 if d == 0 else 2 * self.tp / d

    @property
    def sensitivity(self) -> float:
        d = self.tp + self.fn
        return 1.0 if d == 0 else self.tp / d

    @property
    def specificity(self) -> float:
        d = self.tn + self.fp
        return 1.0 if d == 0 else self.tn / d

    @property
    def accuracy(self) -> float:
        n = self.tp + self.fp + self.fn + self.tn
        return 1.0 if n == 0 else (self.tp + self.tn) / n

    @property
    def efficiency(self) -> float:
        """The paper's Efficiency = (Sensitivity + Specificity + Accuracy) / 3."""
        return (self.sensitivity + self.specificity + self.accuracy) / 3

    def scores(self) -> dict[str, float]:
        return {
            "accuracy": self.accuracy, "dice": self.dice, "sensitivity": self.sensitivity,
            "specificity": self.specificity, "efficiency": self.efficiency,
        }

    def as_dict(self) -> dict:
        return {**asdict(self), **self.scores()}


def lesion_recall(pred: np.ndarray, gt: np.ndarray, spacing: tuple[float, float, float],
                  min_diameter_mm: float = 10.0) -> tuple[int, int]:
    """(detected, total) ground-truth lesions with equivalent-sphere diameter >= min_diameter_mm.

    A lesion counts as detected when any predicted tumour voxel overlaps it. Lesions are
    26-connected components, as in ``measure.lesions``.
    """
    comp, n = ndimage.label(gt, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return 0, 0
    voxel_mm3 = float(np.prod(spacing))
    sizes = np.bincount(comp.ravel())[1:]
    diam = np.cbrt(6 * sizes * voxel_mm3 / np.pi)
    hit = np.bincount(comp[pred.astype(bool)], minlength=n + 1)[1:] > 0
    big = diam >= min_diameter_mm
    return int(np.count_nonzero(hit & big)), int(np.count_nonzero(big))
