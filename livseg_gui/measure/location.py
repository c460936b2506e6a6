"""Approximate lesion location: hemiliver and Couinaud segments from the liver's own shape.

This is a documented *geometric approximation*, not anatomy: LivSeg does not segment the
hepatic or portal veins, which define the true segments. Every output labels it "approximate".

- Hemiliver: the sagittal plane (constant patient L coordinate) that splits the liver's volume
  60 % right / 40 % left stands in for Cantlie's line (the right hemiliver holds ~60 % of liver
  volume in adults). The true line is oblique (gallbladder fossa to IVC) and a resected or
  atrophic liver breaks the 60/40 rule: reports say so (see ``LiverGeometry.warnings``).
- Left lobe: the medial 45 % of its volume (nearest the split plane) is segment IV, the rest
  lateral; the lateral part's superior half (by volume) is II, the inferior half III.
- Right lobe: split anterior/posterior at its volume median along A-P (V/VIII anterior,
  VI/VII posterior) and superior/inferior at its volume median along S-I (the portal level):
  VIII anterior-superior, V anterior-inferior, VII posterior-superior, VI posterior-inferior.
- Segment I (caudate) is never assigned: it cannot be told from shape alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RIGHT_LOBE_FRACTION = 0.60
SEGMENT_IV_FRACTION = 0.45


@dataclass(frozen=True)
class LiverFrame:
    """Volume quantiles of the liver along L (x), P (y) and S (z), in canonical voxel indices."""

    split_x: float  # lobe boundary; canonical x grows towards patient Left
    iv_x: float  # left-lobe boundary between segment IV (medial) and II/III (lateral)
    lateral_z: float  # II (above) vs III (below)
    right_y: float  # anterior (smaller y) vs posterior
    right_z: float  # superior vs inferior
    centroid: tuple[float, float, float] = (0.0, 0.0, 0.0)  # canonical voxel

    @classmethod
    def of(cls, liver_coords: np.ndarray) -> LiverFrame | None:
        """``liver_coords``: (N, 3) canonical voxel indices of the liver (a sample is enough)."""
        if len(liver_coords) < 10:
            return None
        x, y, z = liver_coords[:, 0], liver_coords[:, 1], liver_coords[:, 2]
        split = float(np.quantile(x, RIGHT_LOBE_FRACTION))
        left = liver_coords[x > split]
        right = liver_coords[x <= split]
        iv = float(np.quantile(left[:, 0], SEGMENT_IV_FRACTION)) if len(left) else split
        lateral = left[left[:, 0] > iv] if len(left) else left
        return cls(
            split_x=split,
            iv_x=iv,
            lateral_z=float(np.median(lateral[:, 2])) if len(lateral) else float(np.median(z)),
            right_y=float(np.median(right[:, 1])) if len(right) else float(np.median(y)),
            right_z=float(np.median(right[:, 2])) if len(right) else float(np.median(z)),
            centroid=tuple(float(v) for v in liver_coords.mean(axis=0)),
        )

    def lobe(self, ijk: np.ndarray) -> str:
        return "right" if ijk[0] <= self.split_x else "left"

    def segment(self, ijk: np.ndarray) -> str:
        return str(self.segments(np.asarray(ijk, float)[None])[0])

    def segments(self, voxels: np.ndarray) -> np.ndarray:
        """Segment names of canonical voxels (N, 3), all at once (a lesion has thousands)."""
        x, y, z = (np.asarray(voxels, float)[:, i] for i in range(3))
        left = np.where(x <= self.iv_x, "IV", np.where(z >= self.lateral_z, "II", "III"))
        superior = z >= self.right_z
        right = np.where(y < self.right_y, np.where(superior, "VIII", "V"), np.where(superior, "VII", "VI"))
        return np.where(x > self.split_x, left, right)
