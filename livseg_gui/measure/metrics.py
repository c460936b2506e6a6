"""Evaluation metrics of the paper (Accuracy, Dice, Sensitivity, Specificity, Efficiency) and lesion detection."""

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


@dataclass(frozen=True)
class LesionDetection:
    """Per-lesion detection figures for one case (see :func:`lesion_detection`)."""

    found: int  # true lesions >= min diameter covered at least min_coverage by predicted tumour
    total: int  # true lesions >= min diameter
    predicted: int  # predicted lesions (components)
    predicted_true: int  # predicted lesions that touch a true lesion

    @property
    def recall(self) -> float | None:
        return self.found / self.total if self.total else None

    @property
    def precision(self) -> float | None:
        return self.predicted_true / self.predicted if self.predicted else None

    def as_dict(self) -> dict:
        return {**asdict(self), "recall": self.recall, "precision": self.precision}


def lesion_detection(pred: np.ndarray, gt: np.ndarray, spacing: tuple[float, float, float],
                     min_diameter_mm: float = 10.0, min_coverage: float = 0.25) -> LesionDetection:
    """Lesion-level recall and precision, with an honest definition of *found*.

    A true lesion (26-connected component, as in ``measure.lesions``) whose equivalent-sphere diameter is
    at least ``min_diameter_mm`` counts as found only when predicted tumour covers at least
    ``min_coverage`` of its voxels: a few stray voxels on a 57 mL lesion do not find it. A predicted
    lesion is true when it touches any true lesion.
    """
    pred = pred.astype(bool, copy=False)
    gt = gt.astype(bool, copy=False)
    structure = np.ones((3, 3, 3), bool)
    comp, n = ndimage.label(gt, structure=structure)
    found = total = 0
    if n:
        sizes = np.bincount(comp.ravel(), minlength=n + 1)[1:]
        covered = np.bincount(comp[pred], minlength=n + 1)[1:]
        diam = np.cbrt(6 * sizes * float(np.prod(spacing)) / np.pi)
        big = diam >= min_diameter_mm
        total = int(np.count_nonzero(big))
        found = int(np.count_nonzero(big & (covered >= min_coverage * sizes)))
    pcomp, m = ndimage.label(pred, structure=structure)
    predicted_true = int(np.count_nonzero(np.unique(pcomp[gt & pred]))) if m else 0
    return LesionDetection(found=found, total=total, predicted=int(m), predicted_true=predicted_true)
